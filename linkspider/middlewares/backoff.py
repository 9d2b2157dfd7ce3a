"""Back off when a site says it is overloaded, instead of hammering it.

* **429 and 503**: the host's download slot is paused for the
  ``Retry-After`` the server sent (seconds or an HTTP date), or for an
  exponential backoff (``LINKSPIDER_BACKOFF_BASE`` × 2^attempt) without one,
  never longer than ``LINKSPIDER_BACKOFF_MAX_DELAY``; the page is retried up
  to ``LINKSPIDER_BACKOFF_RETRY_TIMES`` times, then recorded with its status.
* **A Retry-After longer than the cap**: the host is paused for the cap and
  the page retried once; if the retry is told again to wait longer than the
  cap, the page is given up (recorded with its status and the reason, in
  ``request.meta[GAVE_UP_META_KEY]``) rather than asked again early.
* **A run of server errors** (``LINKSPIDER_BACKOFF_ERROR_RUN`` 5xx/429
  answers in a row from one host) pauses the host for
  ``LINKSPIDER_BACKOFF_PAUSE`` seconds, doubling on each further run up to
  ``LINKSPIDER_BACKOFF_MAX_DELAY``.

While a host is paused its download slot does not start any request (those
already queued in the slot wait too), and new requests for it wait in this
middleware. 429 and 503 are
removed from ``RETRY_HTTP_CODES`` in the project settings: this middleware
retries them, with the wait Scrapy's RetryMiddleware does not have.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import call_later, sleep

from linkspider.checked_settings import SettingError, checked
from linkspider.politeness import clock_for, parse_retry_after

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.settings import BaseSettings

__all__ = ["GAVE_UP_META_KEY", "BackoffConfig", "BackoffMiddleware"]

logger = logging.getLogger(__name__)

#: Request meta key: why the middleware stopped retrying a page (one phrase).
GAVE_UP_META_KEY = "linkspider_gave_up"
_OVER_CAP_META_KEY = "linkspider_backoff_over_cap"


@dataclass(frozen=True)
class BackoffConfig:
    """``LINKSPIDER_BACKOFF_*`` settings."""

    enabled: bool = True
    statuses: frozenset[int] = frozenset({429, 503})
    retry_times: int = 5
    base_delay: float = 5.0
    max_delay: float = 300.0
    error_run: int = 5
    pause: float = 60.0

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> BackoffConfig:
        """Parse and check the settings.

        Raises
        ------
        linkspider.checked_settings.SettingError
            A value of the wrong type or negative (one line naming it).
        """
        s = checked(settings)
        codes = s.getlist("LINKSPIDER_BACKOFF_HTTP_CODES", [429, 503])
        try:
            statuses = frozenset(int(str(code).strip()) for code in codes)
        except ValueError:
            raise SettingError(
                f"LINKSPIDER_BACKOFF_HTTP_CODES={s.get('LINKSPIDER_BACKOFF_HTTP_CODES')!r} "
                "must list HTTP status codes (e.g. 429,503)"
            ) from None
        return cls(
            enabled=s.getbool("LINKSPIDER_BACKOFF_ENABLED", True),
            statuses=statuses,
            retry_times=s.getint("LINKSPIDER_BACKOFF_RETRY_TIMES", cls.retry_times, minimum=0),
            base_delay=s.getfloat("LINKSPIDER_BACKOFF_BASE", cls.base_delay, minimum=0),
            max_delay=s.getfloat("LINKSPIDER_BACKOFF_MAX_DELAY", cls.max_delay, minimum=0),
            error_run=s.getint("LINKSPIDER_BACKOFF_ERROR_RUN", cls.error_run, minimum=0),
            pause=s.getfloat("LINKSPIDER_BACKOFF_PAUSE", cls.pause, minimum=0),
        )


class BackoffMiddleware:
    """Per-host backoff on 429/503 and on runs of server errors."""

    def __init__(self, crawler: Crawler, config: BackoffConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.clock = clock_for(crawler)
        self._error_runs: dict[str, int] = {}
        self._pauses: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = BackoffConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("LINKSPIDER_BACKOFF_ENABLED is off")
        return cls(crawler, config)

    def _slot(self, request: Request) -> str:
        return self.crawler.engine.downloader.get_slot_key(request)

    def _pause(self, key: str, seconds: float) -> None:
        self.clock.pause(key, seconds)
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(key)
        if slot is None:
            return
        # The slot's own "call later" (what DOWNLOAD_DELAY uses) holds its
        # queue: requests already past the middlewares wait as well.
        if slot.latercall is not None:
            slot.latercall.cancel()  # a pending delay is at most slot.delay
            seconds = max(seconds, slot.delay)
        slot.latercall = call_later(seconds, downloader._latercall, slot)

    async def process_request(self, request: Request) -> None:
        wait = self.clock.wait_for(self._slot(request))
        while wait > 0:
            await sleep(wait)
            wait = self.clock.wait_for(self._slot(request))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        slot = self._slot(request)
        status = response.status
        stats = self.crawler.stats
        if status >= 500 or status == 429:
            run = self._error_runs.get(slot, 0) + 1
            self._error_runs[slot] = run
            if self.config.error_run and run >= self.config.error_run:
                self._error_runs[slot] = 0
                times = self._pauses.get(slot, 0)
                self._pauses[slot] = times + 1
                pause = min(self.config.pause * 2**times, self.config.max_delay)
                logger.warning(
                    "%d server errors in a row from %s: pausing it for %.0f s",
                    run,
                    slot,
                    pause,
                )
                self._pause(slot, pause)
                stats.inc_value("linkspider/backoff/pauses")
        else:
            self._error_runs[slot] = 0

        if status not in self.config.statuses or request.meta.get("dont_retry"):
            return response
        attempt = int(request.meta.get("backoff_times", 0))
        retry_after = parse_retry_after(response.headers.get(b"Retry-After"))
        cap = self.config.max_delay
        over_cap = retry_after is not None and retry_after > cap
        delay = retry_after if retry_after is not None else self.config.base_delay * 2**attempt
        delay = min(delay, cap)
        self._pause(slot, delay)
        stats.inc_value(f"linkspider/backoff/status/{status}")
        if over_cap and request.meta.get(_OVER_CAP_META_KEY):
            reason = (
                f"Retry-After {retry_after:.0f} s twice, more than "
                f"LINKSPIDER_BACKOFF_MAX_DELAY={cap:g} s: given up"
            )
            logger.warning(
                "%s answered %d and asks again to wait %.0f s (Retry-After), longer than "
                "LINKSPIDER_BACKOFF_MAX_DELAY=%g s: recording it as is, not asking again",
                request.url,
                status,
                retry_after,
                cap,
            )
            stats.inc_value("linkspider/backoff/gave_up_retry_after")
            request.meta[GAVE_UP_META_KEY] = reason
            return response
        if attempt >= self.config.retry_times:
            logger.warning(
                "%s still answers %d after %d retries: recording it as is",
                request.url,
                status,
                attempt,
            )
            stats.inc_value("linkspider/backoff/gave_up")
            request.meta[GAVE_UP_META_KEY] = f"still HTTP {status} after {attempt} retries"
            return response
        if over_cap:
            why = f" (Retry-After {retry_after:.0f} s, capped by LINKSPIDER_BACKOFF_MAX_DELAY)"
        elif retry_after is not None:
            why = " (Retry-After)"
        else:
            why = ""
        logger.info(
            "%s answered %d: pausing %s for %.1f s%s, then retrying",
            request.url,
            status,
            slot,
            delay,
            why,
        )
        retry = request.copy()
        retry.meta["backoff_times"] = attempt + 1
        retry.meta[_OVER_CAP_META_KEY] = over_cap
        retry.dont_filter = True
        return retry
