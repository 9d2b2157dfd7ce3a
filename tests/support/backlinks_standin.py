"""A small real spider for the backlink tests, standing in for the site spider.

The site spider is being built on another branch; until the two merge, the
backlink tests crawl with this one. It is a real Scrapy spider run by the real
engine against a real local server, and it offers exactly the contract the
``BacklinksImport`` extension relies on:

* ``backlink_files`` (from ``-a backlinks=PATHS``) and ``run_dir``;
* ``schedule_known_url(url, source) -> bool``: records the URL in
  ``known_urls`` and schedules it when it is on the start URL's host.

It records what it fetches in the crawl store (``pages`` with kind, status and
canonical; ``redirects``; the start URL in ``known_urls``), enough for the
resolution of backlink targets to be tested against a genuine crawl. It does
not replace the site spider: no robots.txt, politeness or link extraction
beyond following same-host ``<a href>``.

Run: ``python -m scrapy runspider tests/support/backlinks_standin.py
-a url=URL -a run_dir=DIR [-a backlinks=FILES]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response

from linkspider.urlnorm import host_of, normalise_url
from pipelines.backlinks.reading import expand_backlink_paths
from pipelines.storedb import CrawlStore


class BacklinksStandinSpider(scrapy.Spider):
    """Crawl one host, record pages and redirects, accept backlink targets."""

    name = "backlinks-standin"
    custom_settings: ClassVar[dict[str, Any]] = {
        "ROBOTSTXT_OBEY": False,
        "REDIRECT_ENABLED": False,  # redirects are recorded hop by hop, not followed silently
        "HTTPERROR_ALLOW_ALL": True,
        "RETRY_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 4,
        "EXTENSIONS": {"pipelines.backlinks.extension.BacklinksImport": 500},
    }

    def __init__(self, url: str, run_dir: str, backlinks: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        start = normalise_url(url)
        if start is None:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.start_urls = [start]
        self.host = host_of(start)
        self.run_dir = Path(run_dir)
        self.backlink_files = expand_backlink_paths([backlinks]) if backlinks else []
        self.store = CrawlStore(self.run_dir, create=True)
        self._known(start, "start")

    def _id(self, url: str) -> int:
        return self.store.intern([url])[url]

    def _known(self, url: str, source: str) -> None:
        self.store.conn.execute(
            "INSERT OR IGNORE INTO known_urls (url_id, source) VALUES (?, ?)",
            (self._id(url), source),
        )

    def schedule_known_url(self, url: str, source: str) -> bool:
        """Record a URL known from outside the link graph; crawl it when on our host."""
        self._known(url, source)
        if host_of(url) != self.host:
            return False
        assert self.crawler.engine is not None
        self.crawler.engine.crawl(scrapy.Request(url, callback=self.parse))
        return True

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        url = normalise_url(response.url) or response.url
        url_id = self._id(url)
        status = response.status
        if 300 <= status < 400:
            location = response.headers.get(b"Location", b"").decode("latin-1")
            target = normalise_url(location, url) if location else None
            self._page(url_id, "redirect", status)
            self.store.conn.execute(
                "INSERT OR REPLACE INTO redirects (src_id, dst_id, status) VALUES (?, ?, ?)",
                (url_id, self._id(target) if target else None, status),
            )
            if target and host_of(target) == self.host:
                yield scrapy.Request(target, callback=self.parse)
            return
        if status >= 400:
            self._page(url_id, "error", status)
            return
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        if "html" not in content_type:
            self._page(url_id, "other", status)
            return
        canonical = response.css('link[rel="canonical"]::attr(href)').get()
        canonical_url = normalise_url(canonical, url) if canonical else None
        self._page(url_id, "html", status, self._id(canonical_url) if canonical_url else None)
        for href in response.css("a::attr(href)").getall():
            link = normalise_url(href, url)
            if link and host_of(link) == self.host:
                yield scrapy.Request(link, callback=self.parse)

    def _page(self, url_id: int, kind: str, status: int, canonical_id: int | None = None) -> None:
        self.store.conn.execute(
            "INSERT OR REPLACE INTO pages (url_id, kind, status, canonical_id) VALUES (?, ?, ?, ?)",
            (url_id, kind, status, canonical_id),
        )

    def closed(self, reason: str) -> None:
        self.store.set_meta("finish_reason", reason)
        self.store.close()
