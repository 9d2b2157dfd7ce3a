"""Crawler-trap defence: decide, per URL about to be scheduled, whether it
looks like a trap. Pure code; the spider records the verdicts in the store.

Three kinds of trap are recognised:

* **repeating path segments** (``/a/b/a/b/a/b/``: relative links resolved
  against the wrong base): a segment that occurs ``segment_repeats`` times;
* **ever-growing query strings** (``?sort=a&sort=a&sort=a``, filters that
  append parameters): more than ``max_query_params`` parameters, or one
  parameter name ``segment_repeats`` times;
* **pattern explosions** (infinite calendars, faceted navigation): URLs are
  reduced to a *shape* (digit runs -> ``#``, query values -> ``*``). A URL
  that names a plausible date (see below) admits at most ``calendar_cap``
  distinct URLs of its shape; a shape with a query string at most
  ``pattern_cap``. Paths that differ only by numbers (``/product/123``) are
  not capped: numeric ids are how many real sites name their pages.

A URL names a date (a calendar page) when

* its path has a year from 1990 to 2100 followed by a month (1-12) and
  optionally a day (1-31) in consecutive segments (``/calendar/2024/05/``,
  ``/events/2024/05/01/day``), or one segment ``2024-05`` / ``2024-05-01``,
  and no segment with a digit follows the date: ``/news/2024/05/01/1001`` and
  ``/news/2024/05/01/top-10-tips`` are articles, ``/t/slug/123/4`` a forum
  thread page;
* or a query value is such a date (``?month=2024-05``, ``?d=2024-05-01``), or a
  date-named parameter (``year``, ``month``, ``day``, ``date``, ``week``,
  ``from``, ``to``...) holds a plausible year, month or day
  (``?year=2024&month=5``), not a mere number (``?start=20`` is an offset).

The per-shape counters are plain ints keyed by the shape; they are part of
the spider's persisted state so a resumed crawl keeps its caps. At most
``max_patterns`` shapes are counted: past that, the shapes seen only once
are forgotten (a trap's shape has many URLs, so its count survives).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Final

__all__ = ["TrapGuard", "TrapRules", "TrapVerdict", "url_shape"]

_DIGITS: Final = re.compile(r"\d+")
_FIRST_YEAR: Final = 1990
_LAST_YEAR: Final = 2100
#: A whole date in one segment or value: 2024-05, 2024-05-01 (also with / or .).
_DATE_TEXT: Final = re.compile(r"(\d{4})([-/.])(\d{1,2})(?:\2(\d{1,2}))?")
_COMPACT_DATE: Final = re.compile(r"(\d{4})(\d{2})(\d{2})")
#: Query parameter names that hold a date part, and the range of a plain number there.
_DATE_PARAMS: Final = {
    "year": (_FIRST_YEAR, _LAST_YEAR),
    "month": (1, 12),
    "day": (1, 31),
    "week": (1, 53),
    "date": (_FIRST_YEAR, _LAST_YEAR),
    "cal": (_FIRST_YEAR, _LAST_YEAR),
    "calendar": (_FIRST_YEAR, _LAST_YEAR),
    "from": (_FIRST_YEAR, _LAST_YEAR),
    "to": (_FIRST_YEAR, _LAST_YEAR),
    "start": (_FIRST_YEAR, _LAST_YEAR),
    "end": (_FIRST_YEAR, _LAST_YEAR),
}


def _number_in(text: str, low: int, high: int) -> bool:
    return 0 < len(text) <= 4 and text.isdigit() and low <= int(text) <= high


def _is_year(text: str) -> bool:
    return len(text) == 4 and _number_in(text, _FIRST_YEAR, _LAST_YEAR)


def _plausible_date(year: str, month: str, day: str | None) -> bool:
    return _is_year(year) and _number_in(month, 1, 12) and (day is None or _number_in(day, 1, 31))


def _date_text(text: str) -> bool:
    """``2024-05``, ``2024/05/01``, ``2024.05.01``, ``20240501``: a plausible date."""
    match = _DATE_TEXT.fullmatch(text)
    if match is not None:
        return _plausible_date(match.group(1), match.group(3), match.group(4))
    match = _COMPACT_DATE.fullmatch(text)
    return match is not None and _plausible_date(*match.groups())


def _path_names_date(path: str) -> bool:
    """Whether a path names a plausible date, no digit after it (see the module doc)."""
    segments = [segment for segment in path.split("/") if segment]
    end = -1  # index of the last segment of the last date found
    index = 0
    while index < len(segments):
        segment = segments[index]
        if _date_text(segment):
            end = index
        elif (
            _is_year(segment)
            and index + 1 < len(segments)
            and _number_in(segments[index + 1], 1, 12)
        ):
            index += 1
            if index + 1 < len(segments) and _number_in(segments[index + 1], 1, 31):
                index += 1
            end = index
        index += 1
    if end < 0:
        return False
    # A number after the date is an article or thread id, not a calendar view.
    return _DIGITS.search("/".join(segments[end + 1 :])) is None


def _query_names_date(pairs: list[tuple[str, str]]) -> bool:
    for name, value in pairs:
        if _date_text(value):
            return True
        bounds = _DATE_PARAMS.get(name.lower())
        # A year-valued parameter needs four digits: ?from=20 is an offset.
        if (
            bounds is not None
            and _number_in(value, *bounds)
            and (bounds[0] != _FIRST_YEAR or _is_year(value))
        ):
            return True
    return False


@dataclass(frozen=True)
class TrapRules:
    """Limits of the trap defence (``LINKSPIDER_TRAP_*`` settings).

    Parameters
    ----------
    segment_repeats : int
        A path segment or query parameter name occurring this many times is
        a trap (0 disables the check).
    max_query_params : int
        More query parameters than this is a trap (0 disables).
    pattern_cap : int
        Distinct URLs allowed per shape with a query string (0 disables).
    calendar_cap : int
        Distinct URLs allowed per date-like shape (0 disables).
    max_patterns : int
        Shapes counted at once; past that the shapes seen once are forgotten.
    """

    segment_repeats: int = 3
    max_query_params: int = 12
    pattern_cap: int = 10_000
    calendar_cap: int = 100
    max_patterns: int = 100_000


@dataclass(frozen=True, slots=True)
class TrapVerdict:
    """Why a URL is suspected to be a trap: the pattern and a reason in words."""

    pattern: str
    reason: str


def url_shape(url: str) -> tuple[str, bool]:
    """Reduce a URL to its shape.

    Parameters
    ----------
    url : str
        A normalised URL.

    Returns
    -------
    (shape, is_date_like) : tuple
        ``https://ex.com/cal/2024/05?view=month`` gives
        ``("https://ex.com/cal/#/#?view=*", True)``; whether the URL names a
        date is decided on its digits, not on the shape (see the module doc).
    """
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    netloc, slash, path = rest.partition("/")
    # The host keeps its digits (an IP or a port is not a pattern).
    path_shape = f"{scheme}://{netloc}{_DIGITS.sub('#', slash + path)}"
    date_like = _path_names_date(path)
    if not query:
        return path_shape, date_like
    pairs = [(name, value) for name, _, value in (p.partition("=") for p in query.split("&"))]
    if not date_like:
        date_like = _query_names_date(pairs)
    return path_shape + "?" + "&".join(f"{name}=*" for name, _ in pairs), date_like


class TrapGuard:
    """Stateful trap checker.

    Parameters
    ----------
    rules : TrapRules
    counts : dict, optional
        Per-shape counters to continue from (a resumed crawl); the guard
        updates this dict in place.
    """

    def __init__(self, rules: TrapRules, counts: dict[str, int] | None = None) -> None:
        self.rules = rules
        self.counts: dict[str, int] = counts if counts is not None else {}
        #: How many times rare shapes were forgotten to keep the counters bounded.
        self.forgotten = 0

    def check(self, url: str) -> TrapVerdict | None:
        """Return a verdict if ``url`` looks like a trap, else count it and return ``None``.

        Call once per distinct URL the crawl is about to schedule:
        :meth:`check_shape`, then :meth:`count`.
        """
        return self.check_shape(url) or self.count(url)

    def check_shape(self, url: str) -> TrapVerdict | None:
        """The checks on the URL alone (repeated segments, growing queries): counts nothing."""
        rules = self.rules
        base, _, query = url.partition("?")
        path = base.partition("://")[2].partition("/")[2]
        if rules.segment_repeats:
            segments = Counter(segment for segment in path.split("/") if segment)
            if segments:
                segment, times = segments.most_common(1)[0]
                if times >= rules.segment_repeats:
                    return TrapVerdict(
                        pattern=f"repeated path segment /{segment}/",
                        reason=f"path segment {segment!r} occurs {times} times",
                    )
        if query:
            names = [pair.partition("=")[0] for pair in query.split("&")]
            if rules.max_query_params and len(names) > rules.max_query_params:
                return TrapVerdict(
                    pattern=f"more than {rules.max_query_params} query parameters",
                    reason=f"{len(names)} query parameters",
                )
            if rules.segment_repeats:
                name, times = Counter(names).most_common(1)[0]
                if times >= rules.segment_repeats:
                    return TrapVerdict(
                        pattern=f"repeated query parameter {name}=",
                        reason=f"query parameter {name!r} occurs {times} times",
                    )
        return None

    def count(self, url: str) -> TrapVerdict | None:
        """Count ``url`` under its shape, or return a verdict when the shape is full.

        Call once per distinct URL about to be scheduled.
        """
        rules = self.rules
        query = url.partition("?")[2]
        shape, date_like = url_shape(url)
        if shape == url or not (date_like or query):
            return None  # a one-off URL, or numeric ids in a path: not a pattern
        cap = rules.calendar_cap if date_like else rules.pattern_cap
        if not cap:
            return None
        counts = self.counts
        seen = counts.get(shape, 0)
        if seen >= cap:
            kind = "calendar-like pattern" if date_like else "pattern"
            return TrapVerdict(pattern=shape, reason=f"{kind} already has {cap} URLs")
        if not seen and rules.max_patterns and len(counts) >= rules.max_patterns:
            self._forget_rare()
        counts[shape] = seen + 1
        return None

    def _forget_rare(self) -> None:
        """Keep the counters bounded: drop the shapes seen least (once, if that is enough)."""
        counts = self.counts
        keep = self.rules.max_patterns // 2
        floor = 1
        while len(counts) > keep:
            for shape in [shape for shape, count in counts.items() if count <= floor]:
                del counts[shape]
            floor *= 2
        self.forgotten += 1
