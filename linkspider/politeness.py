"""Per-domain politeness state shared by the robots, backoff and throttle parts.

A :class:`DomainClock` is kept per crawler (:func:`clock_for`): the minimum
delay each download slot must keep (robots.txt ``Crawl-delay``) and the time
until which a slot is paused (``Retry-After``, runs of server errors). The
robots middleware writes floors, the backoff middleware writes pauses, the
throttle extension and the backoff middleware read them.

Plain Python: no Scrapy imports (the crawler is only used as a dict key).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from weakref import WeakKeyDictionary

__all__ = ["DomainClock", "clock_for", "parse_retry_after"]


def parse_retry_after(value: str | bytes | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header.

    Parameters
    ----------
    value : str or bytes or None
        Delay in seconds (``120``) or an HTTP date
        (``Wed, 21 Oct 2015 07:28:00 GMT``).
    now : datetime, optional
        The current time (UTC) for an HTTP date; defaults to now.

    Returns
    -------
    float or None
        Seconds, never negative; ``None`` when missing or unreadable.
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass
class DomainClock:
    """Delays and pauses per download slot (host name), in monotonic seconds."""

    floors: dict[str, float] = field(default_factory=dict)
    paused_until: dict[str, float] = field(default_factory=dict)

    def set_floor(self, slot: str, seconds: float) -> None:
        """Make ``slot`` keep at least ``seconds`` between requests."""
        self.floors[slot] = max(seconds, self.floors.get(slot, 0.0))

    def floor(self, slot: str) -> float:
        """The minimum delay of ``slot`` (0 when none)."""
        return self.floors.get(slot, 0.0)

    def pause(self, slot: str, seconds: float) -> float:
        """Pause ``slot`` for ``seconds`` from now (extends, never shortens).

        Returns the monotonic time until which the slot is paused.
        """
        until = time.monotonic() + seconds
        if until > self.paused_until.get(slot, 0.0):
            self.paused_until[slot] = until
        return self.paused_until[slot]

    def wait_for(self, slot: str) -> float:
        """Seconds left in the pause of ``slot`` (0 when not paused)."""
        until = self.paused_until.get(slot)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self.paused_until[slot]
            return 0.0
        return left


_CLOCKS: WeakKeyDictionary[Any, DomainClock] = WeakKeyDictionary()


def clock_for(crawler: Any) -> DomainClock:
    """The :class:`DomainClock` of one crawler (created on first use)."""
    clock = _CLOCKS.get(crawler)
    if clock is None:
        clock = _CLOCKS[crawler] = DomainClock()
    return clock
