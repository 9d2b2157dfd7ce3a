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

1. every link record read is appended to a temporary table (``bl_stage``, in
   SQLite's temp database on disk) with a hash of its key (source URL, target
   URL); referring domains and target pages, which are few, stay in memory;
2. keys seen more than once (or already stored, when adding) are found with
   one ``GROUP BY``; every other record is copied into ``backlinks`` by one
   ``INSERT ... SELECT`` in the unique index's order;
3. the records of repeated keys are read back group by group and merged by
   :func:`~pipelines.backlinks.merging.merge_records` (the one implementation
   of the merge rules), then inserted, or update the stored backlink.

An import is one transaction: a failure leaves the store as it was. Without
``replace`` the new records merge into the backlinks already stored, by the
same rules as within an import; ``replace`` starts the backlink tables afresh.
"""

from __future__ import annotations

import gc
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from linkspider.urlnorm import UrlNormaliser
from pipelines.backlinks.merging import (
    BacklinkMerger,
    LinkRecord,
    MergedDomain,
    merge_domains,
    merge_records,
)
from pipelines.backlinks.model import (
    Backlink,
    BacklinkError,
    ImportReport,
    MergedBacklink,
    ReferringDomain,
    TargetPage,
)
from pipelines.backlinks.parsing import ParsedExport, Record, parse_backlinks
from pipelines.backlinks.reading import BacklinkFile, expand_backlink_paths, read_backlinks
from pipelines.backlinks.urls import ExportUrls, Site
from pipelines.storedb import CrawlStore

__all__ = [
    "BACKLINK_COLUMNS",
    "ImportResult",
    "ensure_backlink_schema",
    "fill_domain_authority",
    "gc_paused",
    "import_backlinks",
    "open_exports",
    "site_of_store",
    "write_backlinks",
]

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
CREATE VIEW IF NOT EXISTS backlink_target_counts AS
    SELECT target_id,
           sum(links)                    AS links,
           count(*)                      AS referring_pages,
           count(DISTINCT source_domain) AS referring_domains,
           count(DISTINCT CASE WHEN followed AND NOT lost THEN source_domain END)
                                         AS live_followed_domains
    FROM backlinks GROUP BY target_id;
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
_INSERT: Final = (
    f"INSERT INTO backlinks ({', '.join(_WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_WRITE_COLUMNS))})"
)
_UPDATE: Final = (
    f"UPDATE backlinks SET {', '.join(f'{c} = ?' for c in _WRITE_COLUMNS)} WHERE id = ?"
)
_READ_BACK: Final = (
    "id, source_url, source_host, source_domain, target_id, anchor, followed, nofollow, ugc, "
    "sponsored, is_image, lost, lost_date, first_seen, last_seen, metric_name, metric_value, "
    "authority, vendors, origins, rel_reported, lost_reported, rel_seen, lost_seen, conflicts, "
    "authority_source"
)
_BATCH: Final = 20_000


def _json(value: Any) -> str:
    """Compact JSON, the same bytes for the same value however the row was built."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_LOOKUP_CHUNK: Final = 400  # key pairs per lookup query (2 parameters each)


def ensure_backlink_schema(store: CrawlStore) -> None:
    """Add the importer's columns, tables and view to a store (idempotent)."""
    have = {row[1] for row in store.conn.execute("PRAGMA table_info(backlinks)")}
    for name, declaration in BACKLINK_COLUMNS:
        if name not in have:
            store.conn.execute(f"ALTER TABLE backlinks ADD COLUMN {name} {declaration}")
    store.executescript(_SCHEMA)


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

    Returns
    -------
    ImportResult

    Raises
    ------
    BacklinkError
        A file is unreadable or unrecognised (nothing is written then).
    """
    exports = open_exports(
        paths,
        site=site,
        target=target,
        columns=columns,
        urls=ExportUrls(normaliser),
        reject_details=reject_details,
    )
    reports: list[ImportReport] = []

    def records() -> Iterator[Record]:
        try:
            for handle, parsed in exports:
                yield from parsed
                parsed.report.warnings[:0] = handle.warnings
                reports.append(parsed.report)
                handle.close()
                if on_file is not None:
                    on_file(parsed.report)
        finally:
            for handle, _ in exports:
                handle.close()

    return write_backlinks(store, records(), reports, replace=replace)


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


def _links_count(origins: Sequence[tuple[str, int]]) -> int:
    if len(origins) == 1:
        return 1
    return max(Counter(file for file, _ in origins).values())


# Flag bits of a staged record.
_FOLLOWED, _NOFOLLOW, _UGC, _SPONSORED, _IMAGE, _LOST, _REL_REPORTED, _LOST_REPORTED = (
    1 << i for i in range(8)
)
_STAGE_SCHEMA: Final = """
CREATE TEMP TABLE bl_stage (
    key            INTEGER NOT NULL,     -- hash of (source URL, target URL), this import only
    source_url     TEXT NOT NULL,
    source_host    TEXT NOT NULL,
    source_domain  TEXT NOT NULL,
    t_idx          INTEGER NOT NULL,     -- bl_stage_targets.t_idx
    anchor         TEXT NOT NULL,
    flags          INTEGER NOT NULL,     -- the _FOLLOWED ... _LOST_REPORTED bits
    lost_date      TEXT,
    first_seen     TEXT,
    last_seen      TEXT,
    metric_name    TEXT,
    metric_value   REAL,
    authority      REAL,
    file_idx       INTEGER,              -- bl_stage_files.file_idx (single records)
    line           INTEGER,
    vendors        TEXT,                 -- JSON, merged records only
    origins        TEXT,                 -- JSON, merged records only
    conflicts      TEXT,                 -- JSON, merged records only
    rel_seen       TEXT,                 -- merged records only
    lost_seen      TEXT,                 -- merged records only
    links          INTEGER               -- merged records only
);
CREATE TEMP TABLE bl_stage_files (file_idx INTEGER PRIMARY KEY, file TEXT, vendor TEXT);
CREATE TEMP TABLE bl_stage_targets (
    t_idx INTEGER PRIMARY KEY, url TEXT NOT NULL, target_id INTEGER
);
CREATE TEMP TABLE bl_stage_multi (key INTEGER PRIMARY KEY);
"""
_STAGE_DROP: Final = """
DROP TABLE IF EXISTS temp.bl_stage;
DROP TABLE IF EXISTS temp.bl_stage_files;
DROP TABLE IF EXISTS temp.bl_stage_targets;
DROP TABLE IF EXISTS temp.bl_stage_multi;
"""
_STAGE_ONE: Final = (
    "INSERT INTO bl_stage (key, source_url, source_host, source_domain, t_idx, anchor, flags, "
    "lost_date, first_seen, last_seen, metric_name, metric_value, authority, file_idx, line) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_STAGE_MERGED: Final = (
    "INSERT INTO bl_stage (key, source_url, source_host, source_domain, t_idx, anchor, flags, "
    "lost_date, first_seen, last_seen, metric_name, metric_value, authority, vendors, origins, "
    "conflicts, rel_seen, lost_seen, links) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_STAGE_COLUMNS: Final = (
    "s.key, s.source_url, s.source_host, s.source_domain, s.t_idx, s.anchor, s.flags, "
    "s.lost_date, s.first_seen, s.last_seen, s.metric_name, s.metric_value, s.authority, "
    "s.file_idx, s.line, s.vendors, s.origins, s.conflicts, s.rel_seen, s.lost_seen"
)
# Records seen once are copied by SQLite itself, in the unique index's order.
_COPY_SINGLES: Final = f"""
INSERT INTO backlinks ({", ".join(_WRITE_COLUMNS)})
SELECT s.source_url, s.source_host, s.source_domain, t.target_id, s.anchor,
       s.flags & 1, (s.flags >> 1) & 1, (s.flags >> 2) & 1, (s.flags >> 3) & 1,
       (s.flags >> 4) & 1, (s.flags >> 5) & 1,
       s.lost_date, s.first_seen, s.last_seen, s.metric_name, s.metric_value, s.authority,
       coalesce(s.vendors, json_array(f.vendor)),
       coalesce(s.origins, json_array(json_array(f.file, s.line))),
       (s.flags >> 6) & 1, (s.flags >> 7) & 1,
       CASE WHEN s.vendors IS NOT NULL THEN s.rel_seen
            WHEN (s.flags >> 6) & 1 THEN coalesce(s.last_seen, s.first_seen) END,
       CASE WHEN s.vendors IS NOT NULL THEN s.lost_seen
            WHEN (s.flags >> 7) & 1 THEN coalesce(
                nullif(max(coalesce(s.last_seen, ''), coalesce(s.lost_date, '')), ''),
                s.first_seen) END,
       coalesce(s.links, 1), s.conflicts, CASE WHEN s.authority IS NOT NULL THEN 'link' END
FROM bl_stage s
JOIN bl_stage_targets t ON t.t_idx = s.t_idx
LEFT JOIN bl_stage_files f ON f.file_idx = s.file_idx
WHERE s.key NOT IN (SELECT key FROM bl_stage_multi)
ORDER BY s.source_url, t.target_id
"""
_STAGE_BATCH: Final = 10_000


class _Stage:
    """Link records of one import, staged in SQLite's temp database."""

    def __init__(self, store: CrawlStore) -> None:
        self.conn = store.conn
        self.conn.executescript(_STAGE_DROP + _STAGE_SCHEMA)
        self.targets: dict[str, int] = {}
        self.files: dict[tuple[str, str], int] = {}
        self.rows = 0
        self._ones: list[tuple[Any, ...]] = []
        self._inserts: list[tuple[Any, ...]] = []  # merged records, new to the store
        self._updates: list[tuple[Any, ...]] = []  # merged records, stored before

    def _t_idx(self, url: str) -> int:
        t_idx = self.targets[url] = len(self.targets)
        self.conn.execute("INSERT INTO bl_stage_targets (t_idx, url) VALUES (?, ?)", (t_idx, url))
        return t_idx

    def _file_idx(self, file: str, vendor: str) -> int:
        f_idx = self.files[file, vendor] = len(self.files)
        self.conn.execute(
            "INSERT INTO bl_stage_files (file_idx, file, vendor) VALUES (?, ?, ?)",
            (f_idx, file, vendor),
        )
        return f_idx

    def add(self, records: Iterable[Record | MergedBacklink], merger: BacklinkMerger) -> None:
        """Stage link records; keep referring domains and target pages in ``merger``.

        The loop runs once per row of every export: the common record (a
        :class:`Backlink`) is staged inline, the rest go through :meth:`_other`.
        """
        targets, files = self.targets, self.files
        ones = self._ones
        flush = self._flush
        count = 0
        for r in records:
            if type(r) is not Backlink:
                self._other(r, merger)
                continue
            target = r.target_url
            t_idx = targets.get(target)
            if t_idx is None:
                t_idx = self._t_idx(target)
            f_idx = files.get((r.file, r.vendor))
            if f_idx is None:
                f_idx = self._file_idx(r.file, r.vendor)
            flags = (
                (_FOLLOWED if r.followed else 0)
                | (_NOFOLLOW if r.nofollow else 0)
                | (_UGC if r.ugc else 0)
                | (_SPONSORED if r.sponsored else 0)
                | (_IMAGE if r.is_image else 0)
                | (_LOST if r.lost else 0)
                | (_REL_REPORTED if r.rel_reported else 0)
                | (_LOST_REPORTED if r.lost_reported else 0)
            )
            ones.append(
                (
                    hash((r.source_url, target)),
                    r.source_url,
                    r.source_host,
                    r.source_domain,
                    t_idx,
                    r.anchor,
                    flags,
                    r.lost_date,
                    r.first_seen,
                    r.last_seen,
                    r.metric_name,
                    r.metric_value,
                    r.authority,
                    f_idx,
                    r.line,
                )
            )
            count += 1
            if len(ones) >= _STAGE_BATCH:
                flush()
        self.rows += count

    def _other(self, record: Record | MergedBacklink, merger: BacklinkMerger) -> None:
        if isinstance(record, MergedBacklink):
            self.add_merged(record)
        elif isinstance(record, ReferringDomain):
            merger.add_domain(record)
        elif isinstance(record, TargetPage):
            merger.add_target_page(record)
        else:
            raise TypeError(f"not a backlink record: {record!r}")

    def add_merged(self, r: MergedBacklink) -> None:
        """Stage an already merged record (from a :class:`BacklinkMerger`)."""
        t_idx = self.targets.get(r.target_url)
        if t_idx is None:
            t_idx = self._t_idx(r.target_url)
        self.conn.execute(
            _STAGE_MERGED,
            (
                hash((r.source_url, r.target_url)),
                r.source_url,
                r.source_host,
                r.source_domain,
                t_idx,
                r.anchor,
                _flags_of(r),
                r.lost_date,
                r.first_seen,
                r.last_seen,
                r.metric_name,
                r.metric_value,
                r.authority,
                _json(list(r.vendors)),
                _json([list(o) for o in r.origins]),
                _json(list(r.conflicts)) if r.conflicts else None,
                r.rel_seen,
                r.lost_seen,
                _links_count(r.origins),
            ),
        )
        self.rows += 1

    def _flush(self) -> None:
        if self._ones:
            self.conn.executemany(_STAGE_ONE, self._ones)
            self._ones.clear()

    def record(self, row: Sequence[Any]) -> LinkRecord:
        """A staged row (``_STAGE_COLUMNS`` order) back as a record."""
        (
            _key,
            source_url,
            source_host,
            source_domain,
            t_idx,
            anchor,
            flags,
            lost_date,
            first_seen,
            last_seen,
            metric_name,
            metric_value,
            authority,
            file_idx,
            line,
            vendors,
            origins,
            conflicts,
            rel_seen,
            lost_seen,
        ) = row
        target_url = self.target_urls[t_idx]
        if vendors is None:
            file, vendor = self.file_keys[file_idx]
            return Backlink(
                source_url, source_host, source_domain, target_url, anchor,
                bool(flags & _FOLLOWED), bool(flags & _NOFOLLOW), bool(flags & _UGC),
                bool(flags & _SPONSORED), bool(flags & _IMAGE), bool(flags & _REL_REPORTED),
                bool(flags & _LOST), lost_date, bool(flags & _LOST_REPORTED), first_seen,
                last_seen, metric_name, metric_value, authority, vendor, file, line,
            )  # fmt: skip
        return MergedBacklink(
            source_url, source_host, source_domain, target_url, anchor,
            bool(flags & _FOLLOWED), bool(flags & _NOFOLLOW), bool(flags & _UGC),
            bool(flags & _SPONSORED), bool(flags & _IMAGE), bool(flags & _REL_REPORTED),
            bool(flags & _LOST), lost_date, bool(flags & _LOST_REPORTED), first_seen, last_seen,
            metric_name, metric_value, authority, tuple(json.loads(vendors)),
            tuple((str(f), int(n)) for f, n in json.loads(origins)),
            tuple(json.loads(conflicts)) if conflicts else (), rel_seen, lost_seen,
        )  # fmt: skip

    def finish(self, store: CrawlStore, result: ImportResult, *, stored: bool) -> None:
        """Merge the staged records into ``backlinks``.

        Parameters
        ----------
        stored : bool
            Whether ``backlinks`` held rows before (they take part in merging).
        """
        self._flush()
        conn = self.conn
        urls = list(self.targets)
        target_ids = store.intern(urls)
        conn.executemany(
            "UPDATE bl_stage_targets SET target_id = ? WHERE t_idx = ?",
            [(target_ids[url], t_idx) for url, t_idx in self.targets.items()],
        )
        self.target_urls = urls
        self.file_keys = list(self.files)
        conn.execute(
            "INSERT INTO bl_stage_multi SELECT key FROM bl_stage GROUP BY key HAVING count(*) > 1"
        )
        if stored:
            conn.execute(
                "INSERT OR IGNORE INTO bl_stage_multi SELECT s.key FROM bl_stage s "
                "JOIN bl_stage_targets t ON t.t_idx = s.t_idx "
                "JOIN backlinks b ON b.source_url = s.source_url AND b.target_id = t.target_id"
            )
        singles = conn.execute(_COPY_SINGLES).rowcount
        result.added += singles
        result.merged += singles
        maker = _RowMaker(target_ids)
        cursor = conn.execute(
            f"SELECT {_STAGE_COLUMNS} FROM bl_stage s "
            "WHERE s.key IN (SELECT key FROM bl_stage_multi) ORDER BY s.key, s.rowid"
        )
        group: list[Sequence[Any]] = []
        key = None
        while rows := cursor.fetchmany(5000):
            for row in rows:
                if row[0] != key and group:
                    self._merge_group(store, group, maker, result, stored=stored)
                    group = []
                key = row[0]
                group.append(row)
            self._write_merged(result)
        if group:
            self._merge_group(store, group, maker, result, stored=stored)
        self._write_merged(result)

    def _write_merged(self, result: ImportResult) -> None:
        inserts, updates = self._inserts, self._updates
        if inserts:
            self.conn.executemany(_INSERT, inserts)
            result.added += len(inserts)
            inserts.clear()
        if updates:
            self.conn.executemany(_UPDATE, updates)
            result.updated += len(updates)
            updates.clear()

    def _merge_group(
        self,
        store: CrawlStore,
        rows: list[Sequence[Any]],
        maker: _RowMaker,
        result: ImportResult,
        *,
        stored: bool,
    ) -> None:
        # One hash can (very rarely) cover different keys: split by the real key.
        by_key: dict[tuple[str, int], list[LinkRecord]] = {}
        for row in rows:
            by_key.setdefault((row[1], row[4]), []).append(self.record(row))
        for (source_url, t_idx), records in by_key.items():
            target_url = self.target_urls[t_idx]
            found = None
            if stored:
                found = store.conn.execute(
                    f"SELECT {_READ_BACK} FROM backlinks WHERE source_url = ? AND target_id = ?",
                    (source_url, maker.target_ids[target_url]),
                ).fetchone()
            merged: LinkRecord = (
                _stored_record(found[1:], target_url) if found is not None else records[0]
            )
            for record in records if found is not None else records[1:]:
                merged = merge_records(merged, record)
            if found is None:
                self._inserts.append(maker.row(merged))
            else:
                self._updates.append((*maker.row(merged), found[0]))
            result.merged += 1
            if len(merged.vendors) > 1:
                result.multi_vendor += 1
            if merged.conflicts:
                result.conflicts.update(merged.conflicts)

    def drop(self) -> None:
        """Remove the temporary tables."""
        self.conn.executescript(_STAGE_DROP)


def _flags_of(r: LinkRecord) -> int:
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


class _RowMaker:
    """Turn records into ``backlinks`` rows, memoising the JSON of repeated parts."""

    def __init__(self, target_ids: Mapping[str, int]) -> None:
        self.target_ids = target_ids
        self._vendors: dict[tuple[str, ...], str] = {}
        self._vendor_of: dict[str, str] = {}
        self._file_prefix: dict[str, str] = {}

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
            _json([list(o) for o in r.origins]),
            int(r.rel_reported),
            int(r.lost_reported),
            r.rel_seen,
            r.lost_seen,
            _links_count(r.origins),
            _json(list(r.conflicts)) if r.conflicts else None,
            None if r.authority is None else "link",
        )


def _stored_record(row: Sequence[Any], target_url: str) -> MergedBacklink:
    """A stored backlink row (``_READ_BACK`` order, without id) as a merged record."""
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
    from_domain = authority_source == "domain"  # refilled after the merge
    return MergedBacklink(
        source_url=source_url,
        source_host=source_host,
        source_domain=source_domain,
        target_url=target_url,
        anchor=anchor or "",
        followed=bool(followed),
        nofollow=bool(nofollow),
        ugc=bool(ugc),
        sponsored=bool(sponsored),
        is_image=bool(is_image),
        rel_reported=bool(rel_reported),
        lost=bool(lost),
        lost_date=lost_date,
        lost_reported=bool(lost_reported),
        first_seen=first_seen,
        last_seen=last_seen,
        metric_name=None if from_domain else metric_name,
        metric_value=None if from_domain else metric_value,
        authority=None if from_domain else authority,
        vendors=tuple(json.loads(vendors)),
        origins=tuple((str(f), int(n)) for f, n in json.loads(origins)),
        conflicts=tuple(json.loads(conflicts)) if conflicts else (),
        rel_seen=rel_seen,
        lost_seen=lost_seen,
    )


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
    cursor = store.conn.execute(
        "UPDATE backlinks SET authority = ("
        "  SELECT d.authority FROM backlink_domains d WHERE d.domain = backlinks.source_domain"
        "), authority_source = 'domain' "
        "WHERE (authority IS NULL OR authority_source = 'domain') AND source_domain IN ("
        "  SELECT domain FROM backlink_domains WHERE authority IS NOT NULL)"
    )
    return cursor.rowcount


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


def write_backlinks(
    store: CrawlStore,
    records: Iterable[Record | MergedBacklink] | BacklinkMerger,
    reports: Sequence[ImportReport] = (),
    *,
    replace: bool = False,
) -> ImportResult:
    """Merge records into the store (one transaction), streaming them.

    Parameters
    ----------
    store : CrawlStore
    records : iterable or BacklinkMerger
        Link, referring-domain and target-page records in reading order (what
        :class:`ParsedExport` objects yield, chained), or a merger's contents.
        Consumed once; ``reports`` may be filled while it is consumed.
    reports : sequence of ImportReport
        Per-file reports, recorded in ``backlink_imports``.
    replace : bool
        Delete the run's backlinks, domains, target pages and imports first.

    Returns
    -------
    ImportResult
    """
    started = time.perf_counter()
    ensure_backlink_schema(store)
    result = ImportResult(reports=list(reports))
    merger = BacklinkMerger()  # referring domains and target pages: few, kept in memory
    conn = store.conn
    (temp_store,) = conn.execute("PRAGMA temp_store").fetchone()
    conn.execute("PRAGMA temp_store = FILE")  # the staged rows go to disk, not to memory
    # Reading fills the stage (temp tables) in autocommit: the main database is not
    # locked while files are parsed, and the store's other connections (the crawl's
    # pipeline) can write meanwhile. The merge then takes the write lock at once
    # (IMMEDIATE), so its snapshot cannot go stale between reading and writing.
    stage = _Stage(store)
    try:
        with gc_paused():
            stage.add(records, merger)
            result.reports = list(reports)
            result.read_seconds = time.perf_counter() - started
            conn.execute("BEGIN IMMEDIATE")
            try:
                _finish(store, stage, merger, result, replace=replace)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    finally:
        stage.drop()
        conn.execute(f"PRAGMA temp_store = {int(temp_store)}")
    result.domains = len(merger.domains)
    result.backlinks = store.count("backlinks")
    result.seconds = time.perf_counter() - started
    return result


def _finish(
    store: CrawlStore, stage: _Stage, merger: BacklinkMerger, result: ImportResult, *, replace: bool
) -> None:
    """Everything an import writes to the main database (inside its transaction)."""
    conn = store.conn
    if replace:
        for table in ("backlinks", "backlink_domains", "backlink_target_pages", "backlink_imports"):
            conn.execute(f"DELETE FROM {table}")
    stored = conn.execute("SELECT 1 FROM backlinks LIMIT 1").fetchone() is not None
    stage.finish(store, result, stored=stored)
    result.link_rows = stage.rows
    page_urls = [url for url, _ in merger.target_pages]
    page_ids = store.intern(page_urls) if page_urls else {}
    result.targets = list(dict.fromkeys([*stage.targets, *page_urls]))
    _write_domains(store, merger.domains)
    conn.executemany(
        "INSERT OR REPLACE INTO backlink_target_pages "
        "(target_id, vendor, links, domains, origin) VALUES (?, ?, ?, ?, ?)",
        [
            (page_ids[p.target_url], p.vendor, p.links, p.domains, _json([p.file, p.line]))
            for p in merger.target_pages.values()
        ],
    )
    conn.execute(
        "INSERT OR IGNORE INTO known_urls (url_id, source) "
        "SELECT target_id, 'backlink' FROM bl_stage_targets"
    )
    conn.executemany(
        "INSERT OR IGNORE INTO known_urls (url_id, source) VALUES (?, 'backlink')",
        [(url_id,) for url_id in page_ids.values()],
    )
    result.authority_filled = fill_domain_authority(store)
    _write_imports(store, result.reports, "replace" if replace else "add")
