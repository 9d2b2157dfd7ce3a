"""Benchmark the report's writing side on a large synthetic run.

Builds a crawl store of ``--pages`` pages, ``--links`` links and
``--backlinks`` backlinks, then times (with the peak RSS of each step):

* ``links.csv`` and ``backlinks.csv`` streamed from the store;
* rendering the HTML for a view at every default limit of the report
  (the largest page the report can produce for such a site) and its size;
* Chromium loading that page from disk (if Chromium is installed).

The equity model and the gap analysis are not part of this figure yet (they
join in ``scrapy report``'s end-to-end benchmark). Prints figures; asserts nothing.

    python bench/report.py [--pages 100000] [--links 3000000] [--backlinks 100000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.storedb import CrawlStore  # noqa: E402
from reports.exports import write_backlinks_csv, write_links_csv  # noqa: E402
from reports.render import render  # noqa: E402
from reports.report_config import ReportConfig  # noqa: E402
from reports.write import write_html  # noqa: E402
from tests.support.report_fixture import large_view  # noqa: E402

SITE = "https://www.bench-shop.example"


def peak_rss_reset() -> None:
    """Reset the kernel's peak-RSS mark, so each step reports its own peak."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def step(name: str, action: Callable[[], Any]) -> Any:
    peak_rss_reset()
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    shown = (
        result if isinstance(result, int) or (isinstance(result, str) and len(result) < 100) else ""
    )
    print(f"{name:<34} {elapsed:8.2f} s   peak RSS {peak_rss_mb():7.0f} MB   {shown}")
    return result


def build_store(path: Path, pages: int, links: int, backlinks: int) -> None:
    rng = random.Random(7)
    with CrawlStore(path, create=True) as store:
        store.begin()
        store.conn.executemany(
            "INSERT INTO urls (id, url) VALUES (?, ?)",
            ((i + 1, f"{SITE}/section-{i % 300}/page-{i}") for i in range(pages)),
        )
        store.conn.executemany(
            "INSERT INTO pages (url_id, kind, status, title) VALUES (?, 'html', 200, ?)",
            ((i + 1, f"Page {i} | Bench Shop") for i in range(pages)),
        )
        per_page = links // pages

        def link_rows() -> Iterator[tuple[object, ...]]:
            for src in range(1, pages + 1):
                for ord_ in range(per_page):
                    dst = 1 + (ord_ if ord_ < 40 else rng.randrange(pages))  # nav, then content
                    yield (src, ord_, dst, f"/p/{dst}", f"Anchor text {dst}", 0, None, 1,
                           0 if ord_ >= 40 else 1, 1, "http")  # fmt: skip

        store.conn.executemany("INSERT INTO links VALUES (?,?,?,?,?,?,?,?,?,?,?)", link_rows())
        store.conn.executemany(
            "INSERT INTO backlinks (source_url, source_host, source_domain, target_id, anchor,"
            " followed, metric_name, metric_value, authority, vendors, origins)"
            " VALUES (?,?,?,?,?,?,'DR',?,?,?,?)",
            (
                (f"https://ref-{i % 9000}.example/post-{i}", f"ref-{i % 9000}.example",
                 f"ref-{i % 9000}.example", 1 + rng.randrange(pages), "bench shop", i % 5 != 0,
                 50.0, 0.5, '["ahrefs", "semrush"]', f'[["ahrefs.csv", {i + 2}]]')
                for i in range(backlinks)
            ),
        )  # fmt: skip
        store.commit()
        store.finalise()


def chromium_load(html: Path) -> str:
    chromium = shutil.which("chromium")
    if chromium is None:
        return "no Chromium installed"
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(html.as_uri(), wait_until="load")
        timing = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
        browser.close()
    return (
        f"DOMContentLoaded {timing['domContentLoadedEventEnd']:.0f} ms, "
        f"load {timing['loadEventEnd']:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--links", type=int, default=3_000_000)
    parser.add_argument("--backlinks", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="linkspider-bench-") as tmp:
        run = Path(tmp) / "run"
        print(
            f"report bench: {args.pages:,} pages, {args.links:,} links,"
            f" {args.backlinks:,} backlinks"
        )
        step(
            "build synthetic store (setup)",
            lambda: build_store(run, args.pages, args.links, args.backlinks),
        )
        data = run / "report" / "data"
        with CrawlStore(run) as store:
            rows = step(
                "links.csv from the store", lambda: write_links_csv(store, data / "links.csv")
            )
            print(f"{'':<34} {rows:,} rows, {(data / 'links.csv').stat().st_size / 1e6:,.0f} MB")
            step(
                "backlinks.csv from the store",
                lambda: write_backlinks_csv(store, data / "backlinks.csv"),
            )
        config = ReportConfig()
        view = step(
            "build largest view (fixture)", lambda: large_view(config, total_pages=args.pages)
        )
        html: str = step("render HTML", lambda: render(view))
        path = write_html(run / "report", html)
        print(f"{'HTML size':<34} {len(html.encode()) / 1e6:8.2f} MB")
        step("Chromium loads it from disk", lambda: chromium_load(path))


if __name__ == "__main__":
    main()
