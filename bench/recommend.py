"""Benchmark the gap analysis and the link recommendations (prints figures, never pass/fail).

    python bench/recommend.py                 # 100,000 pages, ~5M links, 20 priority pages
    python bench/recommend.py --pages 20000   # a quick run while developing

What it does:

1. Takes the equity benchmark's synthetic shop (``bench/equity.py``, cached in
   ``bench/.cache/``) and derives, once, a copy with what the gap analysis
   reads beyond the equity model: a title, h1 and term signature per page
   (topics by category and subcategory, words drawn from a power law), one
   ``links`` row per link with an anchor (navigation names, product titles,
   3% "Read more", 1% images without alt), every item in the sitemap
   (``known_urls``), anchors on the backlinks, the read indexes, and a
   finished crawl in ``meta``. Building is not timed.
2. In a fresh process, times ``load_graph`` and ``compute_equity`` with 20
   random items as priority pages (for context), then the step itself:
   ``find_gaps`` and ``recommend_links`` (K = 20 links, redirects for lost
   backlinks), with the time per part and the peak RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.equity import (  # noqa: E402
    CACHE,
    CATEGORIES,
    FOOTER,
    SUBCATEGORIES,
    Stages,
    ensure_store,
    peak_rss_mb,
)
from pipelines.storedb import EDGE_FLAG_FOLLOWED, EDGE_FLAG_INTERNAL, POSITIONS  # noqa: E402

DERIVED_VERSION = 1
# 20 syllables: 8,000 three-syllable words, letters only (the crawl's term pattern).
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "vi", "zo", "pe", "su")
_SYLLABLES += ("ba", "de", "fi", "go", "hu", "ja", "ke", "li", "mo", "nu")


def word(i: int) -> str:
    """A distinct made-up word per integer (letters only, 6 characters)."""
    return _SYLLABLES[i % 20] + _SYLLABLES[(i // 20) % 20] + _SYLLABLES[(i // 400) % 20]


def derived_path(base: Path) -> Path:
    return base.with_name(base.stem + f"-gaps-v{DERIVED_VERSION}.sqlite")


def page_words(n: int, seed: int) -> tuple[list[str], list[str], list[list[str]]]:
    """Titles, h1s and signatures of the synthetic shop's pages (page index order)."""
    rng = np.random.default_rng(seed + 1)
    first_item = 1 + CATEGORIES + SUBCATEGORIES + FOOTER
    titles, h1s, signatures = [], [], []
    for i in range(n):
        if i == 0:
            words = ["outdoor", "gear", "shop"]
        elif i <= CATEGORIES:
            words = [word(i), "collection"]
        elif i <= CATEGORIES + SUBCATEGORIES:
            sub = i - CATEGORIES - 1
            words = [word(100 + 3 * sub + k) for k in range(3)] + [word(1 + sub // 50)]
        elif i < first_item:
            words = ["information", word(7000 + i)]
        else:
            item = i - first_item
            sub = item % SUBCATEGORIES
            common = np.minimum(rng.zipf(1.5, size=4), 4000) + 3500
            words = (
                [word(100 + 3 * sub + k) for k in range(3)]
                + [word(4000 + item % 3000), word(1 + sub // 50)]
                + [word(int(c)) for c in common]
            )
        heading = " ".join(w.capitalize() for w in words[:4])
        titles.append(f"{heading} | Shop")
        h1s.append(heading)
        signatures.append(list(dict.fromkeys(words))[:12])
    return titles, h1s, signatures


def build_derived(base: Path, target: Path, n: int, seed: int) -> None:
    """Copy the equity benchmark's store and add what the gap analysis reads."""
    import json  # noqa: PLC0415

    clock = time.perf_counter()
    tmp = target.with_suffix(".tmp.sqlite")
    tmp.unlink(missing_ok=True)
    shutil.copyfile(base, tmp)
    titles, h1s, signatures = page_words(n, seed)
    rng = np.random.default_rng(seed + 2)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("BEGIN")
    # Pages are URL ids 1..n in page order (bench/equity.py's layout).
    conn.executemany(
        "UPDATE pages SET title = ?, h1 = ?, signature = ?, word_count = 300 WHERE url_id = ?",
        ((titles[i], h1s[i], json.dumps(signatures[i]), i + 1) for i in range(n)),
    )
    nav_names = {1 + c: word(1 + c) for c in range(CATEGORIES)}
    positions = np.arange(len(POSITIONS))
    content = POSITIONS.index("content")
    rows: list[tuple[Any, ...]] = []
    links = 0
    cursor = conn.execute("SELECT src_id, packed FROM edges ORDER BY src_id")
    for src_id, blob in cursor.fetchall():
        packed = np.frombuffer(blob, dtype="<i8")
        dst = (packed >> 8).tolist()
        flags = (packed & 0xFF).tolist()
        luck = rng.random(len(dst)).tolist()
        for order, (target_id, flag, chance) in enumerate(zip(dst, flags, luck, strict=True)):
            position = int(positions[flag & 7])
            internal = bool(flag & EDGE_FLAG_INTERNAL)
            image = 0
            if not internal:
                anchor = "Partner"
            elif position != content:
                anchor = nav_names.get(
                    target_id - 1, h1s[target_id - 1] if target_id <= n else "More"
                )
            elif chance < 0.03:
                anchor = "Read more"
            elif chance < 0.04:
                anchor, image = "", 1
            else:
                anchor = h1s[target_id - 1] if target_id <= n else "Old page"
            rows.append(
                (src_id, order, target_id, f"/u{target_id}", anchor, image,
                 int(bool(flag & EDGE_FLAG_FOLLOWED)), position, int(internal))
            )  # fmt: skip
        if len(rows) >= 200_000:
            links += len(rows)
            conn.executemany(
                "INSERT INTO links(src_id, ord, dst_id, href, anchor, is_image, followed, "
                "position, internal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            rows.clear()
    links += len(rows)
    conn.executemany(
        "INSERT INTO links(src_id, ord, dst_id, href, anchor, is_image, followed, position, "
        "internal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute(
        "INSERT OR IGNORE INTO known_urls(url_id, source) "
        "SELECT url_id, 'sitemap' FROM pages WHERE kind = 'html'"
    )
    conn.execute(
        "UPDATE backlinks SET anchor = CASE id % 4 WHEN 0 THEN 'click here' "
        "WHEN 1 THEN 'outdoor gear' ELSE 'great ' || id % 50 || ' shop' END"
    )
    for key, value in (("complete", True), ("site_host", "shop.bench"), ("caps_hit", [])):
        conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))
    conn.execute("COMMIT")
    conn.execute("CREATE INDEX IF NOT EXISTS links_by_dst ON links (dst_id)")
    conn.execute("CREATE INDEX IF NOT EXISTS redirects_by_dst ON redirects (dst_id)")
    conn.execute("ANALYZE")
    conn.close()
    tmp.rename(target)
    print(
        f"derived {target.name}: {links:,} link rows in {time.perf_counter() - clock:.0f} s",
        flush=True,
    )


def run(path: Path, *, priority: int, seed: int) -> None:
    from reports.config import EquityConfig  # noqa: PLC0415
    from reports.equity import compute_equity  # noqa: PLC0415
    from reports.gaps import find_gaps  # noqa: PLC0415
    from reports.gaps_config import GapsConfig  # noqa: PLC0415
    from reports.graph import load_graph  # noqa: PLC0415
    from reports.priority import PriorityTarget  # noqa: PLC0415
    from reports.recommend import recommend_links  # noqa: PLC0415
    from reports.relevance import build_topic_index  # noqa: PLC0415

    stages = Stages()
    config = EquityConfig()
    print(f"gaps and recommendations on {path.name}", flush=True)
    clock = time.perf_counter()
    graph = load_graph(path, config)
    stages.record("load graph (context)", time.perf_counter() - clock, nodes=graph.n)
    rng = np.random.default_rng(seed)
    first_item = 1 + CATEGORIES + SUBCATEGORIES + FOOTER
    chosen = first_item + rng.choice(graph.n - first_item, size=priority, replace=False)
    targets = [
        PriorityTarget(graph.urls[i], "url", np.asarray([i], dtype=np.int32), "bench")
        for i in chosen
    ]
    clock = time.perf_counter()
    model = compute_equity(graph, config, priority=targets)
    stages.record("compute_equity (context)", time.perf_counter() - clock)

    gaps_config = GapsConfig()
    step, cpu = time.perf_counter(), time.process_time()
    clock = time.perf_counter()
    index = build_topic_index(graph)
    stages.record(
        "relevance index", time.perf_counter() - clock, terms=len(index.vocabulary),
        nnz=int(index.matrix.nnz),
    )  # fmt: skip
    clock = time.perf_counter()
    gaps = find_gaps(model, path, gaps_config, index=index)
    stages.record(
        "find_gaps", time.perf_counter() - clock, findings=len(gaps.findings),
        found=sum(gaps.totals.values()),
    )  # fmt: skip
    slowest = sorted(gaps.seconds.items(), key=lambda item: -item[1])[:6]
    print("    " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in slowest))
    print(
        "    findings per kind: "
        + ", ".join(f"{kind} {count}" for kind, count in gaps.totals.items() if count),
        flush=True,
    )
    clock = time.perf_counter()
    recs = recommend_links(model, path, gaps_config, index=index)
    stages.record(
        "recommend_links", time.perf_counter() - clock, links=len(recs.links),
        redirects=len(recs.redirects),
    )  # fmt: skip
    print("    " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in recs.seconds.items()))
    confirmed = sum(len(c) for c in recs.candidates.values())
    print(
        f"    {confirmed} candidates confirmed by a what-if; set gain {recs.set_gain:.3e} "
        f"(priority pages {recs.priority_before:.3e} -> {recs.priority_after:.3e})",
        flush=True,
    )
    stages.record(
        "the step (index + gaps + recommendations)",
        time.perf_counter() - step,
        cpu_s=round(time.process_time() - cpu, 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--links", type=int, default=50, help="links per page (about)")
    parser.add_argument("--priority", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
        f"python {sys.version.split()[0]}, numpy {np.__version__}",
        flush=True,
    )
    base = ensure_store(args.pages, args.links, args.seed)
    path = derived_path(base)
    if not path.exists():
        build_derived(base, path, args.pages, args.seed)
    assert path.parent == CACHE
    started = time.perf_counter()
    run(path, priority=args.priority, seed=args.seed)
    print(
        f"  {'total with context':<28} {time.perf_counter() - started:8.2f} s   "
        f"peak RSS {peak_rss_mb():7.0f} MB  load after {os.getloadavg()[0]:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
