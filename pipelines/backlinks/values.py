"""Cell values as vendors write them: booleans, dates, numbers, metrics.

Each parser is a small memoised function: exports repeat the same few values
(``false``, a date, a DR) on most rows, so a dict lookup answers nearly every
call. Memos are bounded (cleared when full) so a pathological file cannot
grow them without limit.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

__all__ = [
    "METRIC_PREFERENCE",
    "CellValueError",
    "iso_day",
    "parse_bool",
    "parse_date",
    "parse_int",
    "parse_number",
    "scale_metric",
]

_MEMO_LIMIT: Final = 100_000


class CellValueError(ValueError):
    """A cell we cannot read; ``str()`` says what and why."""


_TRUE = ("true", "yes", "y", "1", "x", "+", "on")
_FALSE = ("false", "no", "n", "0", "-", "off", "")
_BOOLS: dict[str, bool] = {}
for _word in _TRUE:
    for _form in (_word, _word.upper(), _word.capitalize()):
        _BOOLS[_form] = True
for _word in _FALSE:
    for _form in (_word, _word.upper(), _word.capitalize()):
        _BOOLS[_form] = False


def parse_bool(cell: str) -> bool:
    """Read ``true/false``, ``TRUE/FALSE``, ``Yes/No``, ``1/0``; empty is false.

    Raises
    ------
    CellValueError
        For any other value.
    """
    value = _BOOLS.get(cell)
    if value is None:
        value = _BOOLS.get(cell.strip().lower())
        if value is None:
            raise CellValueError(f"unreadable yes/no value {cell[:40]!r}")
    return value


_MONTHS: Final = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH_NAME_DATE = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})")
_DAY_MONTH_NAME_DATE = re.compile(r"(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})")
_ISO_DAYS: dict[str, str | None] = {}
_OTHER_DATES: dict[str, str | None] = {}


def _iso_day(day: str) -> str | None:
    try:
        return date.fromisoformat(day).isoformat()
    except ValueError:
        return None


def iso_day(head: str) -> str | None:
    """The day a cell starting ``YYYY-MM-DD`` (then nothing, a space or ``T``)
    gives :func:`parse_date`: ``head`` is its first ten characters; ``None`` when
    they are not a day (:func:`parse_date` then reads the whole cell otherwise)."""
    try:
        return _ISO_DAYS[head]
    except KeyError:
        if len(_ISO_DAYS) > _MEMO_LIMIT:
            _ISO_DAYS.clear()
        day = _ISO_DAYS[head] = _iso_day(head)
        return day


def parse_date(cell: str) -> str | None:
    """Read a date as an ISO ``YYYY-MM-DD`` string; empty gives ``None``.

    Accepts ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS`` (and ``T``/zone suffixes:
    the time is dropped), ``YYYY/MM/DD``, ``Sep 15, 2026`` and ``15 Sep 2026``.

    Raises
    ------
    CellValueError
        For anything else.
    """
    if not cell:
        return None
    if len(cell) >= 10 and cell[4] == "-" and cell[7] == "-":
        day = iso_day(cell[:10])
        if day is not None and (len(cell) == 10 or cell[10] in " T"):
            return day
    try:
        day = _OTHER_DATES[cell]
    except KeyError:
        if len(_OTHER_DATES) > _MEMO_LIMIT:
            _OTHER_DATES.clear()
        day = _OTHER_DATES[cell] = _parse_other_date(cell.strip())
    if day is None:
        if not cell.strip():
            return None
        raise CellValueError(f"unreadable date {cell[:40]!r}")
    return day


def _parse_other_date(text: str) -> str | None:
    if not text:
        return None
    if len(text) >= 10 and text[4] in "-/." and text[7] in "-/.":
        day = _iso_day(f"{text[:4]}-{text[5:7]}-{text[8:10]}")
        if day is not None:
            return day
    match = _MONTH_NAME_DATE.fullmatch(text) or None
    if match is not None:
        month_name, day_text, year = match.groups()
    else:
        match = _DAY_MONTH_NAME_DATE.fullmatch(text)
        if match is None:
            return None
        day_text, month_name, year = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    try:
        return datetime(int(year), month, int(day_text)).date().isoformat()
    except ValueError:
        return None


_NUMBERS: dict[str, float | None] = {}
_SPACES = str.maketrans("", "", " \u00a0\u202f'")


def parse_number(cell: str) -> float | None:
    """Read a number as vendors write it; empty (or ``-``, ``n/a``) gives ``None``.

    ``1,234`` and ``1 234`` are thousands; ``59,5`` is a decimal comma;
    ``1.234,5`` and ``1,234.5`` both work (the last separator is the decimal
    one). A comma followed by exactly three digits is a thousands separator
    unless the part before it is ``0``.

    Raises
    ------
    CellValueError
        For text that is not a number.
    """
    try:
        return _NUMBERS[cell]
    except KeyError:
        pass
    if len(_NUMBERS) > _MEMO_LIMIT:
        _NUMBERS.clear()
    value = _NUMBERS[cell] = _parse_number(cell)
    return value


def _parse_number(cell: str) -> float | None:
    text = cell.strip().translate(_SPACES).rstrip("%")
    if text.lower() in ("", "-", "n/a", "na", "none", "null", "--"):
        return None
    comma, dot = text.rfind(","), text.rfind(".")
    if comma != -1 and dot != -1:
        # The last separator is the decimal one: 1.234,5 or 1,234.5.
        text = text.replace(".", "").replace(",", ".") if comma > dot else text.replace(",", "")
    elif comma != -1:
        groups = text.split(",")
        thousands = (
            len(groups) > 1
            and all(len(g) == 3 and g.isdigit() for g in groups[1:])
            and groups[0].lstrip("+-") not in ("", "0")
        )
        if thousands:
            text = text.replace(",", "")
        elif len(groups) == 2:
            text = text.replace(",", ".")
        else:
            raise CellValueError(f"unreadable number {cell[:40]!r}")
    try:
        return float(text)
    except ValueError:
        raise CellValueError(f"unreadable number {cell[:40]!r}") from None


def parse_int(cell: str) -> int | None:
    """Like :func:`parse_number`, for counts (``1,234`` is 1234)."""
    value = parse_number(cell)
    return None if value is None else round(value)


#: Authority metrics, best first for the equity model: domain-level metrics
#: (Ahrefs DR, Moz DA) before page-level ones (Semrush page AS, Majestic
#: source TF, Ahrefs UR, Moz PA, Majestic CF, Semrush's older page score PS).
METRIC_PREFERENCE: Final = ("DR", "DA", "AS", "TF", "UR", "PA", "CF", "PS")
#: Full scale of each metric (all 0-100 today; kept per metric so one can change).
METRIC_SCALE: Final = dict.fromkeys(METRIC_PREFERENCE, 100.0)


def scale_metric(name: str, value: float) -> float:
    """Scale a vendor metric to [0, 1].

    Raises
    ------
    CellValueError
        When the value is outside the metric's range.
    """
    top = METRIC_SCALE[name]
    if not 0.0 <= value <= top:
        raise CellValueError(f"{name} {value:g} is outside 0-{top:g}")
    return value / top
