#!/usr/bin/env python3
"""Click-depth benchmark: ``pipelines.clickdepth.write_click_depths`` on a large store.

    python bench/clickdepth.py [--pages 1000000] [--links 30] [--seed 7]

Builds (once, cached in ``bench/.cache``, in a child process so its memory
does not count) a crawl store with ``--pages`` HTML pages of ``--links`` packed
edges each: a shop's template (home, 10 categories in the navigation, 4 footer
pages), a breadcrumb to the page's category, then content links: half to
items near it, a quarter to random items, the rest to power-law popular
items; one link in 20 is nofollow, one page in 100 links a redirect whose
target is a page. Most pages are a few clicks deep, so one breadth-first
level reads most of the links: the case that costs memory. Only what the click depth reads is
written: ``urls``, ``pages``, ``edges``, ``redirects``, ``known_urls``.

Then computes the click depths from the home page in this process (with the
store pipeline's 16 MiB SQLite page cache) and prints
the wall time, the process's peak RSS and the peak RSS above the baseline
(the interpreter, numpy and an open store), with the number of pages per
level. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.clickdepth import write_click_depths  # noqa: E402
from pipelines.storedb import (  # noqa: E402
    EDGE_FLAG_FOLLOWED,
    EDGE_FLAG_INTERNAL,
    POSITION_CODES,
    CrawlStore,
)

CACHE = ROOT / "bench" / ".cache"
GENERATOR_VERSION = 2
BASE = "https://depth.bench"
CATEGORIES = 10
FOOTER = 4
_BLOCK = 20_000


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_path(pages: int, links: int, seed: int) -> Path:
    return CACHE / f"depth-{pages}p-{links}l-s{seed}-v{GENERATOR_VERSION}.sqlite"


def build_store(path: Path, pages: int, links: int, seed: int) -> None:
    """Write the synthetic store, vectorised by blocks of pages."""
    rng = np.random.default_rng(seed)
    n = pages
    n_redirects = max(10, n // 100)
    first_item = 1 + CATEGORIES + FOOTER
    content = links - (1 + CATEGORIES + FOOTER + 1)
    if content < 2 or n < 10 * first_item:
        raise SystemExit("--links must be at least 29 and --pages at least 260")
    # URL ids: page i is id i + 1; redirect j is id n + 1 + j (targets pages).
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.sqlite")
    tmp.unlink(missing_ok=True)
    clock = time.perf_counter()
    total = 0
    with CrawlStore(tmp, create=True) as store:
        conn = store.conn
        conn.execute("PRAGMA synchronous = OFF")
        store.begin()
        conn.executemany(
            "INSERT INTO urls (id, url) VALUES (?, ?)",
            ((i + 1, f"{BASE}/p/{i}" if i else f"{BASE}/") for i in range(n)),
        )
        conn.executemany(
            "INSERT INTO urls (id, url) VALUES (?, ?)",
            ((n + 1 + j, f"{BASE}/old/{j}") for j in range(n_redirects)),
        )
        conn.executemany(
            "INSERT INTO pages (url_id, kind, status) VALUES (?, 'html', 200)",
            ((i + 1,) for i in range(n)),
        )
        redirect_targets = rng.integers(first_item, n, size=n_redirects)
        conn.executemany(
            "INSERT INTO pages (url_id, kind, status) VALUES (?, 'redirect', 301)",
            ((n + 1 + j,) for j in range(n_redirects)),
        )
        conn.executemany(
            "INSERT INTO redirects (src_id, dst_id, status) VALUES (?, ?, 301)",
            ((n + 1 + j, int(t) + 1) for j, t in enumerate(redirect_targets)),
        )
        conn.execute("INSERT INTO known_urls (url_id, source) VALUES (1, 'start')")
        internal = EDGE_FLAG_FOLLOWED | EDGE_FLAG_INTERNAL
        template = np.concatenate(
            [
                [0],
                np.arange(1, CATEGORIES + 1),
                np.arange(CATEGORIES + 1, first_item),
            ]
        )
        template_flags = (
            np.concatenate(
                [
                    [POSITION_CODES["header"]],
                    np.full(CATEGORIES, POSITION_CODES["nav"]),
                    np.full(FOOTER, POSITION_CODES["footer"]),
                ]
            )
            | internal
        )
        for start in range(0, n, _BLOCK):
            src = np.arange(start, min(n, start + _BLOCK))
            count = src.size
            dst = np.empty((count, links), dtype=np.int64)
            flags = np.empty_like(dst)
            dst[:, : template.size] = template
            flags[:, : template.size] = template_flags
            col = template.size
            dst[:, col] = 1 + src % CATEGORIES  # breadcrumb to its category
            flags[:, col] = POSITION_CODES["breadcrumb"] | internal
            col += 1
            near = content // 2
            spread = content // 4
            offsets = rng.integers(-500, 500, size=(count, near))
            dst[:, col : col + near] = np.clip(src[:, None] + offsets, first_item, n - 1)
            col_random = col + near
            dst[:, col_random : col_random + spread] = rng.integers(
                first_item, n, size=(count, spread)
            )
            popular = content - near - spread
            ranks = np.minimum(rng.zipf(1.2, size=(count, popular)) - 1, n - first_item - 1)
            dst[:, col_random + spread :] = first_item + ranks
            flags[:, col:] = POSITION_CODES["content"] | internal
            nofollow = rng.random((count, content)) < 0.05
            flags[:, col:][nofollow] &= ~EDGE_FLAG_FOLLOWED
            ids = dst + 1
            # One page in 100 links an old URL that redirects.
            old = rng.random(count) < 0.01
            ids[old, -1] = n + 1 + rng.integers(0, n_redirects, size=int(old.sum()))
            packed = (ids << 8) | flags
            conn.executemany(
                "INSERT INTO edges (src_id, packed) VALUES (?, ?)",
                ((int(s) + 1, packed[k].astype("<i8").tobytes()) for k, s in enumerate(src)),
            )
            total += packed.size
        store.set_meta("bench", {"pages": n, "links": total, "seed": seed})
        store.set_meta("start_urls", [f"{BASE}/"])
        store.commit()
    tmp.rename(path)
    print(
        f"built {path.name}: {n:,} pages, {total:,} links in {time.perf_counter() - clock:.0f} s",
        flush=True,
    )


def ensure_store(pages: int, links: int, seed: int) -> Path:
    path = store_path(pages, links, seed)
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--build",
                "--pages",
                str(pages),
                "--links",
                str(links),
                "--seed",
                str(seed),
            ],
            check=True,
        )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1_000_000)
    parser.add_argument("--links", type=int, default=30, help="links per page")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.build:
        build_store(
            store_path(options.pages, options.links, options.seed),
            **{"pages": options.pages, "links": options.links, "seed": options.seed},
        )
        return
    path = ensure_store(options.pages, options.links, options.seed)
    with CrawlStore(path) as store:
        # The store pipeline's writer connection keeps a 16 MiB page cache.
        store.conn.execute("PRAGMA cache_size = -16384")
        store.conn.execute("SELECT count(*) FROM urls").fetchone()
        baseline = peak_rss_mb()
        links = store.get_meta("bench")["links"]
        clock = time.perf_counter()
        cpu = time.process_time()
        deepest = write_click_depths(store, [f"{BASE}/"])
        seconds = time.perf_counter() - clock
        cpu = time.process_time() - cpu
        levels = store.conn.execute(
            "SELECT depth, count(*) FROM pages GROUP BY depth ORDER BY depth"
        ).fetchall()
    peak = peak_rss_mb()
    print(f"store: {path.name}: {options.pages:,} pages, {links:,} links")
    print(f"pages per depth: {', '.join(f'{d}: {c:,}' for d, c in levels)}")
    print(
        f"write_click_depths: {seconds:.1f} s ({cpu:.1f} CPU s), max depth {deepest}, "
        f"peak RSS {peak:.0f} MB ({peak - baseline:.0f} MB above the {baseline:.0f} MB "
        f"before it)"
    )


if __name__ == "__main__":
    main()
