"""The ``ReportExtension``: built from the settings, writing the report on ``spider_closed``.

The extension is built with ``get_crawler`` and its ``spider_closed`` signal is
sent through the crawler's real signal manager, on a run folder holding a
store built with ``tests/support/storebuilder.py``. The real end-of-crawl case
(``scrapy crawl`` and ``scrapy demo``) is in tests/integration.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider, signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from linkspider.extensions.report import ReportExtension
from tests.support.storebuilder import Link, StoreBuilder


class RunSpider(Spider):
    name = "run"

    def __init__(self, run_dir: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_dir = run_dir


def small_run(run_dir: Path) -> Path:
    site = StoreBuilder()
    site.page("/", Link("/a", anchor="A"), Link("/b", "footer", anchor="B"), title="Home")
    site.page("/a", Link("/", "breadcrumb", anchor="Home"), title="A")
    site.page("/b", Link("/a", anchor="A"), title="B")
    site.meta(complete=True, finish_reason="finished", started_at="2026-03-21T10:00:00+00:00",
              finished_at="2026-03-21T10:01:00+00:00")  # fmt: skip
    site.build(run_dir)
    return run_dir


def close(settings: dict[str, Any], spider: Spider) -> ReportExtension:
    crawler = get_crawler(type(spider), settings)
    extension = ReportExtension.from_crawler(crawler)
    crawler.signals.send_catch_log(signals.spider_closed, spider=spider, reason="finished")
    return extension


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        ({"REPORT_ENABLED": False}, "REPORT_ENABLED is off"),
        ({"REPORT_TOP_PAGES": "lots"}, "REPORT_TOP_PAGES must be a whole number"),
        ({"EQUITY_DAMPING": 2}, "EQUITY_DAMPING must be in (0, 1)"),
    ],
)
def test_not_configured(settings: dict[str, Any], why: str) -> None:
    with pytest.raises(NotConfigured) as caught:
        ReportExtension.from_crawler(get_crawler(Spider, settings))
    assert why in str(caught.value)


def test_writes_the_report_when_the_spider_closes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = small_run(tmp_path / "run")
    with caplog.at_level(logging.INFO, logger="linkspider.extensions.report"):
        close({"REPORT_TOP_PAGES": 2, "EQUITY_DAMPING": "0.7"}, RunSpider(run_dir))
    html = run_dir / "report" / "index.html"
    assert html.is_file()
    summary = json.loads((run_dir / "report" / "data" / "summary.json").read_text())
    assert summary["model"]["damping"] == 0.7  # the crawl's settings reach the model
    assert html.read_text().count('data-flags="') == 2  # REPORT_TOP_PAGES rows
    (record,) = [r for r in caplog.records if r.getMessage().startswith("Report: ")]
    assert str(html) in record.getMessage()


def test_report_dir_setting(tmp_path: Path) -> None:
    run_dir = small_run(tmp_path / "run")
    close({"REPORT_DIR": "audit"}, RunSpider(run_dir))
    assert (run_dir / "audit" / "index.html").is_file()
    assert not (run_dir / "report").exists()


def test_a_spider_without_a_run_folder_is_left_alone(tmp_path: Path) -> None:
    close({}, Spider(name="plain"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        ("nothing", "Report not written: no crawl store in"),
        ("no_pages", "Report not written: the crawl has no page that answered 200 with HTML"),
        ("bad_priority", "Report not written: priority file"),
    ],
)
def test_a_failure_is_one_error_line_and_the_run_stays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, prepare: str, expected: str
) -> None:
    run_dir = tmp_path / "run"
    settings: dict[str, Any] = {}
    if prepare == "no_pages":
        StoreBuilder().error("/", 503).build(run_dir)
    elif prepare == "bad_priority":
        small_run(run_dir)
        settings["EQUITY_PRIORITY"] = str(tmp_path / "missing.txt")
    else:
        run_dir.mkdir()
    before = sorted(p.name for p in run_dir.iterdir())
    with caplog.at_level(logging.INFO):
        close(settings, RunSpider(run_dir))
    # (Scrapy's own CoreStats also hears this hand-sent signal, and complains: not ours.)
    problems = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == "linkspider.extensions.report"
    ]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert problems[0].getMessage().startswith(expected)
    assert problems[0].exc_info is None  # one line, no traceback
    assert sorted(p.name for p in run_dir.iterdir()) == before
