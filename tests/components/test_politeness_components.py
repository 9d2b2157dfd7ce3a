"""Politeness components built from a crawler: the response gate and the configs."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Headers
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from linkspider.checked_settings import SettingError, checked
from linkspider.extensions.gate import PAGE_META_KEY, STOPPED_META_KEY, ResponseGate, is_html_type
from linkspider.extensions.throttle import ThrottleConfig
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


def test_checked_settings_name_the_setting_and_the_value() -> None:
    settings = checked(
        Settings(
            {
                "A_COUNT": "abc",
                "A_SMALL": "0",
                "A_DELAY": "soon",
                "A_FLAG": "maybe",
                "A_LIST": 5,
                "A_MAP": "promo:aside",
                "A_GOOD": "7",
            }
        )
    )
    assert checked(settings) is settings
    assert settings.getint("A_GOOD", minimum=1) == 7
    for call, message in [
        (lambda: settings.getint("A_COUNT"), "A_COUNT='abc' is not a whole number"),
        (lambda: settings.getint("A_SMALL", minimum=1), "A_SMALL=0 must be at least 1"),
        (lambda: settings.getfloat("A_DELAY"), "A_DELAY='soon' is not a number"),
        (lambda: settings.getfloat("A_SMALL", above=0), "A_SMALL=0 must be more than 0"),
        (lambda: settings.getbool("A_FLAG"), "A_FLAG='maybe' is not a boolean"),
        (lambda: settings.getlist("A_LIST"), "A_LIST=5 is not a list"),
        (lambda: settings.getdict("A_MAP"), "A_MAP='promo:aside' is not a JSON object"),
    ]:
        with pytest.raises(SettingError) as error:
            call()
        assert str(error.value).startswith(message)


def test_throttle_config_refuses_what_scrapy_would_ignore_or_crash_on() -> None:
    config = ThrottleConfig.from_settings(Settings({"AUTOTHROTTLE_START_DELAY": "2"}))
    assert (config.start_delay, config.target_concurrency) == (2.0, 1.0)
    with pytest.raises(SettingError, match="AUTOTHROTTLE_TARGET_CONCURRENCY=0 must be more"):
        ThrottleConfig.from_settings(Settings({"AUTOTHROTTLE_TARGET_CONCURRENCY": 0}))
    with pytest.raises(SettingError, match="DOWNLOAD_DELAY='x' is not a number"):
        ThrottleConfig.from_settings(Settings({"DOWNLOAD_DELAY": "x"}))
