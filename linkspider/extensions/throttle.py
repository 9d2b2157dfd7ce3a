"""AutoThrottle that never goes below a host's robots.txt Crawl-delay.

Scrapy's AutoThrottle sets each slot's delay from the observed latency,
bounded below by ``DOWNLOAD_DELAY`` only. This subclass also keeps the
per-host floor set by :mod:`linkspider.middlewares.robots` (the
``Crawl-delay``) after every adjustment.

Its settings are Scrapy's (``AUTOTHROTTLE_*``, ``DOWNLOAD_DELAY``), checked by
:class:`ThrottleConfig`: Scrapy would stop with a traceback on ``abc``, and
switch AutoThrottle off with a mere log line on a target concurrency of 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

from linkspider.checked_settings import checked
from linkspider.politeness import clock_for

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

__all__ = ["PoliteAutoThrottle", "ThrottleConfig"]


@dataclass(frozen=True)
class ThrottleConfig:
    """``AUTOTHROTTLE_*`` and ``DOWNLOAD_DELAY``, checked."""

    enabled: bool = True
    start_delay: float = 1.0
    max_delay: float = 30.0
    target_concurrency: float = 1.0
    download_delay: float = 0.25

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ThrottleConfig:
        """Parse and check the settings.

        Raises
        ------
        linkspider.checked_settings.SettingError
            A value of the wrong type or out of range (one line naming it).
        """
        s = checked(settings)
        s.getbool("AUTOTHROTTLE_DEBUG")
        return cls(
            enabled=s.getbool("AUTOTHROTTLE_ENABLED", True),
            start_delay=s.getfloat("AUTOTHROTTLE_START_DELAY", cls.start_delay, minimum=0),
            max_delay=s.getfloat("AUTOTHROTTLE_MAX_DELAY", cls.max_delay, minimum=0),
            target_concurrency=s.getfloat(
                "AUTOTHROTTLE_TARGET_CONCURRENCY", cls.target_concurrency, above=0
            ),
            download_delay=s.getfloat("DOWNLOAD_DELAY", cls.download_delay, minimum=0),
        )


class PoliteAutoThrottle(AutoThrottle):
    """AutoThrottle with per-host minimum delays (robots.txt Crawl-delay)."""

    def __init__(self, crawler: Crawler) -> None:
        ThrottleConfig.from_settings(crawler.settings)  # a named error, not Scrapy's
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
