"""Backlink targets resolved against a crawl store built by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.backlinks import lost_equity, resolve_targets, summarise_outcomes
from pipelines.backlinks.store import ensure_backlink_schema
from pipelines.backlinks.summary import describe_resolution
from pipelines.storedb import CrawlStore

SITE = "https://www.example.com"


class Crawl:
    """A hand-made crawl: pages, redirects, canonicals."""

    def __init__(self, store: CrawlStore) -> None:
        self.store = store

    def id(self, path: str) -> int:
        url = path if "://" in path else SITE + path
        return self.store.intern([url])[url]

    def page(
        self, path: str, status: int | None = 200, kind: str = "html", canonical: str | None = None
    ) -> None:
        self.store.conn.execute(
            "INSERT INTO pages (url_id, kind, status, canonical_id) VALUES (?, ?, ?, ?)",
            (self.id(path), kind, status, self.id(canonical) if canonical else None),
        )

    def redirect(self, path: str, to: str | None, status: int = 301) -> None:
        self.page(path, status, kind="redirect")
        self.store.conn.execute(
            "INSERT INTO redirects (src_id, dst_id, status) VALUES (?, ?, ?)",
            (self.id(path), self.id(to) if to else None, status),
        )

    def backlink(
        self, source: str, path: str, *, followed: bool = True, lost: bool = False
    ) -> None:
        host = source.split("/")[2]
        self.store.conn.execute(
            "INSERT INTO backlinks (source_url, source_host, source_domain, target_id, followed, "
            "lost, vendors, origins) VALUES (?, ?, ?, ?, ?, ?, '[]', '[]')",
            (source, host, host.removeprefix("www."), self.id(path), followed, lost),
        )


@pytest.fixture
def crawl(tmp_path: Path) -> Any:
    with CrawlStore(tmp_path, create=True) as store:
        ensure_backlink_schema(store)
        yield Crawl(store)


def outcome_of(crawl: Crawl, path: str) -> tuple[Any, ...]:
    (resolution,) = resolve_targets(crawl.store, [crawl.id(path)])
    return resolution.outcome, resolution.final_url, resolution.status


def test_every_outcome(crawl: Crawl) -> None:
    crawl.page("/")
    crawl.page("/guide")
    crawl.redirect("/old", "/older", 301)
    crawl.redirect("/older", "/guide", 302)
    crawl.page("/guide?print=1", canonical="/guide")
    crawl.redirect("/moved", "/variant", 308)
    crawl.page("/variant", canonical="/guide")
    crawl.page("/gone", 404, kind="error")
    crawl.redirect("/to-gone", "/gone", 301)
    crawl.page("/dead", None, kind="failed")
    crawl.redirect("/loop-a", "/loop-b")
    crawl.redirect("/loop-b", "/loop-a")
    crawl.redirect("/nowhere", None)
    crawl.page("/private", None, kind="blocked")
    crawl.page("/brochure.pdf", 200, kind="other")
    crawl.page("/calendar?page=999", None, kind="trap")
    crawl.redirect("/away", "https://elsewhere.example.net/")
    expected = {
        "/": ("page", SITE + "/", 200),
        "/old": ("redirect", SITE + "/guide", 200),
        "/guide?print=1": ("canonical", SITE + "/guide", 200),
        "/moved": ("canonical", SITE + "/guide", 200),
        "/gone": ("error", SITE + "/gone", 404),
        "/to-gone": ("error", SITE + "/gone", 404),
        "/dead": ("error", SITE + "/dead", None),
        "/loop-a": ("loop", None, 301),
        "/nowhere": ("error", SITE + "/nowhere", 301),
        "/private": ("blocked", SITE + "/private", None),
        "/brochure.pdf": ("not_html", SITE + "/brochure.pdf", 200),
        "/calendar?page=999": ("unknown", None, None),
        "/never-linked": ("unknown", None, None),
        "https://blog.example.com/post": ("outside", None, None),
        "/away": ("outside", None, None),
    }
    for path, want in expected.items():
        assert outcome_of(crawl, path) == want, path


def test_hops_are_recorded(crawl: Crawl) -> None:
    crawl.page("/guide")
    crawl.redirect("/moved", "/variant", 308)
    crawl.page("/variant", canonical="/guide")
    (resolution,) = resolve_targets(crawl.store, [crawl.id("/moved")])
    assert resolution.hops == (
        (SITE + "/moved", 308, "redirect"),
        (SITE + "/variant", 200, "canonical"),
    )


def test_an_instant_meta_refresh_hop_says_so(crawl: Crawl) -> None:
    # The page answered 200 and its meta refresh sends browsers on at once:
    # a hop, shown as a meta refresh rather than "a 200 redirect".
    crawl.page("/guide")
    crawl.redirect("/moved", "/r", 200)
    crawl.redirect("/r", "/guide", 301)
    crawl.redirect("/spin", "/spun", 200)
    crawl.redirect("/spun", "/spin", 200)
    crawl.store.conn.execute(
        "UPDATE redirects SET kind = 'meta_refresh', delay = 0 WHERE status = 200"
    )
    (moved,) = resolve_targets(crawl.store, [crawl.id("/moved")])
    assert (moved.outcome, moved.final_url, moved.status) == ("redirect", SITE + "/guide", 200)
    assert moved.hops == ((SITE + "/moved", 200, "meta refresh"), (SITE + "/r", 301, "redirect"))
    (spin,) = resolve_targets(crawl.store, [crawl.id("/spin")])
    assert (spin.outcome, spin.note) == ("loop", f"meta refresh loop back to {SITE}/spin")
    # `scrapy backlinks` names the loop in the lost-equity list, not its last status (200).
    crawl.backlink("https://a.example.org/1", "/spin")
    lines = describe_resolution([spin], lost_equity(crawl.store, [spin]))
    assert any(
        line.startswith(f"  {SITE}/spin [meta refresh loop back to {SITE}/spin] ") for line in lines
    ), lines
    # A store written before redirects.kind: every hop is a 3xx redirect.
    crawl.store.conn.execute("ALTER TABLE redirects DROP COLUMN kind")
    (old,) = resolve_targets(crawl.store, [crawl.id("/moved")])
    assert [hop[2] for hop in old.hops] == ["redirect", "redirect"]


def test_canonical_to_a_dead_or_circular_page_is_ignored(crawl: Crawl) -> None:
    crawl.page("/gone", 404, kind="error")
    crawl.page("/a", canonical="/gone")
    crawl.page("/b", canonical="/c")
    crawl.page("/c", canonical="/b")
    crawl.page("/self", canonical="/self")
    (a,) = resolve_targets(crawl.store, [crawl.id("/a")])
    assert (a.outcome, a.final_url) == ("page", SITE + "/a")
    assert a.note == f"canonical {SITE}/gone ignored: it resolves to error"
    assert outcome_of(crawl, "/b")[0] in {"page", "canonical"}
    assert outcome_of(crawl, "/self") == ("page", SITE + "/self", 200)


def test_default_targets_come_from_the_backlinks(crawl: Crawl) -> None:
    crawl.page("/")
    crawl.page("/gone", 410, kind="error")
    crawl.backlink("https://a.example.org/1", "/")
    crawl.backlink("https://a.example.org/2", "/gone")
    resolutions = resolve_targets(crawl.store)
    assert [r.target_url for r in resolutions] == [SITE + "/", SITE + "/gone"]
    assert summarise_outcomes(resolutions) == {"page": 1, "error": 1}
    assert resolve_targets(crawl.store, []) == []


def test_lost_equity_list_with_counts_and_where_to_redirect(crawl: Crawl) -> None:
    crawl.page("/")
    crawl.page("/shop/")
    crawl.page("/shop/kettles/old-model", 404, kind="error")
    crawl.page("/retired", 410, kind="error")
    crawl.redirect("/loop", "/loop")
    for i, source in enumerate(
        ("https://a.example.org/", "https://b.example.net/", "https://c.example.io/")
    ):
        crawl.backlink(source + str(i), "/shop/kettles/old-model", followed=i != 2)
    crawl.backlink("https://a.example.org/x", "/retired", lost=True)
    crawl.backlink("https://d.example.org/x", "/loop")
    crawl.backlink("https://e.example.org/x", "/")
    lost = lost_equity(crawl.store)
    assert [
        (e.resolution.target_url, e.resolution.outcome, e.links, e.referring_domains,
         e.live_followed_domains, e.redirect_to)
        for e in lost
    ] == [
        (SITE + "/shop/kettles/old-model", "error", 3, 3, 2, SITE + "/shop/"),
        (SITE + "/loop", "loop", 1, 1, 1, SITE + "/"),
        (SITE + "/retired", "error", 1, 1, 0, SITE + "/"),
    ]  # fmt: skip
