"""Priority pages of a run crawled with its own ``LINKSPIDER_TRACKING_PARAMS``.

The crawl drops ``ref`` (the default list keeps it) and keeps ``utm_source``
(the default list drops it: on this site it selects a collection). A priority
URL copied with ``?ref=newsletter`` names the kettle page the crawl stored,
and ``/teapots?utm_source=spring`` names the spring collection, not
``/teapots``: in the end-of-crawl report and in ``scrapy report --priority``,
which normalise priority URLs with the list the run recorded.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.crawl import ROOT, StoreView, run_crawl
from tests.support.server import TestServer
from tests.support.site import SiteBuilder

HOME_LINKS = (
    '<a href="/kettle?ref=home">Our kettle</a> '
    '<a href="/teapots?utm_source=spring">Spring teapots</a> '
    '<a href="/teapots">All teapots</a>'
)


def shop() -> SiteBuilder:
    site = SiteBuilder()
    for path, title, content in (
        ("/", "Home", HOME_LINKS),
        ("/kettle", "Kettle", ""),
        ("/teapots", "Teapots", ""),
        ("/teapots?utm_source=spring", "Spring teapots", ""),
    ):
        site.page(path, title, content, nav=(("/", "Home"),), aside=(), footer=())
    return site


def summary_of(report: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (report / "data" / "summary.json").read_text(encoding="utf-8")
    )
    return document


def priority_flagged(report: Path) -> list[str]:
    with (report / "data" / "pages.csv").open(encoding="utf-8", newline="") as stream:
        return sorted(row["url"] for row in csv.DictReader(stream) if "priority" in row["flags"])


def test_priority_urls_are_normalised_with_the_runs_tracking_params(tmp_path: Path) -> None:
    with TestServer(shop().build()) as server:
        kettle, spring = server.url("/kettle"), server.url("/teapots?utm_source=spring")
        priority = tmp_path / "money.txt"
        priority.write_text(
            f"{server.url('/kettle?ref=newsletter')}  # as shared in the newsletter\n{spring}\n",
            encoding="utf-8",
        )
        run_dir = tmp_path / "run"
        crawl = run_crawl(
            server.url("/"),
            run_dir,
            args={"sitemaps": "off", "priority": str(priority)},
            settings={"LINKSPIDER_TRACKING_PARAMS": "ref"},
        )
        assert crawl.returncode == 0, crawl.stderr[-3000:]
        assert server.requests_for("/kettle?ref=home") == []  # dropped before the request

    view = StoreView(run_dir / "crawl.sqlite", server.base)
    try:
        assert view.meta()["tracking_params"] == ["ref"]
        assert {"/kettle", "/teapots", "/teapots?utm_source=spring"} <= set(view.pages())
    finally:
        view.close()

    expected = sorted([kettle, spring])
    crawled = summary_of(run_dir / "report")
    assert crawled["headline"]["priority_guessed"] is False
    assert crawled["headline"]["priority_pages"] == 2
    assert sorted(p["url"] for p in crawled["priority_pages"]) == expected
    assert priority_flagged(run_dir / "report") == expected

    out = tmp_path / "again"
    # No -s LINKSPIDER_TRACKING_PARAMS here: the list the run recorded is used.
    command = [sys.executable, "-m", "scrapy", "report", str(run_dir)]
    again = subprocess.run(
        [*command, "--priority", str(priority), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "reaches the 2 priority page(s)" in again.stdout
    summary = summary_of(out)
    assert summary["headline"]["priority_pages"] == 2
    assert sorted(p["url"] for p in summary["priority_pages"]) == expected
    assert summary["priority_source"] == "money.txt (2 entries)"
    assert priority_flagged(out) == expected
