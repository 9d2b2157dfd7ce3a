"""Crawler-trap defence."""

from __future__ import annotations

import pytest

from linkspider.traps import TrapGuard, TrapRules, url_shape


def test_url_shape_collapses_digits_and_query_values_not_the_host() -> None:
    assert url_shape("http://127.0.0.1:8080/cal/2024/05?view=month&x=1") == (
        "http://127.0.0.1:8080/cal/#/#?view=*&x=*",
        True,
    )
    assert url_shape("https://s.example/p/12-blue") == ("https://s.example/p/#-blue", False)
    assert url_shape("https://s.example/events?date=2024-05-01")[1] is True
    assert url_shape("https://s.example/a/b") == ("https://s.example/a/b", False)


def test_repeating_segments_and_growing_queries() -> None:
    guard = TrapGuard(TrapRules(segment_repeats=3, max_query_params=4))
    assert guard.check("https://s.example/a/b/a/b/") is None
    verdict = guard.check("https://s.example/a/b/a/b/a/")
    assert verdict is not None and verdict.pattern == "repeated path segment /a/"
    verdict = guard.check("https://s.example/?f=1&f=2&f=3")
    assert verdict is not None and verdict.pattern == "repeated query parameter f="
    verdict = guard.check("https://s.example/?a=1&b=2&c=3&d=4&e=5")
    assert verdict is not None and "more than 4" in verdict.pattern


def test_per_pattern_caps_with_a_lower_cap_for_calendars() -> None:
    guard = TrapGuard(TrapRules(pattern_cap=3, calendar_cap=2))
    assert guard.check("https://s.example/cal/2024/01") is None
    assert guard.check("https://s.example/cal/2024/02") is None
    verdict = guard.check("https://s.example/cal/2024/03")
    assert verdict is not None
    assert verdict.pattern == "https://s.example/cal/#/#"
    assert "calendar" in verdict.reason
    for page in range(3):
        assert guard.check(f"https://s.example/list?page={page}") is None
    assert guard.check("https://s.example/list?page=9") is not None
    # One-off URLs and numeric ids in a path are not counted at all.
    for name in ("a", "b", "c", "d"):
        assert guard.check(f"https://s.example/{name}") is None
    for product in range(10):
        assert guard.check(f"https://s.example/product/{product}") is None
    assert guard.counts == {"https://s.example/cal/#/#": 2, "https://s.example/list?page=*": 3}


def test_counts_continue_from_a_saved_state() -> None:
    counts = {"https://s.example/cal/#/#": 2}
    guard = TrapGuard(TrapRules(calendar_cap=2), counts)
    assert guard.check("https://s.example/cal/2030/01") is not None
    assert TrapGuard(TrapRules(calendar_cap=0), {}).check("https://s.example/cal/1/2") is None


@pytest.mark.parametrize(
    ("url", "date_like"),
    [
        # Calendars: a plausible year and month (and day) at the end of the path.
        ("https://s.example/calendar/2024/05/", True),
        ("https://s.example/calendar/2024/05", True),
        ("https://s.example/events/2024/05/01/", True),
        ("https://s.example/events/2024/5/1/day", True),
        ("https://s.example/agenda/2024-05-01", True),
        ("https://s.example/agenda/2024-05", True),
        ("https://s.example/events?month=2024-05&view=grid", True),
        ("https://s.example/events?date=2024-05-01", True),
        ("https://s.example/events?year=2024&month=5", True),
        ("https://s.example/events?day=31", True),
        # Forum threads, article ids, offsets and numbers that are not dates.
        ("https://s.example/t/some-topic/123/4", False),
        ("https://s.example/t/some-topic/2024/4", True),  # looks like one: Y/M
        ("https://s.example/news/2024/05/01/1001", False),
        ("https://s.example/news/2024/05/01/1001/", False),
        ("https://s.example/news/2024/05/01/top-10-tips", False),
        ("https://s.example/news/2024/05/01/a-story", True),
        ("https://s.example/calendar/2024/13/", False),
        ("https://s.example/calendar/1899/05/", False),
        ("https://s.example/calendar/2024/05/32/", False),
        ("https://s.example/p/12/34", False),
        ("https://s.example/list?start=20", False),
        ("https://s.example/list?from=10&to=20", False),
        ("https://s.example/list?year=24", False),
        ("https://s.example/list?month=13", False),
        ("https://s.example/item?id=2024-05-99", False),
    ],
)
def test_only_plausible_dates_are_calendars(url: str, date_like: bool) -> None:
    assert url_shape(url)[1] is date_like


def test_real_world_shapes_under_the_calendar_cap() -> None:
    guard = TrapGuard(TrapRules(calendar_cap=5, pattern_cap=1000))
    base = "https://s.example"
    # A forum: thousands of thread pages share /t/#/#-like shapes, none capped.
    for thread in range(50):
        for page in range(1, 5):
            assert guard.check(f"{base}/t/topic-{thread}/{1000 + thread}/{page}") is None
    # A news archive with numeric article ids and dated slugs: not capped.
    for article in range(30):
        assert guard.check(f"{base}/news/2024/05/{1 + article % 28}/{5000 + article}") is None
        assert guard.check(f"{base}/news/2024/05/01/story-{article}") is None
    # An infinite calendar, by path and by query: capped at 5 per shape.
    verdicts = [guard.check(f"{base}/calendar/{2024 + m // 12}/{1 + m % 12}/") for m in range(8)]
    assert [v is None for v in verdicts] == [True] * 5 + [False] * 3
    assert verdicts[-1] is not None and verdicts[-1].pattern == f"{base}/calendar/#/#/"
    months = [f"{base}/events?month={2024 + m // 12}-{1 + m % 12:02d}&view=grid" for m in range(7)]
    verdicts = [guard.check(url) for url in months]
    assert [v is None for v in verdicts] == [True] * 5 + [False] * 2
    assert "calendar-like" in verdicts[-1].reason  # type: ignore[union-attr]


def test_pattern_counters_stay_bounded() -> None:
    guard = TrapGuard(TrapRules(pattern_cap=3, max_patterns=100))
    # A trap's shape, then many one-off shapes with a query string.
    for page in range(3):
        assert guard.check(f"https://s.example/list?page={page}") is None
    for item in range(1000):
        guard.check(f"https://s.example/item-{chr(97 + item % 26)}{item:x}z?ref=home")
    assert len(guard.counts) <= 100
    assert guard.forgotten > 0
    # The trap's count survived: its next URL is still refused.
    assert guard.check("https://s.example/list?page=9") is not None
