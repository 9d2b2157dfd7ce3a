"""Politeness components built from a crawler: the response gate and the configs."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Headers
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from linkspider.extensions.gate import PAGE_META_KEY, STOPPED_META_KEY, ResponseGate, is_html_type
from linkspider.middlewares.backoff import BackoffConfig, BackoffMiddleware
from linkspider.middlewares.robots import RobotsConfig


def test_gate_stops_non_html_and_oversize_page_downloads() -> None:
    gate = ResponseGate.from_crawler(get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": 1000}))
    page = Request("https://s.example/f", meta={PAGE_META_KEY: True})
    with pytest.raises(StopDownload) as stopped:
        gate.headers_received(Headers({"Content-Type": "application/pdf"}), 10, page)
    assert stopped.value.fail is False
    assert page.meta[STOPPED_META_KEY] == "not_html"
    big = Request("https://s.example/big", meta={PAGE_META_KEY: True})
    with pytest.raises(StopDownload):
        gate.headers_received(Headers({"Content-Type": "text/html"}), 5000, big)
    assert big.meta[STOPPED_META_KEY] == "oversize"
    # Pages, robots.txt and sitemaps, HEAD requests and unknown lengths pass.
    gate.headers_received(Headers({"Content-Type": "text/html; charset=utf-8"}), 500, page)
    gate.headers_received(
        Headers({"Content-Type": "text/plain"}), 10, Request("https://s.example/robots.txt")
    )
    head = Request("https://s.example/f.pdf", method="HEAD", meta={PAGE_META_KEY: True})
    gate.headers_received(Headers({"Content-Type": "application/pdf"}), 10, head)
    unknown = Request("https://s.example/u", meta={PAGE_META_KEY: True})
    gate.headers_received(Headers({"Content-Type": "text/html"}), object(), unknown)
    assert STOPPED_META_KEY not in unknown.meta


def test_html_types() -> None:
    assert is_html_type("text/html; charset=utf-8")
    assert is_html_type("application/xhtml+xml")
    assert is_html_type(None)
    assert not is_html_type("image/png")


def test_components_can_be_switched_off() -> None:
    with pytest.raises(NotConfigured):
        ResponseGate.from_crawler(get_crawler(settings_dict={"LINKSPIDER_SKIP_NON_HTML": False}))
    with pytest.raises(NotConfigured):
        BackoffMiddleware.from_crawler(
            get_crawler(settings_dict={"LINKSPIDER_BACKOFF_ENABLED": False})
        )


def test_configs_parse_and_check_settings() -> None:
    backoff = BackoffConfig.from_settings(
        Settings(
            {"LINKSPIDER_BACKOFF_HTTP_CODES": "429,503,509", "LINKSPIDER_BACKOFF_PAUSE": "2.5"}
        )
    )
    assert backoff.statuses == frozenset({429, 503, 509})
    assert backoff.pause == 2.5
    with pytest.raises(ValueError, match="LINKSPIDER_BACKOFF"):
        BackoffConfig.from_settings(Settings({"LINKSPIDER_BACKOFF_BASE": -1}))
    robots = RobotsConfig.from_settings(Settings({"LINKSPIDER_ROBOTS_RETRY_TIMES": 0}))
    assert (robots.retry_times, robots.retry_delay) == (0, 30.0)
    with pytest.raises(ValueError, match="LINKSPIDER_ROBOTS"):
        RobotsConfig.from_settings(Settings({"LINKSPIDER_ROBOTS_RETRY_DELAY": -1}))
