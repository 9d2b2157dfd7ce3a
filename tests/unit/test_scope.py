"""Crawl scope: host, domain, subdomains, include/exclude."""

from __future__ import annotations

import pytest

from linkspider.scope import Scope, ScopeError

START = ["https://www.shop.example.co.uk/", "http://www.shop.example.co.uk:8080/x"]


def test_host_scope_is_scheme_independent_and_port_sensitive() -> None:
    scope = Scope.parse("host", ["https://www.shop.example/"])
    assert scope.contains("http://www.shop.example/a")
    assert scope.contains("https://www.shop.example/b?q=1")
    assert not scope.contains("https://www.shop.example:8443/")
    assert not scope.contains("https://blog.shop.example/")
    assert scope.describe()["hosts"] == ["www.shop.example"]


def test_domain_scope_takes_every_subdomain_of_the_registrable_domain() -> None:
    scope = Scope.parse("domain", START)
    assert scope.contains("https://blog.example.co.uk/")
    assert scope.contains("https://example.co.uk:9000/")
    assert not scope.contains("https://example.com/")
    assert not scope.contains("https://other.co.uk/")
    assert scope.describe()["domains"] == ["example.co.uk"]


def test_subdomains_scope_lists_labels_or_hosts() -> None:
    scope = Scope.parse("subdomains:blog, cdn.assets.example.co.uk", START)
    assert scope.contains("https://www.shop.example.co.uk/")  # the start host
    assert scope.contains("https://blog.example.co.uk/")
    assert scope.contains("https://cdn.assets.example.co.uk/")
    assert not scope.contains("https://shop.example.co.uk/")


def test_include_and_exclude_decide_what_is_crawled() -> None:
    scope = Scope.parse(
        "host", ["https://s.example/"], include=r"/(shop|blog)/", exclude=r"\?sort="
    )
    assert scope.excluded("https://s.example/shop/a") is None
    assert "include" in (scope.excluded("https://s.example/about") or "")
    assert "exclude" in (scope.excluded("https://s.example/shop/?sort=price") or "")
    # Excluded URLs are still internal.
    assert scope.contains("https://s.example/about")


@pytest.mark.parametrize(
    ("spec", "include", "message"),
    [
        ("site", None, "unknown scope 'site'"),
        ("subdomains:", None, "lists no subdomains"),
        ("host:www", None, "only subdomains takes a list"),
        ("host", "(", "include='(' is not a valid regular expression"),
    ],
)
def test_bad_scopes_say_what_is_wrong(spec: str, include: str | None, message: str) -> None:
    with pytest.raises(ScopeError, match=message.replace("(", r"\(")):
        Scope.parse(spec, ["https://s.example/"], include=include)


def test_a_host_of_the_same_site_can_be_adopted() -> None:
    scope = Scope.parse("host", ["https://example.com/"])
    assert scope.same_site("https://www.example.com/")
    assert scope.same_site("http://shop.example.com:8080/x")
    assert not scope.same_site("https://example.org/")
    assert not scope.same_site("https://example.com.evil.net/")
    adopted = scope.with_host("https://www.example.com/")
    assert adopted.contains("http://www.example.com/a")
    assert adopted.contains("https://example.com/b")
    assert not adopted.contains("https://blog.example.com/")
    assert adopted.describe()["hosts"] == ["example.com", "www.example.com"]
    assert not scope.contains("https://www.example.com/")  # a new scope, the old one unchanged
    subdomains = Scope.parse("subdomains:blog", ["https://example.com/"])
    assert subdomains.with_host("https://www.example.com/").contains("https://www.example.com/")
