"""The ``BacklinksImport`` extension: its settings, when it stays off, and a real crawl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from pipelines.backlinks.extension import BacklinksConfig, BacklinksImport
from pipelines.storedb import CrawlStore
from tests.support.crawl import run_crawl
from tests.support.server import Response, TestServer


def test_config_defaults() -> None:
    config = BacklinksConfig.from_settings(Settings())
    assert config == BacklinksConfig()
    assert config.enabled and config.schedule_targets and config.target is None


def test_config_parses_and_checks_values() -> None:
    config = BacklinksConfig.from_settings(
        Settings(
            {
                "BACKLINKS_TARGET": "https://www.example.com/landing",
                "BACKLINKS_COLUMNS": "source=Referrer,target=Page",
                "BACKLINKS_SCHEDULE_TARGETS": "False",
                "BACKLINKS_REJECT_DETAILS": "5",
                "BACKLINKS_WORKERS": "3",
                "LINKSPIDER_TRACKING_PARAMS": ["ref", "utm_*"],
            }
        )
    )
    assert config.columns == {"source": "Referrer", "target": "Page"}
    assert (config.schedule_targets, config.reject_details, config.workers) == (False, 5, 3)
    assert config.tracking_params == ("ref", "utm_*")
    as_dict = BacklinksConfig.from_settings(Settings({"BACKLINKS_COLUMNS": {"source": "From"}}))
    assert as_dict.columns == {"source": "From"}
    for bad, message in (
        ({"BACKLINKS_TARGET": "mailto:x@example.com"}, "is not an http"),
        ({"BACKLINKS_COLUMNS": "target=Page"}, "needs at least source"),
        ({"BACKLINKS_REJECT_DETAILS": -1}, "0 or more"),
        ({"BACKLINKS_WORKERS": -1}, "BACKLINKS_WORKERS must be 0"),
    ):
        with pytest.raises(ValueError, match=message):
            BacklinksConfig.from_settings(Settings(bad))


class NoFiles(Spider):
    name = "no-files"
    backlink_files: list[Path] = []  # noqa: RUF012 - the spider contract's attribute


@pytest.mark.parametrize(
    ("spider", "settings", "why"),
    [
        (None, {}, None),  # no spider contract: off, silently
        (NoFiles, {}, None),  # the usual crawl without exports: off, silently
        (NoFiles, {"BACKLINKS_ENABLED": False}, "BACKLINKS_ENABLED is off"),
        (NoFiles, {"BACKLINKS_TARGET": "ftp://x/"}, "BACKLINKS_TARGET"),
    ],
)
def test_not_configured(
    spider: type[Spider] | None, settings: dict[str, Any], why: str | None
) -> None:
    crawler = get_crawler(spider, settings)
    if spider is not None:
        crawler.spider = spider()
    with pytest.raises(NotConfigured) as caught:
        BacklinksImport.from_crawler(crawler)
    if why is None:
        assert caught.value.args == ()
    else:
        assert why in caught.value.args[0]


def test_built_from_the_crawler_when_the_spider_has_files(tmp_path: Path) -> None:
    class WithFiles(Spider):
        name = "with-files"
        backlink_files = [tmp_path / "a.csv"]  # noqa: RUF012

    crawler = get_crawler(WithFiles, {"BACKLINKS_TARGET": "https://www.example.com/"})
    crawler.spider = WithFiles()
    extension = BacklinksImport.from_crawler(crawler)
    assert extension.files == [tmp_path / "a.csv"]
    assert extension.config.target == "https://www.example.com/"


def crawl(server: TestServer, run_dir: Path, backlinks: Path, **settings: str) -> str:
    """A real ``scrapy crawl site`` with the project's settings (the extension is on)."""
    done = run_crawl(
        server.url("/"),
        run_dir,
        args={"backlinks": str(backlinks), "sitemaps": "off"},
        settings=settings,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def test_a_real_crawl_imports_at_open_with_the_settings(tmp_path: Path) -> None:
    export = tmp_path / "gsc.csv"
    export.write_text("Linking page\nhttps://a.example.org/\nhttps://b.example.net/x\n")
    routes = {"/": Response("<a href='/about'>About</a>"), "/about": Response("about")}
    with TestServer(routes) as server:
        log = crawl(
            server,
            tmp_path / "run",
            export,
            BACKLINKS_TARGET=server.url("/landing?utm_source=x"),
            BACKLINKS_SCHEDULE_TARGETS="False",
        )
        assert "/landing" not in server.paths()  # not scheduled
        assert sorted(server.paths()) == ["/", "/about", "/robots.txt"]
    assert f"target assumed: {server.url('/landing')}" in log
    assert "'backlinks/stored': 2" in log and "'backlinks/rows_kept': 2" in log
    with CrawlStore(tmp_path / "run") as store:
        rows = store.conn.execute(
            "SELECT b.source_url, u.url FROM backlinks b JOIN urls u ON u.id = b.target_id "
            "ORDER BY b.source_url"
        ).fetchall()
        known = store.conn.execute(
            "SELECT u.url FROM known_urls k JOIN urls u ON u.id = k.url_id "
            "WHERE k.source = 'backlink'"
        ).fetchall()
    assert rows == [
        ("https://a.example.org/", server.url("/landing")),
        ("https://b.example.net/x", server.url("/landing")),
    ]
    assert known == [(server.url("/landing"),)]
