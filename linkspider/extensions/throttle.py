"""AutoThrottle that never goes below a host's robots.txt Crawl-delay.

Scrapy's AutoThrottle sets each slot's delay from the observed latency,
bounded below by ``DOWNLOAD_DELAY`` only. This subclass also keeps the
per-host floor set by :mod:`linkspider.middlewares.robots` (the
``Crawl-delay``) after every adjustment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

from linkspider.politeness import clock_for

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["PoliteAutoThrottle"]


class PoliteAutoThrottle(AutoThrottle):
    """AutoThrottle with per-host minimum delays (robots.txt Crawl-delay)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.clock = clock_for(crawler)

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        if key is None or slot is None:
            return
        floor = self.clock.floor(key)
        if floor and slot.delay < floor:
            slot.delay = floor
