"""The contract with the later steps: known URLs scheduled by an extension, and a
store that says how the run ended by the time extensions hear spider_closed."""

from __future__ import annotations

import json
from pathlib import Path

from linkspider import settings as project_settings
from tests.support.crawl import StoreView, run_crawl
from tests.support.server import TestServer
from tests.support.site import SiteBuilder


def test_backlink_targets_are_recorded_and_crawled(tmp_path: Path) -> None:
    site = SiteBuilder().robots("User-agent: *\nDisallow: /private/\n")
    site.page("/", "Home", '<a href="/a">A</a>', nav=(), aside=(), footer=())
    site.page("/a", "A", nav=(), aside=(), footer=())
    site.page("/landing", "Landing page", '<a href="/a">A</a>', nav=(), aside=(), footer=())
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "ahrefs.csv").write_text("x\n", "utf-8")
    (exports / "semrush.csv").write_text("x\n", "utf-8")
    priority = tmp_path / "priority.txt"
    priority.write_text("/landing\n", "utf-8")
    probe = tmp_path / "probe.json"
    with TestServer(site.build()) as server:
        urls = [
            server.url("/landing?utm_source=ahrefs"),
            server.url("/a"),
            "https://elsewhere.example/page",
            server.url("/private/x"),
            "not a url",
        ]
        process = run_crawl(
            server.url("/"),
            tmp_path / "run",
            args={"sitemaps": "off", "backlinks": str(exports), "priority": str(priority)},
            settings={
                "EXTENSIONS": json.dumps(
                    {**project_settings.EXTENSIONS, "tests.support.probe.KnownUrlsProbe": 500}
                ),
                "PROBE_OUTPUT": str(probe),
                "PROBE_URLS": ",".join(urls),
                # The exports are placeholders and the probe stands in for the
                # importer (test_backlinks_e2e runs the real one).
                "BACKLINKS_ENABLED": "False",
            },
        )
    assert process.returncode == 0, process.stderr[-2000:]
    seen = json.loads(probe.read_text("utf-8"))
    assert seen["scheduled"] == {
        urls[0]: True,
        urls[1]: True,  # already scheduled by then: still True
        urls[2]: False,  # out of scope
        urls[3]: True,  # in scope; robots.txt decides when it is requested
        urls[4]: False,
    }
    assert seen["backlink_files"] == [str(exports / "ahrefs.csv"), str(exports / "semrush.csv")]
    assert seen["priority_file"] == str(priority)
    assert seen["run_dir"] == str(tmp_path / "run")
    # The store was finished before extensions heard spider_closed.
    assert seen["at_close"] == {
        "finish_reason": "finished",
        "complete": True,
        "pages": 4,
        "depth_written": 2,
    }
    store = StoreView(tmp_path / "run" / "crawl.sqlite", server.base)
    assert store.known() == {
        ("/", "start"),
        ("/landing", "backlink"),
        ("/a", "backlink"),
        ("https://elsewhere.example/page", "backlink"),
        ("/private/x", "backlink"),
    }
    pages = store.pages()
    assert (pages["/landing"]["kind"], pages["/landing"]["depth"]) == ("html", None)
    assert pages["/private/x"]["kind"] == "blocked"
    assert "/private/x" not in server.paths()
    meta = store.meta()
    assert meta["backlink_files"] == seen["backlink_files"]
    assert meta["priority_file"] == str(priority)
    store.close()
