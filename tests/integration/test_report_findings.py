"""Findings and recommendations in the report of a real crawl, and fixed from one run to the next.

The gap analysis's designed shop (tests/support/gaps_site.py) is served on
127.0.0.1 and crawled by the real ``scrapy crawl site`` with its backlink
export and priority file; the report the crawl ends with must hold what the
gap analysis finds on that store (checked against a direct
``find_gaps``/``recommend_links`` call): the broken links, the orphan with
backlinks, the vague anchor, the lost backlinks with their redirect, the link
recommendation from the stranded guide to the starved boots page with the
same predicted gain. Then the broken link on the home page is fixed on the
served site and the site crawled again: the second report lists that finding
as fixed.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from linkspider import settings as project_settings
from pipelines.storedb import CrawlStore
from reports.config import EquityConfig
from reports.equity import compute_equity
from reports.gaps import GapReport, find_gaps
from reports.gaps_config import GapsConfig
from reports.graph import load_graph
from reports.recommend import Recommendations, recommend_links
from tests.support.crawl import ROOT, run_crawl
from tests.support.gaps_site import (
    BROKEN_BY_WASTE,
    LOST_TARGET,
    ORPHAN_WITH_BACKLINKS,
    REDIRECT_SUGGESTION,
    STARVED,
    STRANDED_GUIDE,
    TRAIL_RUNNER,
    gaps_site,
    write_backlinks,
    write_priority,
)
from tests.support.server import Response, TestServer

EXTENSIONS = json.dumps(
    {**project_settings.EXTENSIONS, "pipelines.backlinks.extension.BacklinksImport": 500}
)
FIRST = "20260101T000000Z"
SECOND = "20260102T000000Z"
#: Given to the crawls with -s: the report they end with must use it.
CRAWL_GAPS = {"GAPS_VAGUE_ANCHORS_EXTRA": "Boot care"}


@dataclass
class Site:
    server: TestServer
    inputs: Path
    runs: Path

    def url(self, path: str) -> str:
        return self.server.url(path)

    def crawl(self, run_id: str, **settings: str) -> subprocess.CompletedProcess[str]:
        return run_crawl(
            self.url("/"),
            self.runs / run_id,
            args={
                "backlinks": str(write_backlinks(self.inputs, self.server.base)),
                "priority": str(write_priority(self.inputs, self.server.base)),
            },
            settings={"EXTENSIONS": EXTENSIONS, **CRAWL_GAPS, **settings},
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("report-findings")
    with TestServer(gaps_site().build()) as server:
        yield Site(server, folder, folder / "runs" / "northwind")


@pytest.fixture(scope="module")
def first(site: Site) -> Path:
    process = site.crawl(FIRST)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "Report not written" not in process.stderr, process.stderr[-3000:]
    return site.runs / FIRST


@dataclass
class Direct:
    gaps: GapReport
    recs: Recommendations


@pytest.fixture(scope="module")
def direct(first: Path, site: Site) -> Direct:
    """The gap analysis called directly on the first run's store, with the crawl's priority file."""
    config = EquityConfig(priority_file=str(site.inputs / "priority.txt"))
    with CrawlStore(first) as store:
        model = compute_equity(load_graph(store, config), config, pagerank=False)
        config = GapsConfig.from_settings(CRAWL_GAPS)
        return Direct(find_gaps(model, store, config), recommend_links(model, store, config))


def findings_json(run: Path) -> dict[str, Any]:
    return json.loads((run / "report" / "data" / "findings.json").read_text(encoding="utf-8"))


def recommendations_csv(run: Path) -> list[dict[str, str]]:
    path = run / "report" / "data" / "recommendations.csv"
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def page_of(run: Path) -> Any:
    return lxml_html.fromstring((run / "report" / "index.html").read_bytes())


# -- the first run's report ----------------------------------------------------------------


def test_findings_json_is_the_gap_analysis(first: Path, direct: Direct) -> None:
    document = findings_json(first)
    assert document["computed"] is True and "note" not in document
    written = document["findings"]
    assert [f["id"] for f in written] == [f.id for f in direct.gaps.findings]
    for entry, finding in zip(written, direct.gaps.findings, strict=True):
        assert (entry["kind"], entry["severity"], entry["title"]) == (
            finding.kind,
            finding.severity,
            finding.title,
        )
        assert [p["url"] for p in entry["pages"]] == [p.url for p in finding.pages]
        assert entry["pages_total"] == finding.pages_total
        assert entry["equity_at_stake"] == finding.equity_at_stake


def test_the_designed_problems_are_in_the_report(first: Path, site: Site) -> None:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for finding in findings_json(first)["findings"]:
        by_kind.setdefault(finding["kind"], []).append(finding)
    orphan = by_kind["orphan"][0]  # the one with backlinks, first
    assert orphan["pages"][0]["url"] == site.url(ORPHAN_WITH_BACKLINKS)
    assert orphan["severity"] == "high"
    broken = by_kind["broken_link"][0]  # the one wasting the most: linked from the home page
    assert broken["title"].endswith(f"{BROKEN_BY_WASTE[0]} (HTTP 404)")
    assert [p["url"] for p in broken["pages"]] == [site.url("/")]
    vague = [f["title"] for f in by_kind["vague_anchor"]]
    assert vague[0].startswith("“Read more” carries")  # into the trail runner: the most
    assert any(t.startswith("“Boot care”") for t in vague)  # -s GAPS_VAGUE_ANCHORS_EXTRA
    (lost,) = by_kind["lost_backlinks"]
    assert lost["pages"][0]["url"] == site.url(LOST_TARGET)
    page = page_of(first)
    for kind in ("orphan", "broken_link", "vague_anchor", "lost_backlinks", "starved", "buried"):
        assert page.xpath(f'//div[@id="x-kind-{kind}"]'), kind
    assert not page.xpath('//*[@id="findings-not-computed"]')
    assert not page.xpath('//*[@id="recommendations-not-computed"]')
    # The lost-equity table shows the gap analysis's redirect target, as the finding does.
    (row,) = page.xpath('//table[@id="lost-table"]/tbody/tr')
    assert row.xpath("td[1]//text()") == [LOST_TARGET]
    assert row.xpath("td[6]//a/@href") == [site.url(REDIRECT_SUGGESTION)]


def test_recommendations_csv_is_the_recommenders_set(first: Path, direct: Direct) -> None:
    rows = recommendations_csv(first)
    links = [r for r in rows if r["type"] == "link"]
    assert [(r["id"], r["source"], r["target"]) for r in links] == [
        (r.id, r.source_url, r.target_url) for r in direct.recs.links
    ]
    for row, rec in zip(links, direct.recs.links, strict=True):
        assert float(row["gain"]) == pytest.approx(rec.gain, rel=1e-9, abs=1e-15)
        assert row["anchor"] == rec.anchor
    # The starved boots page's best source is the stranded guide about boots.
    boots = [r for r in links if r["target"].endswith(STARVED)]
    assert boots and boots[0]["source"].endswith(STRANDED_GUIDE)
    summary = json.loads((first / "report" / "data" / "summary.json").read_text("utf-8"))
    recs = summary["recommendations"]
    assert recs["set_gain"] == pytest.approx(direct.recs.set_gain, rel=1e-9)
    assert sum(float(r["gain"]) for r in links) == pytest.approx(recs["set_gain"], rel=1e-9)
    redirects = [r for r in rows if r["type"] == "redirect"]
    assert [(r["source"], r["target"]) for r in redirects] == [
        (r.from_url, r.to_url) for r in direct.recs.redirects
    ]
    assert redirects[0]["target"].endswith(REDIRECT_SUGGESTION)


def test_the_html_reads_as_the_analysis(first: Path, direct: Direct, site: Site) -> None:
    page = page_of(first)
    rows = page.xpath('//table[@id="links-table"]/tbody/tr')
    assert len(rows) == len(direct.recs.links)
    fixes = page.xpath('//ol[@class="fixes"]/li')
    assert len(fixes) == 3
    # Each top fix points at a finding or recommendation the page holds.
    for target in page.xpath('//ol[@class="fixes"]/li//a/@href'):
        assert page.xpath(f'//*[@id="{target[1:]}"]'), target
    profiles = page.xpath('//details[contains(concat(" ", @class, " "), " anchor-profile ")]')
    assert len(profiles) == 3  # one per priority page
    trail = next(p for p in profiles if site.url(TRAIL_RUNNER) in p.xpath(".//a/@href"))
    vague = trail.xpath('.//tr[.//span[@class="chip vague"]]/td[1]/text()')
    assert "“Read more”" in [t.strip() for t in vague]


def test_scrapy_report_takes_gaps_settings(first: Path, tmp_path: Path) -> None:
    out = tmp_path / "one-link"
    process = subprocess.run(
        [sys.executable, "-m", "scrapy", "report", str(first), "--out", str(out),
         "-s", "GAPS_LINKS=1", "-s", "GAPS_VAGUE_ANCHORS_EXTRA=Our old shop"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    assert "Findings: " in process.stdout and "Recommendations: 1 link(s) to add" in process.stdout
    with (out / "data" / "recommendations.csv").open(encoding="utf-8", newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["type"] == "link"]
    assert len(rows) == 1
    titles = [
        f["title"]
        for f in json.loads((out / "data" / "findings.json").read_text("utf-8"))["findings"]
        if f["kind"] == "vague_anchor"
    ]
    # This command's settings, not the crawl's: "Our old shop" is vague, "Boot care" is not.
    assert any(t.startswith("“Our old shop”") for t in titles)
    assert not any(t.startswith("“Boot care”") for t in titles)


def test_a_bad_gaps_setting_stops_the_crawl_before_it_starts(site: Site) -> None:
    process = site.crawl("bad", GAPS_LINKS="many")
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        "error: GAPS_LINKS must be a whole number, got 'many'"
    ]
    assert not (site.runs / "bad").exists()


# -- the next run, with the broken link fixed ------------------------------------------------


def test_a_fixed_broken_link_is_listed_as_fixed(first: Path, site: Site) -> None:
    before = {f["id"]: f for f in findings_json(first)["findings"]}
    (broken_id,) = [
        fid
        for fid, f in before.items()
        if f["kind"] == "broken_link" and f["title"].endswith(f"{BROKEN_BY_WASTE[0]} (HTTP 404)")
    ]
    saved = dict(site.server.routes)
    fixed = gaps_site()
    home = fixed.routes["/"]  # the home page without its link to the discontinued lantern
    link = f'<a href="{BROKEN_BY_WASTE[0]}">Camp lantern</a> '
    assert isinstance(home, Response) and isinstance(home.body, str) and link in home.body
    fixed.add("/", replace(home, body=home.body.replace(link, "")))
    site.server.routes = fixed.build()
    try:
        process = site.crawl(SECOND)
        assert process.returncode == 0, process.stderr[-3000:]
    finally:
        site.server.routes = saved
    second = site.runs / SECOND
    after = {f["id"] for f in findings_json(second)["findings"]}
    assert broken_id not in after
    assert after & set(before)  # the other findings keep their ids
    (section,) = page_of(second).xpath('//section[@id="comparison"]')
    assert not section.xpath('.//*[@id="findings-not-compared"]')
    fixed_items = section.xpath(
        './/h3[starts-with(normalize-space(.), "Findings fixed")]/following-sibling::ul[1]/li'
    )
    assert [li.text_content().strip() for li in fixed_items] == [
        f"{before[broken_id]['severity']} {before[broken_id]['title']}"
    ]
    new_items = section.xpath(
        './/h3[starts-with(normalize-space(.), "New findings")]/following-sibling::*[1]'
    )
    assert new_items and "No new finding" in new_items[0].text_content()
