"""Cell values: booleans, dates, numbers, metrics; and export URLs."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkspider.urlnorm import host_of, normalise_url
from pipelines.backlinks.parsing import parse_backlinks
from pipelines.backlinks.urls import ExportUrls, Site
from pipelines.backlinks.values import (
    CellValueError,
    parse_bool,
    parse_date,
    parse_int,
    parse_number,
    scale_metric,
)


@pytest.mark.parametrize(
    ("cell", "value"),
    [("true", True), ("FALSE", False), ("Yes", True), ("No", False), ("", False),
     ("1", True), ("0", False), (" TRUE ", True), ("y", True)],
)  # fmt: skip
def test_booleans(cell: str, value: bool) -> None:
    assert parse_bool(cell) is value


def test_unreadable_boolean() -> None:
    with pytest.raises(CellValueError, match="unreadable yes/no value 'maybe'"):
        parse_bool("maybe")


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2026-09-15", "2026-09-15"),
        ("2026-09-15 08:01:02", "2026-09-15"),
        ("2026-09-15T08:01:02Z", "2026-09-15"),
        ("2026/09/15", "2026-09-15"),
        ("Sep 15, 2026", "2026-09-15"),
        ("September 5 2026", "2026-09-05"),
        ("15 Sep 2026", "2026-09-15"),
        ("", None),
        ("  ", None),
    ],
)
def test_dates(cell: str, day: str | None) -> None:
    assert parse_date(cell) == day


@pytest.mark.parametrize("cell", ["2026-02-30", "yesterday", "15/09/2026", "Smarch 3, 2026"])
def test_unreadable_dates(cell: str) -> None:
    with pytest.raises(CellValueError, match="unreadable date"):
        parse_date(cell)


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("59", 59.0),
        ("59.5", 59.5),
        ("59,5", 59.5),
        ("1,234", 1234.0),
        ("12,345,678", 12345678.0),
        ("1 234", 1234.0),
        ("1\u00a0234,5", 1234.5),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("0,123", 0.123),
        ("3%", 3.0),
        ("", None),
        ("-", None),
        ("n/a", None),
    ],
)
def test_numbers(cell: str, value: float | None) -> None:
    assert parse_number(cell) == value


@pytest.mark.parametrize("cell", ["abc", "1,2,3", "12e"])
def test_unreadable_numbers(cell: str) -> None:
    with pytest.raises(CellValueError, match="unreadable number"):
        parse_number(cell)


def test_counts_and_metric_scale() -> None:
    assert parse_int("1,024") == 1024
    assert scale_metric("DR", 45.5) == pytest.approx(0.455)
    assert scale_metric("TF", 0) == 0.0
    with pytest.raises(CellValueError, match="DR 140 is outside 0-100"):
        scale_metric("DR", 140)


URL_PARTS = st.lists(
    st.sampled_from(
        [
            "/",
            "a",
            "Z",
            "0",
            "-",
            ".",
            "..",
            "~",
            ":",
            "@",
            "!",
            "$",
            "&",
            "'",
            "(",
            "*",
            "+",
            ",",
            ";",
            "=",
            "%",
            "%41",
            "%2f",
            "?",
            "#",
            "é",
            " ",
            "utm_source=x",
            "page=2",
            "gclid=1",
            "&&",
            "UTM_MEDIUM=y",
            "/./",
            "/../",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "ftp"]),
    host=st.sampled_from(
        ["www.example.com", "Example.COM", "a-b.example.org.", "example.net:80", "café.fr", ""]
    ),
    rest=URL_PARTS,
)
def test_export_urls_agree_with_the_crawl_normaliser(scheme: str, host: str, rest: str) -> None:
    raw = f"{scheme}://{host}{rest}"
    expected = normalise_url(raw)
    got = ExportUrls().url(raw)
    if expected is None:
        assert got is None
    else:
        assert got == (expected, host_of(expected))


def test_fast_path_cases_and_urls_without_scheme() -> None:
    urls = ExportUrls()
    assert urls.url("https://www.example.com") == ("https://www.example.com/", "www.example.com")
    assert urls.url("https://www.example.com/a/./b") == (
        "https://www.example.com/a/b",
        "www.example.com",
    )
    assert urls.url("www.example.com/page") == ("http://www.example.com/page", "www.example.com")
    assert urls.url("mailto:x@example.com") is None
    assert urls.url("not a url") is None
    assert urls.domain("shop.example.co.uk") == "example.co.uk"


def test_site_from_urls() -> None:
    site = Site.from_urls(
        ["https://WWW.Example.com/start?utm_source=x", "https://blog.example.com/"]
    )
    assert site is not None
    assert site.hosts == {"www.example.com", "blog.example.com"}
    assert site.domains == {"example.com"}
    assert site.home == "https://www.example.com/"
    assert Site.from_urls(["mailto:x@example.com"]) is None


@settings(max_examples=400, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "ftp"]),
    host=st.sampled_from(
        ["www.example.org", "Example.ORG", ".a-b.example.org", "example.net:80", "café.fr", "-"]
    ),
    rest=URL_PARTS,
)
@example(scheme="https", host="www.example.org", rest="/a/./b")
@example(scheme="https", host="www.example.org", rest="/a/../b")
@example(scheme="http", host="www.example.org", rest="/a?utm_source=x&page=2")
@example(scheme="http", host="www.example.org", rest="/a?page=2&&b=1")
@example(scheme="https", host="www.example.org", rest="")
@example(scheme="https", host="www.example.org", rest="/A%2fb#top")
def test_the_row_loop_reads_source_urls_as_export_urls_does(
    scheme: str, host: str, rest: str
) -> None:
    # The import's row loop has its own test for URLs already in normal form.
    raw = f"{scheme}://{host}{rest}"
    parsed = parse_backlinks(
        [["Source URL", "Target URL"], [raw, "https://www.example.com/"]],
        site=Site.from_urls(["https://www.example.com/"]),
    )
    records = list(parsed)
    expected = ExportUrls().url(raw)
    if expected is None:
        assert not records and parsed.report.reject_counts["source_url"] == 1
    else:
        assert [(r.source_url, r.source_host) for r in records] == [expected]
