"""URL normalisation: the crawl and the backlink importer must agree exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkspider.urlnorm import (
    DEFAULT_TRACKING_PARAMS,
    HrefKind,
    TrackingParamsError,
    UrlNormaliser,
    host_of,
    href_kind,
    normalise_url,
    registrable_domain,
    run_normaliser,
    tracking_params_setting,
)


@pytest.mark.parametrize(
    ("href", "base", "expected"),
    [
        ("HTTP://Example.COM:80/a/./b/../c#frag", None, "http://example.com/a/c"),
        ("https://example.com:443", None, "https://example.com/"),
        ("https://example.com:8443/x", None, "https://example.com:8443/x"),
        ("../x y?z=é", "https://ex.com/a/b/c.html", "https://ex.com/a/x%20y?z=%C3%A9"),
        ("//cdn.ex.com/p", "https://ex.com/", "https://cdn.ex.com/p"),
        ("/%7euser/%41%2f", "http://ex.com", "http://ex.com/~user/A%2F"),
        ("/a?q=%zz", "http://ex.com", "http://ex.com/a?q=%25zz"),
        ("https://bücher.de/ä", None, "https://xn--bcher-kva.de/%C3%A4"),
        ("  \n/foo\t/bar ", "http://ex.com:8080/x", "http://ex.com:8080/foo/bar"),
        ("https://ex.com/?utm_source=x&b=2&gclid=1&a=1", None, "https://ex.com/?b=2&a=1"),
        ("https://ex.com/?", None, "https://ex.com/"),
        ("https://user:pw@Ex.com/", None, "https://ex.com/"),
        ("http://[::1]:8000/x", None, "http://[::1]:8000/x"),
        ("?page=2", "https://ex.com/list?page=1", "https://ex.com/list?page=2"),
        ("#top", "https://ex.com/a", "https://ex.com/a"),
    ],
)
def test_normalise(href: str, base: str | None, expected: str) -> None:
    assert normalise_url(href, base) == expected


@pytest.mark.parametrize(
    "href", ["mailto:a@b.c", "javascript:void(0)", "tel:+331", "ftp://x/", "http://a.com:99999/"]
)
def test_non_http_or_invalid_is_none(href: str) -> None:
    assert normalise_url(href, "https://ex.com/") is None


def test_tracking_params_are_configurable() -> None:
    keep_utm = UrlNormaliser(tracking_params=("sessionid",))
    assert keep_utm.normalise("https://a.com/?utm_source=x&sessionid=9") == (
        "https://a.com/?utm_source=x"
    )


def test_href_kind() -> None:
    assert href_kind(" JavaScript:void(0)") == HrefKind.JAVASCRIPT
    assert href_kind("mailto:x@y") == HrefKind.MAILTO
    assert href_kind("tel:1") == HrefKind.TEL
    assert href_kind("page.html") == HrefKind.HTTP
    assert href_kind("  ") == HrefKind.EMPTY


def test_host_and_domain() -> None:
    assert host_of("http://ex.com:8080/a?b") == "ex.com:8080"
    assert registrable_domain("www.shop.example.co.uk") == "example.co.uk"
    assert registrable_domain("me.github.io") == "me.github.io"
    assert registrable_domain("127.0.0.1:8080") == "127.0.0.1"


@given(st.text(max_size=200), st.sampled_from(["https://ex.com/a/b", "http://x.org"]))
def test_normalise_is_idempotent_and_total(href: str, base: str) -> None:
    once = normalise_url(href, base)
    if once is not None:
        assert once.startswith(("http://", "https://"))
        assert "#" not in once
        assert normalise_url(once) == once


def test_tracking_params_setting_unset_empty_and_lists() -> None:
    assert tracking_params_setting(None) == DEFAULT_TRACKING_PARAMS
    assert tracking_params_setting("") == ()  # explicitly empty: drop nothing
    assert tracking_params_setting(" ref , utm_* ,") == ("ref", "utm_*")
    assert tracking_params_setting(["sid"]) == ("sid",)
    with pytest.raises(TrackingParamsError, match="LINKSPIDER_TRACKING_PARAMS"):
        tracking_params_setting(42)
    # The run's recorded list wins over the current setting.
    normaliser = run_normaliser(["ref"], "utm_*")
    assert normaliser.normalise("https://a.example/?ref=1&utm_source=x") == (
        "https://a.example/?utm_source=x"
    )
    assert run_normaliser(None, "").normalise("https://a.example/?utm_source=x") == (
        "https://a.example/?utm_source=x"
    )
