"""The store pipeline built from a crawler, writing real items to a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from linkspider import signals as linkspider_signals
from linkspider.items import ErrorItem, Link, PageItem, RedirectItem
from linkspider.spiders.site import SiteSpider
from pipelines.store import CrawlStorePipeline, StoreConfig
from pipelines.storedb import EDGE_FLAG_FOLLOWED, EDGE_FLAG_INTERNAL, CrawlStore, unpack_edges

BASE = "https://shop.example"


def link(path: str | None, position: str = "content", **kwargs: Any) -> Link:
    url = None if path is None else (path if "://" in path else BASE + path)
    fields = {"href": path or "mailto:x@y.z", "anchor": "a", "rel": [], "followed": True}
    fields["internal"] = bool(url and url.startswith(BASE))
    fields.update(kwargs)
    return Link(url=url, position=position, **fields)


def build(tmp_path: Path, **settings: Any) -> tuple[SiteSpider, CrawlStorePipeline]:
    crawler = get_crawler(SiteSpider, settings)
    spider = SiteSpider.from_crawler(crawler, url=f"{BASE}/", run_dir=str(tmp_path / "run"))
    crawler.spider = spider
    pipeline = CrawlStorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    return spider, pipeline


def finish(spider: SiteSpider, pipeline: CrawlStorePipeline) -> None:
    # The items were not produced by the spider's callbacks: count them as answers.
    spider.state["answered"] += 1
    pipeline.close_spider()
    spider.closed("finished")


def test_items_become_rows_edges_and_metadata(tmp_path: Path) -> None:
    spider, pipeline = build(tmp_path)
    home = PageItem(
        url=f"{BASE}/",
        status=200,
        depth=0,
        title="Home",
        canonical=f"{BASE}/",
        links=[
            link("/a", "nav"),
            link("/b", rel=["nofollow"], followed=False),
            link("https://other.example/", "footer"),
            link(None, kind="mailto", followed=False),
        ],
        signature=["home"],
        fetched_at=1.0,
    )
    for item in (
        home,
        PageItem(url=f"{BASE}/a", status=200, depth=1, links=[link("/old")]),
        RedirectItem(url=f"{BASE}/old", status=301, target=f"{BASE}/new", location="/new", depth=2),
        PageItem(url=f"{BASE}/new", status=200, depth=2, requested_url=f"{BASE}/old"),
        ErrorItem(url=f"{BASE}/cal/9", kind="trap", reason="calendar", pattern="/cal/#"),
    ):
        assert pipeline.process_item(item) is item
    spider.schedule_known_url("https://elsewhere.example/in", "backlink")  # out of scope: recorded
    finish(spider, pipeline)

    with CrawlStore(tmp_path / "run") as store:
        conn = store.conn
        ids = dict(conn.execute("SELECT url, id FROM urls"))
        dst, flags = unpack_edges(
            conn.execute("SELECT packed FROM edges WHERE src_id=?", (ids[f"{BASE}/"],)).fetchone()[
                0
            ]
        )
        assert dst.tolist() == [ids[f"{BASE}/a"], ids[f"{BASE}/b"], ids["https://other.example/"]]
        assert flags.tolist() == [
            1 | EDGE_FLAG_FOLLOWED | EDGE_FLAG_INTERNAL,  # nav
            0 | EDGE_FLAG_INTERNAL,
            3 | EDGE_FLAG_FOLLOWED,  # footer, external
        ]
        assert conn.execute("SELECT count(*) FROM links").fetchone()[0] == 5
        mailto = conn.execute("SELECT dst_id, kind, followed FROM links WHERE ord = 3").fetchone()
        assert mailto == (None, "mailto", 0)
        depths = dict(
            conn.execute("SELECT u.url, p.depth FROM pages p JOIN urls u ON u.id=p.url_id")
        )
        assert depths == {
            f"{BASE}/": 0, f"{BASE}/a": 1, f"{BASE}/old": 2, f"{BASE}/new": 2, f"{BASE}/cal/9": None
        }  # fmt: skip
        assert conn.execute("SELECT * FROM redirects").fetchall() == [
            (ids[f"{BASE}/old"], ids[f"{BASE}/new"], 301, "http", None)
        ]
        assert conn.execute("SELECT pattern FROM traps").fetchall() == [("/cal/#",)]
        assert conn.execute(
            "SELECT requested_id FROM pages WHERE url_id=?", (ids[f"{BASE}/new"],)
        ).fetchone() == (ids[f"{BASE}/old"],)
        assert conn.execute("SELECT url_id, source FROM known_urls").fetchall() == [
            (ids["https://elsewhere.example/in"], "backlink")
        ]
        meta = store.all_meta()
        assert (meta["finish_reason"], meta["complete"], meta["pages"], meta["links"]) == (
            "finished",
            True,
            5,
            5,
        )
        assert meta["pages_by_kind"] == {"html": 3, "redirect": 1, "trap": 1}
        assert meta["start_urls"] == [f"{BASE}/"]
        assert "links_by_dst" in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_meta_refreshes_are_written_as_hops_and_page_facts(tmp_path: Path) -> None:
    spider, pipeline = build(tmp_path)
    pipeline.process_item(
        RedirectItem(
            url=f"{BASE}/old",
            status=200,
            target=f"{BASE}/new",
            location="0; url=/new",
            depth=1,
            kind="meta_refresh",
            delay=0,
            content_type="text/html",
        )
    )
    pipeline.process_item(
        PageItem(
            url=f"{BASE}/moved",
            status=200,
            depth=1,
            links=[link("/a")],
            meta_refresh="5; url=/later",
            refresh_url=f"{BASE}/later",
            refresh_delay=5,
        )
    )
    pipeline.process_item(PageItem(url=f"{BASE}/reload", status=200, depth=1, meta_refresh="30"))
    finish(spider, pipeline)
    with CrawlStore(tmp_path / "run") as store:
        ids = store.intern([f"{BASE}/old", f"{BASE}/new", f"{BASE}/later"])
        assert store.conn.execute("SELECT * FROM redirects").fetchall() == [
            (ids[f"{BASE}/old"], ids[f"{BASE}/new"], 200, "meta_refresh", 0)
        ]
        rows = store.conn.execute(
            "SELECT u.url, p.kind, p.status, p.content_type, p.meta_refresh, p.refresh_id,"
            " p.refresh_delay, p.n_links FROM pages p JOIN urls u ON u.id = p.url_id"
            " ORDER BY p.url_id"
        ).fetchall()
        assert rows == [
            (f"{BASE}/old", "redirect", 200, "text/html", "0; url=/new", ids[f"{BASE}/new"], 0,
             None),
            (f"{BASE}/moved", "html", 200, None, "5; url=/later", ids[f"{BASE}/later"], 5, 1),
            (f"{BASE}/reload", "html", 200, None, "30", None, None, 0),
        ]  # fmt: skip


def test_a_store_from_before_meta_refreshes_gets_the_columns(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "crawl.sqlite")
    old.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE redirects (src_id INTEGER PRIMARY KEY, dst_id INTEGER,
                                status INTEGER NOT NULL);
        INSERT INTO redirects VALUES (1, 2, 301);
        CREATE TABLE pages (url_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, status INTEGER);
        """
    )
    old.commit()
    old.close()
    with CrawlStore(tmp_path) as reader:
        assert not reader.has_column("redirects", "kind")
    with CrawlStore(tmp_path, create=True) as store:  # a resumed crawl opens it so
        assert store.has_column("pages", "refresh_id")
        assert store.conn.execute("SELECT * FROM redirects").fetchall() == [
            (1, 2, 301, "http", None)
        ]


def test_batches_are_committed_as_they_fill(tmp_path: Path) -> None:
    spider, pipeline = build(tmp_path, LINKSTORE_BATCH_PAGES=2, LINKSTORE_BATCH_SECONDS=3600)
    reader = sqlite3.connect(tmp_path / "run" / "crawl.sqlite")
    pipeline.process_item(PageItem(url=f"{BASE}/1", status=200, depth=0))
    assert reader.execute("SELECT count(*) FROM pages").fetchone() == (0,)
    pipeline.process_item(PageItem(url=f"{BASE}/2", status=200, depth=0))
    assert reader.execute("SELECT count(*) FROM pages").fetchone() == (2,)
    reader.close()
    finish(spider, pipeline)


def test_a_page_written_again_replaces_its_links(tmp_path: Path) -> None:
    spider, pipeline = build(tmp_path)
    page = PageItem(url=f"{BASE}/", status=200, depth=0, links=[link("/a"), link("/b"), link("/c")])
    pipeline.process_item(page)
    pipeline.flush()
    page.links = [link("/z")]
    pipeline.process_item(page)
    finish(spider, pipeline)
    with CrawlStore(tmp_path / "run") as store:
        rows = store.conn.execute(
            "SELECT u.url FROM links l JOIN urls u ON u.id=l.dst_id"
        ).fetchall()
        assert rows == [(f"{BASE}/z",)]
        assert store.count("pages") == 1
        assert store.count("edges") == 1


def test_interrupted_run_is_marked_incomplete_and_resume_is_noted(tmp_path: Path) -> None:
    spider, pipeline = build(tmp_path)
    pipeline.process_item(PageItem(url=f"{BASE}/", status=200, depth=0))
    pipeline.close_spider()
    spider.closed("shutdown")
    with CrawlStore(tmp_path / "run") as store:
        assert (store.get_meta("finish_reason"), store.get_meta("complete")) == ("shutdown", False)
        assert store.get_meta("resumed_at") is None
    spider, pipeline = build(tmp_path)
    with CrawlStore(tmp_path / "run") as store:
        assert store.get_meta("complete") is False  # running again
        assert len(store.get_meta("resumed_at")) == 1
    finish(spider, pipeline)


def test_other_spiders_get_a_finish_reason_from_spider_closed(tmp_path: Path) -> None:
    spider, pipeline = build(tmp_path)
    pipeline.close_spider()
    pipeline._spider_closed(spider, "closespider_timeout")
    # A late crawl_finished does not write into the closed store.
    spider.crawler.signals.send_catch_log(
        linkspider_signals.crawl_finished, spider=spider, reason="x", facts={}
    )
    with CrawlStore(tmp_path / "run") as store:
        assert (store.get_meta("finish_reason"), store.get_meta("complete")) == (
            "closespider_timeout",
            False,
        )


def test_store_settings_are_checked() -> None:
    crawler = get_crawler(settings_dict={"LINKSTORE_BATCH_PAGES": 0})
    with pytest.raises(ValueError, match="LINKSTORE_BATCH_PAGES"):
        StoreConfig.from_settings(crawler.settings)


def test_changed_run_facts_are_written_with_the_next_batch_not_each_time(
    tmp_path: Path,
) -> None:
    """A list of old URLs that all redirect sends run_facts_changed once each;
    the facts (every start URL) are written once per batch, not once per signal."""
    spider, pipeline = build(tmp_path, LINKSTORE_BATCH_SECONDS=3600)
    assert pipeline.store is not None
    writes = []
    set_meta = pipeline.store.set_meta
    pipeline.store.set_meta = lambda key, value: (writes.append(key), set_meta(key, value))  # type: ignore[method-assign]
    spider.state["start_redirects"][f"{BASE}/"] = f"{BASE}/home"
    for _ in range(1000):
        spider.crawler.signals.send_catch_log(
            signal=linkspider_signals.run_facts_changed, spider=spider
        )
    assert "start_redirects" not in writes  # not yet
    pipeline.flush()
    assert writes.count("start_redirects") == 1
    assert pipeline.store.get_meta("start_redirects") == {f"{BASE}/": f"{BASE}/home"}
    spider.state["start_redirects"][f"{BASE}/old"] = f"{BASE}/new"
    spider.crawler.signals.send_catch_log(
        signal=linkspider_signals.run_facts_changed, spider=spider
    )
    finish(spider, pipeline)  # the last change is written when the run ends
    with CrawlStore(tmp_path / "run") as store:
        assert store.get_meta("start_redirects") == {
            f"{BASE}/": f"{BASE}/home",
            f"{BASE}/old": f"{BASE}/new",
        }
