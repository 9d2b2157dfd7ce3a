"""Benchmark ``scrapy report`` end to end on a large synthetic run (prints figures only).

Builds (not timed) a run folder whose crawl store looks like a real shop's
crawl: ``--pages`` pages (home, 20 categories, items), about ``--links`` links
in all (header, navigation, footer, breadcrumbs, related and popular items,
external links, 1 page in 10 linking an old URL that is a 404 or a redirect),
sitemap entries, ``--backlinks`` backlinks from power-law referring domains
reported by three tools (with their ``backlink_imports`` records). Then:

1. ``scrapy report RUN_DIR`` in a child process, as a user runs it: wall time,
   the child's peak RSS, the command's own per-step times, the HTML's size;
2. ``scrapy report RUN_DIR --weights uniform --out ...`` (a re-weighting);
3. Chromium loading the report from disk (if Chromium is installed);
4. for reference, rendering the largest HTML the default limits allow
   (``tests/support/report_fixture.large_view``) and Chromium loading it.

    python bench/report.py [--pages 100000] [--links 3000000] [--backlinks 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.backlinks.store import ensure_backlink_schema  # noqa: E402
from pipelines.storedb import (  # noqa: E402
    EDGE_FLAG_FOLLOWED,
    EDGE_FLAG_INTERNAL,
    POSITION_CODES,
    POSITIONS,
    CrawlStore,
)
from reports.render import render  # noqa: E402
from reports.report_config import ReportConfig  # noqa: E402
from reports.write import write_html  # noqa: E402
from tests.support.report_fixture import large_view  # noqa: E402

SITE = "https://www.bench-shop.example"
CATEGORIES = 20
FOOTER = 4  # /info/... pages linked from every footer
ANCHORS = [
    "kettles", "stovetop kettle", "best kettles 2026", "Bench Shop", "bench-shop.example",
    "this review", "red enamel kettle", "gooseneck kettle", "tea gear", "click here",
    "read more", "here", "our favourite shop", "induction kettles", "whistling kettle",
]  # fmt: skip


# -- the synthetic run ------------------------------------------------------------


SECTIONS = ("shop", "collections", "sale", "brands", "guides")


def page_url(i: int, first_item: int) -> str:
    """Home, ``/<section>/c<k>/`` categories, ``/info/`` pages, items under their category."""
    if i == 0:
        return SITE + "/"
    if i < first_item and i > CATEGORIES:
        return f"{SITE}/info/page-{i}"
    k = i if i <= CATEGORIES else i % CATEGORIES + 1
    category = f"{SITE}/{SECTIONS[k % len(SECTIONS)]}/c{k}/"
    return category if i <= CATEGORIES else f"{category}item-{i}"


def build_run(run: Path, pages: int, links: int, backlinks: int, seed: int = 7) -> dict[str, int]:
    """Write the synthetic run's store; returns its counts."""
    rng = np.random.default_rng(seed)
    n = pages
    first_item = 1 + CATEGORIES + FOOTER
    items = n - first_item
    per_page = max(24, links // n)
    n_missing, n_moved, n_external = max(20, n // 200), max(20, n // 200), max(100, n // 10)
    id_missing = n + 1  # page i has URL id i + 1
    id_moved = id_missing + n_missing
    id_external = id_moved + n_moved
    popularity = rng.permutation(items)

    # Per page: header (home), nav (10 categories), footer, breadcrumbs (home,
    # category), then content: related items, popular items, one external link,
    # and on one page in ten a link to an old URL (a 404 or a redirect).
    layout = [("header", 1), ("nav", 10), ("footer", FOOTER), ("breadcrumb", 2)]
    fixed = sum(count for _, count in layout)
    content = per_page - fixed
    src = np.arange(n)
    dst = np.empty((n, per_page), dtype=np.int64)
    position = np.empty((n, per_page), dtype=np.int64)
    column = 0
    for name, count in layout:
        position[:, column : column + count] = POSITION_CODES[name]
        column += count
    position[:, fixed:] = POSITION_CODES["content"]
    dst[:, 0] = 0
    dst[:, 1:11] = np.arange(1, 11)
    dst[:, 11 : 11 + FOOTER] = np.arange(1 + CATEGORIES, first_item)
    dst[:, 11 + FOOTER] = 0
    category = src % CATEGORIES
    dst[:, 12 + FOOTER] = 1 + category
    related = min(5, content - 2)
    step = rng.integers(1, max(2, items // CATEGORIES), size=(n, related))
    item_of = np.clip(src - first_item, 0, None)
    dst[:, fixed : fixed + related] = first_item + (item_of[:, None] + step * CATEGORIES) % items
    popular = content - related - 1
    ranks = np.minimum(rng.zipf(1.5, size=(n, popular)) - 1, items - 1)
    dst[:, fixed + related : per_page - 1] = first_item + popularity[ranks]
    dst[:, per_page - 1] = 0  # replaced below by an external URL
    url_id = dst + 1  # page index -> URL id
    url_id[:, per_page - 1] = id_external + rng.integers(0, n_external, size=n)
    old = rng.random(n) < 0.1
    url_id[old, per_page - 2] = np.where(
        rng.random(int(old.sum())) < 0.5,
        id_missing + rng.integers(0, n_missing, size=int(old.sum())),
        id_moved + rng.integers(0, n_moved, size=int(old.sum())),
    )
    internal = url_id < id_external
    followed = np.ones_like(internal)
    followed[::50, per_page - 1] = False  # a nofollow external link on one page in 50
    flags = position | np.where(followed, EDGE_FLAG_FOLLOWED, 0)
    flags |= np.where(internal, EDGE_FLAG_INTERNAL, 0)
    packed = (url_id << 8) | flags

    with CrawlStore(run, create=True) as store:
        conn = store.conn
        conn.execute("PRAGMA synchronous=OFF")
        ensure_backlink_schema(store)  # DDL first: executescript commits
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO urls(id, url) VALUES (?, ?)",
            ((i + 1, page_url(i, first_item)) for i in range(n)),
        )
        conn.executemany(
            "INSERT INTO urls(id, url) VALUES (?, ?)",
            [(id_missing + j, f"{SITE}/old/missing-{j}") for j in range(n_missing)]
            + [(id_moved + j, f"{SITE}/old/moved-{j}") for j in range(n_moved)]
            + [(id_external + j, f"https://partner{j % 500}.example/p{j}")
               for j in range(n_external)],
        )  # fmt: skip
        depth = np.where(src == 0, 0, np.where(src < first_item, 1, 2))
        conn.executemany(
            "INSERT INTO pages(url_id, kind, status, depth, title, n_links, in_sitemap)"
            " VALUES (?, 'html', 200, ?, ?, ?, 1)",
            (
                (i + 1, int(depth[i]), f"Page {i} | Bench Shop", per_page)
                for i in range(n)
            ),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO pages(url_id, kind, status, depth, error) VALUES (?, 'error', 404, 3,"
            " 'HTTP 404')",
            ((id_missing + j,) for j in range(n_missing)),
        )
        conn.executemany(
            "INSERT INTO pages(url_id, kind, status, depth) VALUES (?, 'redirect', 301, 3)",
            ((id_moved + j,) for j in range(n_moved)),
        )
        conn.executemany(
            "INSERT INTO redirects(src_id, dst_id, status) VALUES (?, ?, 301)",
            ((id_moved + j, first_item + 1 + int(popularity[j % items])) for j in range(n_moved)),
        )
        conn.executemany(
            "INSERT INTO edges(src_id, packed) VALUES (?, ?)",
            ((i + 1, packed[i].astype("<i8").tobytes()) for i in range(n)),
        )

        def link_rows() -> Iterator[tuple[object, ...]]:
            for start in range(0, n, 2000):
                block = url_id[start : start + 2000].tolist()
                block_flags = flags[start : start + 2000].tolist()
                for offset, (targets, codes) in enumerate(zip(block, block_flags, strict=True)):
                    source = start + offset + 1
                    for order, (target, code) in enumerate(zip(targets, codes, strict=True)):
                        is_followed = 1 if code & EDGE_FLAG_FOLLOWED else 0
                        yield (
                            source, order, target, f"/p/{target}", f"Anchor text {target}", 0,
                            None if is_followed else "nofollow", is_followed, code & 7,
                            1 if code & EDGE_FLAG_INTERNAL else 0, "http",
                        )  # fmt: skip

        conn.executemany(
            "INSERT INTO links(src_id, ord, dst_id, href, anchor, is_image, rel, followed,"
            " position, internal, kind) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            link_rows(),
        )
        conn.executemany(
            "INSERT INTO known_urls(url_id, source) VALUES (?, 'sitemap')",
            ((i + 1,) for i in range(n)),
        )
        conn.execute("INSERT INTO known_urls(url_id, source) VALUES (1, 'start')")

        # Backlinks: power-law referring domains and targets, three tools.
        domains = max(200, backlinks // 11)
        domain = np.minimum(rng.zipf(1.3, size=backlinks) - 1, domains - 1)
        authority = rng.random(domains)
        top = rng.random(backlinks)
        target = np.where(
            top < 0.3,
            rng.integers(0, first_item, size=backlinks),
            first_item + popularity[np.minimum(rng.zipf(1.4, size=backlinks) - 1, items - 1)],
        ) + 1  # fmt: skip
        target[top > 0.98] = id_missing + rng.integers(0, n_missing, size=int((top > 0.98).sum()))
        tools = (('["ahrefs"]', "DR"), ('["semrush"]', "AS"), ('["ahrefs", "semrush"]', "DR"),
                 ('["gsc"]', None))  # fmt: skip
        conn.executemany(
            "INSERT OR IGNORE INTO backlinks(source_url, source_host, source_domain, target_id,"
            " anchor, followed, nofollow, lost, metric_name, metric_value, authority, vendors,"
            " origins) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    f"https://www.ref{domain[i]}.example/post-{i}", f"www.ref{domain[i]}.example",
                    f"ref{domain[i]}.example", int(target[i]), ANCHORS[i % len(ANCHORS)],
                    int(i % 20 != 0), int(i % 20 == 0), int(i % 33 == 0),
                    tools[i % 4][1], None if tools[i % 4][1] is None else
                    round(100 * float(authority[domain[i]])),
                    None if tools[i % 4][1] is None else float(authority[domain[i]]),
                    tools[i % 4][0], f'[["export.csv", {i + 2}]]',
                )
                for i in range(backlinks)
            ),
        )  # fmt: skip
        for vendor, fmt, label in (
            ("ahrefs", "ahrefs-backlinks", "Ahrefs backlinks (current format)"),
            ("semrush", "semrush-backlinks", "Semrush backlinks (current format)"),
            ("gsc", "gsc-linking-pages", "Google Search Console links"),
        ):
            rows = backlinks // 2 if vendor != "gsc" else backlinks // 4
            conn.execute(
                "INSERT INTO backlink_imports(imported_at, mode, file, format, vendor, variant,"
                " label, kind, encoding, delimiter, header_line, rows_read, kept, rejected, lost,"
                " nofollow, referring_domains, reject_counts, rejects, warnings)"
                " VALUES (?, 'add', ?, ?, ?, 'current', ?, 'links', 'utf-8', ',', 1, ?, ?, 0, 0,"
                " 0, 0, '{}', '[]', '[]')",
                (time.time(), f"/exports/{vendor}.csv", fmt, vendor, label, rows, rows),
            )
        total_links = int(conn.execute("SELECT count(*) FROM links").fetchone()[0])
        meta: dict[str, Any] = {
            "start_urls": [SITE + "/"],
            "site_host": "www.bench-shop.example",
            "started_at": "2026-03-21T08:00:00+00:00",
            "finished_at": "2026-03-21T10:30:00+00:00",
            "finish_reason": "finished",
            "complete": True,
            "caps_hit": [],
            "max_click_depth": 3,
            "pages": n + n_missing + n_moved,
            "links": total_links,
        }
        for key, value in meta.items():
            store.set_meta(key, value)
        conn.execute("COMMIT")
        store.finalise()
    return {"pages": n, "links": total_links, "backlinks": backlinks}


# -- measuring ------------------------------------------------------------------------


def children_peak_rss_mb() -> float:
    """Largest peak RSS of any finished child process so far (Linux: kilobytes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def scrapy_report(*args: str | Path) -> tuple[float, float, str]:
    """Run ``scrapy report`` as a user does: (wall seconds, child's peak RSS MB, stdout)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "report", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"scrapy report failed:\n{done.stderr}")
    return elapsed, children_peak_rss_mb(), done.stdout


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
    parser.add_argument("--keep", type=Path, help="build the run here and keep it")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
        f"python {sys.version.split()[0]}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="linkspider-bench-") as tmp:
        run = args.keep or Path(tmp) / "runs" / "bench" / "20260321T080000Z"
        if not (run / "crawl.sqlite").exists():
            clock = time.perf_counter()
            counts = build_run(run, args.pages, args.links, args.backlinks)
            print(
                f"built the run (not timed): {counts['pages']:,} pages, {counts['links']:,} "
                f"links, {counts['backlinks']:,} backlinks in {time.perf_counter() - clock:.0f} s",
                flush=True,
            )
        print(f"positions: {', '.join(POSITIONS)}; load before {os.getloadavg()[0]:.2f}")

        seconds, peak, stdout = scrapy_report(run)
        html = run / "report" / "index.html"
        print(f"scrapy report RUN_DIR: {seconds:.1f} s wall, child peak RSS {peak:.0f} MB")
        for line in stdout.splitlines():
            print("   " + line)
        print(f"   HTML {html.stat().st_size / 1e6:.2f} MB", flush=True)
        out = run.parent / "uniform"
        seconds, peak, stdout = scrapy_report(run, "--weights", "uniform", "--out", out)
        print(f"scrapy report --weights uniform --out DIR: {seconds:.1f} s wall, "
              f"child peak RSS so far {peak:.0f} MB")  # fmt: skip
        print("   " + stdout.strip().splitlines()[-1], flush=True)
        print(f"Chromium loads the report: {chromium_load(html)}", flush=True)
        summary = json.loads((run / "report" / "data" / "summary.json").read_text())
        print(
            f"   sections {summary['budget']['sections_total']}, priority entries "
            f"{summary['priority_pages_total']}, held {summary['budget']['held_share']:.3f}"
        )

        view = large_view(ReportConfig(), total_pages=args.pages)
        clock = time.perf_counter()
        largest = render(view)
        path = write_html(Path(tmp) / "largest", largest)
        print(
            f"largest HTML the defaults allow (fixture): rendered in "
            f"{time.perf_counter() - clock:.2f} s, {len(largest.encode()) / 1e6:.2f} MB; "
            f"Chromium: {chromium_load(path)}",
            flush=True,
        )
        print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
