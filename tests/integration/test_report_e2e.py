"""The report end to end: a real crawl of a local site, the end-of-crawl report, ``scrapy report``.

One crawl of the designed shop (tests/support/report_site.py) served on
127.0.0.1 writes its report through the ReportExtension; then ``scrapy
report`` re-weights it (uniform weights, another damping, a priority file,
more backlinks) and every figure is checked against a direct
``compute_equity`` call on the same store. A second crawl of the same site,
changed in between, fills the comparison section; mistakes give one line
and exit code 2.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from pipelines.storedb import CrawlStore
from reports.config import EquityConfig
from reports.equity import EquityModel, compute_equity
from reports.graph import load_graph
from tests.support.crawl import ROOT, run_crawl
from tests.support.report_site import REPORT_PAGES, report_site, semrush_export
from tests.support.server import TestServer

FIRST = "20260101T000000Z"
SECOND = "20260102T000000Z"


@pytest.fixture(scope="module")
def server() -> Iterator[TestServer]:
    with TestServer(report_site().build()) as served:
        yield served


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs") / "kettle-and-co"


@pytest.fixture(scope="module")
def first_run(server: TestServer, runs: Path) -> Path:
    run_dir = runs / FIRST
    process = run_crawl(server.url("/"), run_dir)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "Report: " in process.stderr, process.stderr[-3000:]
    return run_dir


def scrapy_report(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "report", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def equity_of(report: Path) -> dict[str, float]:
    rows = read_csv(report / "data" / "pages.csv")
    return {row["url"]: float(row["equity"]) for row in rows if row["equity"]}


def summary_of(report: Path) -> dict[str, Any]:
    return json.loads((report / "data" / "summary.json").read_text(encoding="utf-8"))


def direct_model(run_dir: Path, **settings: Any) -> EquityModel:
    config = EquityConfig.from_settings(settings)
    with CrawlStore(run_dir) as store:
        return compute_equity(load_graph(store, config), config, pagerank=False)


def assert_same_equity(report: Path, model: EquityModel) -> None:
    written = equity_of(report)
    assert set(written) == set(model.graph.urls)
    for i, url in enumerate(model.graph.urls):
        assert written[url] == float(model.equity[i]), url  # exactly: CSV keeps full precision


# -- the report written when the crawl ends -------------------------------------------------


def test_the_crawl_ends_with_its_report(first_run: Path, server: TestServer) -> None:
    report = first_run / "report"
    assert (report / "index.html").is_file()
    names = sorted(p.name for p in (report / "data").iterdir())
    assert names == [
        "backlinks.csv",
        "findings.json",
        "flows.csv",
        "links.csv",
        "pages.csv",
        "recommendations.csv",
        "summary.json",
    ]
    summary = summary_of(report)
    assert summary["site"] == server.url("/")
    assert summary["run_id"] == FIRST
    assert summary["crawl"]["complete"] is True
    assert summary["headline"]["pages_crawled"] == len(REPORT_PAGES)
    assert summary["findings"]["computed"] is False
    assert "not computed" in summary["findings"]["note"]
    assert_same_equity(report, direct_model(first_run))


def test_pages_csv_lists_every_url_of_the_store(first_run: Path, server: TestServer) -> None:
    rows = {row["url"]: row for row in read_csv(first_run / "report" / "data" / "pages.csv")}
    with CrawlStore(first_run) as store:
        stored = {
            url: kind
            for url, kind in store.conn.execute(
                "SELECT u.url, p.kind FROM pages p JOIN urls u ON u.id = p.url_id"
            )
        }
    assert set(stored) <= set(rows)
    for path in REPORT_PAGES:
        row = rows[server.url(path)]
        assert (row["kind"], row["status"]) == ("html", "200") and float(row["equity"]) > 0
    old = rows[server.url("/old-kettle")]
    assert (old["equity"], old["status"], old["kind"], old["inlinks"]) == ("", "404", "error", "1")
    promo = rows[server.url("/promo")]
    assert (promo["equity"], promo["status"], promo["kind"]) == ("", "301", "redirect")
    assert server.url("/cart") not in rows  # linked nofollow only: never requested
    assert "priority" in rows[server.url("/shop/kettle-red")]["flags"]  # guessed: /shop/*
    budget = summary_of(first_run / "report")["budget"]
    total = sum(float(row["equity"]) for row in rows.values() if row["equity"])
    assert total + sum(budget["leaks"].values()) == pytest.approx(1.0, abs=1e-9)


def _documented_columns(doc: str, name: str) -> list[str]:
    """The column names a section of docs/exports.md lists, in order."""
    section = doc.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
    if name == "flows.csv":
        first = next(line for line in section.splitlines() if line.strip())
        return re.findall(r"`(\w+)`", first)
    columns: list[str] = []
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) < 3 or set(cells[1].strip()) <= {"-", " "}:
            continue
        columns += re.findall(r"`(\w+)`", cells[1])
    return columns


def test_export_columns_match_the_documented_contract(first_run: Path) -> None:
    doc = (ROOT / "docs" / "exports.md").read_text(encoding="utf-8")
    data = first_run / "report" / "data"
    for name in ("pages.csv", "links.csv", "backlinks.csv", "recommendations.csv", "flows.csv"):
        with (data / name).open(encoding="utf-8", newline="") as stream:
            header = next(csv.reader(stream))
        assert header == _documented_columns(doc, name), name
    findings = json.loads((data / "findings.json").read_text(encoding="utf-8"))
    assert set(findings) == {"schema_version", "computed", "note", "findings"}


def test_the_html_is_the_real_crawl_s(first_run: Path, server: TestServer) -> None:
    page = lxml_html.fromstring((first_run / "report" / "index.html").read_bytes())
    rows = page.xpath('//table[@id="pages-table"]/tbody/tr')
    assert len(rows) == len(REPORT_PAGES)
    assert page.xpath('//*[@id="findings-not-computed"]')
    assert page.xpath('//*[@id="recommendations-not-computed"]')
    assert not page.xpath('//section[@id="comparison"]')  # the site's first run
    links = page.xpath("//a/@href")
    assert server.url("/shop/kettle-red") in links
    assert not [h for h in links if h.startswith(("http://", "https://")) and "127.0.0.1" not in h
                and "partner.example" not in h]  # fmt: skip


# -- scrapy report: re-weighting ------------------------------------------------------------


def test_uniform_weights_give_footer_links_their_full_share(
    first_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "uniform"
    process = scrapy_report(first_run, "--weights", "uniform", "--out", out)
    assert process.returncode == 0, process.stderr
    assert f"Report: {out / 'index.html'}" in process.stdout
    uniform = equity_of(out)
    reasonable = equity_of(first_run / "report")
    about = next(url for url in uniform if url.endswith("/about"))
    # /about is linked only from footers: weight 0.2 -> 1.0.
    assert uniform[about] > 1.5 * reasonable[about]
    assert_same_equity(out, direct_model(first_run, EQUITY_POSITION_WEIGHTS="uniform"))
    assert summary_of(out)["model"]["weights"] == "uniform"
    assert summary_of(first_run / "report")["model"]["weights"] == "reasonable"


def test_a_weights_file(first_run: Path, tmp_path: Path) -> None:
    weights = tmp_path / "weights.json"
    weights.write_text('{"footer": 1.0, "nav": 0.1}', encoding="utf-8")
    out = tmp_path / "custom"
    process = scrapy_report(first_run, "--weights", weights, "--out", out)
    assert process.returncode == 0, process.stderr
    model = direct_model(first_run, EQUITY_POSITION_WEIGHTS={"footer": 1.0, "nav": 0.1})
    assert_same_equity(out, model)
    assert summary_of(out)["model"]["weights"].startswith("custom: content 1, nav 0.1")


def test_a_lower_damping_leaks_less(first_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "damped"
    process = scrapy_report(first_run, "--damping", "0.5", "--out", out)
    assert process.returncode == 0, process.stderr
    low, default = summary_of(out), summary_of(first_run / "report")
    assert low["model"]["damping"] == 0.5
    # Every leak is a sum of d^(k+1) terms: fewer clicks, less lost.
    assert low["budget"]["held_share"] > default["budget"]["held_share"]
    assert_same_equity(out, direct_model(first_run, EQUITY_DAMPING=0.5))


def test_a_priority_file(first_run: Path, server: TestServer, tmp_path: Path) -> None:
    priority = tmp_path / "priority.txt"
    priority.write_text(f"# money\n{server.url('/shop/kettle-steel')}\n", encoding="utf-8")
    out = tmp_path / "priority"
    process = scrapy_report(first_run, "--priority", priority, "--out", out)
    assert process.returncode == 0, process.stderr
    summary = summary_of(out)
    steel = server.url("/shop/kettle-steel")
    assert summary["headline"]["priority_guessed"] is False
    assert summary["headline"]["priority_pages"] == 1
    assert [p["url"] for p in summary["priority_pages"]] == [steel]
    assert summary["priority_source"] == "priority.txt (1 entry)"
    equity = equity_of(out)
    assert summary["headline"]["priority_share"] == equity[steel]
    assert sum(s["to_priority"] for s in summary["budget"]["sections"]) == pytest.approx(
        equity[steel], rel=1e-9
    )
    guessed = summary_of(first_run / "report")
    assert guessed["headline"]["priority_guessed"] is True
    assert summary["headline"]["priority_share"] < guessed["headline"]["priority_share"]


def test_backlinks_imported_by_the_command_change_where_authority_enters(
    first_run: Path, server: TestServer, tmp_path: Path
) -> None:
    run_dir = tmp_path / "with-backlinks"
    shutil.copytree(first_run, run_dir)
    export = semrush_export(tmp_path / "semrush.csv", server.url("").rstrip("/"))
    process = scrapy_report(run_dir, "--backlinks", export)
    assert process.returncode == 0, process.stderr
    assert "Semrush backlinks" in process.stdout
    summary = summary_of(run_dir / "report")
    assert summary["headline"]["backlinks"] == 3
    assert summary["headline"]["vendors"] == ["Semrush"]
    assert summary["model"]["backlink_mix"] == 0.85
    descaling = server.url("/blog/descaling")
    before, after = equity_of(first_run / "report"), equity_of(run_dir / "report")
    assert after[descaling] > before[descaling]
    assert_same_equity(run_dir / "report", direct_model(run_dir))
    backlinks = read_csv(run_dir / "report" / "data" / "backlinks.csv")
    assert {row["target_status"] for row in backlinks} == {"200", "404"}
    page = lxml_html.fromstring((run_dir / "report" / "index.html").read_bytes())
    lost = page.xpath('//table[@id="lost-table"]/tbody/tr/td[1]//text()')
    assert lost == ["/old-kettle"]


# -- mistakes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing", [], "no such run folder"),
        ("corrupt", [], "is not a readable crawl store"),
        ("empty", [], "no crawl store at"),
        ("run", ["--damping", "1.5"], "--damping: EQUITY_DAMPING must be in (0, 1)"),
        ("run", ["--weights", "heavy.json"], "--weights heavy.json: no such file"),
        ("run", ["--priority", "nowhere.txt"], "--priority: priority file nowhere.txt"),
        ("run", ["--backlinks", "nowhere.csv"], "nowhere.csv"),
    ],
)
def test_mistakes_are_one_line_and_exit_code_2(
    first_run: Path, tmp_path: Path, setup: str, args: list[str], message: str
) -> None:
    run_dir = {"missing": tmp_path / "nope", "run": first_run}.get(setup, tmp_path / setup)
    if setup == "corrupt":
        run_dir.mkdir()
        (run_dir / "crawl.sqlite").write_bytes(b"this is not SQLite" * 100)
    elif setup == "empty":
        run_dir.mkdir()
    before = (first_run / "report" / "data" / "summary.json").read_bytes()
    process = scrapy_report(run_dir, *args)
    assert process.returncode == 2
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scrapy report: error: "), process.stderr
    assert message in lines[0]
    assert "Traceback" not in process.stderr
    assert (first_run / "report" / "data" / "summary.json").read_bytes() == before


def test_a_failing_report_leaves_the_crawl_alone(server: TestServer, tmp_path: Path) -> None:
    run_dir = tmp_path / "failing"
    process = run_crawl(
        server.url("/"), run_dir, settings={"EQUITY_PRIORITY": str(tmp_path / "gone.txt")}
    )
    assert process.returncode == 0
    errors = [line for line in process.stderr.splitlines() if "Report not written" in line]
    assert len(errors) == 1 and "gone.txt does not exist" in errors[0]
    assert "Traceback" not in process.stderr
    assert not (run_dir / "report").exists()
    with CrawlStore(run_dir) as store:
        assert store.get_meta("complete") is True
        assert store.count("pages") > len(REPORT_PAGES)


# -- the next run of the same site -------------------------------------------------------------


def test_a_second_run_compares_itself_with_the_first(
    first_run: Path, server: TestServer, runs: Path
) -> None:
    # Between the runs the teas post is retired and a new post appears.
    saved = dict(server.routes)
    changed = report_site()
    changed.page(
        "/blog/",
        "Blog | Kettle & Co",
        '<a href="/blog/descaling">How to descale</a> <a href="/blog/new">New kettles</a>',
        nav=(("/shop/", "Shop"), ("/blog/", "Blog")),
        footer=(("/about", "About us"), ("/contact", "Contact")),
        aside=(),
    )
    changed.page("/blog/new", "New kettles | Kettle & Co", "<p>Spring models.</p>", aside=())
    changed.html("/blog/teas", "<h1>Gone</h1>", status=410)
    server.routes = changed.build()
    try:
        second = runs / SECOND
        process = run_crawl(server.url("/"), second)
        assert process.returncode == 0, process.stderr[-3000:]
    finally:
        server.routes = saved
    page = lxml_html.fromstring((second / "report" / "index.html").read_bytes())
    (section,) = page.xpath('//section[@id="comparison"]')
    text = section.text_content()
    assert FIRST in text
    gained = section.xpath('.//h3[starts-with(normalize-space(.), "Pages gained")]'
                           "/following-sibling::ul[1]//a/text()")  # fmt: skip
    lost = section.xpath('.//h3[starts-with(normalize-space(.), "Pages lost")]'
                         "/following-sibling::ul[1]//a/text()")  # fmt: skip
    assert gained == ["/blog/new"] and lost == ["/blog/teas"]
    assert section.xpath('.//*[@id="findings-not-compared"]')
    before = summary_of(first_run / "report")["headline"]
    cells = section.xpath('.//table[@id="headline-delta-table"]/tbody/tr[4]/td/text()')
    assert cells[:3] == ["Pages crawled", str(before["pages_crawled"]), str(len(REPORT_PAGES))]
