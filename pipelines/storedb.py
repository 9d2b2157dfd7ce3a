"""The crawl store: one SQLite file per run, shared by every later step.

The crawl writes it (:mod:`pipelines.store`), the backlink importer adds its
tables to it, and the equity model and the report read it. This module is the
schema and a thin, typed access layer; it imports nothing from Scrapy, so the
post-crawl steps and the benchmarks use it directly.

Design choices (see ``docs/store.md`` for the full column reference):

* URLs are interned: every URL is stored once in ``urls`` and referred to by
  an integer id everywhere else. Interning goes through SQLite itself with a
  bounded LRU memo in front, so memory stays flat however many URLs exist.
* ``links`` holds one row per ``<a href>``/``<area href>`` (the source of truth
  for exports and findings); ``edges`` holds the same http(s) links of a page
  packed into one int64 array, so the equity model loads tens of millions of
  links in seconds instead of iterating rows in Python.
* Writes are batched by the caller and committed per batch; a crash or Ctrl-C
  loses at most the batch in flight, and WAL mode keeps readers unblocked.
* Every table is keyed so that writing the same page again (a resumed crawl)
  replaces rows instead of duplicating them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

__all__ = [
    "EDGE_FLAG_FOLLOWED",
    "EDGE_FLAG_INTERNAL",
    "POSITIONS",
    "POSITION_CODES",
    "SCHEMA_VERSION",
    "STORE_FILENAME",
    "CrawlStore",
    "StoreError",
    "pack_edges",
    "unpack_edges",
]

STORE_FILENAME: Final = "crawl.sqlite"
#: Page size of a new store (and of an import's work files): SQLite reads and writes a
#: page per system call, and bulk work made half as many with 16 KiB as with 4 KiB.
PAGE_SIZE: Final = 16384
SCHEMA_VERSION: Final = 1

#: Link positions, in the order of their integer codes in the store.
POSITIONS: Final = ("content", "nav", "header", "footer", "aside", "breadcrumb")
POSITION_CODES: Final = {name: code for code, name in enumerate(POSITIONS)}

# Bit layout of one packed edge (int64): dst_id << 8 | flags.
#   bits 0-2: position code; bit 3: followed; bit 4: internal (in crawl scope).
EDGE_POSITION_MASK: Final = 0b111
EDGE_FLAG_FOLLOWED: Final = 1 << 3
EDGE_FLAG_INTERNAL: Final = 1 << 4
_EDGE_SHIFT: Final = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL              -- JSON
);
CREATE TABLE IF NOT EXISTS urls (
    id  INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE         -- normalised absolute URL
);
-- One row per URL the crawl fetched or decided about (fetched, redirected,
-- failed, blocked by robots.txt, cut by a cap or a trap, non-HTML).
CREATE TABLE IF NOT EXISTS pages (
    url_id        INTEGER PRIMARY KEY,   -- the URL this row is about
    requested_id  INTEGER,               -- first URL requested when redirected here
    kind          TEXT NOT NULL,         -- html | other | redirect | error | failed
                                         -- | blocked | oversize | trap | skipped
    status        INTEGER,               -- HTTP status; NULL when no answer
    content_type  TEXT,
    depth         INTEGER,               -- click depth (exact BFS, set at the end)
    crawl_depth   INTEGER,               -- depth of the request that fetched it
    response_ms   REAL,
    size_bytes    INTEGER,
    title         TEXT,
    h1            TEXT,
    meta_robots   TEXT,                  -- raw content of <meta name=robots>
    x_robots_tag  TEXT,                  -- raw X-Robots-Tag header
    noindex       INTEGER NOT NULL DEFAULT 0,
    nofollow      INTEGER NOT NULL DEFAULT 0,
    canonical_id  INTEGER,               -- absolute canonical, interned
    hreflang      TEXT,                  -- JSON [[lang, url], ...]
    word_count    INTEGER,
    signature     TEXT,                  -- JSON list of top terms (topical relevance)
    in_sitemap    INTEGER NOT NULL DEFAULT 0,
    n_links       INTEGER,
    error         TEXT,                  -- why it failed / was skipped, in words
    fetched_at    REAL,                  -- UNIX time
    meta_refresh  TEXT,                  -- content of <meta http-equiv=refresh>, as written
    refresh_id    INTEGER,               -- where that refresh leads (another URL), interned
    refresh_delay INTEGER                -- its delay in seconds
);
CREATE TABLE IF NOT EXISTS links (
    src_id    INTEGER NOT NULL,          -- page the link is on (pages.url_id)
    ord       INTEGER NOT NULL,          -- order on the page, from 0
    dst_id    INTEGER,                   -- normalised target; NULL for mailto: etc.
    href      TEXT NOT NULL,             -- as written
    anchor    TEXT NOT NULL,             -- visible text, or alt text if is_image
    is_image  INTEGER NOT NULL DEFAULT 0,
    rel       TEXT,                      -- rel tokens, space-separated, lower-case
    followed  INTEGER NOT NULL,
    position  INTEGER NOT NULL,          -- POSITION_CODES
    internal  INTEGER NOT NULL,          -- target inside the crawl scope
    kind      TEXT NOT NULL DEFAULT 'http', -- http | mailto | tel | javascript | data | other
    PRIMARY KEY (src_id, ord)
) WITHOUT ROWID;
-- The http(s) links of a page packed as int64 (dst_id << 8 | flags): see pack_edges.
CREATE TABLE IF NOT EXISTS edges (
    src_id INTEGER PRIMARY KEY,
    packed BLOB NOT NULL
);
-- Each redirect hop: src answered status with a Location resolving to dst, or
-- (kind meta_refresh) an HTML page whose meta refresh leads to dst at once.
CREATE TABLE IF NOT EXISTS redirects (
    src_id INTEGER PRIMARY KEY,
    dst_id INTEGER,                      -- NULL when the Location was unusable
    status INTEGER NOT NULL,
    kind   TEXT NOT NULL DEFAULT 'http', -- http | meta_refresh
    delay  INTEGER                       -- meta_refresh: seconds; NULL for http
);
-- URLs known from outside the link graph: start URLs, sitemaps, backlink
-- targets, a user's list. The orphan candidates.
CREATE TABLE IF NOT EXISTS known_urls (
    url_id INTEGER NOT NULL,
    source TEXT NOT NULL,                -- start | sitemap | backlink | list
    PRIMARY KEY (url_id, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS traps (
    url_id  INTEGER PRIMARY KEY,
    pattern TEXT NOT NULL,               -- the pattern whose cap it hit
    reason  TEXT NOT NULL
);
-- Merged backlinks: one row per (normalised source URL, normalised target URL).
-- Written by pipelines.backlinks; read by the equity model and the report.
CREATE TABLE IF NOT EXISTS backlinks (
    id             INTEGER PRIMARY KEY,
    source_url     TEXT NOT NULL,
    source_host    TEXT NOT NULL,
    source_domain  TEXT NOT NULL,        -- registrable domain (Public Suffix List)
    target_id      INTEGER NOT NULL,     -- urls.id of the normalised target
    anchor         TEXT,
    followed       INTEGER NOT NULL,     -- 0 for nofollow / ugc / sponsored
    nofollow       INTEGER NOT NULL DEFAULT 0,
    ugc            INTEGER NOT NULL DEFAULT 0,
    sponsored      INTEGER NOT NULL DEFAULT 0,
    is_image       INTEGER NOT NULL DEFAULT 0,
    lost           INTEGER NOT NULL DEFAULT 0,
    lost_date      TEXT,                 -- ISO date
    first_seen     TEXT,
    last_seen      TEXT,
    metric_name    TEXT,                 -- DR, UR, AS, PA, DA, TF, CF
    metric_value   REAL,                 -- as the vendor gave it
    authority      REAL,                 -- metric scaled to [0, 1]; NULL when unknown
    vendors        TEXT NOT NULL,        -- JSON list of vendors that reported it
    origins        TEXT NOT NULL         -- JSON list of [file, line]
);
-- The key, as an index of its own: a bulk import writes a new table without it
-- and indexes it once (much cheaper than keeping it up to date row by row).
CREATE UNIQUE INDEX IF NOT EXISTS backlinks_key ON backlinks (source_url, target_id);
"""

# Columns added to the schema after stores were written: (table, column, definition).
# A store opened for writing gets the ones it lacks; readers check with has_column.
_ADDED_COLUMNS: Final = (
    ("pages", "meta_refresh", "TEXT"),
    ("pages", "refresh_id", "INTEGER"),
    ("pages", "refresh_delay", "INTEGER"),
    ("redirects", "kind", "TEXT NOT NULL DEFAULT 'http'"),
    ("redirects", "delay", "INTEGER"),
)

# Created when the crawl is finalised: maintaining them during millions of
# inserts costs more than building them once.
_FINAL_INDEXES = """
CREATE INDEX IF NOT EXISTS links_by_dst ON links (dst_id);
CREATE INDEX IF NOT EXISTS redirects_by_dst ON redirects (dst_id);
"""


class StoreError(Exception):
    """The store is missing, unreadable, or from an incompatible version."""


def pack_edges(dst_ids: Sequence[int], flags: Sequence[int]) -> bytes:
    """Pack a page's http(s) links for the ``edges`` table.

    Parameters
    ----------
    dst_ids : sequence of int
        Interned target URL ids, in page order.
    flags : sequence of int
        Position code | ``EDGE_FLAG_FOLLOWED`` | ``EDGE_FLAG_INTERNAL`` per link.

    Returns
    -------
    bytes
        Little-endian int64 values ``dst_id << 8 | flags``.
    """
    packed = (np.asarray(dst_ids, dtype="<i8") << _EDGE_SHIFT) | np.asarray(flags, dtype="<i8")
    return packed.tobytes()


def unpack_edges(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack_edges`: ``(dst_ids, flags)`` as int64 arrays."""
    packed = np.frombuffer(blob, dtype="<i8")
    return packed >> _EDGE_SHIFT, packed & 0xFF


#: How long opening a store waits for the write-ahead log it needs.
WAL_WAIT_SECONDS: Final = 30.0


def _use_wal(conn: sqlite3.Connection, path: Path) -> None:
    """Put the store in WAL mode (each connection asks; the mode is the file's).

    A large backlink import that has the store to itself writes through a
    rollback journal; going back to WAL then needs a moment without its
    transactions, and SQLite does not wait for it (a busy timeout does not
    apply). The import commits every few hundred milliseconds: try again until
    then. Staying out of WAL is no option: this connection's reads would keep
    the import's commits waiting.
    """
    deadline = time.monotonic() + WAL_WAIT_SECONDS
    pause = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"{path} is being written by another process (a backlink import?): "
                    "try again when it is done"
                ) from None
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


class CrawlStore:
    """An open crawl store.

    Parameters
    ----------
    path : str or Path
        The SQLite file, or a run folder (the file is then ``crawl.sqlite`` in it).
    create : bool
        Create the file and the schema if missing. Readers pass ``False`` and
        get a :class:`StoreError` for a missing or foreign file.
    url_cache_size : int
        How many URL -> id pairs the interning memo keeps.
    """

    def __init__(
        self, path: str | Path, *, create: bool = False, url_cache_size: int = 200_000
    ) -> None:
        path = Path(path)
        if path.is_dir() or path.suffix != ".sqlite":
            path = path / STORE_FILENAME
        self.path = path
        if not create and not path.is_file():
            raise StoreError(f"no crawl store at {path}: is this a linkspider run folder?")
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Several components write the same file (the crawl's pipeline, the
            # backlink importer): wait for a lock rather than fail at once.
            self.conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            if create:  # a new file takes it (an existing one keeps its own)
                self.conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            _use_wal(self.conn, path)
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
            if create:
                self.conn.executescript(_SCHEMA)
                self._init_version()
                self._add_columns()
            else:
                self._check_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a readable crawl store: {exc}") from exc
        self._url_ids: OrderedDict[str, int] = OrderedDict()
        self._url_cache_size = url_cache_size

    # -- lifecycle -------------------------------------------------------

    def _init_version(self) -> None:
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif json.loads(row[0]) != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has store schema {row[0]}, expected {SCHEMA_VERSION}")

    def _add_columns(self) -> None:
        """Give a store written by an earlier version the columns added since (additive)."""
        for table, column, definition in _ADDED_COLUMNS:
            if not self.has_column(table, column):
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``table`` has ``column`` (a store written before it was added may not)."""
        if not table.isidentifier():
            raise ValueError(table)
        return any(row[1] == column for row in self.conn.execute(f"PRAGMA table_info({table})"))

    def _check_version(self) -> None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a crawl store: {exc}") from exc
        if row is None or json.loads(row[0]) != SCHEMA_VERSION:
            found = "none" if row is None else row[0]
            raise StoreError(
                f"{self.path} has store schema {found}; this linkspider reads {SCHEMA_VERSION}"
            )

    def executescript(self, script: str) -> None:
        """Run DDL (other components add their own tables, e.g. backlinks)."""
        self.conn.executescript(script)

    def finalise(self) -> None:
        """Build the read-side indexes and refresh the planner's statistics."""
        self.conn.executescript(_FINAL_INDEXES)
        self.conn.execute("PRAGMA optimize")

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close."""
        try:
            # main only: a checkpoint of every database fails with "database table is
            # locked" once the connection made a TEMP table while out of WAL mode
            # (the backlink importer's bulk phase), and only main has a log.
            self.conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
        finally:
            self.conn.close()

    def __enter__(self) -> CrawlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ----------------------------------------------------

    def begin(self) -> None:
        """Start a write batch (one transaction)."""
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        """End a write batch."""
        self.conn.execute("COMMIT")

    # -- metadata --------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        """Store one JSON-serialisable metadata value (run facts, settings)."""
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, json.dumps(value, sort_keys=True)),
        )

    def get_meta(self, key: str, default: Any = None) -> Any:
        """Read one metadata value, or ``default``."""
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def all_meta(self) -> dict[str, Any]:
        """All metadata as a dict."""
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    # -- URL interning ---------------------------------------------------

    def intern(self, urls: Iterable[str]) -> dict[str, int]:
        """Return ids for URLs, adding the unknown ones.

        Parameters
        ----------
        urls : iterable of str
            Normalised URLs (duplicates allowed).

        Returns
        -------
        dict
            ``{url: id}`` for every distinct URL given.
        """
        found: dict[str, int] = {}
        missing: list[str] = []
        memo = self._url_ids
        for url in urls:
            if url in found:
                continue
            url_id = memo.get(url)
            if url_id is None:
                missing.append(url)
                found[url] = -1
            else:
                memo.move_to_end(url)
                found[url] = url_id
        if missing:
            unique_missing = list(dict.fromkeys(missing))
            self.conn.executemany(
                "INSERT OR IGNORE INTO urls(url) VALUES (?)", ((u,) for u in unique_missing)
            )
            # Look the ids up in chunks below SQLite's host-parameter limit.
            for start in range(0, len(unique_missing), 900):
                chunk = unique_missing[start : start + 900]
                marks = ",".join("?" * len(chunk))
                for url, url_id in self.conn.execute(
                    f"SELECT url, id FROM urls WHERE url IN ({marks})", chunk
                ):
                    found[url] = url_id
                    memo[url] = url_id
            while len(memo) > self._url_cache_size:
                memo.popitem(last=False)
        return found

    def url_id(self, url: str) -> int | None:
        """Id of a URL already in the store, or ``None`` (does not add it)."""
        row = self.conn.execute("SELECT id FROM urls WHERE url=?", (url,)).fetchone()
        return None if row is None else int(row[0])

    def url_of(self, url_id: int) -> str:
        """The URL behind an id."""
        row = self.conn.execute("SELECT url FROM urls WHERE id=?", (url_id,)).fetchone()
        if row is None:
            raise KeyError(url_id)
        return str(row[0])

    # -- reading ---------------------------------------------------------

    def iter_edges(self, batch_size: int = 4096) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield ``(src_id, dst_ids, flags)`` for every page that has http(s) links."""
        cursor = self.conn.execute("SELECT src_id, packed FROM edges ORDER BY src_id")
        while rows := cursor.fetchmany(batch_size):
            for src_id, blob in rows:
                dst_ids, flags = unpack_edges(blob)
                yield int(src_id), dst_ids, flags

    def count(self, table: str) -> int:
        """Number of rows in one of the store's tables."""
        if not table.isidentifier():
            raise ValueError(table)
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
