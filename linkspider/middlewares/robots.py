"""robots.txt the way RFC 9309 says, with ``Crawl-delay`` kept.

Replaces Scrapy's ``RobotsTxtMiddleware`` (same place in the chain) and
changes three things:

* **Crawl-delay** of the group that applies to us becomes the minimum delay
  of the host's download slot (capped by ``LINKSPIDER_MAX_CRAWL_DELAY``) and
  AutoThrottle cannot go below it (see :mod:`linkspider.extensions.throttle`).
* **Unavailable robots.txt means disallow everything, for now** (RFC 9309
  §2.3.1.4): a 5xx (or 429) answer, a timeout or a broken connection holds
  every request to that host, and robots.txt is fetched again up to
  ``LINKSPIDER_ROBOTS_RETRY_TIMES`` times, ``LINKSPIDER_ROBOTS_RETRY_DELAY``
  seconds apart, or after the ``Retry-After`` the answer gave (at most
  ``LINKSPIDER_ROBOTS_RETRY_MAX_DELAY`` seconds). If it never comes, the host's
  URLs are recorded as blocked and the spider is told (it ends the crawl when
  that is the site itself).
  A host that cannot be reached at all (DNS failure, connection refused) is
  given up at once: waiting will not help. 4xx answers mean "no rules"
  (allow all), as the RFC says.
* Requests waiting for the same robots.txt each get the parser. (Scrapy's
  middleware shares one Deferred between the waiters, and a Deferred hands
  its result to the first waiter only when adapted to asyncio futures.)
* robots.txt is kept per origin (scheme, host and port): ``http://`` and
  ``https://`` of one host may serve different files, as RFC 9309 says.

Blocked requests fail with :class:`RobotsBlocked` (an ``IgnoreRequest``),
so the spider's errback records them with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from linkspider.checked_settings import checked
from linkspider.failures import UNREACHABLE, describe_failure
from linkspider.politeness import clock_for, parse_retry_after

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser
    from scrapy.settings import BaseSettings

__all__ = ["PoliteRobotsTxtMiddleware", "RobotsBlocked", "RobotsConfig"]

logger = logging.getLogger(__name__)


class RobotsBlocked(IgnoreRequest):
    """A request robots.txt does not allow (or cannot allow yet)."""


@dataclass(frozen=True)
class RobotsConfig:
    """``LINKSPIDER_ROBOTS_*`` and ``LINKSPIDER_MAX_CRAWL_DELAY`` settings."""

    retry_times: int = 3
    retry_delay: float = 30.0
    retry_max_delay: float = 300.0
    max_crawl_delay: float = 60.0

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RobotsConfig:
        """Parse and check the settings.

        Raises
        ------
        linkspider.checked_settings.SettingError
            A value of the wrong type or negative (one line naming it).
        """
        s = checked(settings)
        return cls(
            retry_times=s.getint("LINKSPIDER_ROBOTS_RETRY_TIMES", cls.retry_times, minimum=0),
            retry_delay=s.getfloat("LINKSPIDER_ROBOTS_RETRY_DELAY", cls.retry_delay, minimum=0),
            retry_max_delay=s.getfloat(
                "LINKSPIDER_ROBOTS_RETRY_MAX_DELAY", cls.retry_max_delay, minimum=0
            ),
            max_crawl_delay=s.getfloat(
                "LINKSPIDER_MAX_CRAWL_DELAY", cls.max_crawl_delay, minimum=0
            ),
        )


@dataclass(frozen=True)
class _Unavailable:
    """robots.txt could not be had: everything on the host is disallowed."""

    reason: str
    unreachable: bool


class PoliteRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with Crawl-delay and RFC 9309's 5xx rule."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.config = RobotsConfig.from_settings(crawler.settings)
        self._waiters: dict[str, list[Deferred[Any]]] = {}

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parsed = urlparse_cached(request)
        # One robots.txt per origin: http and https of a host may differ.
        origin = f"{parsed.scheme}://{parsed.netloc}"
        known = self._parsers.get(origin, _MISSING)
        if known is _MISSING:
            self._parsers[origin] = None  # placeholder: fetching
            self._waiters[origin] = []
            result = await self._fetch(origin, parsed.netloc, request)
            self._parsers[origin] = result
            for pending in self._waiters.pop(origin):
                pending.callback(result)
            known = result
        elif origin in self._waiters:
            waiter: Deferred[Any] = Deferred()
            self._waiters[origin].append(waiter)
            known = await maybe_deferred_to_future(waiter)
        return known

    def process_request_2(self, rp: Any, request: Request) -> None:
        if rp is None:
            return
        if isinstance(rp, _Unavailable):
            self._stats.inc_value("robotstxt/forbidden")
            raise RobotsBlocked(f"robots.txt unavailable ({rp.reason}): nothing allowed for now")
        useragent = self._robotstxt_useragent or request.headers.get(
            b"User-Agent", self._default_useragent
        )
        if not rp.allowed(request.url, useragent):
            self._stats.inc_value("robotstxt/forbidden")
            raise RobotsBlocked("disallowed by robots.txt")

    async def _fetch(self, origin: str, netloc: str, request: Request) -> Any:
        robots_url = f"{origin}/robots.txt"
        attempts = 1 + self.config.retry_times
        problem = ""
        wait = self.config.retry_delay
        for attempt in range(attempts):
            if attempt:
                logger.warning(
                    "robots.txt of %s unavailable (%s): nothing is crawled there until it "
                    "answers; trying again in %.1f s (attempt %d of %d)",
                    origin,
                    problem,
                    wait,
                    attempt + 1,
                    attempts,
                )
                await sleep(wait)
            robots_request = Request(
                robots_url,
                priority=self.DOWNLOAD_PRIORITY,
                meta={"dont_obey_robotstxt": True, "dont_retry": True},
                callback=NO_CALLBACK,
                dont_filter=True,
            )
            self._stats.inc_value("robotstxt/request_count")
            try:
                response = await self.crawler.engine.download_async(robots_request)
            except UNREACHABLE as exc:
                return self._give_up(origin, robots_url, describe_failure(exc), unreachable=True)
            except Exception as exc:
                problem = describe_failure(exc)
                wait = self.config.retry_delay
                self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
                continue
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            if response.status >= 500 or response.status == 429:
                problem = f"HTTP {response.status}"
                wait = self._retry_wait(response)
                continue
            return await self._parse(response, netloc, request)
        return self._give_up(origin, robots_url, problem, unreachable=False)

    def _retry_wait(self, response: Response) -> float:
        """The server's Retry-After (capped), else LINKSPIDER_ROBOTS_RETRY_DELAY."""
        asked = parse_retry_after(response.headers.get(b"Retry-After"))
        if asked is None:
            return self.config.retry_delay
        return min(asked, self.config.retry_max_delay)

    async def _parse(self, response: Response, netloc: str, request: Request) -> Any:
        # A 4xx robots.txt means "no rules" (RFC 9309 2.3.1.3): parse nothing.
        body = response.body if 200 <= response.status < 300 else b""
        parser = build_from_crawler(self._parserimpl, self.crawler, body)
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=parser, request=request
        )
        self._apply_crawl_delay(parser, request, netloc)
        return parser

    def _apply_crawl_delay(self, parser: Any, request: Request, netloc: str) -> None:
        useragent = self._robotstxt_useragent or self._default_useragent
        try:
            delay = parser.crawl_delay(useragent)
        except (AttributeError, NotImplementedError, ValueError):
            return  # a parser without Crawl-delay support
        if not delay or delay <= 0:
            return
        wanted = float(delay)
        delay = min(wanted, self.config.max_crawl_delay)
        if delay < wanted:
            logger.warning(
                "robots.txt of %s asks for Crawl-delay: %s s; keeping %s s "
                "(LINKSPIDER_MAX_CRAWL_DELAY)",
                netloc,
                wanted,
                delay,
            )
        else:
            logger.info("robots.txt of %s asks for Crawl-delay: %s s: keeping it", netloc, delay)
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        clock_for(self.crawler).set_floor(key, delay)
        slot_settings = dict(downloader.per_slot_settings.get(key, {}))
        slot_settings["delay"] = max(float(slot_settings.get("delay", 0.0)), delay)
        slot_settings["jitter"] = 0.0  # a random delay could go below the floor
        downloader.per_slot_settings[key] = slot_settings
        slot = downloader.slots.get(key)
        if slot is not None:
            slot.delay = max(slot.delay, delay)
            slot.jitter = 0.0
        self._stats.set_value(f"linkspider/crawl_delay/{netloc}", delay)

    def _give_up(self, origin: str, robots_url: str, problem: str, *, unreachable: bool) -> Any:
        if unreachable:
            message = f"cannot reach {origin.partition('://')[2]} ({problem} for {robots_url})"
        else:
            message = (
                f"{robots_url} stayed unavailable ({problem}) after "
                f"{1 + self.config.retry_times} attempts; RFC 9309 says crawl nothing there "
                "until it answers"
            )
        logger.error("%s", message)
        self._stats.set_value(f"linkspider/robots_unavailable/{origin}", problem)
        spider = self.crawler.spider
        hook = getattr(spider, "robots_unavailable", None)
        if callable(hook):
            hook(origin, message, unreachable=unreachable)
        return _Unavailable(reason=problem, unreachable=unreachable)


_MISSING: Any = object()
