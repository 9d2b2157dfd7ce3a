"""Write merged backlinks into a run's crawl store, and run whole imports.

Tables (additive to :mod:`pipelines.storedb`; the full reference is in
``docs/backlinks.md``):

* ``backlinks`` (defined by the store) gains the columns ``rel_reported``,
  ``lost_reported``, ``rel_seen``, ``lost_seen``, ``links``, ``conflicts`` and
  ``authority_source``;
* ``backlink_domains``: referring domains from domain-level exports, with
  their authority;
* ``backlink_target_pages``: per-page counts from top-target-pages exports;
* ``backlink_imports``: one row per imported file (what the report shows);
* the view ``backlink_target_counts``: links, referring pages and referring
  domains per target.

How an import writes (memory stays flat however large the exports):

1. link records are staged in private SQLite files
   (:mod:`pipelines.backlinks.staging`) with the columns they make, with a
   62-bit hash of each key (source URL, target URL); large exports are read in
   regions by worker processes, one stage per region (runs of plain lines by
   columns: :mod:`pipelines.backlinks.columnar`); referring domains and target
   pages, which are few, stay in memory;
2. each stage, in reading order, is copied into the backlinks table by one
   ``INSERT ... SELECT``, leaving out the records whose key was seen before
   (the hashes, in sorted numpy arrays; keys already stored are found with the
   store's unique index): those are copied to a repeats file, with the rows
   they repeat as they are then (``bl_rep.h``);
3. when every stage is in, the repeats are merged into the rows they repeat,
   in reading order, after comparing the real keys: the common pair (one
   record, one row) by one SQL statement (:data:`_MERGE_PAIRS`), any other
   read in the order of those rows and merged by :class:`_RowMerge` (both the
   rules of :func:`~pipelines.backlinks.merging.merge_records` on stored rows;
   tests check they agree), in the workers, one part each, from the repeats
   file alone, while this process builds the key index; the merged rows then
   replace theirs.

An import is atomic: a failure leaves the store as it was. When the run has
no backlinks yet (or ``replace``), or the import is large, the rows are
written to a new table (``backlinks_building``, one transaction per stage, so
the crawl's pipeline is never kept waiting), indexed once it is full and,
in one last transaction, merged into, put in the place of ``backlinks``
with the domains, target pages, known URLs and import records. Otherwise the
import is one transaction on ``backlinks`` itself. Without ``replace`` the
new records merge into the backlinks already stored, by the same rules as
within an import.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import multiprocessing
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from linkspider.urlnorm import UrlNormaliser
from pipelines.backlinks.merging import (
    BacklinkMerger,
    LinkRecord,
    MergedDomain,
    merge_domains,
)
from pipelines.backlinks.model import (
    KIND_LINKS,
    Backlink,
    BacklinkError,
    ImportReport,
    MergedBacklink,
    ReferringDomain,
    Reject,
    TargetPage,
)
from pipelines.backlinks.parsing import ParsedExport, Record, parse_backlinks, problem_warning
from pipelines.backlinks.reading import (
    BacklinkFile,
    expand_backlink_paths,
    fallback_warning,
    read_backlinks,
)
from pipelines.backlinks.staging import (
    FLAG_BITS,
    RegionResult,
    RegionTask,
    Stager,
    StageResult,
    gc_paused,
    links_count,
    stage_region,
    start_worker,
)
from pipelines.backlinks.urls import ExportUrls, Site
from pipelines.backlinks.values import METRIC_PREFERENCE
from pipelines.storedb import PAGE_SIZE, CrawlStore

__all__ = [
    "BACKLINK_COLUMNS",
    "ImportResult",
    "default_workers",
    "drop_backlinks_from",
    "ensure_backlink_schema",
    "fill_domain_authority",
    "gc_paused",
    "import_backlinks",
    "open_exports",
    "site_of_store",
    "write_backlinks",
]

#: Link exports smaller than this (in all) are read in this process.
PARALLEL_MIN_BYTES: Final = 16 << 20
#: Bytes of an export one worker reads at a time (each region's stage is one
#: commit into the store: 16 MiB halves them against 8 MiB, for the same balance);
#: down to half that for exports that would give a worker fewer than 4 regions.
REGION_BYTES: Final = 16 << 20
#: The table a large import writes before it replaces ``backlinks``.
BUILDING: Final = "backlinks_building"

#: Columns added to the store's ``backlinks`` table: (name, declaration).
BACKLINK_COLUMNS: Final = (
    ("rel_reported", "INTEGER NOT NULL DEFAULT 1"),  # 0: followed is assumed (Search Console)
    ("lost_reported", "INTEGER NOT NULL DEFAULT 1"),  # 0: lost is assumed false
    ("rel_seen", "TEXT"),  # date of the observation `followed` comes from
    ("lost_seen", "TEXT"),  # date of the observation `lost` comes from
    ("links", "INTEGER NOT NULL DEFAULT 1"),  # link rows behind it (most in one file)
    ("conflicts", "TEXT"),  # JSON list of fields vendors disagreed on, or NULL
    ("authority_source", "TEXT"),  # 'link' (its own metric) | 'domain' | NULL
)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS backlink_domains (
    domain         TEXT PRIMARY KEY,     -- registrable domain
    metric_name    TEXT,                 -- DR, AS, ...
    metric_value   REAL,
    authority      REAL,                 -- metric scaled to [0, 1]
    links          INTEGER,              -- links from the domain to the site
    linking_pages  INTEGER,
    target_pages   INTEGER,
    first_seen     TEXT,
    last_seen      TEXT,
    lost           INTEGER,              -- NULL when no export says
    lost_date      TEXT,
    vendors        TEXT NOT NULL,        -- JSON list
    origins        TEXT NOT NULL         -- JSON list of [file, line]
);
CREATE TABLE IF NOT EXISTS backlink_target_pages (
    target_id  INTEGER NOT NULL,         -- urls.id
    vendor     TEXT NOT NULL,
    links      INTEGER,                  -- incoming links the vendor counts
    domains    INTEGER,                  -- linking domains the vendor counts
    origin     TEXT NOT NULL,            -- JSON [file, line]
    PRIMARY KEY (target_id, vendor)
);
CREATE TABLE IF NOT EXISTS backlink_imports (
    id                 INTEGER PRIMARY KEY,
    imported_at        REAL NOT NULL,    -- UNIX time
    mode               TEXT NOT NULL,    -- add | replace
    file               TEXT NOT NULL,    -- absolute path
    format             TEXT NOT NULL,    -- format key, e.g. ahrefs-backlinks
    vendor             TEXT NOT NULL,
    variant            TEXT NOT NULL,
    label              TEXT NOT NULL,
    kind               TEXT NOT NULL,    -- links | domains | target_pages
    encoding           TEXT NOT NULL,
    delimiter          TEXT NOT NULL,
    header_line        INTEGER NOT NULL,
    rows_read          INTEGER NOT NULL,
    kept               INTEGER NOT NULL,
    rejected           INTEGER NOT NULL,
    lost               INTEGER NOT NULL,
    nofollow           INTEGER NOT NULL,
    referring_domains  INTEGER NOT NULL,
    target_assumed     TEXT,             -- the target used for exports without one
    reject_counts      TEXT NOT NULL,    -- JSON {reason code: count}
    rejects            TEXT NOT NULL,    -- JSON [[line, code, reason], ...] (first ones)
    warnings           TEXT NOT NULL     -- JSON list of strings
);
"""
#: Per target: links, referring pages and domains, and the domains that deposit equity.
_VIEW: Final = """
CREATE VIEW IF NOT EXISTS backlink_target_counts AS
    SELECT target_id,
           sum(links)                    AS links,
           count(*)                      AS referring_pages,
           count(DISTINCT source_domain) AS referring_domains,
           count(DISTINCT CASE WHEN followed AND NOT lost THEN source_domain END)
                                         AS live_followed_domains
    FROM backlinks GROUP BY target_id
"""

_WRITE_COLUMNS: Final = (
    "source_url",
    "source_host",
    "source_domain",
    "target_id",
    "anchor",
    "followed",
    "nofollow",
    "ugc",
    "sponsored",
    "is_image",
    "lost",
    "lost_date",
    "first_seen",
    "last_seen",
    "metric_name",
    "metric_value",
    "authority",
    "vendors",
    "origins",
    "rel_reported",
    "lost_reported",
    "rel_seen",
    "lost_seen",
    "links",
    "conflicts",
    "authority_source",
)
#: The key columns lead _WRITE_COLUMNS; a merge never changes them.
_KEY_COLUMNS: Final = 4
_READ_BACK: Final = (
    "id, source_url, source_host, source_domain, target_id, anchor, followed, nofollow, ugc, "
    "sponsored, is_image, lost, lost_date, first_seen, last_seen, metric_name, metric_value, "
    "authority, vendors, origins, rel_reported, lost_reported, rel_seen, lost_seen, conflicts, "
    "authority_source"
)
#: What a record is made of (_StoredRows.record): _READ_BACK without the id.
_RECORD_COLUMNS: Final = tuple(_READ_BACK.split(", ")[1:])


def _json(value: Any) -> str:
    """Compact JSON, the same bytes for the same value however the row was built."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def ensure_backlink_schema(store: CrawlStore) -> None:
    """Add the importer's columns, tables and view to a store (idempotent)."""
    have = {row[1] for row in store.conn.execute("PRAGMA table_info(backlinks)")}
    for name, declaration in BACKLINK_COLUMNS:
        if name not in have:
            store.conn.execute(f"ALTER TABLE backlinks ADD COLUMN {name} {declaration}")
    store.executescript(_SCHEMA)
    store.conn.execute(_VIEW)


def site_of_store(store: CrawlStore, *, normaliser: UrlNormaliser | None = None) -> Site | None:
    """The site a run crawled: its start URLs and every host it has pages on.

    ``pages`` holds the URLs the crawl fetched or decided about inside its
    scope (fetched, failed, blocked, cut by a limit), so their hosts are the site's.

    Start URLs are the ``known_urls`` recorded with source ``start``; the home
    page is the first of them (else the first page fetched).
    """
    starts = [
        row[0]
        for row in store.conn.execute(
            "SELECT u.url FROM known_urls k JOIN urls u ON u.id = k.url_id "
            "WHERE k.source = 'start' ORDER BY k.url_id"
        )
    ]
    hosts = [
        row[0]
        for row in store.conn.execute(
            "SELECT DISTINCT substr(rest, 1, instr(rest || '/', '/') - 1) FROM ("
            "  SELECT substr(u.url, instr(u.url, '://') + 3) AS rest FROM pages p"
            "  JOIN urls u ON u.id = p.url_id)"
        )
        if row[0]
    ]
    if not starts:
        first = store.conn.execute(
            "SELECT u.url FROM pages p JOIN urls u ON u.id = p.url_id "
            "WHERE p.kind = 'html' ORDER BY p.fetched_at, p.url_id LIMIT 1"
        ).fetchone()
        starts = [first[0]] if first else []
    return Site.from_urls(starts, extra_hosts=hosts, normaliser=normaliser)


@dataclass
class ImportResult:
    """What an import did.

    Attributes
    ----------
    reports : list of ImportReport
        One per file, in the order given.
    backlinks : int
        Backlinks in the store after the import.
    added, updated : int
        Keys new to the store, and keys merged into a stored backlink.
    link_rows : int
        Link rows kept from the files (before merging).
    merged : int
        Distinct (source, target) links among them.
    multi_vendor : int
        Of those, links more than one vendor reported.
    conflicts : Counter
        Field -> links whose vendors disagreed on it (rule applied, see merging).
    domains : int
        Referring domains from domain-level exports, after merging.
    authority_filled : int
        Backlinks whose authority now comes from their domain's authority.
    targets : list of str
        Distinct target URLs of this import's links and target pages.
    read_seconds : float
        Wall time until every file was read (and its links staged).
    seconds : float
        Wall time of the whole import.
    timings : dict of str to float
        Wall seconds of the steps after reading: ``merge`` (the repeated keys,
        in a worker process when the import is parallel), ``index`` (the key
        index of a new table, meanwhile), ``apply`` (the merged rows written),
        ``finish`` (all of it, to the last commit).
    """

    reports: list[ImportReport]
    backlinks: int = 0
    added: int = 0
    updated: int = 0
    link_rows: int = 0
    merged: int = 0
    multi_vendor: int = 0
    conflicts: Counter[str] = field(default_factory=Counter)
    domains: int = 0
    authority_filled: int = 0
    targets: list[str] = field(default_factory=list)
    read_seconds: float = 0.0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def open_exports(
    paths: Iterable[str | Path],
    *,
    site: Site | None,
    target: str | None = None,
    columns: Mapping[str, str] | None = None,
    urls: ExportUrls | None = None,
    reject_details: int = 1000,
) -> list[tuple[BacklinkFile, ParsedExport]]:
    """Open every file and recognise its format before anything is imported.

    Fails fast: the first unreadable or unrecognised file raises, and the
    files already opened are closed.

    Raises
    ------
    BacklinkError
        With one line naming the file and the problem.
    """
    urls = urls or ExportUrls()
    files = expand_backlink_paths(paths)
    if not files:
        raise BacklinkError("no backlink file given")
    opened: list[tuple[BacklinkFile, ParsedExport]] = []
    try:
        for path in files:
            handle = read_backlinks(path, name=str(path))
            try:
                parsed = parse_backlinks(
                    handle,
                    file=str(path),
                    site=site,
                    target=target,
                    columns=columns,
                    urls=urls,
                    reject_details=reject_details,
                )
            except BaseException:
                handle.close()
                raise
            parsed.report.encoding = handle.encoding + (" (BOM)" if handle.bom else "")
            parsed.report.delimiter = handle.delimiter_name
            opened.append((handle, parsed))
    except BaseException:
        for handle, _ in opened:
            handle.close()
        raise
    return opened


def default_workers() -> int:
    """Worker processes for a large import: one per core, at most 4."""
    return max(1, min(os.cpu_count() or 1, 4))


def import_backlinks(
    store: CrawlStore,
    paths: Iterable[str | Path],
    *,
    site: Site | None,
    target: str | None = None,
    columns: Mapping[str, str] | None = None,
    normaliser: UrlNormaliser | None = None,
    replace: bool = False,
    reject_details: int = 1000,
    on_file: Callable[[ImportReport], None] | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Read, merge and store backlink exports (the whole import).

    Parameters
    ----------
    store : CrawlStore
        The run's store (writable).
    paths : iterable of str or Path
        Files or folders (see :func:`expand_backlink_paths`).
    site : Site or None
        The crawled site (see :func:`site_of_store`); ``None`` checks nothing.
    target : str, optional
        Target for exports without a target column (default: the site's home page).
    columns : mapping, optional
        Column map for exports we do not recognise.
    normaliser : UrlNormaliser, optional
        The crawl's URL normaliser (its tracking parameters).
    replace : bool
        Replace the run's backlinks instead of merging into them.
    reject_details : int
        Rejected rows listed per file (all are counted).
    on_file : callable, optional
        Called with each file's report once the file is read.
    workers : int, optional
        Processes that read large exports (default :func:`default_workers`);
        1 reads everything in this process. Link exports under
        :data:`PARALLEL_MIN_BYTES` in all are read in this process anyway.

    Returns
    -------
    ImportResult

    Raises
    ------
    BacklinkError
        A file is unreadable or unrecognised (nothing is written then).
    """
    started = time.perf_counter()
    normaliser = normaliser or UrlNormaliser()
    exports = open_exports(
        paths,
        site=site,
        target=target,
        columns=columns,
        urls=ExportUrls(normaliser),
        reject_details=reject_details,
    )
    try:
        ensure_backlink_schema(store)
        workers = default_workers() if workers is None else workers
        link_bytes = sum(
            handle.path.stat().st_size
            for handle, parsed in exports
            if parsed.format.kind == KIND_LINKS
        )
        stored = store.count("backlinks")
        # A large import builds a new table: worth it when what is stored is not
        # much larger than what comes (it is copied into the new table first).
        parallel = (
            workers > 1
            and link_bytes >= PARALLEL_MIN_BYTES
            and (replace or stored == 0 or _estimated_rows(exports) * 2 >= stored)
        )
        if parallel:
            return _import_in_parallel(
                store,
                exports,
                site=site,
                target=target,
                columns=columns,
                tracking_params=normaliser.tracking_params,
                replace=replace,
                reject_details=reject_details,
                on_file=on_file,
                workers=workers,
                started=started,
            )
        reports: list[ImportReport] = []

        def stage(stager: Stager, merger: BacklinkMerger) -> None:
            for handle, parsed in exports:
                stager.add_export(parsed, merger)
                parsed.report.warnings[:0] = handle.warnings
                reports.append(parsed.report)
                handle.close()
                if on_file is not None:
                    on_file(parsed.report)

        return _write(store, stage, reports, replace=replace, started=started)
    finally:
        for handle, _ in exports:
            handle.close()


def _estimated_rows(exports: Sequence[tuple[BacklinkFile, ParsedExport]]) -> int:
    """Link rows the exports hold, roughly (file size over the sample's bytes per line)."""
    rows = 0
    for handle, parsed in exports:
        if parsed.format.kind == KIND_LINKS:
            rows += handle.path.stat().st_size // max(1, handle.sample_bytes_per_line)
    return rows


def write_backlinks(
    store: CrawlStore,
    records: Iterable[Record | MergedBacklink] | BacklinkMerger,
    reports: Sequence[ImportReport] = (),
    *,
    replace: bool = False,
) -> ImportResult:
    """Merge records into the store (atomically), streaming them.

    Parameters
    ----------
    store : CrawlStore
    records : iterable or BacklinkMerger
        Link, referring-domain and target-page records in reading order (what
        :class:`ParsedExport` objects yield, chained), or a merger's contents
        (its links, referring domains and target pages). Consumed once;
        ``reports`` may be filled while it is consumed.
    reports : sequence of ImportReport
        Per-file reports, recorded in ``backlink_imports``.
    replace : bool
        Delete the run's backlinks, domains, target pages and imports first.

    Returns
    -------
    ImportResult
    """

    def stage(stager: Stager, merger: BacklinkMerger) -> None:
        stager.add(records, merger)
        if isinstance(records, BacklinkMerger):
            merger.domains.update(records.domains)
            merger.target_pages.update(records.target_pages)

    return _write(store, stage, reports, replace=replace, started=time.perf_counter())


def _write(
    store: CrawlStore,
    stage: Callable[[Stager, BacklinkMerger], None],
    reports: Sequence[ImportReport],
    *,
    replace: bool,
    started: float,
) -> ImportResult:
    """Stage records in this process (``stage`` fills a stager), then apply them."""
    ensure_backlink_schema(store)
    stored = store.count("backlinks")
    run = _Import(store, replace=replace, build=replace or stored == 0)
    try:
        with gc_paused():
            stager = Stager(run.stage_path())
            try:
                stage(stager, run.merger)
            except BaseException:
                stager.abandon()
                raise
            staged = stager.finish()
            run.result.read_seconds = time.perf_counter() - started
            run.apply(staged)
            run.finish(list(reports))
    except BaseException:
        run.abort()
        raise
    run.result.seconds = time.perf_counter() - started
    return run.result


def _import_in_parallel(
    store: CrawlStore,
    exports: Sequence[tuple[BacklinkFile, ParsedExport]],
    *,
    site: Site | None,
    target: str | None,
    columns: Mapping[str, str] | None,
    tracking_params: tuple[str, ...],
    replace: bool,
    reject_details: int,
    on_file: Callable[[ImportReport], None] | None,
    workers: int,
    started: float,
) -> ImportResult:
    """Read the exports region by region in worker processes; apply the stages in order."""
    run = _Import(store, replace=replace, build=True)
    run.merge_parts = workers
    # Half the regions' size when the exports are small for the workers (4 regions
    # each at least), so that none waits idle at the end.
    link_bytes = sum(
        handle.path.stat().st_size for handle, parsed in exports if parsed.format.kind == KIND_LINKS
    )
    region_bytes = min(REGION_BYTES, max(REGION_BYTES // 2, link_bytes // (4 * workers)))
    plans: list[list[RegionTask]] = []
    for handle, parsed in exports:
        regions = handle.regions(region_bytes) if parsed.format.kind == KIND_LINKS else [(0, None)]
        plans.append(
            [
                RegionTask(
                    path=str(handle.path),
                    file=parsed.report.file,
                    part=part,
                    region=region,
                    skip=0,
                    fmt=parsed.format,
                    header=tuple(parsed.header),
                    site=site,
                    target=target,
                    columns=columns,
                    tracking_params=tracking_params,
                    reject_details=reject_details,
                    stage_path=run.stage_path(),
                )
                for part, region in enumerate(regions)
            ]
        )
    pool = ProcessPoolExecutor(workers, mp_context=_worker_context(), initializer=start_worker)
    run.pool = pool  # the workers merge repeated keys too
    reports: list[ImportReport] = []
    try:
        feeder = _Feeder(pool, [task for plan in plans for task in plan], window=2 * workers)
        with gc_paused():
            for (handle, _), plan in zip(exports, plans, strict=True):
                report = _apply_file(run, handle, plan, feeder, reject_details=reject_details)
                reports.append(report)
                if on_file is not None:
                    on_file(report)
            run.result.read_seconds = time.perf_counter() - started
            run.finish(reports)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        run.abort()
        raise
    pool.shutdown(wait=True)
    run.result.seconds = time.perf_counter() - started
    return run.result


def _worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start.

    Forking a process that runs a Twisted reactor (the crawl-time import) or
    any other thread is not safe: there, "spawn" starts a fresh interpreter
    per worker (half a second of imports and of loading the suffix list,
    each). A plain single-threaded process on Linux (``scrapy backlinks``
    without a reactor, a script, the benchmark) forks: the workers start at
    once with what it has loaded. They never use its store connection (a
    forked worker ends with ``os._exit``, so it does not close it either).
    """
    if (
        sys.platform == "linux"
        and threading.active_count() == 1
        and "twisted.internet.reactor" not in sys.modules
    ):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _Feeder:
    """Region tasks for the pool, submitted a few ahead of the one awaited.

    Merges are submitted to the same workers as stages are applied: with only
    a few region tasks queued, they run soon instead of after every region.
    """

    def __init__(self, pool: ProcessPoolExecutor, tasks: Sequence[RegionTask], window: int) -> None:
        self.pool = pool
        self.tasks = tasks
        self.window = window
        self.futures: list[Future[RegionResult]] = []
        self.index = {task.stage_path: i for i, task in enumerate(tasks)}

    def result(self, task: RegionTask) -> RegionResult:
        """The task's result (submitting those up to ``window`` after it)."""
        at = self.index[task.stage_path]
        while len(self.futures) < min(len(self.tasks), at + 1 + self.window):
            self.futures.append(self.pool.submit(stage_region, self.tasks[len(self.futures)]))
        return self.futures[at].result()


def _apply_file(
    run: _Import,
    handle: BacklinkFile,
    plan: Sequence[RegionTask],
    feeder: _Feeder,
    *,
    reject_details: int,
) -> ImportReport:
    """Apply one file's stages in order and put its report together, lines made absolute."""
    report: ImportReport | None = None
    problems: dict[str, list[Any]] = {}
    offset = skip = fallbacks = first_fallback = 0
    for task in plan:
        found = feeder.result(task)
        if found.task.skip != skip:
            # The previous region's last record ran into this one: read it again
            # without those lines (rare: a quoted field over a region boundary).
            _remove(found.stage.path)
            with gc_paused():
                found = stage_region(dataclasses.replace(task, skip=skip))
        run.apply(found.stage, line_offset=offset)
        for other in found.stage.others:
            if isinstance(other, ReferringDomain):
                run.merger.add_domain(other)
            elif isinstance(other, TargetPage):
                run.merger.add_target_page(other)
        if report is None:
            report = found.report
        else:
            _absorb(report, found.report, offset, reject_details)
        for column, (count, line, example) in found.problems.items():
            if column in problems:
                problems[column][0] += count
            else:
                problems[column] = [count, line + offset, example]
        if found.fallback_lines:
            fallbacks += found.fallback_lines
            first_fallback = first_fallback or found.first_fallback + offset
        offset += found.region_lines
        skip = found.overrun
    assert report is not None
    report.encoding = handle.encoding + (" (BOM)" if handle.bom else "")
    report.delimiter = handle.delimiter_name
    report.warnings = list(handle.warnings)
    if fallbacks:
        report.warnings.append(fallback_warning(handle.name, fallbacks, first_fallback))
    report.warnings += [
        problem_warning(report.file, column, count, line, example)
        for column, (count, line, example) in problems.items()
    ]
    return report


def _absorb(report: ImportReport, part: ImportReport, offset: int, details: int) -> None:
    """Add a later region's report to a file's report."""
    report.rows_read += part.rows_read
    report.kept += part.kept
    report.rejected += part.rejected
    report.lost += part.lost
    report.nofollow += part.nofollow
    report.reject_counts.update(part.reject_counts)
    room = details - len(report.rejects)
    report.rejects += [
        Reject(r.file, r.line + offset, r.code, r.reason) for r in part.rejects[: max(room, 0)]
    ]
    report.referring_domains |= part.referring_domains


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class _Seen:
    """The key hashes of the rows an import wrote, with their ids: sorted numpy arrays.

    Arrays are merged two by two as they come (the larger ones rarely), so
    there are about log2(n) of them and a lookup is a binary search in each.
    """

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, keys: np.ndarray, ids: np.ndarray) -> None:
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self.parts.append((keys[order], ids[order]))
        while len(self.parts) > 1 and 2 * len(self.parts[-1][0]) >= len(self.parts[-2][0]):
            (k2, i2), (k1, i1) = self.parts.pop(), self.parts.pop()
            keys_both, ids_both = np.concatenate((k1, k2)), np.concatenate((i1, i2))
            order = np.argsort(keys_both, kind="stable")
            self.parts.append((keys_both[order], ids_both[order]))

    def contains(self, keys: np.ndarray) -> np.ndarray:
        # Looked up in sorted order: the binary searches then walk each array
        # forward (a third of the time of random lookups in arrays this large).
        order = np.argsort(keys)
        ordered = keys[order]
        found = np.zeros(len(keys), dtype=bool)
        for sorted_keys, _ in self.parts:
            at = np.minimum(np.searchsorted(sorted_keys, ordered), len(sorted_keys) - 1)
            found |= sorted_keys[at] == ordered
        out = np.empty_like(found)
        out[order] = found
        return out

    def first(self, keys: np.ndarray) -> np.ndarray:
        """For each key (all of them seen), the id of the first row written with its hash."""
        first = np.zeros(len(keys), dtype=np.int64)
        found = np.zeros(len(keys), dtype=bool)
        for sorted_keys, ids in self.parts:
            low = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
            here = ~found & (sorted_keys[low] == keys)
            first[here] = ids[low[here]]
            found |= here
        return first

    def shared(self) -> dict[int, list[int]]:
        """The hashes that several rows have (rows stored before the import
        can share one), with their ids."""
        if len(self.parts) < 2 and not any(len(k) > 1 for k, _ in self.parts):
            return {}
        keys = np.concatenate([k for k, _ in self.parts])
        ids = np.concatenate([i for _, i in self.parts])
        order = np.lexsort((ids, keys))
        keys, ids = keys[order], ids[order]
        same = (keys[1:] == keys[:-1]) & (ids[1:] != ids[:-1])
        out: dict[int, list[int]] = {}
        for at in np.flatnonzero(same):
            found = out.setdefault(int(keys[at]), [int(ids[at])])
            found.append(int(ids[at + 1]))
        return out

    def ids(self, key: int) -> list[int]:
        out: list[int] = []
        for sorted_keys, ids in self.parts:
            low = int(np.searchsorted(sorted_keys, key, side="left"))
            high = int(np.searchsorted(sorted_keys, key, side="right"))
            out.extend(int(i) for i in ids[low:high])
        return out


# A staged record as a backlinks row: the stage holds its columns
# (staging._SCHEMA); the copy adds the target's id, and vendors and origins from
# its file (the line made absolute) when merging gave none. SQLite's own loop,
# no Python per row.
_STAGED: Final = {
    **{column: f"s.{column}" for column in _WRITE_COLUMNS},
    "target_id": "m.target_id",
    "flags": "s.flags",
    "vendors": "coalesce(s.vendors, f.vendors)",
    "origins": "coalesce(s.origins, f.origin || (s.line + :offset) || ']]')",
    "links": "coalesce(s.links, 1)",
}
_FROM_STAGE: Final = """
FROM bl_stage.s s
JOIN temp.bl_map m ON m.t_idx = s.t_idx
JOIN bl_stage.f f ON f.file_idx = s.file_idx
"""
#: A stage into the table, leaving out the repeated keys (in temp.bl_skip).
_COPY: Final = (
    f"INSERT INTO {{table}} (id, {', '.join(_WRITE_COLUMNS)}) "
    f"SELECT :base + s.rowid, {', '.join(_STAGED[c] for c in _WRITE_COLUMNS)} {_FROM_STAGE}"
    "WHERE s.rowid NOT IN (SELECT rowid FROM temp.bl_skip)"
)
#: A row as the merge reads it (:class:`_RowMerge`): the columns it merges, the
#: eight flags in one integer (parsing.FLAG_BITS).
_MERGE_COLUMNS: Final = (
    "anchor", "flags", "lost_date", "first_seen", "last_seen", "metric_name", "metric_value",
    "authority", "vendors", "origins", "rel_seen", "lost_seen", "conflicts", "authority_source",
)  # fmt: skip
_KEYS: Final = _WRITE_COLUMNS[:_KEY_COLUMNS]
#: The repeated keys of a stage, merged when every stage is in.
_COPY_REPEATS: Final = (
    f"INSERT INTO bl_rep.r (hash, seq, grp, {', '.join(_KEYS + _MERGE_COLUMNS)}) "
    f"SELECT k.hash, :seq + s.rowid, k.cand, "
    f"{', '.join(_STAGED[c] for c in _KEYS + _MERGE_COLUMNS)} {_FROM_STAGE}"
    "JOIN temp.bl_skip k ON k.rowid = s.rowid"
)
#: The flags of a backlinks row (of table ``t``) in one integer (in SQLite, ``<<``
#: and ``|`` bind alike: hence the parentheses).
_PACKED_FLAGS: Final = " | ".join(f"({{t}}.{name} << {bit})" for bit, name in enumerate(FLAG_BITS))
#: What the merge writes (_RESULT_SCHEMA) as the backlinks columns.
_MERGED: Final = {
    **{c: f"x.{c}" for c in _WRITE_COLUMNS},
    **{name: f"(x.flags >> {bit}) & 1" for bit, name in enumerate(FLAG_BITS)},
}
_TEMP_TABLES: Final = """
CREATE TEMP TABLE IF NOT EXISTS bl_map (t_idx INTEGER PRIMARY KEY, target_id INTEGER NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS bl_skip (
    rowid INTEGER PRIMARY KEY, hash INTEGER NOT NULL, cand INTEGER NOT NULL
);
"""
#: The records of keys met before (bl_rep.r) and what merging them gives (m, n).
_REPEATS_SCHEMA: Final = f"""
PRAGMA bl_rep.page_size = {PAGE_SIZE};
PRAGMA bl_rep.journal_mode = OFF;
PRAGMA bl_rep.synchronous = OFF;
CREATE TABLE bl_rep.r (
    hash   INTEGER NOT NULL,   -- the key's hash: records sharing it are merged together
    seq    INTEGER NOT NULL,   -- reading order: stage number << 32 | stage rowid
    grp    INTEGER NOT NULL,   -- the (smallest) id of a row with that hash: merged in its order
    cands  TEXT,               -- when several rows have that hash: their ids, '[id, ...]'
    {", ".join(_KEYS + _MERGE_COLUMNS)}
);
CREATE TABLE bl_rep.shared (hash INTEGER PRIMARY KEY, grp INTEGER NOT NULL, cands TEXT NOT NULL);
"""
#: What a merge gives ({schema}: bl_rep, or a worker's result file): m replaces
#: rows by id, n holds new rows (keys that only shared a hash).
_RESULT_SCHEMA: Final = f"""
CREATE TABLE {{schema}}.m (id INTEGER PRIMARY KEY, {", ".join(_MERGE_COLUMNS)}, links INTEGER);
CREATE TABLE {{schema}}.n ({", ".join(_KEYS + _MERGE_COLUMNS)}, links INTEGER);
"""
_INLINE_KEY: Final = re.compile(r",\s*UNIQUE\s*\(\s*source_url\s*,\s*target_id\s*\)", re.I)
_KEY_INDEX: Final = (
    "CREATE UNIQUE INDEX IF NOT EXISTS backlinks_key ON {table} (source_url, target_id)"
)
#: Helper threads SQLite may sort the key index with (besides the calling one).
_SORT_THREADS: Final = min(3, max(1, (os.cpu_count() or 2) - 1))
_METRIC_RANK: Final = {name: rank for rank, name in enumerate(METRIC_PREFERENCE)}
_NO_METRIC_RANK: Final = len(METRIC_PREFERENCE)
# Row values set from a correlated subquery: SQLite looks each id up (an
# UPDATE ... FROM would scan the whole table).
_UPDATE_FROM: Final = (
    f"UPDATE {{table}} SET ({', '.join(_WRITE_COLUMNS[_KEY_COLUMNS:])}) = "
    f"(SELECT {', '.join(_MERGED[c] for c in _WRITE_COLUMNS[_KEY_COLUMNS:])} FROM {{res}}.m x "
    "WHERE x.id = {table}.id) WHERE id IN (SELECT id FROM {res}.m)"
)
_INSERT_FRESH: Final = (
    f"INSERT INTO {{table}} (id, {', '.join(_WRITE_COLUMNS)}) "
    f"SELECT :base + x.rowid, {', '.join(_MERGED[c] for c in _WRITE_COLUMNS)} "
    "FROM {res}.n x ORDER BY x.rowid"
)
#: The repeats in the order they are merged (see _merge).
_REPEATS_ORDER: Final = "CREATE INDEX IF NOT EXISTS bl_rep.r_order ON r (grp, hash, seq)"
#: The rows that repeated keys merge into, copied from the table as they are met
#: (the table's columns): merging reads them there, not in the store.
_HELD: Final = "bl_rep.h"


#: Merge a repeated key's pair in SQL (:func:`_merge_pairs`); the tests turn it
#: off to check that it gives what _RowMerge gives.
SQL_PAIRS: bool = True


def _rank_sql(t: str) -> str:
    """A row's metric rank (merging._metric_rank) as SQL; ``t`` is its table."""
    ranks = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in _METRIC_RANK.items())
    return (
        f"CASE WHEN {t}.metric_value IS NULL OR {t}.metric_name IS NULL THEN {_NO_METRIC_RANK} "
        f"ELSE CASE {t}.metric_name {ranks} ELSE {_NO_METRIC_RANK - 1} END END"
    )


def _rich_sql(anchor: str, flags: str, t: str) -> str:
    """How much a row says (_RowMerge.merge's richness) as SQL."""
    return (
        f"(({anchor}) <> '') + (({flags}) >> 6 & 1) + (({flags}) >> 7) + "
        f"({t}.first_seen IS NOT NULL) + ({t}.last_seen IS NOT NULL) + "
        f"({t}.metric_value IS NOT NULL)"
    )


#: A repeated key merged in SQL: one record of its hash (r), merging into the
#: one row written with that hash (b, the same key), each from one vendor and
#: one file line, neither with conflicts nor a domain's authority: nearly every
#: repeat (the same link in two exports). The rest goes through _RowMerge.
_PAIR: Final = (
    "r.cands IS NULL AND b.source_url = r.source_url AND b.target_id = r.target_id "
    "AND r.conflicts IS NULL AND b.conflicts IS NULL "
    "AND instr(r.vendors, ',') = 0 AND instr(b.vendors, ',') = 0 "
    "AND length(r.origins) - length(replace(r.origins, '[', '')) = 2 "
    "AND length(b.origins) - length(replace(b.origins, '[', '')) = 2 "
    "AND coalesce(b.authority_source, '') <> 'domain' "
    "AND coalesce(r.authority_source, '') <> 'domain' "
    "AND NOT EXISTS (SELECT 1 FROM bl_rep.r o WHERE o.grp = r.grp AND o.hash = r.hash "
    "AND o.rowid <> r.rowid)"
)
_B_FLAGS: Final = " | ".join(f"(b.{name} << {bit})" for bit, name in enumerate(FLAG_BITS))


def _bit_differs(bit: int) -> str:
    return f"(hf & {bit}) <> (nf & {bit})"  # SQLite has no xor


# _RowMerge.merge's rules, as SQL on the pair (n: the record read later, h: the
# row): v holds each side's values (made once: a subquery would be flattened into
# every expression that names its columns), p which side is the richer (the
# primary), x which side each part comes from.
_MERGE_PAIRS: Final = f"""
WITH v AS MATERIALIZED (
    SELECT b.id AS id,
        coalesce(r.anchor, '') AS n_anchor, coalesce(b.anchor, '') AS h_anchor,
        r.flags AS nf, ({_B_FLAGS}) AS hf,
        r.lost_date AS n_lost_date, b.lost_date AS h_lost_date,
        r.first_seen AS n_first, b.first_seen AS h_first,
        r.last_seen AS n_last, b.last_seen AS h_last,
        r.metric_name AS n_metric_name, b.metric_name AS h_metric_name,
        r.metric_value AS n_metric_value, b.metric_value AS h_metric_value,
        r.authority AS n_authority, b.authority AS h_authority,
        r.vendors AS n_vendors, b.vendors AS h_vendors,
        r.origins AS n_origins, b.origins AS h_origins,
        r.rel_seen AS n_rel_seen, b.rel_seen AS h_rel_seen,
        r.lost_seen AS n_lost_seen, b.lost_seen AS h_lost_seen,
        {_rank_sql("r")} AS n_rank, {_rank_sql("b")} AS h_rank,
        {_rich_sql("coalesce(r.anchor, '')", "r.flags", "r")} AS n_rich,
        {_rich_sql("coalesce(b.anchor, '')", _B_FLAGS, "b")} AS h_rich
    FROM bl_rep.r r JOIN {{table}} b ON b.id = r.grp
    WHERE r.grp >= :low AND r.grp < :high AND {_PAIR}
)
INSERT INTO {{out}}.m (id, {", ".join(_MERGE_COLUMNS)}, links)
SELECT id,
    CASE WHEN worded_new THEN n_anchor ELSE h_anchor END,
    (CASE WHEN rel_new THEN nf ELSE hf END & 79)
        | (CASE WHEN worded_new THEN nf ELSE hf END & 16)
        | (CASE WHEN gone_new THEN nf ELSE hf END & 160),
    CASE WHEN gone_new THEN n_lost_date ELSE h_lost_date END,
    coalesce(min(h_first, n_first), h_first, n_first),
    coalesce(max(h_last, n_last), h_last, n_last),
    CASE WHEN measured_new THEN n_metric_name ELSE h_metric_name END,
    CASE WHEN measured_new THEN n_metric_value ELSE h_metric_value END,
    CASE WHEN measured_new THEN n_authority ELSE h_authority END,
    CASE WHEN h_vendors = n_vendors THEN h_vendors
        WHEN h_vendors < n_vendors
            THEN substr(h_vendors, 1, length(h_vendors) - 1) || ',' || substr(n_vendors, 2)
        ELSE substr(n_vendors, 1, length(n_vendors) - 1) || ',' || substr(h_vendors, 2) END,
    CASE WHEN h_origins = n_origins THEN h_origins
        ELSE substr(h_origins, 1, length(h_origins) - 1) || ',' || substr(n_origins, 2) END,
    CASE WHEN rel_new THEN n_rel_seen ELSE h_rel_seen END,
    CASE WHEN gone_new THEN n_lost_seen ELSE h_lost_seen END,
    CASE WHEN rel_differ AND lost_differ THEN '["followed","lost"]'
        WHEN rel_differ THEN '["followed"]' WHEN lost_differ THEN '["lost"]' END,
    CASE WHEN (CASE WHEN measured_new THEN n_authority ELSE h_authority END) IS NOT NULL
        THEN 'link' END,
    CASE WHEN h_origins = n_origins THEN 1
        WHEN rtrim(substr(h_origins, 1, length(h_origins) - 2), '0123456789')
            = rtrim(substr(n_origins, 1, length(n_origins) - 2), '0123456789') THEN 2
        ELSE 1 END
FROM (
    SELECT p.*,
        CASE WHEN primary_new THEN n_anchor <> '' OR h_anchor = ''
            ELSE NOT (h_anchor <> '' OR n_anchor = '') END AS worded_new,
        CASE WHEN hf & 64 AND nf & 64 THEN
            CASE WHEN coalesce(n_rel_seen, '') <> coalesce(h_rel_seen, '')
                    THEN coalesce(n_rel_seen, '') > coalesce(h_rel_seen, '')
                WHEN {_bit_differs(1)} THEN hf & 1 <> 0
                ELSE primary_new END
            ELSE nf & 64 <> 0 END AS rel_new,
        CASE WHEN hf & 128 AND nf & 128 THEN
            CASE WHEN coalesce(n_lost_seen, '') <> coalesce(h_lost_seen, '')
                    THEN coalesce(n_lost_seen, '') > coalesce(h_lost_seen, '')
                WHEN {_bit_differs(32)} THEN hf & 32 = 0
                ELSE primary_new END
            ELSE nf & 128 <> 0 END AS gone_new,
        CASE WHEN primary_new THEN NOT (h_rank < n_rank) ELSE n_rank < h_rank END
            AS measured_new,
        (hf & 64 <> 0 AND nf & 64 <> 0 AND {_bit_differs(1)}) AS rel_differ,
        (hf & 128 <> 0 AND nf & 128 <> 0 AND {_bit_differs(32)}) AS lost_differ
    FROM (
        SELECT v.*,
            n_rich > h_rich OR (n_rich = h_rich AND coalesce(n_last, '') > coalesce(h_last, ''))
                AS primary_new
        FROM v
    ) p
) x
"""


@dataclass
class MergeTask:
    """Repeated keys of an import to merge in a worker process: those whose group
    (``r.grp``) is in ``[low, high)`` (``None``: no bound).

    Everything is read from the repeats file: the records (``r``) and the
    rows they merge into (``h``, copied there as their repeats were met), so
    that the store is not read while it is written; the results go to a new
    file (:data:`_RESULT_SCHEMA`) that the importing process applies.
    """

    repeats_path: str
    first_new_id: int
    result_path: str = ""
    low: int | None = None
    high: int | None = None


@dataclass
class MergeResult:
    """What merging gave (the rows are in the repeats file)."""

    updated: int = 0  # rows stored before the import that were merged into
    merged_into: int = 0  # rows of this import's that were merged into
    fresh: int = 0  # new rows (keys that only shared a hash with a row)
    multi_vendor: int = 0  # rows made or changed that more than one vendor reported
    conflicts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0  # wall time of the merge


def merge_repeats(task: MergeTask) -> MergeResult:
    """Merge repeated keys in a worker process: the repeats file is read (not the
    store), the results written to a file of their own."""
    conn = sqlite3.connect(task.result_path, isolation_level=None, timeout=60.0)
    try:
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        # The pairs' values (_MERGE_PAIRS's v, tens of MiB) are materialized in
        # memory rather than in a temporary file: a tenth off the merge.
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.executescript(_RESULT_SCHEMA.format(schema="main"))
        conn.execute("ATTACH DATABASE ? AS bl_rep", (task.repeats_path,))
        conn.execute("PRAGMA bl_rep.cache_size = -32768")
        conn.execute("BEGIN")
        with gc_paused():
            result = _merge(conn, "main", _HELD, task)
        conn.execute("COMMIT")
        return result
    finally:
        conn.close()


def _merge(conn: sqlite3.Connection, out: str, table: str, task: MergeTask) -> MergeResult:
    """Merge every key's records, in reading order, into the row with that key
    (the repeats in ``bl_rep.r``; the results into ``out``'s ``m`` and ``n``).

    The records are read sorted by the row first written with their hash
    (so the rows are read in the table's order), then by hash and reading
    order, each with that row: one hash is merged at a time and memory holds
    only its records. The real keys decide: a record whose key is not that
    row's merges into whichever of the hash's rows has its key, or (no row
    has it) makes a new row.
    """
    began = time.perf_counter()
    rows = _RowMerge()
    state_of, merge, row_out = rows.state, rows.merge, rows.out
    result = MergeResult()
    updates: list[tuple[Any, ...]] = []
    fresh: list[tuple[Any, ...]] = []
    conn.execute(_REPEATS_ORDER)
    marks = ", ".join("?" * (len(_MERGE_COLUMNS) + 1))
    bounds = {
        "low": -(1 << 63) if task.low is None else task.low,
        "high": (1 << 63) - 1 if task.high is None else task.high,
    }
    if SQL_PAIRS:
        _merge_pairs(conn, out, table, task, bounds=bounds, result=result)

    def flush() -> None:
        conn.executemany(f"INSERT INTO {out}.m VALUES (?, {marks})", updates)
        conn.executemany(
            f"INSERT INTO {out}.n VALUES (?, ?, ?, ?, {marks})",
            [(*key, *out_row) for key, out_row in fresh],
        )
        updates.clear()
        fresh.clear()

    def emit(group: dict[tuple[str, int], list[Any]]) -> None:
        for row_id, state, merged, at in group.values():
            if merged:  # a row made of several records
                if len(state[8]) > 1:
                    result.multi_vendor += 1
                if state[12]:
                    result.conflicts.update(state[12])
            if row_id is None:  # a new key: a new row
                result.fresh += 1
                key = conn.execute(
                    f"SELECT {', '.join(_KEYS)} FROM bl_rep.r WHERE rowid = ?", (at,)
                ).fetchone()
                fresh.append((key, row_out(state)))
            elif merged:
                if row_id < task.first_new_id:
                    result.updated += 1
                else:
                    result.merged_into += 1
                updates.append((row_id, *row_out(state)))
        if len(updates) + len(fresh) >= 10_000:
            flush()

    # A row, as held() gives it: id, source_url, target_id, _MERGE_COLUMNS.
    row_columns = (
        f"id, source_url, target_id, anchor, {_PACKED_FLAGS.format(t=table)}, "
        f"{', '.join(_MERGE_COLUMNS[2:])}"
    )

    def held(row_id: int) -> tuple[Any, ...] | None:
        return conn.execute(f"SELECT {row_columns} FROM {table} WHERE id = ?", (row_id,)).fetchone()

    group: dict[tuple[str, int], list[Any]] = {}
    last_hash = None
    # Each record with the row first written with its hash, and whether that
    # row has the record's key (it nearly always has).
    cursor = conn.execute(
        f"SELECT r.hash, r.cands, r.rowid, r.source_url, r.target_id, "
        f"{', '.join(f'r.{c}' for c in _MERGE_COLUMNS)}, "
        f"b.id, b.source_url = r.source_url AND b.target_id = r.target_id, "
        f"b.anchor, {_PACKED_FLAGS.format(t='b')}, "
        f"{', '.join(f'b.{c}' for c in _MERGE_COLUMNS[2:])} "
        f"FROM bl_rep.r r LEFT JOIN {table} b ON b.id = r.grp "
        "WHERE r.grp >= :low AND r.grp < :high "
        # The pairs merged above: their rows are in m, and no other record has their
        # grp (a grp is one hash's row).
        f"{f'AND r.grp NOT IN (SELECT id FROM {out}.m) ' if SQL_PAIRS else ''}"
        "ORDER BY r.grp, r.hash, r.seq",
        bounds,
    )
    split = 5 + len(_MERGE_COLUMNS)
    for row in cursor:
        key = (row[3], row[4])
        if row[0] != last_hash:
            if group:
                emit(group)
                group = {}
            last_hash = row[0]
            # The rows with this hash: the first one came with the record.
            row_id = row[split]
            if row_id is not None:
                if row[split + 1]:
                    group[key] = [row_id, state_of(row[split + 2 :]), False, None]
                elif (found := held(row_id)) is not None:
                    group[found[1], found[2]] = [row_id, state_of(found[3:]), False, None]
            if row[1] is not None:
                for i in json.loads(row[1]):
                    if i != row_id and (found := held(i)) is not None:
                        group.setdefault(
                            (found[1], found[2]), [i, state_of(found[3:]), False, None]
                        )
        entry = group.get(key)
        if entry is None:  # a new key (it only shared a hash)
            group[key] = [None, state_of(row[5:split]), False, row[2]]
            continue
        entry[1] = merge(entry[1], state_of(row[5:split]))
        entry[2] = True
    emit(group)
    flush()
    result.seconds = time.perf_counter() - began
    return result


def _merge_pairs(
    conn: sqlite3.Connection,
    out: str,
    table: str,
    task: MergeTask,
    *,
    bounds: Mapping[str, int],
    result: MergeResult,
) -> None:
    """Merge the pairs :data:`_PAIR` describes in SQL (no Python per key), into
    ``out``'s ``m``, and count them in ``result`` as :func:`_merge` counts."""
    conn.execute(_MERGE_PAIRS.format(out=out, table=table), bounds)
    updated, merged_into, multi_vendor, followed, lost = conn.execute(
        "SELECT coalesce(sum(id < :first), 0), coalesce(sum(id >= :first), 0), "
        "coalesce(sum(instr(vendors, ',') > 0), 0), "
        "coalesce(sum(instr(conflicts, '\"followed\"') > 0), 0), "
        f"coalesce(sum(instr(conflicts, '\"lost\"') > 0), 0) FROM {out}.m",
        {"first": task.first_new_id},
    ).fetchone()
    result.updated += updated
    result.merged_into += merged_into
    result.multi_vendor += multi_vendor
    if followed:
        result.conflicts["followed"] += followed
    if lost:
        result.conflicts["lost"] += lost


class _Import:
    """One import into a store: stages applied in reading order, then the final writes.

    Each stage is copied into the table but for the records whose key was
    met before (in this import, or stored); those are copied to the repeats
    file (``bl_rep``) and merged when every stage is in (:func:`_merge`: in a
    worker process while this one indexes the new table, or here), then the
    merged rows replace theirs.

    Parameters
    ----------
    build : bool
        Write the rows to a new table that replaces ``backlinks`` at the end
        (one transaction per stage); otherwise the whole import is one
        transaction on ``backlinks`` (and takes one stage).
    """

    def __init__(self, store: CrawlStore, *, replace: bool, build: bool) -> None:
        self.store = store
        self.conn = store.conn
        self.replace = replace
        self.build = build
        self.table = BUILDING if build else "backlinks"
        self.result = ImportResult(reports=[])
        self.merger = BacklinkMerger()  # referring domains and target pages: few, in memory
        self.targets: dict[str, int] = {}  # this import's targets -> urls.id, first met first
        self.seen = _Seen()
        self.rows = self.added = self.repeats = 0
        self.stages = self.applied = 0
        self.attached = False
        #: Worker processes (the parallel import): the merge runs in them, in parts.
        self.pool: ProcessPoolExecutor | None = None
        self.merge_parts = 1
        self.merged_attached = 0  # the workers' merge results attached (bl_merged<n>)
        self.dropped_key = False  # the key index of backlinks, dropped to be rebuilt
        conn = self.conn
        count, max_id = conn.execute(
            "SELECT count(*), coalesce(max(id), 0) FROM backlinks"
        ).fetchone()
        self.stored = count > 0 and not replace  # stored rows take part in merging
        self.guard = (count, max_id)
        self.first_new_id = max_id + 1
        self.next_id = self.first_new_id
        self.stage_dir = tempfile.mkdtemp(prefix=".backlinks-stage-", dir=store.path.parent)
        self.repeats_path = os.path.join(self.stage_dir, "repeats.sqlite")
        self.synchronous = 1  # the store's synchronous setting (NORMAL), put back with WAL
        #: The store's journal mode to put back (when a building import changed it);
        #: changed while nothing is attached (else SQLite keeps a read open on the store).
        self.restore_journal = self._rollback_journal() if build else None
        conn.executescript(_TEMP_TABLES)
        conn.execute("ATTACH DATABASE ? AS bl_rep", (self.repeats_path,))
        self.repeats_attached = True
        conn.executescript(_REPEATS_SCHEMA)
        conn.executescript(_RESULT_SCHEMA.format(schema="bl_rep"))
        conn.execute(f"CREATE TABLE {_HELD} {self._columns_of('backlinks')}")
        (self.autocheckpoint,) = conn.execute("PRAGMA wal_autocheckpoint").fetchone()
        if build:
            # One commit per stage: copying the log into the file after each would
            # write the rows twice as they come; it is done once, when the store closes.
            conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._create_building()

    def _rollback_journal(self) -> str | None:
        """Write this import through a rollback journal instead of the store's
        write-ahead log, when no other connection has the store open.

        The new table's pages are new to the file: a rollback journal does not
        copy them, so each is written once, where the log writes it twice (in
        the log, then into the file when the store closes: 1.7-2.3 s at 1.5
        million rows). Changing the mode needs the store to itself: with
        another connection open (the crawl's, a report's) it fails at once and
        the import keeps the log.

        Returns
        -------
        str or None
            The mode to put back when the import ends, or ``None`` (unchanged).
        """
        conn = self.conn
        (mode,) = conn.execute("PRAGMA main.journal_mode").fetchone()
        if str(mode).lower() != "wal" or _try_journal_mode(conn, "delete") != "delete":
            return None
        # NORMAL is safe with the log; with a rollback journal, a power loss at
        # the wrong moment can corrupt the file unless every commit syncs.
        (self.synchronous,) = conn.execute("PRAGMA main.synchronous").fetchone()
        conn.execute("PRAGMA main.synchronous = FULL")
        return str(mode)

    def _put_journal_back(self) -> None:
        """The store's write-ahead log again, if this import changed it (and can
        now: a connection opened meanwhile sets WAL itself when it opens)."""
        conn = self.conn
        if self.restore_journal is not None and not conn.in_transaction:
            _try_journal_mode(conn, self.restore_journal)
            conn.execute(f"PRAGMA main.synchronous = {int(self.synchronous)}")
            self.restore_journal = None

    def stage_path(self) -> str:
        """A new stage file's path."""
        self.stages += 1
        return os.path.join(self.stage_dir, f"stage-{self.stages}.sqlite")

    def _columns_of(self, table: str) -> str:
        """The column list of a main table's DDL, without an inline key."""
        (ddl,) = self.conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        return _INLINE_KEY.sub("", ddl[ddl.index("(") :])

    def _create_building(self) -> None:
        conn = self.conn
        # The key is indexed once the table is full (a store made before the key
        # became a separate index has it inline: it is dropped here too).
        columns = self._columns_of("backlinks")
        conn.execute(f"DROP TABLE IF EXISTS {BUILDING}")  # left by an interrupted import
        conn.execute(f"CREATE TABLE {BUILDING} {columns}")
        if self.stored:
            conn.execute(f"INSERT INTO {BUILDING} SELECT * FROM backlinks")

    # -- stages ----------------------------------------------------------

    def apply(self, stage: StageResult, line_offset: int = 0) -> None:
        """Copy a stage into the table, its repeated keys aside (then delete it)."""
        conn = self.conn
        conn.execute("ATTACH DATABASE ? AS bl_stage", (stage.path,))
        self.attached = True
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
        try:
            self._apply(stage, line_offset)
            if self.build:
                conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            if self.build:
                self._detach()
                _remove(stage.path)

    def _detach(self) -> None:
        if self.attached and not self.conn.in_transaction:
            self.conn.execute("DETACH DATABASE bl_stage")
            self.attached = False

    def _detach_merged(self) -> None:
        while self.merged_attached and not self.conn.in_transaction:
            self.merged_attached -= 1
            self.conn.execute(f"DETACH DATABASE bl_merged{self.merged_attached}")

    def _apply(self, stage: StageResult, line_offset: int) -> None:
        conn = self.conn
        keys = np.frombuffer(stage.keys, dtype=np.int64)
        targets = self.targets
        new = [url for url in stage.targets if url not in targets]
        if new:
            targets.update(self.store.intern(new))
        # The stage's target indexes (its list's order) to urls.id, all known here.
        conn.execute("DELETE FROM temp.bl_map")
        conn.executemany(
            "INSERT INTO temp.bl_map (t_idx, target_id) VALUES (?, ?)",
            enumerate([targets[url] for url in stage.targets]),
        )
        if self.stored and stage.rows:
            # Keys stored before the import: the unique index of `backlinks` finds them.
            matches = conn.execute(
                "SELECT s.rowid, b.id FROM bl_stage.s s "
                "JOIN temp.bl_map m ON m.t_idx = s.t_idx "
                "JOIN main.backlinks b ON b.source_url = s.source_url "
                "AND b.target_id = m.target_id"
            ).fetchall()
            if matches:
                found = np.array(matches, dtype=np.int64)
                self.seen.add(keys[found[:, 0] - 1], found[:, 1])
        # Left out of the copy: keys seen before, and repeats within the stage.
        repeated = self.seen.contains(keys)
        first = np.zeros(len(keys), dtype=bool)
        first[np.unique(keys, return_index=True)[1]] = True
        skipped = repeated | ~first
        base = self.next_id - 1
        kept = np.flatnonzero(~skipped)
        self.seen.add(keys[kept], kept + 1 + base)
        skip_rowids = np.flatnonzero(skipped) + 1
        conn.execute("DELETE FROM temp.bl_skip")
        if len(skip_rowids):
            hashes = keys[skip_rowids - 1]
            conn.executemany(
                "INSERT INTO temp.bl_skip (rowid, hash, cand) VALUES (?, ?, ?)",
                zip(
                    skip_rowids.tolist(),
                    hashes.tolist(),
                    self.seen.first(hashes).tolist(),
                    strict=True,
                ),
            )
        params = {"base": base, "offset": line_offset}
        self.added += conn.execute(_COPY.format(table=self.table), params).rowcount
        if len(skip_rowids):
            conn.execute(_COPY_REPEATS, {"seq": self.applied << 32, "offset": line_offset})
            # The rows they merge into, as they are now (merging reads them there).
            conn.execute(
                f"INSERT OR IGNORE INTO {_HELD} SELECT * FROM main.{self.table} "
                "WHERE id IN (SELECT cand FROM temp.bl_skip)"
            )
            self.repeats += len(skip_rowids)
        self.next_id = base + stage.rows + 1
        self.rows += stage.rows
        self.applied += 1

    def _group_shared_hashes(self) -> None:
        """Merge all the records of a hash that several rows have (stored rows
        can share one) in one group, with all those rows (rare)."""
        shared = self.seen.shared() if self.stored else {}
        if not shared:
            return
        self.conn.executemany(
            "INSERT INTO bl_rep.shared (hash, grp, cands) VALUES (?, ?, ?)",
            [(key, min(ids), _json(sorted(ids))) for key, ids in shared.items()],
        )
        self.conn.execute(
            "UPDATE bl_rep.r SET grp = x.grp, cands = x.cands FROM bl_rep.shared x "
            "WHERE x.hash = r.hash"
        )
        self.conn.executemany(
            f"INSERT OR IGNORE INTO {_HELD} SELECT * FROM main.{self.table} WHERE id = ?",
            [(i,) for ids in shared.values() for i in ids],
        )

    def _merge_task(
        self, part: int = 0, low: int | None = None, high: int | None = None
    ) -> MergeTask:
        return MergeTask(
            repeats_path=self.repeats_path,
            first_new_id=self.first_new_id,
            result_path=os.path.join(self.stage_dir, f"merged-{part}.sqlite"),
            low=low,
            high=high,
        )

    def _merge_parts(self, parts: int) -> list[tuple[int | None, int | None]]:
        """Cut the repeats into about equal parts at group boundaries (``grp``
        ranges): a hash's records are all in one part."""
        bounds: list[int | None] = [None]
        for part in range(1, parts):
            found = self.conn.execute(
                "SELECT grp FROM bl_rep.r ORDER BY grp LIMIT 1 OFFSET ?",
                (self.repeats * part // parts,),
            ).fetchone()
            if found is not None and found[0] not in bounds:
                bounds.append(found[0])
        bounds.append(None)
        return list(itertools.pairwise(bounds))

    def _apply_merges(self, parts: Sequence[tuple[str, MergeResult]]) -> None:
        """Put the merged rows in place of theirs, and add the new ones (in the
        import's last transaction), part by part."""
        conn = self.conn
        for schema, merged in parts:
            conn.execute(_UPDATE_FROM.format(table=self.table, res=schema))
            conn.execute(
                _INSERT_FRESH.format(table=self.table, res=schema), {"base": self.next_id - 1}
            )
            self.next_id += merged.fresh
            self.added += merged.fresh

    # -- the end ---------------------------------------------------------

    def finish(self, reports: list[ImportReport]) -> None:
        """The import's last transaction: the merged keys, the new table in place,
        domains, target pages, known URLs, domain authority and the import records."""
        conn, store, result = self.conn, self.store, self.result
        finishing = time.perf_counter()
        merging: list[Future[MergeResult]] = []
        merged: list[tuple[str, MergeResult]] = []
        # The new table is written. The workers merge from the repeats file while
        # this process indexes the table. Through a rollback journal (the store
        # to itself) the index and the merged rows are written through it too,
        # each page once, and the log comes back when the import ends (_clean).
        if self.repeats:
            began_here = not conn.in_transaction
            if began_here:
                conn.execute("BEGIN IMMEDIATE")
            self._group_shared_hashes()
            conn.execute(_REPEATS_ORDER)
            if began_here:
                conn.execute("COMMIT")
        if self.repeats and self.pool is not None:
            parts = self._merge_parts(self.merge_parts)
            conn.execute("DETACH DATABASE bl_rep")
            self.repeats_attached = False
            merging = [
                self.pool.submit(merge_repeats, self._merge_task(part, low, high))
                for part, (low, high) in enumerate(parts)
            ]
        timings = result.timings
        if self.build and not self.stored:
            began = time.perf_counter()
            self._index_early()
            timings["index"] = time.perf_counter() - began
        if merging:
            conn.execute("ATTACH DATABASE ? AS bl_rep", (self.repeats_path,))
            self.repeats_attached = True
            for part, future in enumerate(merging):
                merged.append((f"bl_merged{part}", future.result()))
                conn.execute(
                    f"ATTACH DATABASE ? AS bl_merged{part}", (self._merge_task(part).result_path,)
                )
            self.merged_attached = len(merging)
        if self.build:
            conn.execute("BEGIN IMMEDIATE")
        elif not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")  # an import that staged nothing
        try:
            if self.repeats and not merging:
                with gc_paused():
                    merged = [("bl_rep", _merge(conn, "bl_rep", _HELD, self._merge_task()))]
            if merged:
                timings["merge"] = max(m.seconds for _, m in merged)
                began = time.perf_counter()
                self._apply_merges(merged)
                timings["apply"] = time.perf_counter() - began
            if self.replace:
                for table in ("backlink_domains", "backlink_target_pages", "backlink_imports"):
                    conn.execute(f"DELETE FROM {table}")
                if not self.build:
                    conn.execute("DELETE FROM backlinks")
            if self.build:
                self._put_in_place()
            page_urls = [url for url, _ in self.merger.target_pages]
            page_ids = store.intern(page_urls) if page_urls else {}
            _write_domains(store, self.merger.domains)
            conn.executemany(
                "INSERT OR REPLACE INTO backlink_target_pages "
                "(target_id, vendor, links, domains, origin) VALUES (?, ?, ?, ?, ?)",
                [
                    (page_ids[p.target_url], p.vendor, p.links, p.domains, _json([p.file, p.line]))
                    for p in self.merger.target_pages.values()
                ],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO known_urls (url_id, source) VALUES (?, 'backlink')",
                [
                    (url_id,)
                    for url_id in dict.fromkeys([*self.targets.values(), *page_ids.values()])
                ],
            )
            result.authority_filled = fill_domain_authority(store)
            result.reports = list(reports)
            _write_imports(store, result.reports, "replace" if self.replace else "add")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            self._detach()
            self._detach_merged()
        result.targets = list(dict.fromkeys([*self.targets, *page_urls]))
        result.link_rows = self.rows
        result.added = self.added
        result.updated = sum(m.updated for _, m in merged)
        result.merged = self.added + result.updated
        result.multi_vendor = sum(m.multi_vendor for _, m in merged)
        result.conflicts = sum((m.conflicts for _, m in merged), Counter())
        result.domains = len(self.merger.domains)
        result.backlinks = store.count("backlinks")
        self._clean()
        timings["finish"] = time.perf_counter() - finishing

    def _index_early(self) -> None:
        """Index the new table before the last transaction (nothing stored is kept),
        while a worker merges the repeated keys.

        Merges change no key column. The index takes its final name now, so the
        key index of ``backlinks`` (empty, or replaced) is dropped first; an
        import that fails after this puts it back. The sort spills to files
        with a small cache: in memory (the store's ``temp_store``) it took half
        as long again, and the memory (measured: 2.3 s and 190 MiB, against
        1.5 s and 30 MiB, for 1.36 million keys).
        """
        conn = self.conn
        settings = self._sort_to_files()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self.dropped_key = (
                    conn.execute(
                        "SELECT 1 FROM sqlite_master WHERE type = 'index' "
                        "AND name = 'backlinks_key'"
                    ).fetchone()
                    is not None
                )
                conn.execute("DROP INDEX IF EXISTS backlinks_key")
                self._index(BUILDING)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self.dropped_key = False
                raise
        finally:
            for pragma, value in settings:
                conn.execute(f"PRAGMA {pragma} = {int(value)}")

    def _sort_to_files(self) -> list[tuple[str, int]]:
        """Have SQLite sort in temporary files with an 8 MiB cache; returns the
        settings to put back. Changing ``temp_store`` drops the connection's
        temporary tables: done only when it holds none but the import's."""
        conn = self.conn
        others = conn.execute(
            "SELECT 1 FROM temp.sqlite_master WHERE name NOT IN ('bl_map', 'bl_skip') LIMIT 1"
        ).fetchone()
        if others is not None:
            return []
        (temp_store,) = conn.execute("PRAGMA temp_store").fetchone()
        (cache_size,) = conn.execute("PRAGMA cache_size").fetchone()
        conn.execute("PRAGMA temp_store = FILE")
        conn.execute("PRAGMA cache_size = -8192")
        return [("cache_size", cache_size), ("temp_store", temp_store)]

    def _index(self, table: str) -> None:
        """Build the key index: one sort, by SQLite's helper threads too (1.2 s
        instead of 1.8 s for 1.36 million keys on two cores)."""
        conn = self.conn
        (threads,) = conn.execute("PRAGMA threads").fetchone()
        conn.execute(f"PRAGMA threads = {_SORT_THREADS}")
        try:
            conn.execute(_KEY_INDEX.format(table=table))
        finally:
            conn.execute(f"PRAGMA threads = {int(threads)}")

    def _put_in_place(self) -> None:
        """Replace ``backlinks`` with the table built, and index its key once."""
        conn = self.conn
        now = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM backlinks").fetchone()
        if self.stored and tuple(now) != self.guard:
            raise BacklinkError(
                "the run's backlinks changed while this import was reading: import again"
            )
        conn.execute("DROP VIEW IF EXISTS backlink_target_counts")
        conn.execute("DROP TABLE backlinks")
        conn.execute(f"ALTER TABLE {BUILDING} RENAME TO backlinks")
        if "index" not in self.result.timings:  # else indexed early
            began = time.perf_counter()
            self._index("backlinks")
            self.result.timings["index"] = time.perf_counter() - began
        conn.execute(_VIEW)

    def abort(self) -> None:
        """Undo what an interrupted import left: its transaction, its new table, its stages."""
        conn = self.conn
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        self._detach()
        self._detach_merged()
        if self.build:
            conn.execute(f"DROP TABLE IF EXISTS {BUILDING}")
        if self.dropped_key:
            conn.execute(_KEY_INDEX.format(table="backlinks"))
        self._clean()

    def _clean(self) -> None:
        conn = self.conn
        conn.execute(f"PRAGMA wal_autocheckpoint = {int(self.autocheckpoint)}")
        conn.execute("DROP TABLE IF EXISTS temp.bl_map")
        conn.execute("DROP TABLE IF EXISTS temp.bl_skip")
        if self.repeats_attached and not conn.in_transaction:
            conn.execute("DETACH DATABASE bl_rep")
            self.repeats_attached = False
        self._put_journal_back()
        shutil.rmtree(self.stage_dir, ignore_errors=True)


def _try_journal_mode(conn: sqlite3.Connection, mode: str) -> str:
    """Set the store's journal mode if nothing else holds the store; the mode it has then.

    Changing into or out of WAL needs every other connection closed; the
    attempt never waits for them (a busy timeout of 0 for it).
    """
    (timeout,) = conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        (now,) = conn.execute(f"PRAGMA main.journal_mode = {mode}").fetchone()
    except sqlite3.OperationalError:  # "database is locked"
        (now,) = conn.execute("PRAGMA main.journal_mode").fetchone()
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    return str(now).lower()


class _RowMaker:
    """Turn records into ``backlinks`` rows, memoising the JSON of repeated parts."""

    def __init__(self, target_ids: Mapping[str, int]) -> None:
        self.target_ids = target_ids
        self._vendors: dict[tuple[str, ...], str] = {}
        self._vendor_of: dict[str, str] = {}
        self._file_prefix: dict[str, str] = {}
        self._conflicts: dict[tuple[str, ...], str] = {}

    def _vendor(self, vendor: str) -> str:
        text = self._vendor_of[vendor] = _json([vendor])
        return text

    def vendors(self, vendors: tuple[str, ...]) -> str:
        text = self._vendors.get(vendors)
        if text is None:
            text = self._vendors[vendors] = _json(list(vendors))
        return text

    def row(self, r: LinkRecord) -> tuple[Any, ...]:
        # Flags go in as 0/1: sqlite3 binds an int directly but looks bool up in its
        # adapter registry (measured: 40 % of the insert time with eight flags).
        if type(r) is Backlink:
            prefix = self._file_prefix.get(r.file)
            if prefix is None:
                prefix = self._file_prefix[r.file] = "[[" + _json(r.file) + ","
            vendors = self._vendor_of.get(r.vendor) or self._vendor(r.vendor)
            last_seen = r.last_seen
            lost_seen = None
            if r.lost_reported:
                lost_date = r.lost_date
                if lost_date is None:
                    lost_seen = last_seen or r.first_seen
                elif last_seen is None or lost_date > last_seen:
                    lost_seen = lost_date
                else:
                    lost_seen = last_seen
            return (
                r.source_url,
                r.source_host,
                r.source_domain,
                self.target_ids[r.target_url],
                r.anchor,
                1 if r.followed else 0,
                1 if r.nofollow else 0,
                1 if r.ugc else 0,
                1 if r.sponsored else 0,
                1 if r.is_image else 0,
                1 if r.lost else 0,
                r.lost_date,
                r.first_seen,
                last_seen,
                r.metric_name,
                r.metric_value,
                r.authority,
                vendors,
                f"{prefix}{r.line}]]",
                1 if r.rel_reported else 0,
                1 if r.lost_reported else 0,
                (last_seen or r.first_seen) if r.rel_reported else None,
                lost_seen,
                1,
                None,
                None if r.authority is None else "link",
            )
        return (
            r.source_url,
            r.source_host,
            r.source_domain,
            self.target_ids[r.target_url],
            r.anchor,
            int(r.followed),
            int(r.nofollow),
            int(r.ugc),
            int(r.sponsored),
            int(r.is_image),
            int(r.lost),
            r.lost_date,
            r.first_seen,
            r.last_seen,
            r.metric_name,
            r.metric_value,
            r.authority,
            self.vendors(r.vendors),
            self.origins(r.origins),
            int(r.rel_reported),
            int(r.lost_reported),
            r.rel_seen,
            r.lost_seen,
            links_count(r.origins),
            self.conflicts(r.conflicts) if r.conflicts else None,
            None if r.authority is None else "link",
        )

    def origins(self, origins: tuple[tuple[str, int], ...]) -> str:
        """``_json([list(o) for o in origins])``, with each file's JSON made once."""
        prefix = self._file_prefix
        parts = []
        for file, line in origins:
            start = prefix.get(file)
            if start is None:
                start = prefix[file] = "[[" + _json(file) + ","
            parts.append(f"{start[1:]}{line}]")
        return "[" + ",".join(parts) + "]"

    def conflicts(self, conflicts: tuple[str, ...]) -> str:
        text = self._conflicts.get(conflicts)
        if text is None:
            text = self._conflicts[conflicts] = _json(list(conflicts))
        return text


class _StoredRows:
    """Read stored backlink rows back as merged records, memoising the JSON of
    repeated parts (vendor lists, a single origin's file)."""

    def __init__(self) -> None:
        self._vendors: dict[str, tuple[str, ...]] = {}
        self._files: dict[str, str] = {}

    def _origins(self, text: str) -> tuple[tuple[str, int], ...]:
        if text.count("[") == 2:  # one origin: [["file",line]]
            cut = text.rindex(",")
            file = self._files.get(text[:cut])
            if file is None:
                file = self._files[text[:cut]] = str(json.loads(text[2:cut]))
            return ((file, int(text[cut + 1 : -2])),)
        return tuple((str(f), int(n)) for f, n in json.loads(text))

    def record(self, row: Sequence[Any], target_url: str) -> MergedBacklink:
        """A stored backlink row (``_READ_BACK`` order, without id) as a merged record.

        An authority taken from the referring domain is left out: it is filled
        again after the merge (a metric of the link's own may have come).
        """
        (
            source_url,
            source_host,
            source_domain,
            _target_id,
            anchor,
            followed,
            nofollow,
            ugc,
            sponsored,
            is_image,
            lost,
            lost_date,
            first_seen,
            last_seen,
            metric_name,
            metric_value,
            authority,
            vendors,
            origins,
            rel_reported,
            lost_reported,
            rel_seen,
            lost_seen,
            conflicts,
            authority_source,
        ) = row
        from_domain = authority_source == "domain"
        vendor_list = self._vendors.get(vendors)
        if vendor_list is None:
            vendor_list = self._vendors[vendors] = tuple(json.loads(vendors))
        return MergedBacklink(
            source_url, source_host, source_domain, target_url, anchor or "",
            bool(followed), bool(nofollow), bool(ugc), bool(sponsored), bool(is_image),
            bool(rel_reported), bool(lost), lost_date, bool(lost_reported), first_seen,
            last_seen, None if from_domain else metric_name,
            None if from_domain else metric_value, None if from_domain else authority,
            vendor_list, self._origins(origins),
            tuple(json.loads(conflicts)) if conflicts else (), rel_seen, lost_seen,
        )  # fmt: skip


class _RowMerge:
    """:func:`~pipelines.backlinks.merging.merge_records` on stored rows: the same
    rules, without a record object per row (the merge of an import's repeated
    keys). A test checks it gives what ``merge_records`` gives on the same rows.

    A row's *state* is the list of its :data:`_MERGE_COLUMNS` (the flags in one
    integer) with vendors, origins and conflicts as tuples; :meth:`out` writes
    it back in that order (then ``links``).
    """

    def __init__(self) -> None:
        self._reader = _StoredRows()
        self._maker = _RowMaker({})
        self._conflicts: dict[str, tuple[str, ...]] = {}
        self._vendors: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}

    def state(self, columns: Sequence[Any]) -> list[Any]:
        """A row's :data:`_MERGE_COLUMNS` as a state; an authority taken from the
        referring domain is left out, as :meth:`_StoredRows.record` does."""
        state = list(columns)
        vendors = self._reader._vendors.get(state[8])
        if vendors is None:
            vendors = self._reader._vendors[state[8]] = tuple(json.loads(state[8]))
        state[8] = vendors
        state[9] = self._reader._origins(state[9])
        conflicts = state[12]
        if conflicts:
            found = self._conflicts.get(conflicts)
            if found is None:
                found = self._conflicts[conflicts] = tuple(json.loads(conflicts))
            state[12] = found
        else:
            state[12] = ()
        if state[0] is None:
            state[0] = ""
        if state[13] == "domain":
            state[5] = state[6] = state[7] = None
        return state

    def merge(self, held: list[Any], new: list[Any]) -> list[Any]:
        """Merge two states (``held`` read first), by the rules of ``merge_records``."""
        # 0 anchor, 1 flags (bits: followed nofollow ugc sponsored is_image lost
        # rel_reported lost_reported), 2 lost_date, 3 first_seen, 4 last_seen,
        # 5-7 metric, 8 vendors, 9 origins, 10 rel_seen, 11 lost_seen, 12 conflicts
        held_flags, new_flags = held[1], new[1]
        rich_held = (
            bool(held[0]) + (held_flags >> 6 & 1) + (held_flags >> 7) + (held[3] is not None)
            + (held[4] is not None) + (held[6] is not None)
        )  # fmt: skip
        rich_new = (
            bool(new[0]) + (new_flags >> 6 & 1) + (new_flags >> 7) + (new[3] is not None)
            + (new[4] is not None) + (new[6] is not None)
        )  # fmt: skip
        if rich_new > rich_held or (rich_new == rich_held and (new[4] or "") > (held[4] or "")):
            primary, other = new, held
        else:
            primary, other = held, new
        worded = primary if primary[0] or not other[0] else other
        disagree = []
        if held_flags & 64 and new_flags & 64:  # both report a rel
            differ = (held_flags ^ new_flags) & 1  # followed
            if differ:
                disagree.append("followed")
            seen_held, seen_new = held[10] or "", new[10] or ""
            if seen_new != seen_held:
                rel = new if seen_new > seen_held else held
            elif differ:
                rel = new if held_flags & 1 else held  # not followed wins a tie
            else:
                rel = primary
        else:
            rel = new if new_flags & 64 else held
        if held_flags & 128 and new_flags & 128:  # both report a lost status
            differ = (held_flags ^ new_flags) & 32  # lost
            if differ:
                disagree.append("lost")
            seen_held, seen_new = held[11] or "", new[11] or ""
            if seen_new != seen_held:
                gone = new if seen_new > seen_held else held
            elif differ:
                gone = held if held_flags & 32 else new  # lost wins a tie
            else:
                gone = primary
        else:
            gone = new if new_flags & 128 else held
        # The better-ranked metric (merging._metric_rank); a tie keeps the primary's.
        rank_other = (
            _NO_METRIC_RANK
            if other[6] is None or other[5] is None
            else _METRIC_RANK.get(other[5], _NO_METRIC_RANK - 1)
        )
        rank_primary = (
            _NO_METRIC_RANK
            if primary[6] is None or primary[5] is None
            else _METRIC_RANK.get(primary[5], _NO_METRIC_RANK - 1)
        )
        measured = other if rank_other < rank_primary else primary
        held_origins, new_origins = held[9], new[9]
        if len(new_origins) == 1 and new_origins[0] not in held_origins:
            origins = held_origins + new_origins
        else:
            origins = held_origins + tuple(o for o in new_origins if o not in held_origins)
        held_vendors, new_vendors = held[8], new[8]
        if held_vendors == new_vendors:
            vendors = held_vendors
        else:
            vendors = self._vendors.get((held_vendors, new_vendors))
            if vendors is None:
                vendors = self._vendors[held_vendors, new_vendors] = tuple(
                    sorted(set(held_vendors).union(new_vendors))
                )
        held_conflicts, new_conflicts = held[12], new[12]
        if held_conflicts or new_conflicts or disagree:
            conflicts = tuple(sorted(set(held_conflicts).union(new_conflicts, disagree)))
        else:
            conflicts = ()
        first_held, first_new = held[3], new[3]
        last_held, last_new = held[4], new[4]
        return [
            worded[0],
            (rel[1] & 0b01001111) | (worded[1] & 0b00010000) | (gone[1] & 0b10100000),
            gone[2],
            first_new if first_held is None else first_held if first_new is None
            else min(first_held, first_new),
            last_new if last_held is None else last_held if last_new is None
            else max(last_held, last_new),
            measured[5], measured[6], measured[7], vendors, origins, rel[10], gone[11],
            conflicts, None,
        ]  # fmt: skip

    def out(self, state: list[Any]) -> tuple[Any, ...]:
        """A state as :data:`_MERGE_COLUMNS` (then ``links``), as stored."""
        maker = self._maker
        origins = state[9]
        if len(origins) == 2:  # links_count, for the common merge of two files
            links = 2 if origins[0][0] == origins[1][0] else 1
        else:
            links = links_count(origins)
        return (
            state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7],
            maker.vendors(state[8]), maker.origins(origins), state[10], state[11],
            maker.conflicts(state[12]) if state[12] else None,
            None if state[7] is None else "link", links,
        )  # fmt: skip


def _write_domains(store: CrawlStore, domains: Mapping[str, MergedDomain]) -> None:
    if not domains:
        return
    conn = store.conn
    names = list(domains)
    stored: dict[str, MergedDomain] = {}
    for start in range(0, len(names), 900):
        chunk = names[start : start + 900]
        marks = ", ".join("?" * len(chunk))
        for row in conn.execute(
            "SELECT domain, metric_name, metric_value, authority, links, linking_pages, "
            "target_pages, first_seen, last_seen, lost, lost_date, vendors, origins "
            f"FROM backlink_domains WHERE domain IN ({marks})",
            chunk,
        ):
            stored[row[0]] = MergedDomain(
                domain=row[0],
                metric_name=row[1],
                metric_value=row[2],
                authority=row[3],
                links=row[4],
                linking_pages=row[5],
                target_pages=row[6],
                first_seen=row[7],
                last_seen=row[8],
                lost=None if row[9] is None else bool(row[9]),
                lost_date=row[10],
                vendors=tuple(json.loads(row[11])),
                origins=tuple((str(f), int(n)) for f, n in json.loads(row[12])),
            )
    rows = []
    for name, merged in domains.items():
        held = stored.get(name)
        final = merged if held is None else merge_domains(held, merged)
        rows.append(
            (
                final.domain,
                final.metric_name,
                final.metric_value,
                final.authority,
                final.links,
                final.linking_pages,
                final.target_pages,
                final.first_seen,
                final.last_seen,
                final.lost,
                final.lost_date,
                _json(list(final.vendors)),
                _json([list(o) for o in final.origins]),
            )
        )
    conn.executemany(
        "INSERT OR REPLACE INTO backlink_domains (domain, metric_name, metric_value, authority, "
        "links, linking_pages, target_pages, first_seen, last_seen, lost, lost_date, vendors, "
        "origins) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def fill_domain_authority(store: CrawlStore) -> int:
    """Give backlinks without a metric of their own their domain's authority.

    The rule: a backlink whose export carries no metric (Search Console, a
    generic export) takes the authority of its source's registrable domain
    from ``backlink_domains`` (Ahrefs/Semrush referring-domains exports),
    marked ``authority_source = 'domain'``. A backlink's own metric is never
    replaced. Run after every import, so the order files come in does not matter.

    Returns
    -------
    int
        Backlinks whose authority was set (or refreshed) from their domain.
    """
    if (
        store.conn.execute(
            "SELECT 1 FROM backlink_domains WHERE authority IS NOT NULL LIMIT 1"
        ).fetchone()
        is None
    ):
        return 0  # the update would change nothing: spare it a pass over every backlink
    cursor = store.conn.execute(
        "UPDATE backlinks SET authority = ("
        "  SELECT d.authority FROM backlink_domains d WHERE d.domain = backlinks.source_domain"
        "), authority_source = 'domain' "
        "WHERE (authority IS NULL OR authority_source = 'domain') AND source_domain IN ("
        "  SELECT domain FROM backlink_domains WHERE authority IS NOT NULL)"
    )
    return cursor.rowcount


def drop_backlinks_from(store: CrawlStore, hosts: Iterable[str], *, why: str) -> int:
    """Remove the backlinks whose source is on ``hosts`` (they turned out to be the
    site's own links), and say so in the records of the files they came from.

    A crawl learns some of its hosts late: a start URL that redirects to
    another host of the site (``example.com`` to ``www.example.com``) has that
    host adopted into the scope after the crawl-time import has read the
    exports. Each file's record counts its removed rows as rejected
    (``internal``, as the import itself counts a row from the site) and gets
    ``why`` as a warning, with the number.

    Parameters
    ----------
    store : CrawlStore
        The run's store (writable).
    hosts : iterable of str
        Hosts as :func:`~linkspider.urlnorm.host_of` gives them (with a port
        when the URL has one).
    why : str
        Why they are the site's own, for the warning (one sentence).

    Returns
    -------
    int
        Backlinks removed.
    """
    hosts = sorted(set(hosts))
    if not hosts:
        return 0
    ensure_backlink_schema(store)
    conn = store.conn
    marks = ", ".join("?" * len(hosts))
    conn.execute("BEGIN IMMEDIATE")
    try:
        # One pass over the table (source_host has no index), then by id.
        per_file: Counter[str] = Counter()
        ids: list[int] = []
        for row_id, origins in conn.execute(
            f"SELECT id, origins FROM backlinks WHERE source_host IN ({marks})", hosts
        ):
            ids.append(row_id)
            per_file.update({str(file) for file, _line in json.loads(origins)})
        if not ids:
            conn.execute("COMMIT")
            return 0
        conn.executemany("DELETE FROM backlinks WHERE id = ?", [(i,) for i in ids])
        removed = len(ids)
        by_record: Counter[str] = Counter()  # the import records name files resolved
        for file, count in per_file.items():
            by_record[str(Path(file).resolve())] += count
        for file, count in by_record.items():
            found = conn.execute(
                "SELECT id, kept, rejected, reject_counts, warnings FROM backlink_imports "
                "WHERE file = ? AND kind = ? ORDER BY id DESC LIMIT 1",
                (file, KIND_LINKS),
            ).fetchone()
            if found is None:
                continue
            record_id, kept, rejected, reject_counts, warnings = found
            counts = Counter(json.loads(reject_counts))
            counts["internal"] += count
            notes = [
                *json.loads(warnings),
                f"{count} backlink(s) from {', '.join(hosts)} removed after the import: {why}",
            ]
            conn.execute(
                "UPDATE backlink_imports SET kept = ?, rejected = ?, reject_counts = ?, "
                "warnings = ? WHERE id = ?",
                (max(kept - count, 0), rejected + count, _json(dict(counts)), _json(notes),
                 record_id),
            )  # fmt: skip
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return removed


def _write_imports(store: CrawlStore, reports: Sequence[ImportReport], mode: str) -> None:
    now = time.time()
    store.conn.executemany(
        "INSERT INTO backlink_imports (imported_at, mode, file, format, vendor, variant, label, "
        "kind, encoding, delimiter, header_line, rows_read, kept, rejected, lost, nofollow, "
        "referring_domains, target_assumed, reject_counts, rejects, warnings) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                now,
                mode,
                str(Path(r.file).resolve()),
                r.format.key,
                r.format.vendor,
                r.format.variant,
                r.format.label,
                r.format.kind,
                r.encoding,
                r.delimiter,
                r.header_line,
                r.rows_read,
                r.kept,
                r.rejected,
                r.lost,
                r.nofollow,
                len(r.referring_domains),
                r.target_assumed,
                _json(dict(r.reject_counts)),
                _json([[j.line, j.code, j.reason] for j in r.rejects]),
                _json(r.warnings),
            )
            for r in reports
        ],
    )
