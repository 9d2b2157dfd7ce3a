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

An import is one transaction: a failure leaves the store as it was. Without
``replace`` the new records merge into the backlinks already stored, by the
same rules as within an import; ``replace`` starts the backlink tables afresh.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    KIND_LINKS,
    Backlink,
    BacklinkError,
    ImportReport,
    MergedBacklink,
)
from pipelines.backlinks.parsing import ParsedExport, parse_backlinks
from pipelines.backlinks.reading import BacklinkFile, expand_backlink_paths, read_backlinks
from pipelines.backlinks.urls import ExportUrls, Site
from pipelines.storedb import CrawlStore

__all__ = [
    "BACKLINK_COLUMNS",
    "ImportResult",
    "ensure_backlink_schema",
    "fill_domain_authority",
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
    """The site a run crawled: its start URLs and every host it fetched a page from.

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
            "  JOIN urls u ON u.id = p.url_id"
            "  WHERE p.kind IN ('html', 'other', 'redirect', 'error'))"
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
    seconds : float
        Wall time of the import.
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
    started = time.perf_counter()
    urls = ExportUrls(normaliser)
    exports = open_exports(
        paths, site=site, target=target, columns=columns, urls=urls, reject_details=reject_details
    )
    merger = BacklinkMerger()
    reports: list[ImportReport] = []
    try:
        for handle, parsed in exports:
            merger.add_all(parsed)
            parsed.report.warnings[:0] = handle.warnings
            reports.append(parsed.report)
            handle.close()
            if on_file is not None:
                on_file(parsed.report)
    finally:
        for handle, _ in exports:
            handle.close()
    result = write_backlinks(store, merger, reports, replace=replace)
    result.seconds = time.perf_counter() - started
    return result


def _links_count(origins: Sequence[tuple[str, int]]) -> int:
    if len(origins) == 1:
        return 1
    return max(Counter(file for file, _ in origins).values())


class _RowMaker:
    """Turn records into ``backlinks`` rows, memoising the JSON of repeated parts."""

    def __init__(self, target_ids: Mapping[str, int]) -> None:
        self.target_ids = target_ids
        self._vendors: dict[tuple[str, ...], str] = {}
        self._file_prefix: dict[str, str] = {}

    def vendors(self, vendors: tuple[str, ...]) -> str:
        text = self._vendors.get(vendors)
        if text is None:
            text = self._vendors[vendors] = _json(list(vendors))
        return text

    def row(self, r: LinkRecord) -> tuple[Any, ...]:
        if isinstance(r, Backlink):
            prefix = self._file_prefix.get(r.file)
            if prefix is None:
                prefix = self._file_prefix[r.file] = "[[" + _json(r.file) + ","
            origins = f"{prefix}{r.line}]]"
            links = 1
            conflicts = None
        else:
            origins = _json([list(o) for o in r.origins])
            links = _links_count(r.origins)
            conflicts = _json(list(r.conflicts)) if r.conflicts else None
        return (
            r.source_url,
            r.source_host,
            r.source_domain,
            self.target_ids[r.target_url],
            r.anchor,
            r.followed,
            r.nofollow,
            r.ugc,
            r.sponsored,
            r.is_image,
            r.lost,
            r.lost_date,
            r.first_seen,
            r.last_seen,
            r.metric_name,
            r.metric_value,
            r.authority,
            self.vendors(r.vendors),
            origins,
            r.rel_reported,
            r.lost_reported,
            r.rel_seen,
            r.lost_seen,
            links,
            conflicts,
            "link" if r.authority is not None else None,
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


def _write_links(
    store: CrawlStore, merger: BacklinkMerger, maker: _RowMaker, result: ImportResult
) -> None:
    conn = store.conn
    existing = store.count("backlinks")
    if existing == 0:
        batch: list[tuple[Any, ...]] = []
        row = maker.row
        for record in merger.sorted_by_source():
            batch.append(row(record))
            if len(batch) >= _BATCH:
                conn.executemany(_INSERT, batch)
                batch.clear()
        if batch:
            conn.executemany(_INSERT, batch)
        result.added = len(merger)
        return
    records = merger.sorted_by_source()
    for start in range(0, len(records), _LOOKUP_CHUNK):
        chunk = records[start : start + _LOOKUP_CHUNK]
        params: list[Any] = []
        for record in chunk:
            params.extend((record.source_url, maker.target_ids[record.target_url]))
        pairs = ", ".join(["(?, ?)"] * len(chunk))
        stored = {
            (row[1], row[4]): row
            for row in conn.execute(
                f"SELECT {_READ_BACK} FROM backlinks WHERE (source_url, target_id) IN "
                f"(VALUES {pairs})",
                params,
            )
        }
        inserts, updates = [], []
        for record in chunk:
            found = stored.get((record.source_url, maker.target_ids[record.target_url]))
            if found is None:
                inserts.append(maker.row(record))
            else:
                merged = merge_records(_stored_record(found[1:], record.target_url), record)
                updates.append((*maker.row(merged), found[0]))
        if inserts:
            conn.executemany(_INSERT, inserts)
        if updates:
            conn.executemany(_UPDATE, updates)
        result.added += len(inserts)
        result.updated += len(updates)


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
    merger: BacklinkMerger,
    reports: Sequence[ImportReport] = (),
    *,
    replace: bool = False,
) -> ImportResult:
    """Store merged records (one transaction).

    Parameters
    ----------
    store : CrawlStore
    merger : BacklinkMerger
        What was read.
    reports : sequence of ImportReport
        Per-file reports, recorded in ``backlink_imports``.
    replace : bool
        Delete the run's backlinks, domains, target pages and imports first.

    Returns
    -------
    ImportResult
    """
    ensure_backlink_schema(store)
    result = ImportResult(reports=list(reports))
    result.link_rows = sum(r.kept for r in reports if r.format.kind == KIND_LINKS)
    link_targets = merger.targets()
    page_targets = [url for url, _ in merger.target_pages]
    result.targets = list(dict.fromkeys(link_targets + page_targets))
    store.begin()
    try:
        if replace:
            for table in (
                "backlinks",
                "backlink_domains",
                "backlink_target_pages",
                "backlink_imports",
            ):
                store.conn.execute(f"DELETE FROM {table}")
        target_ids = store.intern(result.targets)
        maker = _RowMaker(target_ids)
        _write_links(store, merger, maker, result)
        _write_domains(store, merger.domains)
        store.conn.executemany(
            "INSERT OR REPLACE INTO backlink_target_pages "
            "(target_id, vendor, links, domains, origin) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    target_ids[p.target_url],
                    p.vendor,
                    p.links,
                    p.domains,
                    _json([p.file, p.line]),
                )
                for p in merger.target_pages.values()
            ],
        )
        store.conn.executemany(
            "INSERT OR IGNORE INTO known_urls (url_id, source) VALUES (?, 'backlink')",
            [(url_id,) for url_id in target_ids.values()],
        )
        result.authority_filled = fill_domain_authority(store)
        _write_imports(store, reports, "replace" if replace else "add")
        store.commit()
    except BaseException:
        store.conn.execute("ROLLBACK")
        raise
    result.merged = len(merger)
    for record in merger:
        if len(record.vendors) > 1:
            result.multi_vendor += 1
        result.conflicts.update(record.conflicts)
    result.domains = len(merger.domains)
    result.backlinks = store.count("backlinks")
    return result
