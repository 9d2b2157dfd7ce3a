"""The store pipeline: the crawl's items into ``<run_dir>/crawl.sqlite``.

Items are turned into rows as they arrive (no item object is kept) and
written in batches, one transaction each, with URLs interned to integer ids:
``pages``, ``links`` and, in the same transaction, the packed ``edges`` the
equity model reads; ``redirects``, ``traps``, ``known_urls`` (drained from
the spider) and the run's ``meta``. A batch is written every
``LINKSTORE_BATCH_PAGES`` pages, ``LINKSTORE_BATCH_LINKS`` links or
``LINKSTORE_BATCH_SECONDS`` seconds, whichever comes first, so a stopped crawl
loses at most the batch in flight, and memory does not grow with the crawl.

When the spider closes, the last batch is written, the exact click depths are
computed over the stored graph (:mod:`pipelines.clickdepth`), ``in_sitemap``
is set, and the read-side indexes are built. How the run ended (finish reason,
complete, caps hit) is written when the spider sends
:data:`linkspider.signals.crawl_finished`, which happens before extensions
hear ``spider_closed``: a post-crawl report sees the finished store.

A resumed crawl (``JOBDIR``) opens the same store: every table is keyed, so a
page written again replaces its rows.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from linkspider import signals as linkspider_signals
from linkspider.checked_settings import checked
from linkspider.items import ErrorItem, PageItem, RedirectItem
from pipelines.clickdepth import write_click_depths
from pipelines.storedb import (
    EDGE_FLAG_FOLLOWED,
    EDGE_FLAG_INTERNAL,
    POSITION_CODES,
    CrawlStore,
    pack_edges,
)

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

__all__ = ["CrawlStorePipeline", "StoreConfig"]

logger = logging.getLogger(__name__)

_CHUNK = 900

#: Settings recorded with the run (besides every LINKSPIDER_* and LINKSTORE_*).
RECORDED_SETTINGS = (
    "USER_AGENT",
    "ROBOTSTXT_OBEY",
    "ROBOTSTXT_USER_AGENT",
    "DOWNLOAD_DELAY",
    "DOWNLOAD_DELAY_JITTER",
    "CONCURRENT_REQUESTS",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "AUTOTHROTTLE_ENABLED",
    "AUTOTHROTTLE_START_DELAY",
    "AUTOTHROTTLE_MAX_DELAY",
    "AUTOTHROTTLE_TARGET_CONCURRENCY",
    "DOWNLOAD_TIMEOUT",
    "DOWNLOAD_MAXSIZE",
    "URLLENGTH_LIMIT",
    "DEPTH_PRIORITY",
    "RETRY_TIMES",
    "RETRY_HTTP_CODES",
    "COOKIES_ENABLED",
    "JOBDIR",
)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    """A settings value as JSON-friendly data."""
    if hasattr(value, "copy_to_dict"):
        return {str(k): _plain(v) for k, v in value.copy_to_dict().items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        # Values given with -s arrive as strings: record what they mean.
        if value in ("True", "False", "true", "false"):
            return value.lower() == "true"
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def settings_snapshot(settings: BaseSettings) -> dict[str, Any]:
    """The politeness, limits and component settings of a run, as plain data."""
    names = set(RECORDED_SETTINGS)
    names.update(
        name for name in settings.attributes if name.startswith(("LINKSPIDER_", "LINKSTORE_"))
    )
    return {name: _plain(settings.get(name)) for name in sorted(names)}


@dataclass(frozen=True)
class StoreConfig:
    """``LINKSTORE_*`` settings."""

    enabled: bool = True
    batch_pages: int = 500
    batch_links: int = 50_000
    batch_seconds: float = 5.0
    url_cache_size: int = 200_000

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> StoreConfig:
        """Parse and check the settings.

        Raises
        ------
        linkspider.checked_settings.SettingError
            A value of the wrong type or out of range (one line naming it).
        """
        s = checked(settings)
        return cls(
            enabled=s.getbool("LINKSTORE_ENABLED", True),
            batch_pages=s.getint("LINKSTORE_BATCH_PAGES", cls.batch_pages, minimum=1),
            batch_links=s.getint("LINKSTORE_BATCH_LINKS", cls.batch_links, minimum=1),
            batch_seconds=s.getfloat("LINKSTORE_BATCH_SECONDS", cls.batch_seconds, minimum=0),
            url_cache_size=s.getint("LINKSTORE_URL_CACHE", cls.url_cache_size, minimum=1),
        )


class _Batch:
    """Rows waiting for the next write, with URLs still as strings."""

    def __init__(self) -> None:
        self.pages: list[tuple[Any, ...]] = []
        # Per page with links: (url, [(ord, url|None, href, anchor, is_image, rel,
        # followed, position_code, internal, kind), ...])
        self.links: list[tuple[str, list[tuple[Any, ...]]]] = []
        # (url, target, status, kind, delay)
        self.redirects: list[tuple[str, str | None, int, str, int | None]] = []
        self.traps: list[tuple[str, str, str]] = []
        self.known: list[tuple[str, str]] = []
        self.n_links = 0

    def __len__(self) -> int:
        return len(self.pages) + len(self.known)


class CrawlStorePipeline:
    """Write the crawl's items to the run's SQLite crawl store.

    The spider must have a ``run_dir`` (the site spider has); it may offer
    ``drain_known_urls()`` and ``run_facts()``.
    """

    def __init__(self, crawler: Crawler, config: StoreConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.store: CrawlStore | None = None
        self.batch = _Batch()
        self._last_flush = time.monotonic()
        self._written_pages = 0
        self._written_links = 0
        self._finished = False
        self._facts_changed = False  # run_facts() to write with the next batch
        crawler.signals.connect(self._crawl_finished, signal=linkspider_signals.crawl_finished)
        crawler.signals.connect(
            self._run_facts_changed, signal=linkspider_signals.run_facts_changed
        )
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = StoreConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("LINKSTORE_ENABLED is off")
        return cls(crawler, config)

    # -- lifecycle -------------------------------------------------------

    def open_spider(self) -> None:
        spider = self.crawler.spider
        run_dir: Path | None = getattr(spider, "run_dir", None)
        if run_dir is None:
            logger.warning("The spider has no run_dir: the crawl store is not written")
            return
        self.store = store = CrawlStore(
            run_dir, create=True, url_cache_size=self.config.url_cache_size
        )
        # The writer appends: a 16 MiB page cache is plenty (readers keep 64 MiB).
        store.conn.execute("PRAGMA cache_size = -16384")
        started = store.get_meta("started_at")
        if started is None:
            store.set_meta("started_at", _now_iso())
        else:
            resumed = list(store.get_meta("resumed_at", []))
            resumed.append(_now_iso())
            store.set_meta("resumed_at", resumed)
        self._write_run_facts()
        snapshot = settings_snapshot(self.crawler.settings)
        store.set_meta("settings", snapshot)
        (run_dir / "settings.json").write_text(
            json.dumps(snapshot, indent=2, sort_keys=True), encoding="utf-8"
        )
        store.set_meta("finish_reason", None)
        store.set_meta("complete", False)
        store.set_meta("finished_at", None)
        self._written_pages = store.count("pages")
        self._written_links = store.count("links")
        logger.info("Crawl store: %s", store.path)

    def process_item(self, item: Any) -> Any:
        if self.store is None:
            return item
        batch = self.batch
        if isinstance(item, PageItem):
            self._add_page(item)
        elif isinstance(item, RedirectItem):
            self._add_redirect(item)
        elif isinstance(item, ErrorItem):
            self._add_error(item)
        self._drain_known()
        if (
            len(batch.pages) >= self.config.batch_pages
            or batch.n_links >= self.config.batch_links
            or len(batch.known) >= self.config.batch_links
            or time.monotonic() - self._last_flush >= self.config.batch_seconds
        ):
            self.flush()
        return item

    def close_spider(self) -> None:
        store = self.store
        if store is None:
            return
        self._drain_known()
        self.flush()
        spider = self.crawler.spider
        start_urls = list(getattr(spider, "start_urls", []) or [])
        started = time.monotonic()
        # Sorting for the indexes spills to temporary files instead of memory:
        # building them over tens of millions of links must not grow the process.
        store.conn.execute("PRAGMA temp_store = FILE")
        max_depth = write_click_depths(store, start_urls)
        store.conn.execute(
            "UPDATE pages SET in_sitemap = (url_id IN "
            "(SELECT url_id FROM known_urls WHERE source = 'sitemap'))"
        )
        store.finalise()
        kinds = dict(store.conn.execute("SELECT kind, count(*) FROM pages GROUP BY kind"))
        store.set_meta("pages", store.count("pages"))
        store.set_meta("pages_by_kind", kinds)
        store.set_meta("links", store.count("links"))
        store.set_meta("known_urls", store.count("known_urls"))
        store.set_meta("max_click_depth", max_depth)
        logger.info(
            "Crawl store finalised in %.1f s: %s pages, %s links, max click depth %s",
            time.monotonic() - started,
            f"{store.count('pages'):,}",
            f"{store.count('links'):,}",
            max_depth,
        )

    def _write_run_facts(self) -> None:
        run_facts = getattr(self.crawler.spider, "run_facts", None)
        if self.store is None or run_facts is None:
            return
        for key, value in run_facts().items():
            self.store.set_meta(key, value)

    def _run_facts_changed(self, spider: Spider) -> None:
        # Sent once for every start URL that redirects (a list of old URLs: many
        # thousands), and the facts hold every start URL: written with the next
        # batch (at most LINKSTORE_BATCH_SECONDS later), not each time.
        self._facts_changed = True

    def _crawl_finished(self, spider: Spider, reason: str, facts: dict[str, Any]) -> None:
        self._finish(reason, facts)

    def _spider_closed(self, spider: Spider, reason: str) -> None:
        # Spiders other than the site spider do not send crawl_finished.
        self._finish(reason, {"complete": reason == "finished", "caps_hit": []})

    def _finish(self, reason: str, facts: dict[str, Any]) -> None:
        store = self.store
        if store is None or self._finished:
            return
        self._finished = True
        if self._facts_changed:
            self._facts_changed = False
            self._write_run_facts()
        store.set_meta("finish_reason", reason)
        store.set_meta("finished_at", _now_iso())
        for key, value in facts.items():
            store.set_meta(key, value)
        store.close()

    # -- rows ------------------------------------------------------------

    def _drain_known(self) -> None:
        drain = getattr(self.crawler.spider, "drain_known_urls", None)
        if drain is not None:
            self.batch.known.extend(drain())

    def _add_page(self, item: PageItem) -> None:
        batch = self.batch
        hreflang = json.dumps([[h.lang, h.url] for h in item.hreflang]) if item.hreflang else None
        signature = json.dumps(item.signature, ensure_ascii=False) if item.signature else None
        batch.pages.append(
            (
                item.url,
                item.requested_url if item.requested_url != item.url else None,
                item.kind,
                item.status,
                item.content_type,
                item.depth,
                item.response_ms,
                item.size_bytes,
                item.title,
                item.h1,
                item.meta_robots,
                item.x_robots_tag,
                int(item.noindex),
                int(item.nofollow),
                item.canonical,
                hreflang,
                item.word_count,
                signature,
                len(item.links) if item.kind == "html" else None,
                item.error,
                item.fetched_at,
                item.meta_refresh,
                item.refresh_url,
                item.refresh_delay,
            )
        )
        if item.kind == "html":
            rows = [
                (
                    order,
                    link.url,
                    link.href,
                    link.anchor,
                    int(link.is_image),
                    " ".join(link.rel) if link.rel else None,
                    int(link.followed),
                    POSITION_CODES.get(link.position, 0),
                    int(link.internal),
                    link.kind,
                )
                for order, link in enumerate(item.links)
            ]
            batch.links.append((item.url, rows))
            batch.n_links += len(rows)

    def _add_redirect(self, item: RedirectItem) -> None:
        refresh = item.kind == "meta_refresh"
        self.batch.pages.append(
            (
                item.url,
                item.requested_url if item.requested_url != item.url else None,
                "redirect",
                item.status,
                item.content_type,
                item.depth,
                item.response_ms,
                None,
                None,
                None,
                None,
                None,
                0,
                0,
                None,
                None,
                None,
                None,
                None,
                item.error,
                item.fetched_at,
                item.location if refresh else None,
                item.target if refresh else None,
                item.delay if refresh else None,
            )
        )
        self.batch.redirects.append((item.url, item.target, item.status, item.kind, item.delay))

    def _add_error(self, item: ErrorItem) -> None:
        self.batch.pages.append(
            (
                item.url,
                None,
                item.kind,
                None,
                None,
                item.depth,
                None,
                None,
                None,
                None,
                None,
                None,
                0,
                0,
                None,
                None,
                None,
                None,
                None,
                item.reason,
                item.fetched_at,
                None,
                None,
                None,
            )
        )
        if item.kind == "trap":
            self.batch.traps.append((item.url, item.pattern or "", item.reason))

    # -- writing ---------------------------------------------------------

    def flush(self) -> None:
        """Write the pending rows in one transaction."""
        store = self.store
        batch = self.batch
        self._last_flush = time.monotonic()
        if self._facts_changed:
            self._facts_changed = False
            self._write_run_facts()
        if store is None or not (len(batch) or batch.redirects or batch.traps):
            return
        urls: list[str] = []
        for row in batch.pages:
            urls.append(row[0])
            if row[1] is not None:
                urls.append(row[1])
            if row[14] is not None:
                urls.append(row[14])
            if row[22] is not None:
                urls.append(row[22])
        for _, rows in batch.links:
            urls.extend(row[1] for row in rows if row[1] is not None)
        urls.extend(hop[1] for hop in batch.redirects if hop[1] is not None)
        urls.extend(url for url, _ in batch.known)
        ids = store.intern(urls)

        def url_id(url: str | None) -> int | None:
            return None if url is None else ids[url]

        conn = store.conn
        store.begin()
        try:
            conn.executemany(
                "INSERT OR REPLACE INTO pages (url_id, requested_id, kind, status, content_type,"
                " crawl_depth, response_ms, size_bytes, title, h1, meta_robots, x_robots_tag,"
                " noindex, nofollow, canonical_id, hreflang, word_count, signature, n_links,"
                " error, fetched_at, meta_refresh, refresh_id, refresh_delay)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    (
                        ids[row[0]],
                        url_id(row[1]),
                        *row[2:14],
                        url_id(row[14]),
                        *row[15:22],
                        url_id(row[22]),
                        row[23],
                    )
                    for row in batch.pages
                ),
            )
            page_ids = [ids[row[0]] for row in batch.pages]
            # A page written again (resume) drops its old links and edges.
            for start in range(0, len(page_ids), _CHUNK):
                chunk = page_ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM links WHERE src_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM edges WHERE src_id IN ({marks})", chunk)
            link_rows: list[tuple[Any, ...]] = []
            edge_rows: list[tuple[int, bytes]] = []
            for page_url, rows in batch.links:
                src = ids[page_url]
                dst_ids: list[int] = []
                flags: list[int] = []
                for (
                    order,
                    target,
                    href,
                    anchor,
                    image,
                    rel,
                    followed,
                    position,
                    internal,
                    kind,
                ) in rows:
                    dst = None if target is None else ids[target]
                    link_rows.append(
                        (
                            src,
                            order,
                            dst,
                            href,
                            anchor,
                            image,
                            rel,
                            followed,
                            position,
                            internal,
                            kind,
                        )
                    )
                    if dst is not None:
                        dst_ids.append(dst)
                        flags.append(
                            position
                            | (EDGE_FLAG_FOLLOWED if followed else 0)
                            | (EDGE_FLAG_INTERNAL if internal else 0)
                        )
                if dst_ids:
                    edge_rows.append((src, pack_edges(dst_ids, flags)))
            conn.executemany(
                "INSERT OR REPLACE INTO links (src_id, ord, dst_id, href, anchor, is_image, rel,"
                " followed, position, internal, kind) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                link_rows,
            )
            conn.executemany(
                "INSERT OR REPLACE INTO edges (src_id, packed) VALUES (?, ?)", edge_rows
            )
            conn.executemany(
                "INSERT OR REPLACE INTO redirects (src_id, dst_id, status, kind, delay)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    (ids[src], url_id(dst), status, kind, delay)
                    for src, dst, status, kind, delay in batch.redirects
                ),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO traps (url_id, pattern, reason) VALUES (?, ?, ?)",
                ((ids[url], pattern, reason) for url, pattern, reason in batch.traps),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO known_urls (url_id, source) VALUES (?, ?)",
                ((ids[url], source) for url, source in batch.known),
            )
            self._written_pages += len(batch.pages)
            self._written_links += len(link_rows)
            store.set_meta(
                "progress",
                {
                    "pages_written": self._written_pages,
                    "links_written": self._written_links,
                    "updated_at": _now_iso(),
                },
            )
            store.commit()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.batch = _Batch()
