"""``scrapy demo``: the README's first command, end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipelines.backlinks import lost_equity
from pipelines.storedb import CrawlStore
from tests.support.crawl import ROOT, StoreView


def test_demo_crawls_the_bundled_site_and_prints_the_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "demo-run"
    process = subprocess.run(
        [sys.executable, "-m", "scrapy", "demo", "--run-dir", str(run_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.strip().splitlines()[0] == f"Run folder: {run_dir}"
    store = StoreView(run_dir / "crawl.sqlite", "")
    meta = store.meta()
    base = meta["start_urls"][0].rstrip("/")
    store.base = base
    assert (meta["complete"], meta["finish_reason"]) == (True, "finished")
    pages = store.pages()
    kinds = {
        kind: sum(1 for r in pages.values() if r["kind"] == kind) for kind in ("html", "redirect")
    }
    assert kinds["html"] >= 55 and kinds["redirect"] >= 4
    assert pages["/guides/trail-etiquette"]["depth"] is None  # orphan, from the sitemap
    assert pages["/shop/tents/discontinued-dome"]["status"] == 410
    assert pages["/search?q=boots"]["kind"] == "blocked"
    assert "/careers/store-assistant" not in pages  # behind a nofollow page
    positions = {link[2] for link in store.links("/shop/boots/summit-pro")}
    assert positions == {"header", "nav", "breadcrumb", "content", "aside", "footer"}
    exports = sorted((run_dir / "inputs" / "backlinks").iterdir())
    assert [p.name for p in exports] == [
        "northwind-outfitters-Latest links-gsc.csv",
        "northwind-outfitters-backlinks-ahrefs.csv",
        "northwind-outfitters.example-backlinks-semrush.csv",
    ]
    ahrefs = exports[1].read_text("utf-8")
    assert f"{base}/shop/boots/summit-pro" in ahrefs
    assert "https://www.northwind-outfitters.example" not in ahrefs
    assert meta["backlink_files"] == [str(p) for p in exports]
    # The crawl imported them when it opened: merged backlinks tied to the crawl.
    imported = store.conn.execute("SELECT vendor, kept FROM backlink_imports ORDER BY vendor")
    assert [(vendor, kept > 0) for vendor, kept in imported] == [
        ("ahrefs", True),
        ("gsc", True),
        ("semrush", True),
    ]
    assert store.conn.execute("SELECT count(*) FROM backlinks").fetchone()[0] >= 30
    assert ("/shop/boots/summit-pro", "backlink") in store.known()
    store.close()
    with CrawlStore(run_dir) as crawl_store:
        lost = {
            e.resolution.target_url.removeprefix(base): e.redirect_to
            for e in lost_equity(crawl_store)
        }
    assert lost["/shop/tents/discontinued-dome"] == f"{base}/shop/tents/"
