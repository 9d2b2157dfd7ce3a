"""Stage link records in a private SQLite file, in this process or in worker processes.

An import first writes the link records it reads to a *stage*: a SQLite file
of its own (no journal, no sync: it is thrown away after the import, so it
never needs to survive a crash), one row per record with the ``backlinks``
columns it makes, from the parser's row loop
(:meth:`~pipelines.backlinks.parsing.ParsedExport.stage_rows`: no record
object per row; the columns are made by the stage's INSERT), with the target
URL and the file as small integers. The store then copies a stage into the
``backlinks`` table with one ``INSERT ... SELECT`` (SQLite's own loop, no
Python per row), adding the row's id, the target's id, vendors and origins,
and merges the records whose key it has seen before
(:mod:`pipelines.backlinks.store`).

Large exports are read in *regions* (:meth:`BacklinkFile.regions`), each
staged by :func:`stage_region` in a worker process, where runs of plain lines
are staged by columns (:mod:`pipelines.backlinks.columnar`, written in line
order with the row loop's rows: the same stage); the store applies the
stages in file order, so the result is the one a single process reading the
files in order gives. A region's line numbers count from its first line
(:attr:`RegionResult.region_lines` lets the store make them absolute).

Referring domains and target pages, which are few, are not staged: they go
to a :class:`~pipelines.backlinks.merging.BacklinkMerger` (in this process)
or come back with the region's result.
"""

from __future__ import annotations

import gc
import sqlite3
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from linkspider.urlnorm import UrlNormaliser
from pipelines.backlinks import parsing
from pipelines.backlinks.merging import BacklinkMerger
from pipelines.backlinks.model import (
    KIND_LINKS,
    Backlink,
    ExportFormat,
    ImportReport,
    MergedBacklink,
    ReferringDomain,
    TargetPage,
)
from pipelines.backlinks.parsing import (
    FLAG_BITS,
    KEY_SHIFT,
    ParsedExport,
    Record,
    parse_backlinks,
    parse_region,
    target_mix,
)
from pipelines.backlinks.reading import BacklinkFile, line_splitter
from pipelines.backlinks.urls import ExportUrls, Site
from pipelines.storedb import PAGE_SIZE

if TYPE_CHECKING:  # imported where used: Arrow loads only in an import's workers
    from pipelines.backlinks.columnar import RunRows

__all__ = [
    "COLUMNAR",
    "FLAG_BITS",
    "RegionResult",
    "RegionTask",
    "StageResult",
    "Stager",
    "gc_paused",
    "link_key",
    "links_count",
    "stage_region",
    "start_worker",
]

# Flag bits of a staged record, in the order of FLAG_BITS (the backlinks columns they fill).
_FOLLOWED, _NOFOLLOW, _UGC, _SPONSORED, _IMAGE, _LOST, _REL_REPORTED, _LOST_REPORTED = (
    1 << i for i in range(8)
)

_SCHEMA: Final = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
-- One row per link record, in reading order, with the backlinks columns a
-- record makes (the store's copy only adds the id, the target's id, vendors
-- and origins: store._COPY); for a record merged before staging
-- (write_backlinks), what merging adds.
CREATE TABLE s (
    source_url       TEXT NOT NULL,
    source_host      TEXT NOT NULL,
    source_domain    TEXT NOT NULL,
    t_idx            INTEGER NOT NULL,   -- the target's index in StageResult.targets
    anchor           TEXT NOT NULL,
    flags            INTEGER NOT NULL,   -- parsing.FLAG_BITS, packed (what merging reads)
    followed         INTEGER NOT NULL,   -- ... and unpacked (the backlinks columns)
    nofollow         INTEGER NOT NULL,
    ugc              INTEGER NOT NULL,
    sponsored        INTEGER NOT NULL,
    is_image         INTEGER NOT NULL,
    lost             INTEGER NOT NULL,
    rel_reported     INTEGER NOT NULL,
    lost_reported    INTEGER NOT NULL,
    lost_date        TEXT,
    first_seen       TEXT,
    last_seen        TEXT,
    metric_name      TEXT,
    metric_value     REAL,
    authority        REAL,
    authority_source TEXT,               -- 'link' when the record has its own metric
    rel_seen         TEXT,               -- the date `followed` comes from
    lost_seen        TEXT,               -- the date `lost` comes from
    file_idx         INTEGER NOT NULL,   -- f.file_idx
    line             INTEGER NOT NULL,   -- from the region's first line
    -- merged records only (NULL for a single record):
    vendors          TEXT,
    origins          TEXT,
    links            INTEGER,
    conflicts        TEXT
);
CREATE TABLE f (
    file_idx  INTEGER PRIMARY KEY,
    file      TEXT NOT NULL,
    vendor    TEXT NOT NULL,
    vendors   TEXT NOT NULL,             -- JSON ["vendor"]
    origin    TEXT NOT NULL              -- JSON '[["file",': + line + ']]' = origins
);
"""
# The columns a record makes from a StageRow (?1-?14: source_url, source_host,
# source_domain, t_idx, anchor, flags, lost_date, first_seen, last_seen,
# metric_name, metric_value, authority, file_idx, line; '' and -1 for missing
# values: sqlite3 binds None through its adapter lookup, which is slower), in
# the stage's column order. columnar.record_columns makes the same from columns.
_MADE: Final = (
    "?1, ?2, ?3, ?4, ?5, ?6, "
    + ", ".join(f"(?6 >> {bit}) & 1" for bit in range(len(FLAG_BITS)))
    + ", nullif(?7, ''), nullif(?8, ''), nullif(?9, ''), nullif(?10, ''), "
    "nullif(?11, -1.0), nullif(?12, -1.0), CASE WHEN ?12 >= 0 THEN 'link' END"
)
_RECORD_COLUMNS: Final = (
    "source_url, source_host, source_domain, t_idx, anchor, flags, "
    + ", ".join(FLAG_BITS)
    + ", lost_date, first_seen, last_seen, metric_name, metric_value, authority, "
    "authority_source, rel_seen, lost_seen, file_idx, line"
)
_INSERT_ONE: Final = f"""
INSERT INTO s ({_RECORD_COLUMNS})
VALUES ({_MADE},
    CASE WHEN ?6 & 64 THEN coalesce(nullif(?9, ''), nullif(?8, '')) END,
    CASE WHEN ?6 & 128 THEN coalesce(nullif(max(?9, ?7), ''), nullif(?8, '')) END,
    ?13, ?14)
"""
_INSERT_MERGED: Final = f"""
INSERT INTO s ({_RECORD_COLUMNS}, vendors, origins, links, conflicts)
VALUES ({_MADE}, ?17, ?18, ?13, ?14, ?15, ?16, ?19, ?20)
"""
_BATCH: Final = 10_000
#: Stage runs of plain lines by columns in the workers (:mod:`pipelines.backlinks.columnar`);
#: the tests turn it off to check that both ways give the same stage.
COLUMNAR: bool = True


def link_key(source_url: str, target_mix: int) -> int:
    """A 62-bit hash of a link's key (source URL, target URL), the same in every process.

    Parameters
    ----------
    source_url : str
        The normalised source URL.
    target_mix : int
        :func:`~pipelines.backlinks.parsing.target_mix` of the normalised target URL.

    Returns
    -------
    int
        The URL's UTF-8 bytes read as one integer, its residues modulo two
        primes below 2**31 side by side, xor the target's mix
        (:data:`~pipelines.backlinks.parsing.KEY_PRIMES`; numpy computes the
        same for a column of URLs, ``columnar.url_keys``). Different keys may
        share a hash: the store compares the real keys before merging.
    """
    prime1, prime2 = parsing.KEY_PRIMES
    number = int.from_bytes(source_url.encode("utf-8", "surrogatepass"), "little")
    return ((number % prime1) << KEY_SHIFT | number % prime2) ^ target_mix


def _json(value: Any) -> str:
    import json  # noqa: PLC0415 - merged records are rare; the loop never needs it

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _flags(r: Backlink | MergedBacklink) -> int:
    return (
        (_FOLLOWED if r.followed else 0)
        | (_NOFOLLOW if r.nofollow else 0)
        | (_UGC if r.ugc else 0)
        | (_SPONSORED if r.sponsored else 0)
        | (_IMAGE if r.is_image else 0)
        | (_LOST if r.lost else 0)
        | (_REL_REPORTED if r.rel_reported else 0)
        | (_LOST_REPORTED if r.lost_reported else 0)
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk import.

    An import allocates millions of short-lived objects per second; the
    collector's passes over them cost more than the parsing (measured: merging
    in memory cost 5x more with it on). Nothing an import builds has reference
    cycles, so nothing is lost by pausing; cycles made meanwhile are collected after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class StageResult:
    """A finished stage: what the store needs to copy it.

    Attributes
    ----------
    path : str
        The stage file.
    rows : int
        Link records staged (rowids 1..rows, in reading order).
    keys : bytes
        :func:`link_key` of each, as native int64, in rowid order.
    targets : list of str
        Target URLs by ``t_idx``, in the order first met.
    files : list of (str, str)
        ``(file, vendor)`` by ``file_idx``.
    others : list
        Referring domains and target pages, in reading order (when no merger
        took them).
    """

    path: str
    rows: int
    keys: bytes
    targets: list[str]
    files: list[tuple[str, str]]
    others: list[Record] = field(default_factory=list)


class Stager:
    """Write link records to a new stage file.

    Parameters
    ----------
    path : str or Path
        The stage file to create (it must not exist).
    """

    def __init__(self, path: str | Path, *, columnar: bool = False) -> None:
        self.path = str(path)
        #: Rows collected and written by Arrow at :meth:`finish` (a worker's
        #: stage: :meth:`add_export` with ``runs``), instead of row by row.
        self.columnar = columnar
        self._py_rows: list[tuple[Any, ...]] = []
        self._tables: list[Any] = []  # pyarrow Tables from ColumnarRows
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        self.conn.executescript(_SCHEMA)
        self.conn.execute("BEGIN")
        #: Target URL -> (t_idx, its target_mix), in the order first met.
        self.targets: dict[str, tuple[int, int]] = {}
        self.files: dict[tuple[str, str], int] = {}
        self.rows = 0
        self.keys = array("q")
        self.others: list[Record] = []
        self._batch: list[tuple[Any, ...]] = []

    def _target(self, url: str) -> tuple[int, int]:
        entry = self.targets[url] = (
            len(self.targets),
            target_mix(url),
        )
        return entry

    def _file_idx(self, file: str, vendor: str) -> int:
        f_idx = self.files[file, vendor] = len(self.files)
        self.conn.execute(
            "INSERT INTO f (file_idx, file, vendor, vendors, origin) VALUES (?, ?, ?, ?, ?)",
            (f_idx, file, vendor, _json([vendor]), "[[" + _json(file) + ","),
        )
        return f_idx

    def add(
        self,
        records: Iterable[Record | MergedBacklink],
        merger: BacklinkMerger | None = None,
    ) -> None:
        """Stage link records; referring domains and target pages go to ``merger``
        (or to :attr:`StageResult.others` without one)."""
        targets, files = self.targets, self.files
        batch, key_append = self._batch, self.keys.append
        count = 0
        for r in records:
            if type(r) is not Backlink:
                self._other(r, merger)
                continue
            t_idx, t_mix = targets.get(r.target_url) or self._target(r.target_url)
            f_idx = files.get((r.file, r.vendor))
            if f_idx is None:
                f_idx = self._file_idx(r.file, r.vendor)
            key_append(link_key(r.source_url, t_mix))
            batch.append(
                (
                    r.source_url,
                    r.source_host,
                    r.source_domain,
                    t_idx,
                    r.anchor,
                    _flags(r),
                    r.lost_date or "",
                    r.first_seen or "",
                    r.last_seen or "",
                    r.metric_name or "",
                    -1.0 if r.metric_value is None else r.metric_value,
                    -1.0 if r.authority is None else r.authority,
                    f_idx,
                    r.line,
                )
            )
            count += 1
            if len(batch) >= _BATCH:
                self.conn.executemany(_INSERT_ONE, batch)
                batch.clear()
        self.rows += count

    def add_export(
        self,
        parsed: ParsedExport,
        merger: BacklinkMerger | None = None,
        *,
        runs: RunRows | None = None,
        delimiter: str = ",",
    ) -> None:
        """Stage what an export holds; its links as plain rows (:meth:`ParsedExport.stage_rows`).

        With ``runs`` (the rows ``parsed`` reads, from a file with ``delimiter``)
        and a ``columnar`` stager, runs of plain lines are staged by columns
        (:mod:`pipelines.backlinks.columnar`) when the format allows it.
        """
        if parsed.format.kind != KIND_LINKS:
            self.add(parsed, merger)
            return
        f_idx = self.files.get((parsed.report.file, parsed.format.vendor))
        if f_idx is None:
            f_idx = self._file_idx(parsed.report.file, parsed.format.vendor)
        self._flush()
        before = len(self.keys)
        if self.columnar:
            columns = None
            if runs is not None:
                columns = parsed.columnar_rows(delimiter, self.targets, self._target, f_idx)
            if columns is not None:
                assert runs is not None
                runs.start(columns)
            self._py_rows.extend(parsed.stage_rows(self.targets, self._target, f_idx, self.keys))
            self.rows += len(self.keys) - before
            if columns is not None:
                parsed.add_columnar_counts(columns)
                self._tables.extend(columns.tables)
                self.rows += sum(t.num_rows for t in columns.tables)
            return
        # sqlite3 takes the rows from the generator: no list of them is built.
        self.conn.executemany(
            _INSERT_ONE, parsed.stage_rows(self.targets, self._target, f_idx, self.keys)
        )
        self.rows += len(self.keys) - before

    def _other(self, record: Record | MergedBacklink, merger: BacklinkMerger | None) -> None:
        if isinstance(record, MergedBacklink):
            self._add_merged(record)
        elif isinstance(record, ReferringDomain | TargetPage):
            if merger is None:
                self.others.append(record)
            elif isinstance(record, ReferringDomain):
                merger.add_domain(record)
            else:
                merger.add_target_page(record)
        else:
            raise TypeError(f"not a backlink record: {record!r}")

    def _add_merged(self, r: MergedBacklink) -> None:
        """Stage an already merged record (from a :class:`BacklinkMerger`)."""
        self._flush()
        t_idx, t_mix = self.targets.get(r.target_url) or self._target(r.target_url)
        file, line = r.origins[0] if r.origins else ("", 0)
        vendor = r.vendors[0] if r.vendors else ""
        f_idx = self.files.get((file, vendor))
        if f_idx is None:
            f_idx = self._file_idx(file, vendor)
        self.keys.append(link_key(r.source_url, t_mix))
        self.conn.execute(
            _INSERT_MERGED,
            (
                r.source_url,
                r.source_host,
                r.source_domain,
                t_idx,
                r.anchor,
                _flags(r),
                r.lost_date or "",
                r.first_seen or "",
                r.last_seen or "",
                r.metric_name or "",
                -1.0 if r.metric_value is None else r.metric_value,
                -1.0 if r.authority is None else r.authority,
                f_idx,
                line,
                _json(list(r.vendors)),
                _json([list(o) for o in r.origins]),
                r.rel_seen,
                r.lost_seen,
                links_count(r.origins),
                _json(list(r.conflicts)) if r.conflicts else None,
            ),
        )
        self.rows += 1

    def _flush(self) -> None:
        if self._batch:
            self.conn.executemany(_INSERT_ONE, self._batch)
            self._batch.clear()

    def finish(self) -> StageResult:
        """Write what is pending and close the file."""
        self._flush()
        self.conn.execute("COMMIT")
        self.conn.close()
        keys = self.keys.tobytes()
        targets = list(self.targets)
        if self.columnar and (self._py_rows or self._tables):
            keys, targets = self._write_columns()
        return StageResult(
            path=self.path,
            rows=self.rows,
            keys=keys,
            targets=targets,
            files=list(self.files),
            others=self.others,
        )

    def _write_columns(self) -> tuple[bytes, list[str]]:
        """Write the collected rows (:func:`~pipelines.backlinks.columnar.write_stage`)."""
        from pipelines.backlinks.columnar import write_stage  # noqa: PLC0415 - workers only

        tables, rows = self._tables, self._py_rows
        keys, urls = write_stage(self.path, tables, rows, self.keys, list(self.targets))
        self._py_rows.clear()
        self._tables.clear()
        return keys, urls

    def abandon(self) -> None:
        """Close without finishing (the caller deletes the file)."""
        self.conn.close()


def links_count(origins: Sequence[tuple[str, int]]) -> int:
    """Link rows behind a merged record: the most any one file had."""
    if len(origins) == 1:
        return 1
    per_file: dict[str, int] = {}
    for file, _ in origins:
        per_file[file] = per_file.get(file, 0) + 1
    return max(per_file.values())


@dataclass(frozen=True)
class RegionTask:
    """One region of one export to stage (picklable: it goes to a worker process).

    ``part`` 0 starts at the file's start and finds the header itself; later
    parts are given the format and header.
    """

    path: str
    file: str
    part: int
    region: tuple[int, int | None]
    skip: int
    fmt: ExportFormat
    header: tuple[str, ...]
    site: Site | None
    target: str | None
    columns: Mapping[str, str] | None
    tracking_params: tuple[str, ...]
    reject_details: int
    stage_path: str


@dataclass
class RegionResult:
    """What staging a region gave (picklable: it comes back from a worker process).

    ``report``, ``problems`` and the line numbers in them and in the stage
    count from the region's first line (part 0: the file's first line).
    """

    task: RegionTask
    stage: StageResult
    report: ImportReport
    problems: dict[str, list[Any]]
    region_lines: int
    overrun: int
    fallback_lines: int
    first_fallback: int


#: A worker's URL memos, kept from one region to the next: the same referring
#: hosts come back all over an export, and each costs ~12 us the first time.
_URLS: dict[tuple[str, ...], ExportUrls] = {}


def start_worker() -> None:
    """Set up a worker process (the pool's initializer): malloc keeps the memory a
    region frees for the next (:func:`pipelines.backlinks.columnar.keep_freed_memory`)."""
    from pipelines.backlinks import columnar  # noqa: PLC0415 - Arrow: workers only

    columnar.keep_freed_memory()


def stage_region(task: RegionTask) -> RegionResult:
    """Read one region of an export and stage its records (runs in a worker process)."""
    urls = _URLS.get(task.tracking_params)
    if urls is None:
        urls = _URLS[task.tracking_params] = ExportUrls(
            UrlNormaliser(tracking_params=task.tracking_params)
        )
    with (
        gc_paused(),
        BacklinkFile(task.path, name=task.file, region=task.region, skip=task.skip) as handle,
    ):
        # Arrow loads in the workers only (the crawl's process never stages a region).
        from pipelines.backlinks.columnar import RunRows  # noqa: PLC0415

        rows = RunRows(handle, line_splitter(handle.delimiter))
        if task.part == 0:
            parsed = parse_backlinks(
                rows,
                file=task.file,
                site=task.site,
                target=task.target,
                columns=task.columns,
                urls=urls,
                reject_details=task.reject_details,
            )
        else:
            parsed = parse_region(
                rows,
                fmt=task.fmt,
                header=list(task.header),
                file=task.file,
                site=task.site,
                target=task.target,
                urls=urls,
                reject_details=task.reject_details,
            )
        stager = Stager(task.stage_path, columnar=COLUMNAR)
        try:
            stager.add_export(parsed, runs=rows, delimiter=handle.delimiter)
        except BaseException:
            stager.abandon()
            raise
        return RegionResult(
            task=task,
            stage=stager.finish(),
            report=parsed.report,
            problems=dict(parsed.problems),
            region_lines=handle.region_lines,
            overrun=handle.overrun,
            fallback_lines=handle.fallback_lines,
            first_fallback=handle.first_fallback_line,
        )
