"""The import's row loop, a column at a time, for runs of plain lines (Apache Arrow).

A large export is mostly runs of lines of one of the two plain shapes (no quote
at all, or every field quoted: :func:`pipelines.backlinks.reading.clean_lines`).
:class:`ColumnarRows` reads such a run with Arrow's CSV reader (compiled, and
only the columns the format uses become arrays) and gives each row the values
:meth:`~pipelines.backlinks.parsing.ParsedExport.stage_rows` gives it, with
Arrow's compute functions and numpy: a value that repeats (a target, a flag
cell, a date, a metric, a host) is read once per run in Python, by the same
functions the row loop calls.

Only rows the columns can decide are made here: a source URL already in normal
form and not on the site, a target that is fine, flag and date cells that read
without a problem. Every other row (a rejection, an unreadable value, a URL to
normalise) goes back to the row loop with its cells, so rejections, problems
and warnings are the row loop's own, in line order. A property test checks
that both ways give the same stage.

Computation on strings in memory, but for :func:`write_stage`, which writes a
stage file (through ADBC's SQLite driver, only in the worker that made it).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import adbc_driver_sqlite.dbapi as adbc
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from pipelines.backlinks import parsing
from pipelines.backlinks.model import ExportFormat
from pipelines.backlinks.parsing import FLAG_BITS, KEY_SHIFT
from pipelines.backlinks.reading import CleanLines
from pipelines.backlinks.values import (
    CellValueError,
    iso_day,
    parse_date,
    parse_number,
    scale_metric,
)

__all__ = [
    "STAGE_SCHEMA",
    "ColumnarRows",
    "RunRows",
    "columnar_layout",
    "keep_freed_memory",
    "record_columns",
    "url_keys",
    "write_stage",
]

# Arrow allocates through malloc here: keep_freed_memory has it reuse what a region freed.
pa.set_memory_pool(pa.system_memory_pool())
_LIBC: Final = ctypes.CDLL(None) if sys.platform.startswith("linux") else None
_MALLOPT: Final = getattr(_LIBC, "mallopt", None)  # glibc's; absent from musl
_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
_KEPT_BYTES: Final = 1 << 30


def keep_freed_memory() -> None:
    """Have malloc keep the memory a region frees for the next region (a worker
    calls it once, when it starts).

    By default glibc maps each large block afresh and unmaps it when freed, and
    gives the top of its heap back: every region then touched its tens of MiB
    anew (in the benchmark's 53 regions, 770,000 page faults and 3.4 s of
    system time, more with ``malloc_trim`` after each region). Kept, they are
    reused: 40,000 page faults. The resident size is what the largest region
    needs plus caches: 270 MiB after those 53 regions, 300 MiB after twice as
    many (trimmed after each region: 240 and 260 MiB).
    """
    if _MALLOPT is not None:
        _MALLOPT(_M_MMAP_THRESHOLD, _KEPT_BYTES)
        _MALLOPT(_M_TRIM_THRESHOLD, _KEPT_BYTES)


# A URL in normal form as ExportUrls.url's fast path takes it, with its path
# (RE2 syntax: Arrow's regexes), and the host in front of it.
_NORMAL_URL: Final = (
    r"^https?://[a-z0-9.\-]*[a-z0-9\-]/[A-Za-z0-9\-._~/:@!$&'()*+,;=]*"
    r"(\?[A-Za-z0-9\-._~/:@!$&'()*+,;=?]+)?$"
)
_HOST: Final = r"^https?://(?P<host>[^/]*)"
# A cell parse_date reads by its first ten characters (Python's cell[4] and cell[7]).
_ISO_HEAD: Final = r"^.{4}-.{2}-.{2}(?:[ T]|$)"
#: What ``str.strip()`` strips (``str.isspace``), for Arrow's ``utf8_trim``. Written
#: out: finding them among every code point took each worker 0.3 s (a test checks it).
WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: The stage's columns for a single record (staging._INSERT_ONE), with Arrow types.
STAGE_SCHEMA: Final = pa.schema(
    [
        ("source_url", pa.string()),
        ("source_host", pa.string()),
        ("source_domain", pa.string()),
        ("t_idx", pa.int64()),
        ("anchor", pa.string()),
        ("flags", pa.int64()),
        ("lost_date", pa.string()),
        ("first_seen", pa.string()),
        ("last_seen", pa.string()),
        ("metric_name", pa.string()),
        ("metric_value", pa.float64()),
        ("authority", pa.float64()),
        ("file_idx", pa.int64()),
        ("line", pa.int64()),
    ]
)
# The row loop's own tables of yes/no cells and image types.
_BOOL_CELLS: Final = parsing.BOOL_CELLS
_IMAGE_TYPE_CELLS: Final = tuple(parsing.IMAGE_TYPE_CELLS)
_BAD: Final = -1  # a lookup table's entry for a cell the row loop must read


@dataclass(frozen=True)
class _Layout:
    """Where a format's fields are (cell indexes, -1 when absent)."""

    width: int
    source: int
    target: int
    anchor: int
    alt: int
    nofollow: int
    ugc: int
    sponsored: int
    image: int
    type: int
    lost: int
    lost_date: int
    first_seen: int
    last_seen: int
    metrics: tuple[tuple[int, str], ...]  # (index, metric name), preferred first


def columnar_layout(fmt: ExportFormat, index: dict[str, int], width: int) -> _Layout | None:
    """The cells a format's rows are read from, when the columns can read them.

    Formats with independent yes/no rel flags and a lost date or flag
    (``flags == "bool"``: Ahrefs, Semrush) qualify; the others keep the row
    loop.
    """
    get = index.get
    if (
        fmt.flags != "bool"
        or get("nofollow", -1) < 0
        or get("status", -1) >= 0
        or get("flag_deleted", -1) >= 0
        or width < 1
    ):
        return None
    return _Layout(
        width=width,
        source=index["source"],
        target=get("target", -1),
        anchor=get("anchor", -1),
        alt=get("alt", -1),
        nofollow=index["nofollow"],
        ugc=get("ugc", -1),
        sponsored=get("sponsored", -1),
        image=get("image", -1),
        type=get("type", -1),
        lost=get("lost", -1),
        lost_date=get("lost_date", -1),
        first_seen=get("first_seen", -1),
        last_seen=get("last_seen", -1),
        metrics=tuple((index[field], name) for field, name in fmt.metrics if field in index),
    )


class ColumnarRows:
    """Stage rows of :class:`CleanLines` runs a column at a time.

    Parameters
    ----------
    layout : _Layout
        From :func:`columnar_layout`.
    delimiter : str
        The file's delimiter.
    site_hosts : frozenset of str
        A source on one of them is an internal link (the row loop rejects it).
    query_is_normal : callable
        :meth:`~pipelines.backlinks.urls.ExportUrls.query_is_normal`.
    domain_of : callable
        Host -> registrable domain (the import's memo first).
    target_entry : callable
        Target cell -> ``(url, reject code, reason)`` (the row loop's own).
    assumed_target : str or None
        The target of every row for an export without a target column.
    targets, new_target :
        The stage's target map and the function that adds to it (as for
        :meth:`~pipelines.backlinks.parsing.ParsedExport.stage_rows`).
    file_idx : int
        Put in every row.
    key_shift : int
        :func:`pipelines.backlinks.staging.link_key`'s shift.

    Attributes
    ----------
    tables : list of pyarrow.Table
        The rows made so far (:data:`STAGE_SCHEMA` and a ``key`` column), in
        line order within each; the row loop's rows interleave with them by line.
    rows_read, kept, lost, nofollow : int
        Counts for the import report (rows given back to the row loop are
        counted there).
    domains : set of str
        Referring domains of the rows kept here.
    """

    def __init__(
        self,
        layout: _Layout,
        delimiter: str,
        *,
        site_hosts: frozenset[str],
        query_is_normal: Callable[[str], bool],
        domain_of: Callable[[str], str],
        target_entry: Callable[[str], tuple[str, str, str]],
        assumed_target: str | None,
        targets: dict[str, tuple[int, int]],
        new_target: Callable[[str], tuple[int, int]],
        file_idx: int,
    ) -> None:
        self.layout = layout
        self._site_hosts = pa.array(sorted(site_hosts), pa.string())
        self._query_is_normal = query_is_normal
        self._domain_of = domain_of
        self._target_entry = target_entry
        self._assumed = assumed_target
        self._targets = targets
        self._new_target = new_target
        self._file_idx = file_idx
        self.tables: list[pa.Table] = []
        self.rows_read = self.kept = self.lost = self.nofollow = 0
        self.domains: set[str] = set()
        names = [f"c{i}" for i in range(layout.width)]
        used = sorted(
            {
                i
                for i in (
                    layout.source,
                    layout.target,
                    layout.anchor,
                    layout.alt,
                    layout.nofollow,
                    layout.ugc,
                    layout.sponsored,
                    layout.image,
                    layout.type,
                    layout.lost,
                    layout.lost_date,
                    layout.first_seen,
                    layout.last_seen,
                    *(i for i, _ in layout.metrics),
                )
                if i >= 0
            }
        )
        self._read_options = pa_csv.ReadOptions(
            column_names=names, use_threads=False, block_size=1 << 26
        )
        self._delimiter = delimiter
        self._convert = pa_csv.ConvertOptions(
            include_columns=[names[i] for i in used],
            column_types={names[i]: pa.string() for i in used},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        # Per-cell memos across runs: what the row loop's functions say of a cell.
        self._bools: dict[str, int] = {}
        self._lost_dates: dict[str, tuple[int, str]] = {}
        self._days: dict[str, str | None] = {}
        self._metrics: list[dict[str, tuple[int, float, float]]] = [{} for _ in layout.metrics]
        self._target_cells: dict[str, str] = {}  # target cell -> URL ('' when rejected)

    # -- a run -----------------------------------------------------------

    def run(
        self, lines: CleanLines, split_line: Callable[[str], list[str] | None]
    ) -> Iterator[tuple[int, list[str]]]:
        """Stage the rows of a run the columns decide; yield the others.

        Parameters
        ----------
        lines : CleanLines
        split_line : callable
            The reader's line splitter, for the rows given back.

        Returns
        -------
        iterator of (int, list of str)
            ``(line, cells)`` of each row the row loop must read, in line order.
        """
        skipped: list[int] = []

        def invalid(row: Any) -> str:
            skipped.append(row.number)
            return "skip"

        data = lines.text.encode("utf-8", "surrogatepass")
        try:
            table = pa_csv.read_csv(
                pa.py_buffer(data),
                read_options=self._read_options,
                parse_options=pa_csv.ParseOptions(
                    delimiter=self._delimiter,
                    newlines_in_values=False,
                    invalid_row_handler=invalid,
                ),
                convert_options=self._convert,
            )
        except (pa.ArrowInvalid, UnicodeError):
            table = None
        text_lines: list[str] | None = None
        if table is None or None in skipped:
            back = np.arange(lines.lines)
            table = None
        else:
            positions = np.arange(lines.lines)
            if skipped:
                positions = np.delete(positions, np.asarray(skipped, dtype=np.int64) - 1)
            back = np.asarray(skipped, dtype=np.int64) - 1
            if table.num_rows != len(positions):  # never: a row is kept or skipped
                back = np.arange(lines.lines)
                table = None
        if table is not None and table.num_rows:
            decided = self._decide(table, positions + lines.first_line)
            back = np.union1d(back, positions[~decided])
        if len(back):
            text_lines = lines.text.split("\n")
            for position in back.tolist():
                cells = split_line(text_lines[position] + "\n")
                # A run's lines are the ones the splitter reads (reading.clean_lines).
                assert cells is not None, "a line of a run the line splitter refuses"
                yield position + lines.first_line, cells

    def _decide(self, table: pa.Table, line_numbers: np.ndarray) -> np.ndarray:
        """Stage the rows the columns decide; return which they are."""
        layout = self.layout
        column = table.column
        n = table.num_rows

        def cells(index: int) -> pa.Array:
            return column(f"c{index}").combine_chunks()

        source = cells(layout.source)
        ok = np.asarray(pc.match_substring_regex(source, _NORMAL_URL), dtype=bool)
        ok &= ~np.asarray(pc.match_substring(source, "/."), dtype=bool)
        with_query = np.flatnonzero(ok & np.asarray(pc.match_substring(source, "?"), dtype=bool))
        if len(with_query):
            urls = source.take(pa.array(with_query)).to_pylist()
            normal = self._query_is_normal
            ok[with_query] = [normal(url.partition("?")[2]) for url in urls]
        hosts = pc.struct_field(pc.extract_regex(source, _HOST), [0])
        ok &= ~np.asarray(pc.fill_null(pc.is_in(hosts, self._site_hosts), True), dtype=bool)

        # Targets: the row loop's entry for each distinct cell.
        if self._assumed is None:
            target_of, target_ok = self._target_lookup(cells(layout.target))
            ok &= target_ok
        else:
            target_of = None

        flags = np.zeros(n, dtype=np.int64)
        nofollow = self._bool_column(cells(layout.nofollow), ok)
        absent = np.zeros(n, dtype=np.int64)
        ugc = self._bool_column(cells(layout.ugc), ok) if layout.ugc >= 0 else absent
        sponsored = (
            self._bool_column(cells(layout.sponsored), ok) if layout.sponsored >= 0 else absent
        )
        if layout.image >= 0:
            image = self._bool_column(cells(layout.image), ok)
        elif layout.type >= 0:
            image_types = pa.array(_IMAGE_TYPE_CELLS)
            image = np.asarray(pc.is_in(cells(layout.type), image_types), dtype=np.int64)
        else:
            image = np.zeros(n, dtype=np.int64)
        followed = ((nofollow | ugc | sponsored) == 0).astype(np.int64)
        flags |= followed | nofollow << 1 | ugc << 2 | sponsored << 3 | image << 4 | 1 << 6

        lost = np.zeros(n, dtype=np.int64)
        lost_date: pa.Array = pa.repeat("", n)
        if layout.lost_date >= 0:
            lost, lost_date = self._lost_dates_of(cells(layout.lost_date), ok)
        if layout.lost >= 0:
            lost = lost | self._bool_column(cells(layout.lost), ok)
        lost_reported = int(layout.lost >= 0 or layout.lost_date >= 0)
        flags |= lost << 5 | lost_reported << 7
        lost_date = pc.if_else(pa.array(lost.astype(bool)), lost_date, "")

        first = self._days_of(cells(layout.first_seen), ok) if layout.first_seen >= 0 else None
        last = self._days_of(cells(layout.last_seen), ok) if layout.last_seen >= 0 else None
        metric_name, metric_value, authority = self._metric_columns(table, ok)

        kept = np.flatnonzero(ok)
        if not len(kept):
            return ok
        take = pa.array(kept)

        def pick(values: pa.Array) -> pa.Array:
            return values if len(kept) == n else values.take(take)  # usually all of them

        hosts_kept = pick(hosts)
        encoded = pc.dictionary_encode(hosts_kept)
        domain_of = self._domain_of
        domain_list = [domain_of(host) for host in encoded.dictionary.to_pylist()]
        self.domains.update(domain_list)
        domains = pa.array(domain_list, pa.string()).take(encoded.indices)

        if target_of is None:
            assumed = self._assumed
            assert assumed is not None
            t_idx, t_mix = self._targets.get(assumed) or self._new_target(assumed)
            t_idx_kept = np.full(len(kept), t_idx, dtype=np.int64)
            mix_kept = np.full(len(kept), t_mix, dtype=np.int64)
        else:
            t_idx_kept, mix_kept = target_of(kept)

        source_kept = pick(source)
        keys = url_keys(source_kept, mix_kept)
        anchor = self._anchor(table, pick, len(kept))
        empty = pa.repeat("", len(kept)) if first is None or last is None else None
        flags_kept = flags[kept]
        self.tables.append(
            pa.table(
                [
                    source_kept,
                    hosts_kept,
                    domains,
                    pa.array(t_idx_kept),
                    anchor,
                    pa.array(flags_kept),
                    pick(lost_date),
                    pick(first) if first is not None else empty,
                    pick(last) if last is not None else empty,
                    pick(metric_name),
                    pick(metric_value),
                    pick(authority),
                    pa.array(np.full(len(kept), self._file_idx, dtype=np.int64)),
                    pa.array(line_numbers[kept].astype(np.int64)),
                    pa.array(keys),
                ],
                schema=STAGE_SCHEMA.append(pa.field("key", pa.int64())),
            )
        )
        self.rows_read += len(kept)
        self.kept += len(kept)
        self.lost += int(np.count_nonzero(flags_kept & 32))
        self.nofollow += int(np.count_nonzero((flags_kept & 1) == 0))
        return ok

    # -- columns ---------------------------------------------------------

    @staticmethod
    def _lookup(
        column: pa.Array, read: Callable[[str], Any], memo: dict[str, Any]
    ) -> tuple[np.ndarray, list[Any]]:
        """``(indices, values)``: each row's distinct cell, read once (memoised)."""
        encoded = pc.dictionary_encode(column)
        values = []
        for cell in encoded.dictionary.to_pylist():
            value = memo.get(cell, memo)
            if value is memo:
                value = read(cell)
                if len(memo) < 100_000:
                    memo[cell] = value
            values.append(value)
        return np.asarray(encoded.indices, dtype=np.int64), values

    def _bool_column(self, column: pa.Array, ok: np.ndarray) -> np.ndarray:
        """A yes/no column as 0/1; a cell the row loop reads otherwise clears ``ok``."""

        def read(cell: str) -> int:
            value = _BOOL_CELLS.get(cell)
            return _BAD if value is None else int(value)

        indices, values = self._lookup(column, read, self._bools)
        table = np.asarray(values, dtype=np.int64)
        found = table[indices]
        ok &= found != _BAD
        return np.where(found == _BAD, 0, found)

    @staticmethod
    def _date_keys(column: pa.Array) -> pa.Array:
        """Date cells as :func:`parse_date` reads them: the first ten characters of a
        cell that starts ``YYYY-MM-DD`` (its time is dropped), else the whole cell."""
        iso = pc.match_substring_regex(column, _ISO_HEAD)
        return pc.if_else(iso, pc.utf8_slice_codeunits(column, 0, 10), column)

    @staticmethod
    def _day(key: str) -> str | int | None:
        """What :func:`parse_date` gives a cell of this key (:meth:`_date_keys`):
        the day, ``None`` for none, :data:`_BAD` for what the row loop must read."""
        if len(key) == 10 and key[4] == "-" and key[7] == "-":
            return iso_day(key) or _BAD  # else parse_date reads the whole cell
        try:
            return parse_date(key)
        except CellValueError:
            return _BAD

    def _lost_dates_of(self, column: pa.Array, ok: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        """Lost (0/1) and the lost date ('' when none) from a ``Lost`` date column."""

        def read(key: str) -> tuple[int, str]:
            if not key:
                return 0, ""
            day = self._day(key)
            if day == _BAD:
                return _BAD, ""
            return int(day is not None or bool(key.strip())), str(day or "")

        indices, values = self._lookup(self._date_keys(column), read, self._lost_dates)
        lost = np.asarray([v[0] for v in values], dtype=np.int64)[indices]
        ok &= lost != _BAD
        days = pa.array([v[1] for v in values], pa.string()).take(pa.array(indices))
        return np.where(lost == _BAD, 0, lost), days

    def _days_of(self, column: pa.Array, ok: np.ndarray) -> pa.Array:
        """ISO days ('' when none) of a first/last seen column."""

        def read(key: str) -> str | None:
            day = self._day(key)
            return None if day == _BAD else str(day or "")

        indices, values = self._lookup(self._date_keys(column), read, self._days)
        bad = np.asarray([v is None for v in values], dtype=bool)[indices]
        ok &= ~bad
        return pa.array([v or "" for v in values], pa.string()).take(pa.array(indices))

    def _metric_columns(
        self, table: pa.Table, ok: np.ndarray
    ) -> tuple[pa.Array, pa.Array, pa.Array]:
        """The first metric with a value, as the row loop picks it."""
        n = table.num_rows
        names: list[str] = [""]
        values = np.full(n, -1.0)
        scaled = np.full(n, -1.0)
        name_of = np.zeros(n, dtype=np.int64)
        open_rows = np.ones(n, dtype=bool)
        for (index, name), memo in zip(self.layout.metrics, self._metrics, strict=True):

            def read(cell: str, name: str = name) -> tuple[int, float, float]:
                try:
                    value = parse_number(cell)
                    if value is None:
                        return 0, 0.0, 0.0
                    return 1, value, scale_metric(name, value)  # raises outside the scale
                except CellValueError:
                    return _BAD, 0.0, 0.0

            indices, found = self._lookup(table.column(f"c{index}").combine_chunks(), read, memo)
            kind = np.asarray([f[0] for f in found], dtype=np.int64)[indices]
            ok &= ~(open_rows & (kind == _BAD))
            chosen = open_rows & (kind == 1)
            if chosen.any():
                names.append(name)
                name_of[chosen] = len(names) - 1
                values[chosen] = np.asarray([f[1] for f in found])[indices][chosen]
                scaled[chosen] = np.asarray([f[2] for f in found])[indices][chosen]
            open_rows &= kind == 0
        return (
            pa.array(names, pa.string()).take(pa.array(name_of)),
            pa.array(values),
            pa.array(scaled),
        )

    def _anchor(
        self, table: pa.Table, pick: Callable[[pa.Array], pa.Array], count: int
    ) -> pa.Array:
        """Anchors of the rows ``pick`` keeps (``count``) as the row loop reads them:
        stripped, the image's alt text when empty."""
        layout = self.layout

        def stripped(index: int) -> pa.Array:
            return pc.utf8_trim(pick(table.column(f"c{index}").combine_chunks()), WHITESPACE)

        anchor = stripped(layout.anchor) if layout.anchor >= 0 else pa.repeat("", count)
        if layout.alt >= 0:
            anchor = pc.if_else(pc.equal(anchor, ""), stripped(layout.alt), anchor)
        return anchor

    def _target_lookup(
        self, column: pa.Array
    ) -> tuple[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """Which rows have a good target, and a function giving kept rows' (t_idx, target mix)."""
        encoded = pc.dictionary_encode(column)
        indices = np.asarray(encoded.indices, dtype=np.int64)
        memo = self._target_cells
        urls: list[str] = []
        for cell in encoded.dictionary.to_pylist():
            url = memo.get(cell)
            if url is None:
                found, code, _ = self._target_entry(cell)
                url = "" if code else found
                if len(memo) < 200_000:
                    memo[cell] = url
            urls.append(url)
        good = np.asarray([url != "" for url in urls], dtype=bool)

        def of(kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            used = indices[kept]
            distinct, first = np.unique(used, return_index=True)
            t_idx = np.zeros(len(urls), dtype=np.int64)
            mix = np.zeros(len(urls), dtype=np.int64)
            known, new = self._targets.get, self._new_target
            # New targets in the order their first row comes (the row loop's order).
            for d in distinct[np.argsort(first, kind="stable")].tolist():
                t_idx[d], mix[d] = known(urls[d]) or new(urls[d])
            return t_idx[used], mix[used]

        return of, good[indices]


class RunRows:
    """The rows of an export file, its runs of plain lines staged by columns.

    Wraps a :class:`~pipelines.backlinks.reading.BacklinkFile` for the parser
    (it has the file's ``line_num`` and ``bad_lines``): rows pass through
    until :meth:`start` is called (once the header is read); from then on the
    file gives runs of plain lines (:class:`CleanLines`), which
    :class:`ColumnarRows` stages, and only the rows it gives back reach the
    parser's row loop.

    Parameters
    ----------
    source : BacklinkFile
    split_line : callable
        The file's line splitter (for the rows given back).
    """

    def __init__(self, source: Any, split_line: Callable[[str], list[str] | None]) -> None:
        self._source = source
        self._split_line = split_line
        self._rows_in = iter(source)
        self.bad_lines: list[tuple[int, str, str]] = source.bad_lines
        self.line_num = 0
        self.columns: ColumnarRows | None = None

    def start(self, columns: ColumnarRows) -> None:
        """Stage the runs from the next block on with ``columns``."""
        self.columns = columns
        self._source.clean_runs = True

    def __iter__(self) -> Iterator[Sequence[str]]:
        return self._rows()

    def _rows(self) -> Iterator[Sequence[str]]:
        source = self._source
        for item in self._rows_in:
            if type(item) is CleanLines:
                assert self.columns is not None
                for line, cells in self.columns.run(item, self._split_line):
                    self.line_num = line
                    yield cells
            else:
                self.line_num = source.line_num
                yield item


def write_stage(
    path: str,
    tables: Sequence[pa.Table],
    rows: Sequence[tuple[Any, ...]],
    keys: Any,
    targets: list[str],
) -> tuple[bytes, list[str]]:
    """Write a stage's rows in line order into its file (table ``s``).

    The rows staged by columns (``tables``) and those of the row loop
    (``rows``, with their ``keys``) come in two streams: sorted by line they are
    the row loop's order, and the target indexes are renumbered in the order
    the targets are first met in it. Arrow writes them through ADBC's SQLite
    driver (no Python object per value); the file is not open elsewhere.

    Parameters
    ----------
    path : str
        The stage file (its tables made by :class:`~pipelines.backlinks.staging.Stager`).
    tables : sequence of pyarrow.Table
        :attr:`ColumnarRows.tables`.
    rows : sequence of tuple
        :data:`~pipelines.backlinks.parsing.StageRow` of the row loop.
    keys : buffer of int64
        Their key hashes.
    targets : list of str
        Target URLs by their index in the rows.

    Returns
    -------
    (bytes, list of str)
        The key hashes in row order (native int64) and the targets by their new index.
    """
    schema = STAGE_SCHEMA.append(pa.field("key", pa.int64()))
    parts = list(tables)
    if rows:
        columns: list[Any] = [list(c) for c in zip(*rows, strict=True)]
        columns.append(np.frombuffer(keys, dtype=np.int64))
        parts.append(pa.table(columns, schema=schema))
    table = pa.concat_tables(parts)
    if rows:  # the runs' tables alone are in line order
        table = table.take(pc.sort_indices(table, sort_keys=[("line", "ascending")]))
    t_idx = np.asarray(table.column("t_idx"), dtype=np.int64)
    distinct, first = np.unique(t_idx, return_index=True)
    order = distinct[np.argsort(first, kind="stable")]
    if len(order) == len(targets):  # every target has a row: each was added for a kept row
        renumber = np.empty(len(targets), dtype=np.int64)
        renumber[order] = np.arange(len(order))
        table = table.set_column(
            table.schema.get_field_index("t_idx"), "t_idx", pa.array(renumber[t_idx])
        )
        targets = [targets[i] for i in order.tolist()]
    key_bytes = np.asarray(table.column("key"), dtype=np.int64).tobytes()
    table = record_columns(table.drop_columns(["key"]))
    with adbc.connect(path, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode = OFF")
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.adbc_ingest("s", table, mode="append")
    return key_bytes, targets


def record_columns(rows: pa.Table) -> pa.Table:
    """The stage's columns of single records (:data:`STAGE_SCHEMA` rows): the flags
    unpacked, ``''`` and ``-1`` as null, and the dates rel and lost come from, as
    ``staging._INSERT_ONE`` makes them in SQL.
    """
    flags = np.asarray(rows.column("flags"), dtype=np.int64)
    null_text = pa.scalar(None, pa.string())
    null_real = pa.scalar(None, pa.float64())

    def text(name: str) -> pa.Array:
        cells = rows.column(name)
        return pc.if_else(pc.equal(cells, ""), null_text, cells)

    def real(name: str) -> pa.Array:
        values = rows.column(name)
        return pc.if_else(pc.less(values, 0), null_real, values)

    first, last = text("first_seen"), text("last_seen")
    latest = pc.max_element_wise(rows.column("last_seen"), rows.column("lost_date"))
    latest = pc.if_else(pc.equal(latest, ""), null_text, latest)
    rel_said = pa.array(flags & 64 != 0)
    lost_said = pa.array(flags & 128 != 0)
    columns: dict[str, Any] = {
        name: rows.column(name)
        for name in ("source_url", "source_host", "source_domain", "t_idx", "anchor", "flags")
    }
    columns.update({name: pa.array((flags >> bit) & 1) for bit, name in enumerate(FLAG_BITS)})
    columns.update(
        lost_date=text("lost_date"),
        first_seen=first,
        last_seen=last,
        metric_name=text("metric_name"),
        metric_value=real("metric_value"),
        authority=real("authority"),
        authority_source=pc.if_else(
            pc.greater_equal(rows.column("authority"), 0), "link", null_text
        ),
        rel_seen=pc.if_else(rel_said, pc.coalesce(last, first), null_text),
        lost_seen=pc.if_else(lost_said, pc.coalesce(latest, first), null_text),
        file_idx=rows.column("file_idx"),
        line=rows.column("line"),
    )
    return pa.table(columns)


_POWERS: dict[int, np.ndarray] = {}  # prime -> 256**i mod prime, i = 0, 1, ...


def _powers(prime: int, length: int) -> np.ndarray:
    table = _POWERS.get(prime)
    if table is None or len(table) < length:
        size = max(length, 4096)
        values = [1] * size
        for i in range(1, size):
            values[i] = values[i - 1] * 256 % prime
        table = _POWERS[prime] = np.asarray(values, dtype=np.int64)
    return table


def url_keys(urls: pa.Array, mixes: np.ndarray) -> np.ndarray:
    """:func:`~pipelines.backlinks.staging.link_key` of a column of source URLs.

    Parameters
    ----------
    urls : pyarrow.StringArray
        Source URLs (no null).
    mixes : numpy.ndarray of int64
        Each row's :func:`~pipelines.backlinks.parsing.target_mix`.

    Returns
    -------
    numpy.ndarray of int64
    """
    count = len(urls)
    _, offset_buffer, data_buffer = urls.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int32, count=count + 1, offset=urls.offset * 4)
    offsets = offsets.astype(np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    keys = np.zeros(count, dtype=np.int64)
    if last == first:
        return keys ^ mixes
    data = np.frombuffer(data_buffer, dtype=np.uint8, count=last - first, offset=first)
    # Each byte's place in its URL: its weight is 256**place (modulo the prime).
    place = np.arange(last - first, dtype=np.int64) - np.repeat(offsets[:-1] - first, lengths)
    filled = lengths > 0
    starts = (offsets[:-1] - first)[filled]
    values = data.astype(np.int64)
    longest = int(lengths.max())
    for prime, shift in zip(parsing.KEY_PRIMES, (KEY_SHIFT, 0), strict=True):
        # Each product is below 2**39, so a sum of up to 2**24 of them fits.
        sums = np.add.reduceat(values * _powers(prime, longest)[place], starts)
        keys[filled] |= (sums % prime) << shift
    return keys ^ mixes
