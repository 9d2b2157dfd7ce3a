"""The report's settings: defaults, parsing from Scrapy settings, clear errors."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings

from reports.report_config import ReportConfig, ReportConfigError


def test_defaults() -> None:
    config = ReportConfig.from_settings(Settings())
    assert config == ReportConfig()
    assert config.enabled and config.dirname == "report" and config.top_pages == 500


def test_parses_scrapy_settings_and_command_line_strings() -> None:
    config = ReportConfig.from_settings(
        Settings(
            {
                "REPORT_ENABLED": "false",
                "REPORT_TOP_PAGES": "2000",
                "REPORT_FINDING_PAGES": 0,
                "REPORT_SANKEY_NODES": 6,
                "REPORT_DIR": "html",
            }
        )
    )
    assert not config.enabled
    assert config.top_pages == 2000 and config.finding_pages == 0
    assert config.sankey_nodes == 6 and config.dirname == "html"
    assert ReportConfig.from_settings({"REPORT_ENABLED": "1"}).enabled


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REPORT_TOP_PAGES", "lots", "REPORT_TOP_PAGES must be a whole number, got 'lots'"),
        ("REPORT_TOP_PAGES", -1, "REPORT_TOP_PAGES must be a whole number >= 0, got -1"),
        ("REPORT_SANKEY_NODES", 1, "REPORT_SANKEY_NODES must be a whole number >= 2, got 1"),
        ("REPORT_ENABLED", "maybe", "REPORT_ENABLED must be true or false, got 'maybe'"),
        ("REPORT_DIR", "../elsewhere", "REPORT_DIR must be a plain folder name"),
        ("REPORT_TOP_ROWS", True, "REPORT_TOP_ROWS must be a whole number >= 0, got True"),
    ],
)
def test_bad_values_are_named(name: str, value: object, message: str) -> None:
    with pytest.raises(ReportConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ReportConfig.from_settings({name: value})
