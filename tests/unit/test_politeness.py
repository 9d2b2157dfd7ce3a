"""Retry-After parsing and the per-domain clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from linkspider.politeness import DomainClock, clock_for, parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(b" 7 ") == 7.0
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=NOW) == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_clock_pauses_extend_and_expire() -> None:
    clock = DomainClock()
    clock.pause("s.example", 0.2)
    clock.pause("s.example", 0.05)  # never shortens
    assert 0.1 < clock.wait_for("s.example") <= 0.2
    assert clock.wait_for("other.example") == 0.0
    time.sleep(0.25)
    assert clock.wait_for("s.example") == 0.0
    clock.set_floor("s.example", 2.0)
    clock.set_floor("s.example", 1.0)
    assert clock.floor("s.example") == 2.0


def test_one_clock_per_crawler() -> None:
    class Crawler:
        pass

    first, second = Crawler(), Crawler()
    assert clock_for(first) is clock_for(first)
    assert clock_for(first) is not clock_for(second)
