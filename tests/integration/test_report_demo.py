"""``scrapy demo`` ends with the demo shop's report, written by the ReportExtension."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.crawl import ROOT


def test_the_demo_run_has_its_report(tmp_path: Path) -> None:
    run_dir = tmp_path / "demo-run"
    process = subprocess.run(
        [sys.executable, "-m", "scrapy", "demo", "--run-dir", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    html = run_dir / "report" / "index.html"
    assert f"Report: {html}" in process.stdout.splitlines()
    assert "Report not written" not in process.stderr
    summary = json.loads((run_dir / "report" / "data" / "summary.json").read_text("utf-8"))
    assert summary["crawl"]["complete"] is True
    assert summary["headline"]["pages_crawled"] >= 55
    # The demo has no priority list: the report guesses one, and says so.
    assert summary["headline"]["priority_guessed"] is True
    budget = summary["budget"]
    assert budget["held_share"] + sum(budget["leaks"].values()) == pytest.approx(1.0, abs=1e-9)
    text = html.read_text("utf-8")
    assert "Priority pages were guessed" in text
    assert 'id="findings-not-computed"' in text
