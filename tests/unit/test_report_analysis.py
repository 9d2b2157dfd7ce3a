"""The gap analysis wired into the report: the mapping, the view, the exports, hostile input.

A small shop is built as a crawl store (tests/support/storebuilder.py): a
starved boots page (the priority page), a boot-care guide holding the backlink
authority, a broken link, a vague anchor into the boots page, a dead URL with
backlinks; its anchors and titles carry attack strings. The real equity model,
gap analysis and recommender run on it; the tests check that the report shows
exactly what they found, field for field, and that nothing hostile survives
as markup.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest

from pipelines.storedb import CrawlStore
from reports.analysis import analyse, redirect_targets, to_analysis, view_findings
from reports.build import Analysis, build_view
from reports.config import EquityConfig
from reports.equity import EquityModel, compute_equity
from reports.gaps import GapReport, find_gaps, suggest_redirect
from reports.gaps_config import GapsConfig
from reports.graph import load_graph
from reports.pipeline import ReportError, generate_report
from reports.recommend import Recommendations, recommend_links
from reports.relevance import build_topic_index
from reports.render import load_assets, render
from reports.report_config import ReportConfig
from reports.view import ReportView
from tests.support.report_fixture import CLOSE_SCRIPT, IMG, SCRIPT
from tests.support.storebuilder import Link, StoreBuilder

BASE = "https://site.test"
BOOTS = BASE + "/shop/boots"
DEAD = BASE + "/shop/waterproof-boots-2019"
NAV = ("/@nav", "/shop/@nav", "/guides/@nav")
WHEN = datetime(2026, 3, 21, 12, 0, tzinfo=UTC)


def u(path: str) -> str:
    return BASE + path


def words(*terms: str) -> str:
    return json.dumps(list(terms))


def shop() -> StoreBuilder:
    """The shop: its problems are known, and its anchors and titles are hostile."""
    site = StoreBuilder(BASE)
    site.page(
        "/",
        *NAV,
        Link("/guides/boots-care", anchor="Boot care"),
        Link("/shop/discontinued", anchor=SCRIPT),  # a broken link with a hostile anchor
        title="Home | Brand",
    )
    site.page("/shop/", *NAV, Link("/shop/boots", "footer", anchor="Boots"), title="Shop | Brand")
    site.page(
        "/shop/boots",
        *NAV,
        title="Waterproof boots | Brand",
        h1="Waterproof boots",
        signature=words("boots", "waterproof", "leather"),
    )
    site.page(
        "/guides/",
        *NAV,
        Link("/guides/boots-care", anchor="Caring for boots"),
        Link("/guides/tips", anchor="Tips"),
        Link("/shop/boots", anchor=CLOSE_SCRIPT),  # a hostile anchor in the boots' profile
        title="Guides | Brand",
    )
    site.page(
        "/guides/boots-care",
        *NAV,
        title="Caring for waterproof boots | Brand",
        signature=words("boots", "waterproof", "care", "leather"),
    )
    site.page(
        "/guides/tips",
        *NAV,
        Link("/shop/boots", anchor="Click here »"),  # vague, into the priority page
        title=IMG,  # a hostile title
        signature=words("boots", "tips"),
    )
    site.error("/shop/discontinued", 404)
    site.error("/shop/waterproof-boots-2019", 404)
    for i in range(4):
        site.backlink(f"https://b{i}.example/", "/guides/boots-care", authority=0.8)
    site.backlink("https://shoes.example/", "/shop/boots", authority=0.5)
    site.backlink("https://old.example/", "/shop/waterproof-boots-2019", authority=0.6)
    site.known("/shop/boots", "sitemap")
    site.meta(complete=True, finish_reason="finished")
    return site


def build_store(folder: Path) -> Path:
    store = shop().build(folder)
    with sqlite3.connect(store) as conn:  # anchors of the backlinks (the builder writes none)
        conn.execute(
            "UPDATE backlinks SET anchor = ? WHERE source_url LIKE 'https://b0.example%'",
            ("read more",),
        )
        conn.execute(
            "UPDATE backlinks SET anchor = ? WHERE source_url LIKE 'https://shoes.example%'",
            (IMG,),
        )
        conn.execute(
            "UPDATE backlinks SET anchor = 'old waterproof boots' WHERE source_url LIKE"
            " 'https://old.example%'"
        )
    return store


def solve(store: Path) -> EquityModel:
    config = EquityConfig(priority_patterns=(BOOTS,), priority_guess=False)
    return compute_equity(load_graph(store, config), config, pagerank=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("analysis-run")
    build_store(folder)
    return folder


@pytest.fixture(scope="module")
def found(run: Path) -> tuple[EquityModel, GapReport, Recommendations]:
    model = solve(run / "crawl.sqlite")
    with CrawlStore(run) as store:
        index = build_topic_index(model.graph, store)
        gaps = find_gaps(model, store, GapsConfig(), index=index)
        recs = recommend_links(model, store, GapsConfig(), index=index)
    return model, gaps, recs


@pytest.fixture(scope="module")
def view(run: Path) -> ReportView:
    model = solve(run / "crawl.sqlite")
    with CrawlStore(run) as store:
        analysis = analyse(model, store, GapsConfig())
        return build_view(model, store, ReportConfig(), analysis=analysis, generated_at=WHEN)


# -- the mapping ---------------------------------------------------------------------------


def test_findings_map_field_for_field_in_order(
    found: tuple[EquityModel, GapReport, Recommendations],
) -> None:
    _, gaps, recs = found
    analysis = to_analysis(gaps, recs)
    assert len(analysis.findings) == len(gaps.findings) > 0
    for mine, theirs in zip(analysis.findings, gaps.findings, strict=True):
        expected = asdict(theirs)
        expected.pop("verdict")
        assert asdict(mine) == expected
    assert analysis.kind_totals == gaps.totals


def test_every_page_of_a_finding_is_kept(
    found: tuple[EquityModel, GapReport, Recommendations],
) -> None:
    _, gaps, _ = found
    (broken,) = gaps.of_kind("broken_link")
    many = [broken.pages[0]] * 57  # more than the report's REPORT_FINDING_PAGES
    (mapped,) = view_findings([replace(broken, pages=many)])
    assert len(mapped.pages) == 57


def test_link_recommendations_keep_their_marginal_gains(
    found: tuple[EquityModel, GapReport, Recommendations],
) -> None:
    _, gaps, recs = found
    links = to_analysis(gaps, recs).recommendations.links
    assert links, recs.note
    assert [r.id for r in links] == [r.id for r in recs.links]
    assert [r.gain for r in links] == [r.gain for r in recs.links]
    assert sum(r.gain for r in links) == pytest.approx(recs.set_gain, abs=1e-15)
    # The starved boots page's best source is the guide about boots that holds the authority.
    assert (links[0].source_url, links[0].target_url) == (u("/guides/boots-care"), BOOTS)


def test_redirects_and_their_targets_come_from_the_gap_analysis(
    found: tuple[EquityModel, GapReport, Recommendations], run: Path
) -> None:
    model, gaps, recs = found
    analysis = to_analysis(gaps, recs)
    (redirect,) = analysis.recommendations.redirects
    (original,) = recs.redirects
    assert (redirect.from_url, redirect.to_url, redirect.gain, redirect.priority_gain) == (
        original.from_url,
        original.to_url,
        original.gain,
        original.priority_gain,
    )
    # The dead boots URL goes to the live boots page (same words), not up its path to /shop/.
    assert redirect_targets(gaps.findings) == {DEAD: BOOTS}
    with CrawlStore(run) as store:
        index = build_topic_index(model.graph, store)
    match = suggest_redirect(model.graph, index, DEAD, ["old waterproof boots"])
    assert match is not None and model.graph.urls[match.node] == BOOTS
    (lost,) = model.lost_equity
    assert lost.suggested_redirect == u("/shop/")  # the model's simpler guess, no longer shown


# -- the view ---------------------------------------------------------------------------------


def test_the_view_shows_the_analysis(view: ReportView) -> None:
    assert view.findings.computed and view.recommendations.computed
    kinds = {g.kind for g in view.findings.groups}
    assert {"broken_link", "vague_anchor", "lost_backlinks", "starved"} <= kinds
    (lost,) = view.backlinks.lost
    assert (lost.url, lost.redirect_to, lost.redirect_title) == (
        DEAD,
        BOOTS,
        "Waterproof boots | Brand",
    )
    (redirect,) = view.recommendations.redirects
    assert redirect.to_url == lost.redirect_to  # one source of truth
    (page,) = view.priority.pages
    assert {f.id for f in page.findings} >= {
        f.id for g in view.findings.groups for f in g.findings if g.kind == "starved"
    }
    # The largest amounts first: the top fix is the one with most authority at stake or gained.
    amounts = [fix.gain if fix.gain is not None else fix.stake for fix in view.summary.top_fixes]
    assert len(amounts) == 3 and amounts == sorted(amounts, reverse=True)  # type: ignore[type-var]


def test_anchor_profiles_sit_with_the_priority_pages(view: ReportView) -> None:
    (profile,) = view.priority.anchor_profiles
    assert profile.url == BOOTS
    internal = {a.anchor: a for a in profile.internal}
    assert internal["Click here »"].vague and internal["Click here »"].sources == 1
    assert not internal["Boots"].vague and internal["Boots"].links == 1
    assert CLOSE_SCRIPT in internal
    assert {a.anchor: a.sources for a in profile.backlinks} == {IMG: 1}


def test_one_vague_anchor_list_marks_backlinks_and_profiles(run: Path) -> None:
    model = solve(run / "crawl.sqlite")
    config = GapsConfig.from_settings({"GAPS_VAGUE_ANCHORS_EXTRA": "tips, boot care"})
    with CrawlStore(run) as store:
        analysis = analyse(model, store, config)
        view = build_view(model, store, analysis=analysis, gaps_config=config, generated_at=WHEN)
    assert {row.anchor: row.vague for row in view.backlinks.anchors} == {
        "read more": True,  # the default list, for backlinks as for internal links
        "": False,
        IMG: False,
        "old waterproof boots": False,
    }
    vague = {g.kind: g for g in view.findings.groups}["vague_anchor"]
    titles = " ".join(f.title for f in vague.findings)
    assert "Tips" in titles and "Boot care" in titles and "Click here" in titles


# -- hostile input ---------------------------------------------------------------------------


def test_hostile_anchors_and_titles_in_findings_come_out_inert(view: ReportView) -> None:
    html = render(view)
    doc = lxml.html.document_fromstring(html)
    scripts = doc.xpath("//script")
    assert len(scripts) == 1 and scripts[0].text == str(load_assets().js)
    assert not doc.xpath("//img")
    for element in doc.iter():
        if isinstance(element.tag, str):
            assert not [name for name in element.attrib if name.lower().startswith("on")]
    text = doc.text_content()
    findings = doc.xpath('//section[@id="findings"]')[0].text_content()
    assert SCRIPT in findings  # the broken link's anchor, as text
    priority = doc.xpath('//section[@id="priority"]')[0].text_content()
    assert CLOSE_SCRIPT in priority and IMG in priority  # the profile's anchors, as text
    assert IMG in text


# -- the report end to end --------------------------------------------------------------------


def test_generate_report_writes_the_analysis(run: Path, tmp_path: Path) -> None:
    settings = {"EQUITY_PRIORITY": json.dumps([BOOTS]), "EQUITY_PRIORITY_GUESS": "false"}
    files = generate_report(run, out_dir=tmp_path / "report", settings=settings)
    assert files.seconds["analysis"] > 0
    data = tmp_path / "report" / "data"
    model = solve(run / "crawl.sqlite")
    with CrawlStore(run) as store:
        gaps = find_gaps(model, store, GapsConfig())
        recs = recommend_links(model, store, GapsConfig())
    document = json.loads((data / "findings.json").read_text(encoding="utf-8"))
    assert document["computed"] is True and "note" not in document
    assert [f["id"] for f in document["findings"]] == [f.id for f in gaps.findings]
    for written, finding in zip(document["findings"], gaps.findings, strict=True):
        assert len(written["pages"]) == len(finding.pages)
        assert written["pages_total"] == finding.pages_total
    with (data / "recommendations.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    links = [r for r in rows if r["type"] == "link"]
    assert [(r["source"], r["target"]) for r in links] == [
        (r.source_url, r.target_url) for r in recs.links
    ]
    assert sum(float(r["gain"]) for r in links) == pytest.approx(recs.set_gain, rel=1e-9)
    assert [r["priority_gain"] for r in links] == [r["gain"] for r in links]
    (redirect,) = [r for r in rows if r["type"] == "redirect"]
    assert (redirect["source"], redirect["target"], redirect["status"]) == (DEAD, BOOTS, "404")
    summary = json.loads((data / "summary.json").read_text(encoding="utf-8"))
    assert summary["findings"]["computed"] is True and "note" not in summary["findings"]
    assert summary["findings"]["kinds"]["broken_link"] == 1
    assert summary["recommendations"]["links"] == len(recs.links)
    assert summary["recommendations"]["set_gain"] == pytest.approx(recs.set_gain, rel=1e-12)
    assert len(summary["top_fixes"]) == 3


def test_analysis_can_be_left_out(run: Path, tmp_path: Path) -> None:
    generate_report(run, out_dir=tmp_path / "bare", settings={}, analyse=None)
    summary = json.loads((tmp_path / "bare" / "data" / "summary.json").read_text("utf-8"))
    assert summary["findings"]["computed"] is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GAPS_LINKS", "many", "GAPS_LINKS must be a whole number, got 'many'"),
        ("GAPS_MIN_RELEVANCE", "2", "GAPS_MIN_RELEVANCE must be in [0, 1]"),
        ("REPORT_PROFILE_ANCHORS", "-1", "REPORT_PROFILE_ANCHORS must be a whole number >= 0"),
    ],
)
def test_bad_settings_are_one_line(
    run: Path, tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ReportError) as caught:
        generate_report(run, out_dir=tmp_path / "never", settings={name: value})
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "never").exists()


def test_analysis_type_is_what_build_view_takes() -> None:
    assert Analysis().findings == () and Analysis().recommendations.links == ()
