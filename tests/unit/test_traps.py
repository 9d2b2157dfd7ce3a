"""Crawler-trap defence."""

from __future__ import annotations

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
