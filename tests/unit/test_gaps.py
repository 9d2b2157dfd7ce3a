"""Findings, kind by kind, on stores built with StoreBuilder (exact, small graphs)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reports.config import EquityConfig
from reports.equity import EmptyGraphError, EquityModel, compute_equity
from reports.gaps import (
    KINDS,
    Finding,
    GapReport,
    find_gaps,
    finding_id,
    format_share,
    short_title,
    usual_spelling,
)
from reports.gaps_config import GapsConfig
from reports.graph import load_graph
from tests.support.storebuilder import Link, StoreBuilder

BASE = "https://site.test"
NAV = ("/@nav", "/shop/@nav", "/guides/@nav")


def analyse(
    builder: StoreBuilder,
    folder: Path,
    *,
    priority: list[str] | None = None,
    config: GapsConfig | None = None,
    complete: bool = True,
) -> tuple[EquityModel, GapReport]:
    builder.meta(complete=complete)
    store = builder.build(folder)
    equity_config = EquityConfig(priority_patterns=tuple(priority or ()), priority_guess=False)
    model = compute_equity(load_graph(store, equity_config), equity_config)
    return model, find_gaps(model, store, config or GapsConfig())


def facts(finding: Finding) -> dict[str, Any]:
    return {e.label: e.value for e in finding.evidence}


def shop() -> StoreBuilder:
    """A small shop: home, a category, products, guides; templates on every page."""
    site = StoreBuilder(BASE)
    site.page("/", *NAV, "/shop/a", "/guides/one", title="Home")
    site.page("/shop/", *NAV, "/shop/a", "/shop/b", title="Shop | Brand")
    site.page("/shop/a", *NAV, title="Product A | Brand")
    site.page("/shop/b", *NAV, title="Product B | Brand")
    site.page("/guides/", *NAV, "/guides/one", title="Guides | Brand")
    site.page("/guides/one", *NAV, "/shop/a", title="Guide one | Brand")
    return site


# -- helpers ----------------------------------------------------------------------------


def test_finding_ids_are_readable_unique_and_independent_of_the_host() -> None:
    assert finding_id("broken-link", "/shop/old-boots").startswith("broken-link-shop-old-boots-")
    assert finding_id("orphan", "/") == finding_id("orphan", "/")
    assert finding_id("orphan", "/").startswith("orphan-home-")
    # Same slug, different keys: different ids.
    assert finding_id("x", "/a-b") != finding_id("x", "/a_b")


def test_ids_do_not_change_when_the_site_moves_to_another_port(tmp_path: Path) -> None:
    def build(base: str) -> set[str]:
        site = StoreBuilder(base)
        site.page("/", "/a")
        site.page("/a", "/gone")
        site.error("/gone")
        site.page("/lonely")
        site.known("/lonely")
        _, report = analyse(site, tmp_path / base.rsplit(":", 1)[-1])
        return {f.id for f in report.findings}

    assert build("http://127.0.0.1:8001") == build("http://127.0.0.1:9002")


def test_shares_and_titles_are_formatted_for_people() -> None:
    assert format_share(0.000612) == "0.061%"
    assert format_share(0.25) == "25%"
    assert format_share(0.0) == "0%"
    assert short_title("Waterproof boots | Northwind") == "Waterproof boots"
    assert short_title("Caring for boots – a guide - Shop") == "Caring for boots"
    assert short_title("Plain") == "Plain"


# -- orphans ----------------------------------------------------------------------------


def test_orphans_with_backlinks_come_first_and_linked_pages_are_not_orphans(
    tmp_path: Path,
) -> None:
    site = shop()
    site.page("/lookbook", *NAV, title="Lookbook")
    site.page("/spring-sale", *NAV, title="Spring sale")
    site.page("/quiet", *NAV, title="Quiet")
    site.page("/moved-target", *NAV, title="Moved")
    site.redirect("/moved", "/moved-target")
    # Linked only with nofollow, or through a redirect: still linked.
    site._pages[site.url("/shop/b")].links.extend([Link.parse("/quiet!"), Link.parse("/moved")])
    for path in ("/lookbook", "/quiet", "/moved"):
        site.known(path, "sitemap")
    site.known("/spring-sale", "list")
    site.backlink("https://deals.example/x", "/spring-sale", authority=0.4)
    site.backlink("https://news.example/y", "/spring-sale", authority=0.6)
    site.backlink("https://blog.example/z", "/guides/one", authority=0.9)
    model, report = analyse(site, tmp_path)
    orphans = report.of_kind("orphan")
    assert [f.pages[0].url for f in orphans] == [BASE + "/spring-sale", BASE + "/lookbook"]
    first = orphans[0]
    assert (first.severity, first.verdict) == ("high", "orphan")
    assert facts(first)["Referring domains"] == 2
    assert facts(first)["Known from"] == "URL list"
    node = model.graph.node(BASE + "/spring-sale")
    assert first.equity_at_stake == pytest.approx(model.beta * model.backlink_deposit[node])
    assert orphans[1].severity == "medium" and orphans[1].equity_at_stake is None


def test_an_unfinished_crawl_makes_every_orphan_inconclusive(tmp_path: Path) -> None:
    site = shop()
    site.page("/lookbook", *NAV, title="Lookbook")
    site.known("/lookbook")
    site.known("/never-fetched")  # no page row: the crawl never got there
    site.meta(caps_hit=["max_pages"], max_pages=7, finish_reason="closespider_pagecount")
    _, report = analyse(site, tmp_path, complete=False)
    orphans = report.of_kind("orphan")
    assert {f.verdict for f in orphans} == {"inconclusive"}
    assert {f.severity for f in orphans} == {"low"}
    assert [f.pages[0].url for f in orphans] == [BASE + "/lookbook", BASE + "/never-fetched"]
    assert report.incomplete_reason == "the crawl stopped at max_pages=7"
    assert not report.complete


def test_a_store_that_does_not_say_the_crawl_finished_is_treated_as_unfinished(
    tmp_path: Path,
) -> None:
    site = shop()
    site.page("/lookbook", *NAV)
    site.known("/lookbook")
    store = site.build(tmp_path)  # no "complete" in meta
    config = EquityConfig(priority_guess=False)
    model = compute_equity(load_graph(store, config), config)
    report = find_gaps(model, store)
    assert report.incomplete_reason == "the store does not say the crawl finished"
    assert report.of_kind("orphan")[0].verdict == "inconclusive"


# -- priority pages ---------------------------------------------------------------------


def deep_site() -> StoreBuilder:
    site = shop()
    site.page("/shop/c/", *NAV, "/shop/c/d/", title="C")
    site.page("/shop/c/d/", *NAV, "/shop/c/d/e/", title="D")
    site.page("/shop/c/d/e/", *NAV, "/shop/c/d/e/deep", title="E")
    site.page("/shop/c/d/e/deep", *NAV, title="Deep tent | Brand")
    site._pages[site.url("/shop/b")].links.append(Link.parse("/shop/c/"))
    site.page("/island", title="Island")  # nothing links to it
    return site


def test_a_deep_priority_page_is_buried_with_its_depth_and_route(tmp_path: Path) -> None:
    _, report = analyse(
        deep_site(), tmp_path, priority=[BASE + "/shop/c/d/e/deep", BASE + "/shop/a"]
    )
    (buried,) = report.of_kind("buried")
    assert facts(buried)["Click depth"] == 6
    assert buried.title == "Deep tent is 6 clicks deep"
    assert [p.url.removeprefix(BASE) for p in buried.pages] == [
        "/",
        "/shop/",
        "/shop/b",
        "/shop/c/",
        "/shop/c/d/",
        "/shop/c/d/e/",
        "/shop/c/d/e/deep",
    ]
    assert buried.severity == "medium"  # not more than twice the threshold
    assert facts(buried)["Shortest route"].startswith("Home › Shop › Product B")


def test_unreachable_and_grouped_priority_pages(tmp_path: Path) -> None:
    config = GapsConfig(depth_threshold=2)
    _, report = analyse(
        deep_site(), tmp_path, priority=["re:/shop/c/", BASE + "/island"], config=config
    )
    by_title = {f.title: f for f in report.of_kind("buried")}
    group = next(f for f in report.of_kind("buried") if "re:/shop/c/" in f.title)
    assert group.pages_total == 4  # /shop/c/ is 3 clicks deep, then 4, 5 and 6
    assert [p.note for p in group.pages] == ["depth 6", "depth 5", "depth 4", "depth 3"]
    assert group.severity == "high"  # 6 > 2 x threshold
    island = next(f for title, f in by_title.items() if title.startswith("Island"))
    assert island.severity == "high"
    assert "cannot be reached" in island.title


def test_starved_priority_pages_linked_only_from_templates(tmp_path: Path) -> None:
    site = shop()
    site.page("/shop/kettle", *NAV, title="Kettle | Brand")
    for path in ("/guides/", "/shop/b"):
        site._pages[site.url(path)].links.append(Link.parse("/shop/kettle@footer"))
    _, report = analyse(site, tmp_path, priority=[BASE + "/shop/kettle", BASE + "/"])
    (starved,) = report.of_kind("starved")
    assert starved.pages[0].url == BASE + "/shop/kettle"
    values = facts(starved)
    assert (values["Contextual inlinks"], values["Navigation, footer and sidebar inlinks"]) == (
        0,
        2,
    )
    assert "no contextual link" in starved.pages[0].note
    assert starved.severity == "high"  # also in the bottom quarter by equity


# -- where backlink authority lands -----------------------------------------------------


def landing_site() -> StoreBuilder:
    site = shop()
    site.page("/guides/stranded", *NAV, title="Stranded guide")
    site.page("/guides/routing", *NAV, "/shop/a", "/shop/b", title="Routing guide")
    site._pages[site.url("/guides/")].links.extend(
        [Link.parse("/guides/stranded"), Link.parse("/guides/routing")]
    )
    for i in range(6):
        site.backlink(f"https://s{i}.example/", "/guides/stranded", authority=0.8)
    for i in range(3):
        site.backlink(f"https://r{i}.example/", "/guides/routing", authority=0.8)
    return site


def test_stranded_landing_pages_and_routing_pages(tmp_path: Path) -> None:
    model, report = analyse(landing_site(), tmp_path, priority=[BASE + "/shop/a", BASE + "/shop/b"])
    stranded = report.of_kind("stranded")
    assert [f.pages[0].url for f in stranded] == [BASE + "/guides/stranded"]
    finding = stranded[0]
    values = facts(finding)
    assert values["Referring domains"] == 6
    assert values["Contextual links to priority pages"] == 0
    node = model.graph.node(BASE + "/guides/stranded")
    entering = model.beta * model.backlink_deposit[node]
    assert values["Authority entering from backlinks"] == pytest.approx(entering)
    assert finding.equity_at_stake is not None and 0 < finding.equity_at_stake < entering
    assert report.of_kind("pooling") == []  # the home page gets no backlinks


def test_home_page_pooling_says_where_its_authority_goes(tmp_path: Path) -> None:
    site = landing_site()
    for i in range(20):
        site.backlink(f"https://h{i}.example/", "/", authority=0.9)
    model, report = analyse(site, tmp_path, priority=[BASE + "/shop/b"])
    (pooling,) = report.of_kind("pooling")
    values = facts(pooling)
    home = model.graph.node(BASE + "/")
    share = model.backlink_deposit[home]
    assert values["Share of all backlink authority"] == pytest.approx(share)
    entering = values["Authority entering from backlinks"]
    parts = [
        values["Of it, kept by the home page"],
        values["Of it, reaching priority pages"],
        values["Of it, held by other pages"],
        values["Of it, leaked"],
    ]
    # A complete budget of what lands on the home page.
    assert sum(parts) == pytest.approx(entering, rel=1e-6)
    assert pooling.pages[0].url == BASE + "/"
    assert BASE + "/guides/stranded" in [p.url for p in pooling.pages]
    assert not any(f.pages[0].url == BASE + "/" for f in report.of_kind("stranded"))


# -- leaks ------------------------------------------------------------------------------


def test_broken_links_list_every_source_and_rank_by_equity_wasted(tmp_path: Path) -> None:
    site = shop()
    site._pages[site.url("/")].links.append(Link("/gone-a", anchor="Old A"))
    site._pages[site.url("/shop/b")].links.append(Link("/gone-a", anchor="A again"))
    site._pages[site.url("/shop/b")].links.append(Link("/gone-b", anchor="Old B"))
    site._pages[site.url("/guides/one")].links.append(Link("/loop-1", anchor="Loop"))
    site.error("/gone-a", 404)
    site.error("/gone-b", 410)
    site.redirect("/loop-1", "/loop-2")
    site.redirect("/loop-2", "/loop-1")
    model, report = analyse(site, tmp_path)
    broken = report.of_kind("broken_link")
    urls = [facts(f)["Broken URL"] for f in broken]
    assert set(urls) == {BASE + "/gone-a", BASE + "/gone-b", BASE + "/loop-1"}
    wasted = [f.equity_at_stake for f in broken]
    assert wasted == sorted(wasted, reverse=True)
    a = broken[urls.index(BASE + "/gone-a")]
    assert a.pages_total == 2
    assert {p.note for p in a.pages} == {"“Old A” (content)", "“A again” (content)"}
    assert facts(a)["Answer"] == "HTTP 404"
    assert facts(broken[urls.index(BASE + "/loop-1")])["Answer"] == "a redirect loop"
    assert facts(broken[urls.index(BASE + "/gone-b")])["Answer"] == "HTTP 410"
    # The waste is the model's broken leak: all broken findings add up to it.
    assert sum(wasted) == pytest.approx(model.budget.leaked["broken"], rel=1e-9)


def test_redirect_links_name_the_final_url_and_count_hops(tmp_path: Path) -> None:
    site = shop()
    site._pages[site.url("/")].links.append(Link("/old", anchor="Old"))
    site._pages[site.url("/guides/one")].links.append(Link("/older", anchor="Older"))
    site.redirect("/old", "/shop/b")
    site.redirect("/older", "/old")
    _, report = analyse(site, tmp_path)
    found = {f.title.split(" to ")[1].split(",")[0]: f for f in report.of_kind("redirect_link")}
    assert facts(found["/old"])["Redirect hops"] == 1
    assert facts(found["/older"])["Redirect hops"] == 2
    assert found["/older"].severity == "medium"
    assert facts(found["/old"])["Link instead to"] == BASE + "/shop/b"
    assert found["/old"].equity_at_stake is None  # a hop loses nothing in the model


def test_internal_nofollow_and_nofollow_pages(tmp_path: Path) -> None:
    site = shop()
    site._pages[site.url("/")].links.append(Link("/shop/b", followed=False, rel="nofollow"))
    site._pages[site.url("/guides/one")].links.append(Link.parse("/cart!"))
    site.page("/cart", *NAV, title="Cart")
    site.page("/quiet", "/shop/a", "/shop/b", title="Quiet", nofollow=True)
    site.known("/quiet")
    model, report = analyse(site, tmp_path)
    found = report.of_kind("internal_nofollow")
    titles = [f.title for f in found]
    assert any(t.startswith("1 page links to /cart with rel=nofollow") for t in titles)
    page_level = next(f for f in found if f.id.startswith("nofollow-page-"))
    assert page_level.pages[0].url == BASE + "/quiet"
    total = sum(f.equity_at_stake or 0 for f in found)
    assert total == pytest.approx(model.budget.leaked["nofollow"], rel=1e-9)


def test_links_to_noindex_and_canonicalised_pages(tmp_path: Path) -> None:
    site = shop()
    site.page("/shop/filter", *NAV, title="Filter", noindex=True)
    site.page("/shop/a?colour=red", *NAV, title="Red A", canonical="/shop/a")
    site._pages[site.url("/shop/")].links.extend(
        [Link.parse("/shop/filter"), Link("/shop/a?colour=red", anchor="Red")]
    )
    model, report = analyse(site, tmp_path)
    found = report.of_kind("noindex_link")
    noindex = next(f for f in found if "noindex" in f.title)
    node = model.graph.node(BASE + "/shop/filter")
    assert noindex.equity_at_stake == pytest.approx(model.equity[node])
    canonical = next(f for f in found if "canonical" in f.title)
    assert facts(canonical)["Link instead to"] == BASE + "/shop/a"
    assert canonical.pages[0].note == "“Red” (content)"


def test_dead_ends_and_documents(tmp_path: Path) -> None:
    site = shop()
    site.page("/end", title="End")
    site.other("/doc.pdf")
    site._pages[site.url("/guides/one")].links.extend([Link.parse("/end"), Link.parse("/doc.pdf")])
    model, report = analyse(site, tmp_path)
    found = report.of_kind("dead_end")
    assert {f.pages[0].url for f in found} == {BASE + "/end", BASE + "/doc.pdf"}
    assert sum(f.equity_at_stake or 0 for f in found) == pytest.approx(
        model.budget.leaked["dead_end"], rel=1e-9
    )


def test_external_leakers_are_the_top_pages_by_external_leak(tmp_path: Path) -> None:
    site = shop()
    site._pages[site.url("/")].links.extend(Link.parse(f"https://e{i}.test/") for i in range(3))
    site._pages[site.url("/shop/b")].links.append(Link.parse("https://e9.test/"))
    _, report = analyse(site, tmp_path, config=GapsConfig(top_leakers=1))
    (leak,) = report.of_kind("external_leak")
    assert leak.pages[0].url == BASE + "/"
    assert facts(leak)["External links"] == 3
    assert report.totals["external_leak"] == 1


# -- lost backlinks ---------------------------------------------------------------------


def test_lost_backlinks_suggest_the_most_similar_live_page(tmp_path: Path) -> None:
    site = shop()
    site.page("/shop/kettles", *NAV, title="Electric kettles | Brand", h1="Electric kettles")
    site._pages[site.url("/shop/")].links.append(Link.parse("/shop/kettles"))
    site.error("/shop/steel-electric-kettle-2019", 404)
    site.redirect("/old-teapot", "/old-teapot-2")
    site.redirect("/old-teapot-2", "/old-teapot")
    site.backlink("https://a.example/", "/shop/steel-electric-kettle-2019", authority=0.7)
    site.backlink("https://b.example/", "/shop/steel-electric-kettle-2019", authority=0.5)
    site.backlink("https://c.example/", "/old-teapot", authority=0.2)
    site.backlink("https://d.example/", "/shop/a", authority=0.5)
    model, report = analyse(site, tmp_path)
    lost = report.of_kind("lost_backlinks")
    assert [f.pages[0].url for f in lost] == [
        BASE + "/shop/steel-electric-kettle-2019",
        BASE + "/old-teapot",
    ]
    kettle = facts(lost[0])
    assert kettle["Suggested redirect"] == BASE + "/shop/kettles"  # not the parent /shop/
    assert kettle["Referring domains"] == 2
    expected = model.beta * model.lost_equity[0].authority / model.backlink_raw_total
    assert lost[0].equity_at_stake == pytest.approx(expected)
    assert "loops between redirects" in lost[1].title
    assert lost[0].fix == "Redirect /shop/steel-electric-kettle-2019 (301) to /shop/kettles."


# -- anchors ----------------------------------------------------------------------------


def test_vague_anchors_rank_by_equity_into_priority_pages_not_by_count(tmp_path: Path) -> None:
    site = shop()
    # "Read more »" once, from the home page into the priority page.
    site._pages[site.url("/")].links.append(Link("/shop/b", anchor="Read more »"))
    # "click here" three times, into a page that leads nowhere (nothing reaches priority).
    for path in ("/shop/a", "/guides/", "/guides/one"):
        site._pages[site.url(path)].links.append(Link("/terms", anchor="Click here"))
    site.page("/terms", title="Terms")
    site._pages[site.url("/guides/one")].links.append(Link("/about", anchor="En savoir plus"))
    site.page("/about", *NAV, title="About")
    _, report = analyse(site, tmp_path, priority=[BASE + "/shop/b"])
    vague = report.of_kind("vague_anchor")
    keys = [" ".join(f.id.split("-")[2:-1]) for f in vague]
    assert keys == ["read more", "en savoir plus", "click here"]
    assert [facts(f)["Links"] for f in vague] == [1, 1, 3]
    assert facts(vague[2])["Authority carried into priority pages"] == 0
    assert vague[0].title.startswith("“Read more »” carries")
    carried = [facts(f)["Authority carried into priority pages"] for f in vague]
    assert carried == sorted(carried, reverse=True)


@pytest.mark.parametrize("rare_on", ["/shop/a", "/guides/one", "/guides/"])
def test_a_vague_anchor_is_shown_by_its_most_used_spelling_not_the_first_stored(
    tmp_path: Path, rare_on: str
) -> None:
    # Wherever the rarer spelling sits in the store, it must not decide the title:
    # the links' order follows the crawl's, which varies from run to run.
    site = shop()
    for path in ("/shop/a", "/guides/one", "/guides/"):
        anchor = "Click here" if path == rare_on else "click here"
        site._pages[site.url(path)].links.append(Link("/shop/b", anchor=anchor))
    _, report = analyse(site, tmp_path, priority=[BASE + "/shop/b"])
    (vague,) = report.of_kind("vague_anchor")
    assert vague.title.startswith("“click here” carries")
    assert vague.fix.startswith("Replace “click here” with")


def test_usual_spelling_takes_the_most_used_form_and_breaks_ties_by_code_point() -> None:
    assert usual_spelling(["Read more", " read more", "read more "]) == "read more"
    assert usual_spelling(["click here", "Click here"]) == "Click here"
    assert usual_spelling(["Click here", "click here"]) == "Click here"
    assert usual_spelling(["  here  "]) == "here"


def test_vague_anchors_without_priority_pages_rank_by_equity_carried(tmp_path: Path) -> None:
    site = shop()
    site._pages[site.url("/")].links.append(Link("/shop/b", anchor="here"))
    _, report = analyse(site, tmp_path)
    (vague,) = report.of_kind("vague_anchor")
    assert "Authority carried" in facts(vague)
    assert "into priority pages" not in vague.title


def test_image_links_without_alt_and_anchor_profiles(tmp_path: Path) -> None:
    site = shop()
    site._pages[site.url("/shop/")].links.append(Link("/shop/b", position="aside"))
    site.backlink("https://a.example/", "/shop/b", authority=0.5)
    store = site.build(tmp_path)
    with sqlite3.connect(store) as conn:
        # StoreBuilder writes no image links: mark the aside link as one without alt.
        conn.execute("UPDATE links SET anchor = 'Product B' WHERE position != 4")
        conn.execute("UPDATE links SET is_image = 1 WHERE position = 4")
        conn.execute("UPDATE backlinks SET anchor = 'best product b'")
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('complete', 'true')")
    config = EquityConfig(priority_patterns=(BASE + "/shop/b",), priority_guess=False)
    model = compute_equity(load_graph(store, config), config)
    report = find_gaps(model, store)
    (image,) = report.of_kind("image_no_alt")
    assert image.pages[0].url == BASE + "/shop/b"
    assert image.severity == "medium"  # the target is a priority page
    (profile,) = report.anchor_profiles
    assert profile.url == BASE + "/shop/b"
    assert [(a.anchor, a.links, a.sources) for a in profile.backlinks] == [("best product b", 1, 1)]
    assert [(a.anchor, a.links) for a in profile.internal] == [("", 1), ("Product B", 1)]


def test_one_anchor_pointing_at_several_pages(tmp_path: Path) -> None:
    site = shop()
    site._pages[site.url("/")].links.append(Link("/shop/b", anchor="Hiking boots"))
    site._pages[site.url("/guides/one")].links.append(Link("/shop/a", anchor="hiking boots"))
    site._pages[site.url("/guides/")].links.append(Link("/shop/a", anchor="HIKING BOOTS »"))
    _, report = analyse(site, tmp_path, priority=[BASE + "/shop/b"])
    (finding,) = report.of_kind("anchor_cannibalisation")
    assert facts(finding)["Targets"] == 2
    assert facts(finding)["Links to the priority page"] == 1
    assert finding.pages[0].url == BASE + "/shop/b"  # the priority page first
    assert finding.pages[1].note == "2 links"


# -- crawl health -----------------------------------------------------------------------


def test_blocked_trapped_and_oversize_pages_that_receive_links(tmp_path: Path) -> None:
    site = shop()
    site.blocked("/private/area")
    site.cutoff("/big", "oversize")
    site.cutoff("/events/2030/01", "trap")
    site._pages[site.url("/")].links.extend(
        [Link.parse("/private/area"), Link.parse("/big"), Link.parse("/events/2030/01")]
    )
    store = site.build(tmp_path)
    with sqlite3.connect(store) as conn:
        (trap_id,) = conn.execute(
            "SELECT id FROM urls WHERE url = ?", (BASE + "/events/2030/01",)
        ).fetchone()
        conn.execute(
            "INSERT INTO traps VALUES (?, ?, ?)",
            (trap_id, "https://site.test/events/#/#", "calendar-like pattern already has 100 URLs"),
        )
        conn.execute("UPDATE pages SET size_bytes = 20000000 WHERE kind = 'oversize'")
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('complete', 'true')")
    config = EquityConfig(priority_guess=False)
    model = compute_equity(load_graph(store, config), config)
    report = find_gaps(model, store)
    (blocked,) = report.of_kind("blocked_linked")
    assert blocked.pages[0].url == BASE + "/private/area"
    assert blocked.equity_at_stake and blocked.equity_at_stake > 0
    (trap,) = report.of_kind("crawler_trap")
    assert facts(trap)["URLs not crawled"] == 1
    assert trap.id.startswith("crawler-trap-events-")
    (big,) = report.of_kind("oversize")
    assert facts(big)["Size in bytes"] == 20_000_000
    assert big.pages[1].url == BASE + "/"


# -- edge cases -------------------------------------------------------------------------


def test_a_one_page_site(tmp_path: Path) -> None:
    site = StoreBuilder(BASE)
    site.page("/", title="Only")
    _, report = analyse(site, tmp_path)
    assert [f.kind for f in report.findings] == ["dead_end"]
    assert report.totals == {kind: int(kind == "dead_end") for kind in KINDS}
    assert report.priority_pages == 0 and report.anchor_profiles == ()


def test_a_site_with_no_page_has_nothing_to_analyse(tmp_path: Path) -> None:
    site = StoreBuilder(BASE)
    site.error("/", 500)
    store = site.build(tmp_path)
    with pytest.raises(EmptyGraphError):
        compute_equity(load_graph(store))


def test_no_backlinks_and_no_priority_pages(tmp_path: Path) -> None:
    site = shop()
    site.page("/lonely", *NAV, title="Lonely")
    site.known("/lonely")
    model, report = analyse(site, tmp_path)
    assert model.beta == 0
    kinds = {f.kind for f in report.findings}
    assert kinds.isdisjoint({"pooling", "stranded", "lost_backlinks", "buried", "starved"})
    (orphan,) = report.of_kind("orphan")
    assert orphan.severity == "medium" and "referring" not in orphan.title


def test_findings_are_cut_per_kind_and_the_totals_say_how_many(tmp_path: Path) -> None:
    site = shop()
    for i in range(5):
        site.error(f"/gone-{i}")
        site._pages[site.url("/")].links.append(Link.parse(f"/gone-{i}"))
    _, report = analyse(site, tmp_path, config=GapsConfig(max_findings=2))
    assert len(report.of_kind("broken_link")) == 2
    assert report.totals["broken_link"] == 5  # all of them, though only 2 were built
    assert sum(report.severity_counts().values()) == len(report.findings)
    assert report.by_id(report.findings[0].id) is report.findings[0]


def test_everything_is_json_friendly(tmp_path: Path) -> None:
    _, report = analyse(landing_site(), tmp_path, priority=[BASE + "/shop/a"])
    from dataclasses import asdict  # noqa: PLC0415

    text = json.dumps([asdict(f) for f in report.findings])
    assert "stranded" in text
    assert all(isinstance(e.value, (int, float, str)) for f in report.findings for e in f.evidence)
    assert not any(isinstance(e.value, np.generic) for f in report.findings for e in f.evidence)
