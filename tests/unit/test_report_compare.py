"""Comparing a run with the previous run of the same site, from the previous run's exports."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from reports.compare import (
    ReportDataError,
    compare_runs,
    find_previous_report,
    live_urls_from_pages_csv,
    load_previous,
)
from reports.view import FindingRef, ReportView
from reports.write import ExportData, write_report
from tests.support.report_fixture import fixture_view, u


def _pages_rows(urls: list[str], *, dead: tuple[str, ...] = ()) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for i, url in enumerate(urls):
        kind, status = ("error", 404) if url in dead else ("html", 200)
        rows.append((url, 0.001, 10.0, i + 1, 1, status, 3, 0, 0.0, 0.0, [], kind, "T"))
    return rows


def _write_previous(
    run_dir: Path, view: ReportView, live: list[str], dead: tuple[str, ...]
) -> Path:
    out = run_dir / "report"
    findings = [f for g in view.findings.groups for f in g.findings]
    write_report(
        view,
        out,
        data=ExportData(pages=_pages_rows(live + list(dead), dead=dead), findings=findings),
    )
    return out


def test_compare_with_the_previous_run(tmp_path: Path) -> None:
    current = fixture_view()
    site_runs = tmp_path / "runs" / "www.kettle-and-co.example"
    previous_view = replace(
        current,
        run=replace(current.run, run_id="2025-04-01T030000"),
        summary=replace(current.summary, priority_share=0.05, leaked_share=0.2, pages_crawled=4),
        # The previous run had one priority page fewer, at a different equity.
        priority=replace(
            current.priority,
            pages=[
                replace(p, equity=p.equity / 2, rank=p.rank + 10)
                for p in current.priority.pages[1:]
            ],
        ),
    )
    before_live = [u("/"), u("/a"), u("/b"), u("/old")]
    previous_report = _write_previous(
        site_runs / "2025-04-01T030000", previous_view, before_live, dead=(u("/dead"),)
    )
    # The previous run knew one finding this run no longer has; this run has a new one.
    findings_path = previous_report / "data" / "findings.json"
    document = json.loads(findings_path.read_text())
    document["findings"].append(dict(document["findings"][0], id="fixed-1", title="Gone now"))
    findings_path.write_text(json.dumps(document))
    current_findings = [
        FindingRef(f.id, f.title, f.severity) for g in current.findings.groups for f in g.findings
    ] + [FindingRef("new-1", "Brand new", "high")]

    run_dir = site_runs / "2025-05-01T030000"
    run_dir.mkdir()
    found = find_previous_report(run_dir, site=current.run.site)
    assert found == previous_report.resolve()
    previous = load_previous(found)
    assert previous.run_id == "2025-04-01T030000" and previous.pages_crawled == 4

    now_live = [u("/"), u("/a"), u("/b"), u("/new"), u("/dead")]
    comparison = compare_runs(
        previous,
        summary=current.summary,
        priority=current.priority.pages,
        findings=current_findings,
        current_live_urls=lambda: iter(now_live),
        previous_live_urls=lambda: live_urls_from_pages_csv(previous_report / "data" / "pages.csv"),
    )
    assert comparison.previous_run == "2025-04-01T030000"
    assert comparison.priority_share == (0.05, current.summary.priority_share)
    assert comparison.leaked_share == (0.2, current.summary.leaked_share)
    assert comparison.pages == (4, current.summary.pages_crawled)
    assert [f.id for f in comparison.fixed] == ["fixed-1"]
    assert [f.id for f in comparison.new] == ["new-1"] and comparison.new_total == 1
    first, second = comparison.priority[:2]
    assert first.before is None and first.after == current.priority.pages[0].equity
    assert second.before == pytest.approx(current.priority.pages[1].equity / 2)
    assert second.rank_before == current.priority.pages[1].rank + 10
    # /dead was an error before and is live now: gained. /old is gone: lost.
    assert sorted(comparison.pages_gained) == [u("/dead"), u("/new")]
    assert comparison.pages_gained_total == 2
    assert comparison.pages_lost == [u("/old")] and comparison.pages_lost_total == 1


def test_sample_lists_are_capped_but_totals_are_not(tmp_path: Path) -> None:
    view = fixture_view()
    report = _write_previous(tmp_path / "r1", view, [u("/")], dead=())
    comparison = compare_runs(
        load_previous(report),
        summary=view.summary,
        priority=[],
        findings=[FindingRef(f"n{i}", "x", "low") for i in range(30)],
        current_live_urls=lambda: (u(f"/p{i}") for i in range(1000)),
        previous_live_urls=lambda: live_urls_from_pages_csv(report / "data" / "pages.csv"),
        limit=5,
    )
    assert len(comparison.pages_gained) == 5 and comparison.pages_gained_total == 1000
    assert comparison.pages_lost == [u("/")]
    assert len(comparison.new) == 5 and comparison.new_total == 30
    # Previous priority pages absent now are kept, marked as gone.
    assert all(d.after is None for d in comparison.priority)
    assert len(comparison.priority) == len(view.priority.pages)


def test_first_run_has_no_previous(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "site" / "2025-05-01T030000"
    run_dir.mkdir(parents=True)
    assert find_previous_report(run_dir, site="https://site.example/") is None
    # An earlier run of another site, or one without a report, is not a previous run.
    other = tmp_path / "runs" / "site" / "2025-04-01T030000"
    _write_previous(other, fixture_view(), [u("/")], dead=())
    assert find_previous_report(run_dir, site="https://site.example/") is None
    (tmp_path / "runs" / "site" / "2025-03-01T030000").mkdir()
    assert (
        find_previous_report(run_dir, site=fixture_view().run.site) == (other / "report").resolve()
    )


def test_unreadable_previous_exports_name_the_file(tmp_path: Path) -> None:
    report = tmp_path / "report"
    with pytest.raises(ReportDataError, match=r"summary\.json: missing"):
        load_previous(report)
    data = report / "data"
    data.mkdir(parents=True)
    (data / "summary.json").write_text("{not json")
    with pytest.raises(ReportDataError, match=r"summary\.json: not valid JSON"):
        load_previous(report)
    (data / "summary.json").write_text(json.dumps({"site": "x", "run_id": "y"}))
    with pytest.raises(
        ReportDataError, match=r"summary\.json: missing or invalid field 'headline'"
    ):
        load_previous(report)
    (data / "pages.csv").write_text("url,equity\nhttps://a.example/,0.1\n")
    with pytest.raises(ReportDataError, match=r"pages\.csv: no column kind, status"):
        list(live_urls_from_pages_csv(data / "pages.csv"))
