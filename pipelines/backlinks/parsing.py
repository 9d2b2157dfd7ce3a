"""Give an export's rows meaning: find the header, detect the format, normalise rows.

:func:`parse_backlinks` is pure (no I/O): it takes rows as :mod:`csv` yields
them and returns a :class:`ParsedExport` that knows its format at once (the
header is found eagerly) and yields records lazily, so a million-row export
never sits in memory. Its :class:`~pipelines.backlinks.model.ImportReport`
fills in as the records are consumed.

How flags are read, per format (``ExportFormat.flags``):

``bool``
    independent ``Nofollow``/``UGC``/``Sponsored`` booleans (Ahrefs, Semrush);
    lost from a ``Lost`` date (Ahrefs) or a ``Lost link`` boolean (Semrush).
``set``
    Majestic flags: set when the cell is non-empty (``0``/``false`` count as
    unset); lost from ``FlagDeleted`` or a ``DateLost``.
``ahrefs_legacy``
    ``Type`` holds ``nofollow`` (and possibly ``ugc``/``sponsored``);
    ``Backlink Status`` or ``Day Lost`` says lost.
``moz`` / ``moz_followable``
    ``Yes``/``No`` columns: ``Only rel=nofollow``, ``No Link Equity`` without
    ``Link Equity``; or ``Followable``. Moz does not report lost links.
``screamingfrog``
    ``Follow`` true/false and ``Rel`` tokens; ``Type`` must be a hyperlink
    (``Hyperlink``, ``HREF``, ``AHREF``) or an image link.
``rel`` / ``generic``
    a rel-like column whose tokens name nofollow/ugc/sponsored, or a
    ``nofollow`` boolean; when neither exists the rel is not reported.
``none``
    Search Console: neither rel nor lost is reported.
"""

from __future__ import annotations

import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, TypeVar

from linkspider.urlnorm import UrlNormaliser, registrable_domain
from pipelines.backlinks.formats import (
    FORMATS,
    GENERIC,
    custom_format,
    detect_format,
    generic_format,
    normalise_header,
)
from pipelines.backlinks.model import (
    KIND_DOMAINS,
    KIND_LINKS,
    Backlink,
    BacklinkError,
    ExportFormat,
    ImportReport,
    MissingTargetError,
    ReferringDomain,
    Reject,
    TargetPage,
    UnrecognisedExportError,
)
from pipelines.backlinks.urls import ExportUrls, Site
from pipelines.backlinks.values import (
    CellValueError,
    parse_bool,
    parse_date,
    parse_int,
    parse_number,
    scale_metric,
)

if TYPE_CHECKING:
    from pipelines.backlinks.columnar import ColumnarRows

__all__ = [
    "BOOL_CELLS",
    "FLAG_BITS",
    "HEADER_SEARCH_ROWS",
    "IMAGE_TYPE_CELLS",
    "ParsedExport",
    "Record",
    "StageRow",
    "parse_backlinks",
    "parse_region",
    "problem_warning",
    "target_mix",
]

#: How many leading rows may precede the header (Moz puts 5-6 summary lines first).
HEADER_SEARCH_ROWS: Final = 50
#: Rejected rows kept with their line and reason per file (all are counted).
DEFAULT_REJECT_DETAILS: Final = 1000

Record = Backlink | ReferringDomain | TargetPage
#: A link record as :meth:`ParsedExport.stage_rows` gives it.
StageRow = tuple[str, str, str, int, str, int, str, str, str, str, float, float, int, int]
#: The booleans in a :data:`StageRow`'s flags, bit 0 first.
FLAG_BITS: Final = (
    "followed",
    "nofollow",
    "ugc",
    "sponsored",
    "is_image",
    "lost",
    "rel_reported",
    "lost_reported",
)
#: link_key: the source URL's UTF-8 bytes read as one little-endian integer, its
#: residues modulo these two primes (31 bits each) side by side, xor the target's
#: :func:`target_mix`. A residue is a sum of bytes times powers of 256, which numpy
#: computes for a whole column (columnar.url_keys) and Python for one URL.
KEY_PRIMES: tuple[int, int] = (2_147_483_587, 2_147_483_629)  # not 2**31 - 1: weights
# of bytes 31 apart would be equal modulo a Mersenne prime (swapped bytes, same key)
KEY_SHIFT: Final = 31
_KEY_SPREAD: Final = 0x9E3779B97F4A7C15  # odd: spreads a crc32 over the key's bits
_KEY_MASK: Final = (1 << 62) - 1
_T = TypeVar("_T")
_FALSY_FLAGS: Final = frozenset({"", "0", "false", "no", "n", "-"})
# Columns whose unreadable value costs the row: yes/no flags.
_CHECKED_FIELDS: Final = (
    "nofollow",
    "ugc",
    "sponsored",
    "image",
    "lost",
    "followable",
    "link_equity",
    "no_link_equity",
    "only_nofollow",
    "follow",
)
#: Yes/no cells the row loop reads without parse_bool (the common spellings).
BOOL_CELLS: Final = {
    cell: value
    for word, value in (("true", True), ("false", False), ("yes", True), ("no", False))
    for cell in (word, word.upper(), word.capitalize())
} | {"": False, "1": True, "0": False}
#: ``Type`` cells that say an image link.
IMAGE_TYPE_CELLS: Final = frozenset({"image", "Image", "IMAGE"})
_NO_METRIC: Final[tuple[str | None, float | None, float | None]] = (None, None, None)
_LINK_TYPES: Final = frozenset({"hyperlink", "href", "ahref", "a", "link", "text"})
_IMAGE_TYPES: Final = frozenset({"image", "img", "image link"})


class _Rejected(Exception):  # noqa: N818 - control flow inside the row loop, never escapes
    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason


def _set_flag(cell: str) -> bool:
    return cell not in _FALSY_FLAGS and cell.strip().lower() not in _FALSY_FLAGS


def _rel_tokens(cell: str) -> tuple[bool, bool, bool]:
    text = cell.lower()
    return (
        "nofollow" in text or "no follow" in text,
        "ugc" in text,
        "sponsored" in text,
    )


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


class ParsedExport:
    """An export whose format is known; iterate it (once) for its records.

    Attributes
    ----------
    format : ExportFormat
    header : list of str
        The header row as read.
    header_line : int
        Its line number (preamble lines come before it).
    report : ImportReport
        Counts and rejected rows, complete once iteration has finished.
    """

    def __init__(
        self,
        rows: Iterator[Sequence[str]],
        fmt: ExportFormat,
        header: list[str],
        header_line: int,
        *,
        line_of: Callable[[], int] | None,
        line_source: Any,
        bad_lines: list[tuple[int, str, str]] | None,
        file: str,
        site: Site | None,
        target: str | None,
        urls: ExportUrls,
        reject_details: int,
    ) -> None:
        self.format = fmt
        self.header = header
        self.header_line = header_line
        self.report = ImportReport(file=file, format=fmt, header=header, header_line=header_line)
        self._rows_in = rows
        # Memos the row loop reads before calling the reader that fills them.
        self._days: dict[str, dict[str, str]] = {}
        self._metric_specs: list[tuple[int, str, str, dict[str, Any]]] = []
        self._line_of = line_of
        self._line_source = line_source
        self._next_line = header_line + 1
        self._bad_lines = bad_lines
        self._file = file
        self._site = site
        self._urls = urls
        self._reject_details = reject_details
        self._problems: dict[str, list[Any]] = {}
        names = [normalise_header(cell) for cell in header]
        self._index: dict[str, int] = {}
        for field_name, aliases in fmt.columns:
            for alias in aliases:
                if alias in names:
                    self._index[field_name] = names.index(alias)
                    break
        self._assumed: tuple[str, str] | None = None
        if fmt.kind == KIND_LINKS and "target" not in self._index:
            target = target or (site.home if site is not None else None)
            if not target:
                raise MissingTargetError(
                    f"{file}: {fmt.label} has no target column: say which page its links "
                    "point to with --target URL"
                )
            assumed = urls.url(target)
            if assumed is None:
                raise BacklinkError(f"{file}: target {target!r} is not an http(s) URL")
            self._assumed = assumed
            self.report.target_assumed = assumed[0]
        self._consumed = False

    # -- shared helpers ----------------------------------------------------

    def _line(self) -> int:
        if self._line_of is not None:
            return self._line_of()
        line = self._next_line
        self._next_line += 1
        return line

    def _reject(self, line: int, code: str, reason: str) -> None:
        report = self.report
        report.rejected += 1
        report.reject_counts[code] += 1
        if len(report.rejects) < self._reject_details:
            report.rejects.append(Reject(self._file, line, code, reason))

    def _drain_bad_lines(self) -> None:
        """Report lines the reader could not split into rows."""
        bad = self._bad_lines
        if not bad:
            return
        for line, code, reason in bad:
            if line > self.header_line:
                self.report.rows_read += 1
                self._reject(line, code, reason)
        bad.clear()

    def _problem(self, column: str, line: int, problem: CellValueError) -> None:
        """Count an unreadable value that does not cost the row (a date, a metric)."""
        entry = self._problems.get(column)
        if entry is None:
            self._problems[column] = [1, line, str(problem)]
        else:
            entry[0] += 1

    @property
    def problems(self) -> dict[str, list[Any]]:
        """Unreadable values that did not cost their row: ``{column: [count, first
        line, first problem]}`` (the warnings are made from them)."""
        return self._problems

    def _finish(self) -> None:
        self._drain_bad_lines()
        for column, (count, line, example) in self._problems.items():
            self.report.warnings.append(problem_warning(self._file, column, count, line, example))

    def _explain(self, cells: Sequence[str], problem: CellValueError) -> str:
        """Name the column behind an unreadable yes/no value."""
        for field_name in _CHECKED_FIELDS:
            index = self._index.get(field_name, -1)
            if index < 0 or index >= len(cells):
                continue
            try:
                parse_bool(cells[index])
            except CellValueError:
                return f"{problem} in column {self._column_name(field_name)!r}"
        return str(problem)

    def _column_name(self, field_name: str) -> str:
        return self.header[self._index[field_name]].strip()

    def _width_ok(self, cells: Sequence[str], width: int) -> None:
        if len(cells) == width or _trailing_blank(cells, width):
            return
        raise _Rejected("ragged", f"ragged row: {len(cells)} cells where the header has {width}")

    def _date(self, cells: Sequence[str], index: int, field_name: str, line: int) -> str | None:
        if index < 0:
            return None
        try:
            return parse_date(cells[index])
        except CellValueError as problem:
            self._problem(self._column_name(field_name), line, problem)
            return None

    def _count(self, cells: Sequence[str], index: int, field_name: str, line: int) -> int | None:
        if index < 0:
            return None
        try:
            return parse_int(cells[index])
        except CellValueError as problem:
            self._problem(self._column_name(field_name), line, problem)
            return None

    # -- iteration ---------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        if self._consumed:
            raise RuntimeError("a ParsedExport can be iterated once")
        self._consumed = True
        kind = self.format.kind
        if kind == KIND_LINKS:
            return self._links()
        if kind == KIND_DOMAINS:
            return self._domains()
        return self._target_pages()

    def links_as(self, make: Callable[..., _T]) -> Iterator[_T]:
        """The link records, each built by ``make`` instead of :class:`Backlink`.

        ``make`` takes :class:`Backlink`'s fields, positionally and in order: a
        bulk import builds its own rows without a ``Backlink`` per row.

        Raises
        ------
        ValueError
            For an export of referring domains or target pages.
        """
        self._claim_links()
        return self._links(make)

    def _flag_reader(
        self,
    ) -> Callable[[Sequence[str]], tuple[bool, bool, bool, bool, bool]]:
        """``cells -> (nofollow, ugc, sponsored, is_image, rel_reported)`` for this format."""
        idx = self._index.get
        style = self.format.flags
        i_nofollow, i_ugc, i_sponsored = idx("nofollow", -1), idx("ugc", -1), idx("sponsored", -1)
        i_type, i_image = idx("type", -1), idx("image", -1)
        i_rel, i_follow = idx("rel", -1), idx("follow", -1)

        if style == "bool":
            # A rel is reported when a rel column is there (the older Semrush
            # layout may come without Nofollow, UGC and Sponsored).
            rel_reported = i_nofollow >= 0 or i_ugc >= 0 or i_sponsored >= 0

            def read_bool(cells: Sequence[str]) -> tuple[bool, bool, bool, bool, bool]:
                return (
                    i_nofollow >= 0 and parse_bool(cells[i_nofollow]),
                    i_ugc >= 0 and parse_bool(cells[i_ugc]),
                    i_sponsored >= 0 and parse_bool(cells[i_sponsored]),
                    (i_image >= 0 and parse_bool(cells[i_image]))
                    or (i_type >= 0 and cells[i_type].strip().lower() == "image"),
                    rel_reported,
                )

            return read_bool
        if style == "set":
            i_flag_nf, i_flag_img = idx("flag_nofollow", -1), idx("flag_image", -1)

            def read_set(cells: Sequence[str]) -> tuple[bool, bool, bool, bool, bool]:
                return (
                    i_flag_nf >= 0 and _set_flag(cells[i_flag_nf]),
                    False,
                    False,
                    i_flag_img >= 0 and _set_flag(cells[i_flag_img]),
                    i_flag_nf >= 0,
                )

            return read_set
        if style == "ahrefs_legacy":

            def read_legacy(cells: Sequence[str]) -> tuple[bool, bool, bool, bool, bool]:
                if i_type < 0:
                    return False, False, False, False, False
                nofollow, ugc, sponsored = _rel_tokens(cells[i_type])
                return nofollow, ugc, sponsored, "image" in cells[i_type].lower(), True

            return read_legacy
        if style == "moz":
            i_eq, i_no_eq = idx("link_equity", -1), idx("no_link_equity", -1)
            i_only_nf = idx("only_nofollow", -1)

            def read_moz(cells: Sequence[str]) -> tuple[bool, bool, bool, bool, bool]:
                only_nofollow = i_only_nf >= 0 and parse_bool(cells[i_only_nf])
                no_equity = i_no_eq >= 0 and parse_bool(cells[i_no_eq])
                equity = i_eq >= 0 and parse_bool(cells[i_eq])
                return only_nofollow or (no_equity and not equity), False, False, False, True

            return read_moz
        if style == "moz_followable":
            i_followable = idx("followable", -1)

            def read_followable(cells: Sequence[str]) -> tuple[bool, bool, bool, bool, bool]:
                return not parse_bool(cells[i_followable]), False, False, False, True

            return read_followable
        if style == "screamingfrog":

            def read_sf(cells: Sequence[str]) -> tuple[bool, bool, bool, bool, bool]:
                kind = cells[i_type].strip().lower() if i_type >= 0 else "hyperlink"
                is_image = kind in _IMAGE_TYPES
                if not is_image and kind not in _LINK_TYPES:
                    raise _Rejected("not_link", f"not a link ({cells[i_type].strip()!r})")
                nofollow, ugc, sponsored = _rel_tokens(cells[i_rel]) if i_rel >= 0 else (False,) * 3
                if i_follow >= 0 and not parse_bool(cells[i_follow]):
                    nofollow = nofollow or not (ugc or sponsored)
                return nofollow, ugc, sponsored, is_image, i_follow >= 0 or i_rel >= 0

            return read_sf
        # rel / generic: a rel-like column, else a nofollow boolean, else unknown.

        def read_generic(cells: Sequence[str]) -> tuple[bool, bool, bool, bool, bool]:
            if i_rel >= 0:
                nofollow, ugc, sponsored = _rel_tokens(cells[i_rel])
                return nofollow, ugc, sponsored, False, True
            if i_nofollow >= 0:
                return parse_bool(cells[i_nofollow]), False, False, False, True
            return False, False, False, False, False

        return read_generic

    def _lost_reader(self) -> Callable[[Sequence[str], int], tuple[bool, str | None, bool]]:
        """``(cells, line) -> (lost, lost_date, lost_reported)`` for this format."""
        idx = self._index.get
        i_lost, i_date = idx("lost", -1), idx("lost_date", -1)
        i_status, i_deleted = idx("status", -1), idx("flag_deleted", -1)
        reported = i_lost >= 0 or i_date >= 0 or i_status >= 0 or i_deleted >= 0
        date_of = self._date

        def read_lost(cells: Sequence[str], line: int) -> tuple[bool, str | None, bool]:
            lost_date = None
            lost = False
            if i_date >= 0 and cells[i_date]:
                lost_date = date_of(cells, i_date, "lost_date", line)
                lost = lost_date is not None or bool(cells[i_date].strip())
            if i_lost >= 0 and parse_bool(cells[i_lost]):
                lost = True
            if i_status >= 0 and "lost" in cells[i_status].lower():
                lost = True
            if i_deleted >= 0 and _set_flag(cells[i_deleted]):
                lost = True
            return lost, lost_date if lost else None, reported

        return read_lost

    def _target_entry(self, raw: str) -> tuple[str, str, str]:
        """``(url, reject code, reason)`` for a target cell; code and reason empty when good."""
        found = self._urls.target(raw)
        if found is None:
            return "", "target_url", f"unparsable target URL {_short(raw)}"
        url, host = found
        site = self._site
        if site is not None and self._urls.domain(host) not in site.domains:
            where = ", ".join(sorted(site.domains))
            return "", "target_outside", f"target {_short(url)} is outside the site ({where})"
        return url, "", ""

    def _day_reader(self, field_name: str) -> Callable[[str, int], str | None]:
        """``(cell, line) -> ISO day``: memoised on the date part (in ``self._days``,
        which the row loop reads first); problems are counted."""
        days: dict[str, str] = self._days.setdefault(field_name, {})

        def day(cell: str, line: int) -> str | None:
            if not cell:
                return None
            found = days.get(cell[:10])
            if found is not None and (len(cell) == 10 or cell[10] in " T"):
                return found
            try:
                found = parse_date(cell)
            except CellValueError as problem:
                self._problem(self._column_name(field_name), line, problem)
                return None
            if found is not None and len(cell) >= 10 and cell[4] == "-" and cell[7] == "-":
                if len(days) > 100_000:
                    days.clear()
                days[cell[:10]] = found
            return found

        return day

    def _metric_reader(
        self,
    ) -> Callable[[Sequence[str], int], tuple[str | None, float | None, float | None]]:
        """``(cells, line) -> (metric name, value, authority)``, memoised per metric and cell."""
        specs: list[tuple[int, str, str, dict[str, Any]]] = [
            (self._index[field_name], field_name, name, {})
            for field_name, name in self.format.metrics
            if field_name in self._index
        ]
        none = _NO_METRIC
        bad = object()
        self._metric_specs = specs

        def metric(
            cells: Sequence[str], line: int
        ) -> tuple[str | None, float | None, float | None]:
            for index, field_name, name, memo in specs:
                cell = cells[index]
                hit = memo.get(cell)
                if hit is None:
                    try:
                        value = parse_number(cell)
                        hit = none if value is None else (name, value, scale_metric(name, value))
                    except CellValueError as problem:
                        self._problem(self._column_name(field_name), line, problem)
                        hit = bad
                    else:
                        if len(memo) < 100_000:
                            memo[cell] = hit
                elif hit is bad:
                    self._problem(self._column_name(field_name), line, CellValueError(cell))
                if hit is not none and hit is not bad:
                    return hit  # type: ignore[return-value]
            return none

        return metric

    def stage_rows(
        self,
        targets: dict[str, tuple[int, int]],
        new_target: Callable[[str], tuple[int, int]],
        file_idx: int,
        keys: array[int] | None = None,
    ) -> Iterator[StageRow]:
        """The link records as plain rows, without an object per row (a bulk import's loop).

        Parameters
        ----------
        targets : dict
            Normalised target URL -> ``(t_idx, mix)``: the target's index in
            the caller's list and its :func:`target_mix`.
        new_target : callable
            Adds a target met on a kept row for the first time to ``targets``
            (and returns its entry).
        file_idx : int
            Put in every row.
        keys : array, optional
            When given, gets the key hash of each row
            (:func:`pipelines.backlinks.staging.link_key`).

        Returns
        -------
        iterator of tuple
            :data:`StageRow`: ``(source_url, source_host, source_domain, t_idx,
            anchor, flags, lost_date, first_seen, last_seen, metric_name,
            metric_value, authority, file_idx, line)``; ``flags`` holds the
            booleans (:data:`FLAG_BITS`), a missing text is ``""`` and a
            missing metric ``-1.0`` (metrics are never negative).

        Raises
        ------
        ValueError
            For an export of referring domains or target pages.
        """
        self._claim_links()
        return self._rows(targets, new_target, file_idx, keys)

    def columnar_rows(
        self,
        delimiter: str,
        targets: dict[str, tuple[int, int]],
        new_target: Callable[[str], tuple[int, int]],
        file_idx: int,
    ) -> ColumnarRows | None:
        """A :class:`~pipelines.backlinks.columnar.ColumnarRows` that stages rows of
        this export as :meth:`stage_rows` does (same arguments), or ``None``
        when its format is not read by columns.

        Its counts join this export's report through :meth:`add_columnar_counts`.
        """
        # Arrow loads where it is used: in an import's workers.
        from pipelines.backlinks.columnar import (  # noqa: PLC0415
            ColumnarRows,
            columnar_layout,
        )

        if self.format.kind != KIND_LINKS:
            return None
        layout = columnar_layout(self.format, self._index, len(self.header))
        if layout is None:
            return None
        urls = self._urls
        known, domain = urls.domains.get, urls.domain
        return ColumnarRows(
            layout,
            delimiter,
            site_hosts=self._site.hosts if self._site is not None else frozenset(),
            query_is_normal=urls.query_is_normal,
            domain_of=lambda host: known(host) or domain(host),
            target_entry=self._target_entry,
            assumed_target=self._assumed[0] if self._assumed is not None else None,
            targets=targets,
            new_target=new_target,
            file_idx=file_idx,
        )

    def add_columnar_counts(self, columns: ColumnarRows) -> None:
        """Count the rows ``columns`` staged in this export's report."""
        report = self.report
        report.rows_read += columns.rows_read
        report.kept += columns.kept
        report.lost += columns.lost
        report.nofollow += columns.nofollow
        report.referring_domains.update(columns.domains)

    def _claim_links(self) -> None:
        """Check that this export has links and that nobody read them yet."""
        if self.format.kind != KIND_LINKS:
            raise ValueError(f"{self._file}: not an export of links")
        if self._consumed:
            raise RuntimeError("a ParsedExport can be iterated once")
        self._consumed = True

    def _links(self, make: Callable[..., Any] = Backlink) -> Iterator[Any]:
        """:class:`Backlink` records (or what ``make`` builds from their fields)."""
        urls: list[str] = []
        targets: dict[str, tuple[int, int]] = {}

        def new_target(url: str) -> tuple[int, int]:
            entry = targets[url] = (len(urls), 0)
            urls.append(url)
            return entry

        vendor, file = self.format.vendor, self._file
        for row in self._rows(targets, new_target, 0, None):
            flags = row[5]
            yield make(
                row[0],
                row[1],
                row[2],
                urls[row[3]],
                row[4],
                bool(flags & 1),
                bool(flags & 2),
                bool(flags & 4),
                bool(flags & 8),
                bool(flags & 16),
                bool(flags & 64),
                bool(flags & 32),
                row[6] or None,
                bool(flags & 128),
                row[7] or None,
                row[8] or None,
                row[9] or None,
                None if row[10] < 0 else row[10],
                None if row[11] < 0 else row[11],
                vendor,
                file,
                row[13],
            )

    def _rows(  # one loop per row of every export, kept flat
        self,
        target_ids: dict[str, tuple[int, int]],
        new_target: Callable[[str], tuple[int, int]],
        file_idx: int,
        keys: array[int] | None,
    ) -> Iterator[StageRow]:
        index = self._index
        fmt = self.format
        report = self.report
        width = len(self.header)
        i_source = index["source"]
        i_target = index.get("target", -1)
        i_anchor = index.get("anchor", -1)
        i_alt = index.get("alt", -1)
        i_first = index.get("first_seen", -1)
        i_last = index.get("last_seen", -1)
        # The common layout (Ahrefs, Semrush: a Nofollow column) is read inline; the
        # others through a closure.
        i_nofollow, i_ugc = index.get("nofollow", -1), index.get("ugc", -1)
        inline_flags = fmt.flags == "bool" and i_nofollow >= 0
        i_sponsored, i_image, i_type = (
            index.get("sponsored", -1),
            index.get("image", -1),
            index.get("type", -1),
        )
        bools = BOOL_CELLS.get
        # The rel flags of the common layout, memoised on the cells that say them.
        present = [i for i in (i_nofollow, i_ugc, i_sponsored, i_image, i_type) if i >= 0]
        flag_cells = itemgetter(*present) if len(present) > 1 else (lambda c: (c[present[0]],))
        rel_bits: dict[tuple[str, ...], int] = {}

        def rel_bits_of(cells: Sequence[str]) -> int:
            nofollow = bools(cells[i_nofollow])
            ugc = bools(cells[i_ugc]) if i_ugc >= 0 else False
            sponsored = bools(cells[i_sponsored]) if i_sponsored >= 0 else False
            if nofollow is None or ugc is None or sponsored is None:
                nofollow, ugc, sponsored, is_image, rel_reported = flags_of(cells)
            else:
                rel_reported = True
                if i_image >= 0:
                    image = bools(cells[i_image])
                    is_image = parse_bool(cells[i_image]) if image is None else image
                else:
                    is_image = i_type >= 0 and cells[i_type] in IMAGE_TYPE_CELLS
            bits = (
                (not (nofollow or ugc or sponsored))
                | nofollow << 1
                | ugc << 2
                | sponsored << 3
                | is_image << 4
                | rel_reported << 6
            )
            if len(rel_bits) < 10_000:
                rel_bits[flag_cells(cells)] = bits
            return bits

        assumed_url = self._assumed[0] if self._assumed is not None else None
        site = self._site
        site_hosts = site.hosts if site is not None else frozenset()
        urls = self._urls
        source_of, domain_of = urls.url, urls.domain
        normal, query_is_normal = urls.normal, urls.query_is_normal
        domains_known = urls.domains.get
        # Target cells already met on a kept row: (url, t_idx, mix).
        ready_targets: dict[str, tuple[str, int, int]] = {}
        ready_target = ready_targets.get
        targets: dict[str, tuple[str, str, str]] = {}
        target_entry = self._target_entry
        known_target = target_ids.get
        flags_of, lost_of = self._flag_reader(), self._lost_reader()
        # Lost status read inline when it is a date and/or a yes/no column.
        i_lost, i_lost_date = index.get("lost", -1), index.get("lost_date", -1)
        inline_lost = index.get("status", -1) < 0 and index.get("flag_deleted", -1) < 0
        lost_reported = i_lost >= 0 or i_lost_date >= 0 or not inline_lost
        date_of = self._date
        metric_of = self._metric_reader()
        # The first metric's memo, read before the reader that fills it.
        memo: dict[str, Any] = self._metric_specs[0][3] if self._metric_specs else {}
        i_metric = self._metric_specs[0][0] if self._metric_specs else -1
        metric_memo = memo.get
        first_of, last_of = self._day_reader("first_seen"), self._day_reader("last_seen")
        first_days, last_days = self._days["first_seen"], self._days["last_seen"]
        line_source = self._line_source
        next_line = self.header_line
        domains = report.referring_domains
        add_domain = domains.add
        bad_lines = self._bad_lines
        reject = self._reject
        add_key = keys.append if keys is not None else None
        prime1, prime2 = KEY_PRIMES
        from_bytes = int.from_bytes
        kept = lost_count = nofollow_count = read = 0
        try:
            for cells in self._rows_in:
                read += 1
                if line_source is not None:
                    line = line_source.line_num
                else:
                    next_line += 1
                    line = next_line
                if bad_lines:
                    self._drain_bad_lines()
                if len(cells) != width and not _trailing_blank(cells, width):
                    reject(
                        line,
                        "ragged",
                        f"ragged row: {len(cells)} cells where the header has {width}",
                    )
                    continue
                raw = cells[i_source]
                # A URL already in normal form is its own normal form (ExportUrls.url).
                match = normal(raw)
                if (
                    match is not None
                    and (path := match[2]) is not None
                    and "/." not in path
                    and ((query := match[3]) is None or query_is_normal(query))
                ):
                    source_url, source_host = raw, match[1]
                else:
                    found = source_of(raw)
                    if found is None:
                        if raw.strip():
                            reject(line, "source_url", f"unparsable source URL {_short(raw)}")
                        else:
                            reject(line, "source_missing", "no source URL")
                        continue
                    source_url, source_host = found
                if source_host in site_hosts:
                    reject(
                        line,
                        "internal",
                        f"source {_short(source_url)} is on the site itself "
                        "(an internal link, not a backlink)",
                    )
                    continue
                ready = None
                if assumed_url is None:
                    raw = cells[i_target]
                    ready = ready_target(raw)
                    if ready is None:
                        entry = targets.get(raw)
                        if entry is None:
                            entry = target_entry(raw)
                            if len(targets) < 200_000:
                                targets[raw] = entry
                        target_url, code, reason = entry
                        if code:
                            reject(line, code, reason)
                            continue
                    else:
                        target_url = ready[0]
                else:
                    target_url = assumed_url
                try:
                    if inline_flags:
                        rel = rel_bits.get(flag_cells(cells))
                        if rel is None:
                            rel = rel_bits_of(cells)
                    else:
                        nofollow, ugc, sponsored, is_image, rel_reported = flags_of(cells)
                        rel = (
                            (not (nofollow or ugc or sponsored))
                            | nofollow << 1
                            | ugc << 2
                            | sponsored << 3
                            | is_image << 4
                            | rel_reported << 6
                        )
                    if inline_lost:  # as _lost_reader reads it
                        lost, lost_date = False, None
                        if i_lost_date >= 0 and (cell := cells[i_lost_date]):
                            lost_date = date_of(cells, i_lost_date, "lost_date", line)
                            lost = lost_date is not None or bool(cell.strip())
                        if i_lost >= 0:
                            said = bools(cells[i_lost])
                            if said is None:
                                said = parse_bool(cells[i_lost])
                            if said:
                                lost = True
                        if not lost:
                            lost_date = None
                    else:
                        lost, lost_date, lost_reported = lost_of(cells, line)
                except CellValueError as problem:
                    reject(line, "value", self._explain(cells, problem))
                    continue
                except _Rejected as rejected:
                    reject(line, rejected.code, rejected.reason)
                    continue
                anchor = cells[i_anchor].strip() if i_anchor >= 0 else ""
                if not anchor and i_alt >= 0:
                    anchor = cells[i_alt].strip()
                metric = metric_memo(cells[i_metric]) if i_metric >= 0 else None
                if metric is None or metric is _NO_METRIC:
                    metric = metric_of(cells, line)
                metric_name, metric_value, authority = metric
                source_domain = domains_known(source_host) or domain_of(source_host)
                kept += 1
                if lost:
                    lost_count += 1
                if not rel & 1:
                    nofollow_count += 1
                add_domain(source_domain)
                if ready is None:
                    t_idx, t_mix = known_target(target_url) or new_target(target_url)
                    if assumed_url is None and len(ready_targets) < 200_000:
                        ready_targets[raw] = (target_url, t_idx, t_mix)
                else:
                    _, t_idx, t_mix = ready
                if add_key is not None:
                    number = from_bytes(source_url.encode("utf-8", "surrogatepass"), "little")
                    add_key(((number % prime1) << KEY_SHIFT | number % prime2) ^ t_mix)
                if i_first >= 0:
                    cell = cells[i_first]
                    first = first_days.get(cell[:10])
                    if first is None or (len(cell) != 10 and cell[10] not in " T"):
                        first = first_of(cell, line) or ""
                else:
                    first = ""
                if i_last >= 0:
                    cell = cells[i_last]
                    last = last_days.get(cell[:10])
                    if last is None or (len(cell) != 10 and cell[10] not in " T"):
                        last = last_of(cell, line) or ""
                else:
                    last = ""
                yield (
                    source_url,
                    source_host,
                    source_domain,
                    t_idx,
                    anchor,
                    rel | lost << 5 | lost_reported << 7,
                    lost_date or "",
                    first,
                    last,
                    metric_name or "",
                    -1.0 if metric_value is None else metric_value,
                    -1.0 if authority is None else authority,
                    file_idx,
                    line,
                )
        finally:
            report.rows_read += read
            report.kept += kept
            report.lost += lost_count
            report.nofollow += nofollow_count
            self._finish()

    def _domains(self) -> Iterator[ReferringDomain]:
        index = self._index
        fmt = self.format
        report = self.report
        width = len(self.header)
        i_domain = index["domain"]
        i_links = index.get("links", -1)
        i_pages = index.get("linking_pages", -1)
        i_targets = index.get("target_pages", -1)
        i_first, i_last = index.get("first_seen", -1), index.get("last_seen", -1)
        metric_of = self._metric_reader()
        lost_of = self._lost_reader()
        site = self._site
        read = kept = lost_count = 0
        try:
            for cells in self._rows_in:
                line = self._line()
                read += 1
                if self._bad_lines:
                    self._drain_bad_lines()
                try:
                    self._width_ok(cells, width)
                    domain = _domain_cell(cells[i_domain])
                    if domain is None:
                        raise _Rejected("domain", f"unreadable domain {_short(cells[i_domain])}")
                    if site is not None and domain in site.domains:
                        raise _Rejected("internal", f"domain {domain} is the site itself")
                    lost, lost_date, lost_reported = lost_of(cells, line)
                except CellValueError as problem:
                    self._reject(line, "value", self._explain(cells, problem))
                    continue
                except _Rejected as rejected:
                    self._reject(line, rejected.code, rejected.reason)
                    continue
                metric_name, metric_value, authority = metric_of(cells, line)
                counts = [
                    self._count(cells, i, name, line)
                    for i, name in (
                        (i_links, "links"),
                        (i_pages, "linking_pages"),
                        (i_targets, "target_pages"),
                    )
                ]
                kept += 1
                lost_count += lost
                report.referring_domains.add(domain)
                yield ReferringDomain(
                    domain=domain,
                    metric_name=metric_name,
                    metric_value=metric_value,
                    authority=authority,
                    links=counts[0],
                    linking_pages=counts[1],
                    target_pages=counts[2],
                    first_seen=self._date(cells, i_first, "first_seen", line),
                    last_seen=self._date(cells, i_last, "last_seen", line),
                    lost=lost if lost_reported else None,
                    lost_date=lost_date,
                    vendor=fmt.vendor,
                    file=self._file,
                    line=line,
                )
        finally:
            report.rows_read += read
            report.kept += kept
            report.lost += lost_count
            self._finish()

    def _target_pages(self) -> Iterator[TargetPage]:
        index = self._index
        report = self.report
        width = len(self.header)
        i_target = index["target"]
        i_links, i_domains = index.get("links", -1), index.get("domains", -1)
        read = kept = 0
        try:
            for cells in self._rows_in:
                line = self._line()
                read += 1
                if self._bad_lines:
                    self._drain_bad_lines()
                try:
                    self._width_ok(cells, width)
                    target_url, code, reason = self._target_entry(cells[i_target])
                    if code:
                        raise _Rejected(code, reason)
                except CellValueError as problem:
                    self._reject(line, "value", self._explain(cells, problem))
                    continue
                except _Rejected as rejected:
                    self._reject(line, rejected.code, rejected.reason)
                    continue
                links = self._count(cells, i_links, "links", line)
                domains = self._count(cells, i_domains, "domains", line)
                kept += 1
                yield TargetPage(target_url, links, domains, self.format.vendor, self._file, line)
        finally:
            report.rows_read += read
            report.kept += kept
            self._finish()


def target_mix(url: str) -> int:
    """The target's part of a link key: the crc32 of its URL, spread over 62 bits."""
    return (zlib.crc32(url.encode("utf-8", "surrogatepass")) * _KEY_SPREAD) & _KEY_MASK


def problem_warning(file: str, column: str, count: int, line: int, example: str) -> str:
    """The warning for a column's unreadable values (see :attr:`ParsedExport.problems`)."""
    return (
        f"{file}: {count} unreadable value(s) in column {column!r}, left empty "
        f"(first: line {line}, {example})"
    )


def _trailing_blank(cells: Sequence[str], width: int) -> bool:
    """Extra cells that are all empty (a trailing delimiter) do not make a row ragged."""
    return len(cells) > width and not any(cell.strip() for cell in cells[width:])


def _domain_cell(cell: str) -> str | None:
    """A referring domain as exports write it (``example.com``, ``https://www.example.com/``)."""
    text = cell.strip().lower()
    if "://" in text:
        text = text.partition("://")[2]
    text = text.partition("/")[0].rstrip(".")
    if not text or " " in text or "." not in text.strip("."):
        return None
    try:
        text = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError:
        return None
    return registrable_domain(text)


def _find_header(row: Sequence[str], columns: Mapping[str, str] | None) -> ExportFormat | None:
    fmt = detect_format(row) or generic_format(row)
    if fmt is None and columns:
        names = {normalise_header(cell) for cell in row}
        custom = custom_format(columns)
        if custom.required <= names:
            return custom
    return fmt


def parse_backlinks(
    rows: Iterable[Sequence[str]],
    *,
    file: str = "<rows>",
    site: Site | None = None,
    target: str | None = None,
    columns: Mapping[str, str] | None = None,
    normaliser: UrlNormaliser | None = None,
    urls: ExportUrls | None = None,
    reject_details: int = DEFAULT_REJECT_DETAILS,
) -> ParsedExport:
    """Recognise an export from its rows and normalise them lazily.

    Parameters
    ----------
    rows : iterable of sequence of str
        Rows as :mod:`csv` yields them. When ``rows`` has a ``line_num``
        attribute (a :func:`read_backlinks` file, or a ``csv.reader``), line
        numbers come from it; otherwise rows are numbered from 1.
    file : str
        The file name used in records and messages.
    site : Site, optional
        The site the links must point at; rows whose target is outside its
        registrable domains, or whose source is on one of its hosts, are
        rejected. ``None`` checks neither.
    target : str, optional
        The target assumed for exports without a target column (Search
        Console's link lists); default: the site's home page.
    columns : mapping, optional
        A column map (``{"source": "Backlink", "target": "Page", ...}``) used
        when no known format matches the header.
    normaliser : UrlNormaliser, optional
        The crawl's URL normaliser; ignored when ``urls`` is given.
    urls : ExportUrls, optional
        A shared normaliser with memos (one per import).
    reject_details : int
        Rejected rows kept with line and reason (all are counted).

    Returns
    -------
    ParsedExport
        Its ``format``, ``header`` and ``report``; iterate it for
        :class:`Backlink`, :class:`ReferringDomain` or :class:`TargetPage`
        records depending on ``format.kind``.

    Raises
    ------
    UnrecognisedExportError
        No format matches any of the first :data:`HEADER_SEARCH_ROWS` rows.
    MissingTargetError
        The export has no target column and no ``target`` was given.
    BacklinkError
        A column map names columns the header does not have.
    """
    iterator = iter(rows)
    line_attr = getattr(rows, "line_num", None)
    line_of: Callable[[], int] | None = (
        (lambda: rows.line_num)  # type: ignore[attr-defined]
        if isinstance(line_attr, int)
        else None
    )
    bad_lines = getattr(rows, "bad_lines", None)
    first_seen_row: list[str] | None = None
    fmt: ExportFormat | None = None
    header: list[str] = []
    header_line = 0
    for number in range(1, HEADER_SEARCH_ROWS + 1):
        row = next(iterator, None)
        if row is None:
            break
        line = line_of() if line_of is not None else number
        fmt = _find_header(row, columns)
        if fmt is not None:
            header, header_line = list(row), line
            break
        if first_seen_row is None and any(cell.strip() for cell in row):
            first_seen_row = list(row)
    if fmt is None:
        seen = first_seen_row or []
        if columns:
            wanted = ", ".join(f"{k}={v!r}" for k, v in columns.items())
            raise BacklinkError(
                f"{file}: the column map ({wanted}) does not match the header; header seen: "
                f"[{', '.join(repr(c) for c in seen[:40])}]"
            )
        known = [f.label for f in FORMATS] + [GENERIC.label]
        raise UnrecognisedExportError(file, seen, known)
    return ParsedExport(
        iterator,
        fmt,
        header,
        header_line,
        line_of=line_of,
        line_source=rows if line_of is not None else None,
        bad_lines=bad_lines if isinstance(bad_lines, list) else None,
        file=file,
        site=site,
        target=target,
        urls=urls or ExportUrls(normaliser),
        reject_details=reject_details,
    )


def parse_region(
    rows: Iterable[Sequence[str]],
    *,
    fmt: ExportFormat,
    header: list[str],
    file: str,
    site: Site | None = None,
    target: str | None = None,
    urls: ExportUrls | None = None,
    reject_details: int = DEFAULT_REJECT_DETAILS,
) -> ParsedExport:
    """Normalise rows that follow a header already recognised (a region of a file).

    Like :func:`parse_backlinks` for an export whose format and header were
    found by reading its start: ``rows`` (a :class:`BacklinkFile` region) hold
    no header, and line numbers count from the region's first line.
    """
    line_attr = getattr(rows, "line_num", None)
    bad_lines = getattr(rows, "bad_lines", None)
    return ParsedExport(
        iter(rows),
        fmt,
        header,
        0,
        line_of=(lambda: rows.line_num) if isinstance(line_attr, int) else None,  # type: ignore[attr-defined]
        line_source=rows if isinstance(line_attr, int) else None,
        bad_lines=bad_lines if isinstance(bad_lines, list) else None,
        file=file,
        site=site,
        target=target,
        urls=urls or ExportUrls(),
        reject_details=reject_details,
    )


def reject_summary(counts: Counter[str]) -> str:
    """``"3 ragged row, 1 unparsable source URL"``: rejection counts in words."""
    return ", ".join(
        f"{count} {_REASON_WORDS.get(code, code)}" for code, count in counts.most_common()
    )


_REASON_WORDS: Final = {
    "ragged": "ragged row(s)",
    "quotes": "row(s) with unbalanced quotes",
    "csv": "unreadable row(s)",
    "source_url": "unparsable source URL(s)",
    "source_missing": "row(s) without a source URL",
    "target_url": "unparsable target URL(s)",
    "target_outside": "target(s) outside the site",
    "internal": "internal link(s)",
    "value": "unreadable value(s)",
    "not_link": "non-link row(s)",
    "domain": "unreadable domain(s)",
}
