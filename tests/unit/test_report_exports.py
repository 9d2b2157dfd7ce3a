"""The exports: formula-safe CSV, the store-backed links/backlinks files, JSON, write_report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.storedb import POSITION_CODES, CrawlStore
from reports.exports import (
    BACKLINKS_COLUMNS,
    FLOWS_COLUMNS,
    LINKS_COLUMNS,
    PAGES_COLUMNS,
    RECOMMENDATIONS_COLUMNS,
    FlowRow,
    SafeCsvWriter,
    neutralise,
    write_backlinks_csv,
    write_csv,
    write_findings_json,
    write_links_csv,
)
from reports.view import Fact, Finding, PageRef
from reports.write import ExportData, write_report
from tests.support.report_fixture import IMG, SCRIPT, fixture_view, u

SITE = "https://shop.example/"


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.reader(stream))


@pytest.mark.parametrize(
    ("cell", "out"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+2", "'+1+2"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("kettle = good", "kettle = good"),
        ("'=already quoted", "'=already quoted"),
        ("", ""),
        (-0.25, -0.25),
        (3, 3),
        (None, ""),
        (True, 1),
        (["noindex", "orphan"], "noindex|orphan"),
        (["=bad", "x"], "'=bad|x"),
    ],
)
def test_neutralise(cell: object, out: object) -> None:
    assert neutralise(cell) == out


def test_safe_csv_round_trips_awkward_text() -> None:
    stream = io.StringIO(newline="")
    writer = SafeCsvWriter(stream, ["anchor", "value"])
    writer.writerow(['a "quoted", comma\nand newline', -1.5])
    writer.writerow(["=cmd", 2])
    with pytest.raises(ValueError, match="3 cells, the header 2"):
        writer.writerow([1, 2, 3])
    rows = list(csv.reader(io.StringIO(stream.getvalue(), newline="")))
    assert rows == [["anchor", "value"], ['a "quoted", comma\nand newline', "-1.5"], ["'=cmd", "2"]]
    assert writer.rows == 2


def test_write_csv_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "data" / "pages.csv"
    assert write_csv(path, ["a"], [[1], [2]]) == 2

    def failing() -> Iterator[list[int]]:
        yield [3]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_csv(path, ["a"], failing())
    # The previous file is intact and no temporary file is left behind.
    assert _read_csv(path) == [["a"], ["1"], ["2"]]
    assert sorted(p.name for p in path.parent.iterdir()) == ["pages.csv"]


def _store(tmp_path: Path) -> CrawlStore:
    """A small real crawl store: three pages, their links (one hostile), backlinks."""
    store = CrawlStore(tmp_path, create=True)
    ids = store.intern(
        [SITE, SITE + "guide", SITE + "gone", "https://other.example/", SITE + "kettle"]
    )
    home, guide, gone, other, kettle = (
        ids[SITE],
        ids[SITE + "guide"],
        ids[SITE + "gone"],
        ids["https://other.example/"],
        ids[SITE + "kettle"],
    )
    store.begin()
    store.conn.executemany(
        "INSERT INTO pages (url_id, kind, status, title) VALUES (?, ?, ?, ?)",
        [(home, "html", 200, "Home"), (guide, "html", 200, "Guide"), (gone, "error", 404, None)],
    )
    links = [
        (home, 0, guide, "/guide", "Our guide", 0, None, 1, POSITION_CODES["nav"], 1, "http"),
        (home, 1, other, "https://other.example/", "=HYPERLINK(\"x\")", 0, "nofollow", 0,
         POSITION_CODES["footer"], 0, "http"),
        (guide, 0, gone, "/gone", "+read more", 0, None, 1, POSITION_CODES["content"], 1, "http"),
        (guide, 1, None, "mailto:a@shop.example", "mail us", 0, None, 1,
         POSITION_CODES["content"], 0, "mailto"),
    ]  # fmt: skip
    store.conn.executemany("INSERT INTO links VALUES (?,?,?,?,?,?,?,?,?,?,?)", links)
    store.conn.executemany(
        "INSERT INTO backlinks (source_url, source_host, source_domain, target_id, anchor,"
        " followed, metric_name, metric_value, authority, vendors, origins)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            ("https://blog.example/post", "blog.example", "blog.example", guide, "@guide", 1,
             "DR", 54.0, 0.54, '["ahrefs", "semrush"]', '[["ahrefs.csv", 2], ["semrush.csv", 7]]'),
            ("https://news.example/a", "news.example", "news.example", gone, "gone page", 0,
             None, None, None, '["gsc"]', '[["gsc.csv", 3]]'),
            ("https://x.example/", "x.example", "x.example", kettle, "", 1,
             None, None, None, '["gsc"]', '[["=cmd.csv", 9]]'),
        ],
    )  # fmt: skip
    store.commit()
    return store


def test_links_csv_streams_every_link_from_the_store(tmp_path: Path) -> None:
    with _store(tmp_path / "run") as store:
        assert write_links_csv(store, tmp_path / "links.csv") == 4
    rows = _read_csv(tmp_path / "links.csv")
    assert tuple(rows[0]) == LINKS_COLUMNS
    by_key = {(r[0], r[1]): dict(zip(LINKS_COLUMNS, r, strict=True)) for r in rows[1:]}
    nav = by_key[(SITE, "0")]
    assert nav["target"] == SITE + "guide" and nav["position"] == "nav"
    assert nav["target_status"] == "200" and nav["followed"] == "1"
    hostile = by_key[(SITE, "1")]
    assert hostile["anchor"] == '\'=HYPERLINK("x")' and hostile["rel"] == "nofollow"
    assert hostile["target_status"] == ""  # never crawled
    broken = by_key[(SITE + "guide", "0")]
    assert broken["target_status"] == "404" and broken["anchor"] == "'+read more"
    mail = by_key[(SITE + "guide", "1")]
    assert mail["target"] == "" and mail["kind"] == "mailto"
    # Pages in store order, links in page order.
    assert [(r[0], r[1]) for r in rows[1:]] == [
        (SITE, "0"),
        (SITE, "1"),
        (SITE + "guide", "0"),
        (SITE + "guide", "1"),
    ]


def test_backlinks_csv_flattens_lists_and_neutralises(tmp_path: Path) -> None:
    with _store(tmp_path / "run") as store:
        assert write_backlinks_csv(store, tmp_path / "backlinks.csv") == 3
    rows = _read_csv(tmp_path / "backlinks.csv")
    assert tuple(rows[0]) == BACKLINKS_COLUMNS
    records = [dict(zip(BACKLINKS_COLUMNS, r, strict=True)) for r in rows[1:]]
    first, lost, third = records
    assert first["target"] == SITE + "guide" and first["target_status"] == "200"
    assert first["anchor"] == "'@guide"
    assert first["vendors"] == "ahrefs|semrush"
    assert first["origins"] == "ahrefs.csv:2|semrush.csv:7"
    assert first["metric_name"] == "DR" and float(first["authority"]) == 0.54
    assert lost["target_status"] == "404" and lost["followed"] == "0"
    assert third["target_status"] == "" and third["origins"] == "'=cmd.csv:9"


def test_links_csv_streams_in_batches(tmp_path: Path) -> None:
    store = CrawlStore(tmp_path / "run", create=True)
    ids = store.intern([f"{SITE}p{i}" for i in range(30)])
    store.begin()
    store.conn.executemany(
        "INSERT INTO links VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            (ids[f"{SITE}p{i % 30}"], i, ids[f"{SITE}p{(i + 1) % 30}"], "x", "a", 0, None, 1, 0, 1,
             "http")
            for i in range(25_000)
        ),
    )  # fmt: skip
    store.commit()
    with store:
        assert write_links_csv(store, tmp_path / "links.csv") == 25_000
    with (tmp_path / "links.csv").open(encoding="utf-8", newline="") as stream:
        assert sum(1 for _ in csv.reader(stream)) == 25_001


def test_findings_json_round_trips_every_finding(tmp_path: Path) -> None:
    findings = [
        Finding(
            id=f"broken-{i}",
            kind="broken_link",
            severity="medium",
            title=f"{SCRIPT} {i}",
            evidence=[Fact("Linking pages", 31, "count"), Fact("Wasted", 0.0093, "share")],
            fix="Point the links at the live page.",
            pages=[PageRef(f"{SITE}p{j}", IMG, "anchor") for j in range(40)],
            pages_total=40,
            equity_at_stake=0.0093 if i else None,
        )
        for i in range(3)
    ]
    path = tmp_path / "findings.json"
    assert write_findings_json(path, iter(findings)) == 3
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["schema_version"] == 1
    assert len(document["findings"]) == 3
    first = document["findings"][0]
    assert first["title"] == f"{SCRIPT} 0" and first["equity_at_stake"] is None
    assert len(first["pages"]) == 40 and first["pages"][0] == {
        "url": SITE + "p0",
        "title": IMG,
        "note": "anchor",
    }
    assert first["evidence"][1] == {"label": "Wasted", "value": 0.0093, "unit": "share"}
    empty = tmp_path / "none.json"
    assert write_findings_json(empty, []) == 0
    assert json.loads(empty.read_text())["findings"] == []


def test_write_report_writes_the_page_and_every_export(tmp_path: Path) -> None:
    view = fixture_view()
    out = tmp_path / "report"
    with _store(tmp_path / "run") as store:
        files = write_report(
            view,
            out,
            store=store,
            data=ExportData(
                pages=[(row.url, row.equity, row.score, row.rank, row.depth, row.status,
                        row.inlinks, row.referring_domains, row.deposit, row.leaked, row.flags,
                        "html", row.title) for row in view.pages.rows],
                findings=[f for g in view.findings.groups for f in g.findings],
                links=view.recommendations.links,
                redirects=view.recommendations.redirects,
                flows=[FlowRow("deposit", "", "/blog/", 0.18),
                       FlowRow("leak", "/blog/", "external", 0.02)],
            ),
        )  # fmt: skip
    assert files.html == out / "index.html"
    assert files.html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert files.html_bytes == files.html.stat().st_size
    data = out / "data"
    assert sorted(p.name for p in data.iterdir()) == sorted(
        ["links.csv", "backlinks.csv", "pages.csv", "findings.json", "recommendations.csv",
         "flows.csv", "summary.json"]
    )  # fmt: skip
    assert files.exports["pages.csv"] == len(view.pages.rows)
    assert files.exports["recommendations.csv"] == 8 + 3
    assert tuple(_read_csv(data / "pages.csv")[0]) == PAGES_COLUMNS
    assert _read_csv(data / "pages.csv")[1][10] == "landing"
    recs = _read_csv(data / "recommendations.csv")
    assert tuple(recs[0]) == RECOMMENDATIONS_COLUMNS
    assert recs[1][:3] == ["link", "rec-1", u("/blog/best-teas-for-winter")]
    assert recs[-1][0] == "redirect" and recs[-1][11] == "410"
    flows = _read_csv(data / "flows.csv")
    assert tuple(flows[0]) == FLOWS_COLUMNS and flows[2] == ["leak", "/blog/", "external", "0.02"]
    summary = json.loads((data / "summary.json").read_text(encoding="utf-8"))
    assert summary["headline"]["priority_share"] == view.summary.priority_share
    assert summary["budget"]["leaks"]["external"] == view.budget.leaks[1].share
    assert len(summary["priority_pages"]) == 6
    # Every export the page links to exists.
    html = files.html.read_text(encoding="utf-8")
    for name in ("pages.csv", "links.csv", "backlinks.csv", "findings.json", "flows.csv"):
        assert f'href="data/{name}"' in html
        assert (data / name).is_file()
    assert not [p for p in out.rglob(".*.tmp")]
