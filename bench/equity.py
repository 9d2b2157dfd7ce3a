"""Benchmark the equity model on a synthetic site (prints figures, never pass/fail).

    python bench/equity.py                       # 1,000,000 pages, ~50M links, 100k backlinks
    python bench/equity.py --pages 100000        # a quick run while developing

What it does:

1. Builds (once, cached in ``bench/.cache/``) a synthetic crawl store: a shop
   with a home page, 20 categories, 1,000 subcategories and items; every page
   carries the template links (header, 20-link nav, footer, social links),
   breadcrumbs, related-item links within its subcategory and power-law links
   to popular items, plus a sprinkle of 404s, redirects (chains and loops),
   PDFs, robots-blocked URLs, canonicalised duplicates, meta-nofollow pages, and
   backlinks from power-law referring domains. Building is not timed.
2. Times each stage in a fresh process with its peak RSS: load from the
   store, equity solve, budget, plain PageRank, sections, attribution and
   routes for 20 priority pages, 100 what-if calls; and one sparse mat-vec
   (the memory-bandwidth bound of one iteration).
3. Runs ``networkx.pagerank`` on the same kind of graph at 200,000 pages in a
   child process (same invocation), next to our plain PageRank on it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines.storedb import (  # noqa: E402
    EDGE_FLAG_FOLLOWED,
    EDGE_FLAG_INTERNAL,
    POSITION_CODES,
    CrawlStore,
)

CACHE = ROOT / "bench" / ".cache"
GENERATOR_VERSION = 3
BASE = "https://shop.bench"
CATEGORIES = 20
SUBCATEGORIES = 1000
FOOTER = 10
SOCIAL = ("https://social-a.example/", "https://social-b.example/", "https://social-c.example/")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Current resident set size, in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- the synthetic store --------------------------------------------------------


def store_path(pages: int, links: int, seed: int) -> Path:
    return CACHE / f"shop-{pages}p-{links}l-s{seed}-v{GENERATOR_VERSION}.sqlite"


def build_store(path: Path, pages: int, links: int, seed: int) -> None:
    """Write the synthetic store (vectorised; about a minute at 1M pages)."""
    rng = np.random.default_rng(seed)
    n = pages
    first_item = 1 + CATEGORIES + SUBCATEGORIES + FOOTER
    items = n - first_item
    if items < 1000:
        raise SystemExit("--pages must be at least 3,000")
    # URL ids: page i has id i + 1; special URLs and external URLs follow.
    n_missing, n_redirect, n_pdf, n_blocked, n_ext = (
        max(50, n // 200),
        max(100, n // 100),
        max(50, n // 200),
        max(10, n // 1000),
        max(1000, n // 5),
    )
    id_page = 1
    id_missing = id_page + n
    id_redirect = id_missing + n_missing
    id_pdf = id_redirect + n_redirect
    id_blocked = id_pdf + n_pdf
    id_social = id_blocked + n_blocked
    id_ext = id_social + len(SOCIAL)

    def page_url(i: int) -> str:
        if i == 0:
            return BASE + "/"
        if i <= CATEGORIES:
            return f"{BASE}/c{i}/"
        if i <= CATEGORIES + SUBCATEGORIES:
            sub = i - CATEGORIES - 1
            return f"{BASE}/c{sub // 50 + 1}/s{sub}/"
        if i < first_item:
            return f"{BASE}/info/page{i}"
        item = i - first_item
        sub = item % SUBCATEGORIES
        return f"{BASE}/products/s{sub}/item-{item}"

    # Per-page link columns (position, target page index or special id).
    sub_of_item = np.arange(items) % SUBCATEGORIES
    cat_of_sub = np.arange(SUBCATEGORIES) // 50
    popularity = rng.permutation(items)
    content = max(1, links - 50 + 13)

    def link_block(src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Template and content links of pages ``src`` as (dst page index, flags) rows."""
        count = src.size
        nav = CATEGORIES + 1 + FOOTER
        dst = np.empty((count, nav + 3 + content), dtype=np.int64)
        pos = np.empty_like(dst)
        dst[:, 0] = 0
        pos[:, 0] = POSITION_CODES["header"]
        dst[:, 1 : CATEGORIES + 1] = np.arange(1, CATEGORIES + 1)
        pos[:, 1 : CATEGORIES + 1] = POSITION_CODES["nav"]
        dst[:, CATEGORIES + 1 : nav] = np.arange(first_item - FOOTER, first_item)
        pos[:, CATEGORIES + 1 : nav] = POSITION_CODES["footer"]
        is_item = src >= first_item
        item = np.where(is_item, src - first_item, 0)
        sub = np.where(is_item, sub_of_item[item], (src - CATEGORIES - 1) % SUBCATEGORIES)
        cat = cat_of_sub[sub]
        # Breadcrumbs: home, category, subcategory.
        dst[:, nav] = 0
        dst[:, nav + 1] = 1 + cat
        dst[:, nav + 2] = 1 + CATEGORIES + sub
        pos[:, nav : nav + 3] = POSITION_CODES["breadcrumb"]
        # Content: related items in the same subcategory, then power-law popular items.
        related = 5
        offsets = rng.integers(1, max(2, items // SUBCATEGORIES), size=(count, related))
        neighbour = (item[:, None] + offsets * SUBCATEGORIES) % items
        dst[:, nav + 3 : nav + 3 + related] = first_item + neighbour
        ranks = np.minimum(rng.zipf(1.6, size=(count, content - related)) - 1, items - 1)
        dst[:, nav + 3 + related :] = first_item + popularity[ranks]
        pos[:, nav + 3 :] = POSITION_CODES["content"]
        # Category and subcategory pages list their children instead.
        is_sub = (src > CATEGORIES) & (src <= CATEGORIES + SUBCATEGORIES)
        if is_sub.any():
            rows = np.flatnonzero(is_sub)
            sub_index = src[rows] - CATEGORIES - 1
            listing = rng.integers(0, items // SUBCATEGORIES, size=(rows.size, content))
            dst[rows, nav + 3 :] = first_item + sub_index[:, None] + listing * SUBCATEGORIES
        is_cat = (src >= 1) & (src <= CATEGORIES)
        for row in np.flatnonzero(is_cat):
            children = 1 + CATEGORIES + np.arange((src[row] - 1) * 50, src[row] * 50)
            dst[row, nav + 3 :] = children[:content]
        return dst + id_page, (pos | EDGE_FLAG_FOLLOWED | EDGE_FLAG_INTERNAL)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.sqlite")
    tmp.unlink(missing_ok=True)
    clock = time.perf_counter()
    with CrawlStore(tmp, create=True) as store:
        conn = store.conn
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO urls(id, url) VALUES (?, ?)",
            ((i + id_page, page_url(i)) for i in range(n)),
        )
        conn.executemany(
            "INSERT INTO urls(id, url) VALUES (?, ?)",
            [(id_missing + i, f"{BASE}/old/missing-{i}") for i in range(n_missing)]
            + [(id_redirect + i, f"{BASE}/old/moved-{i}") for i in range(n_redirect)]
            + [(id_pdf + i, f"{BASE}/docs/sheet-{i}.pdf") for i in range(n_pdf)]
            + [(id_blocked + i, f"{BASE}/private/p{i}") for i in range(n_blocked)]
            + [(id_social + i, url) for i, url in enumerate(SOCIAL)]
            + [(id_ext + i, f"https://partner{i % 5000}.example/p{i}") for i in range(n_ext)],
        )
        # Pages: 2% of items are duplicates with a canonical; 0.1% are meta nofollow.
        canonical = np.full(n, -1, dtype=np.int64)
        duplicates = first_item + rng.choice(items, size=items // 50, replace=False)
        canonical[duplicates] = first_item + rng.integers(0, items, size=duplicates.size)
        canonical[canonical == np.arange(n)] = -1
        nofollow = np.zeros(n, dtype=bool)
        nofollow[first_item + rng.choice(items, size=max(1, items // 1000), replace=False)] = True
        conn.executemany(
            "INSERT INTO pages(url_id, kind, status, canonical_id, nofollow, depth, title) "
            "VALUES (?, 'html', 200, ?, ?, ?, ?)",
            (
                (
                    i + id_page,
                    None if canonical[i] < 0 else int(canonical[i]) + id_page,
                    int(nofollow[i]),
                    0 if i == 0 else (1 if i <= CATEGORIES + FOOTER else 3),
                    f"Page {i}",
                )
                for i in range(n)
            ),
        )
        conn.executemany(
            "INSERT INTO pages(url_id, kind, status) VALUES (?, 'error', 404)",
            ((id_missing + i,) for i in range(n_missing)),
        )
        conn.executemany(
            "INSERT INTO pages(url_id, kind, status, content_type) "
            "VALUES (?, 'other', 200, 'application/pdf')",
            ((id_pdf + i,) for i in range(n_pdf)),
        )
        conn.executemany(
            "INSERT INTO pages(url_id, kind) VALUES (?, 'blocked')",
            ((id_blocked + i,) for i in range(n_blocked)),
        )
        # Redirects: most to an item, some chained through another redirect, a few loops.
        redirect_dst = first_item + rng.integers(0, items, size=n_redirect) + id_page
        chained = rng.random(n_redirect) < 0.05
        redirect_dst[chained] = id_redirect + (np.flatnonzero(chained) + 1) % n_redirect
        loops = np.arange(0, min(40, n_redirect), 2)
        redirect_dst[loops] = id_redirect + loops + 1
        redirect_dst[loops + 1] = id_redirect + loops
        conn.executemany(
            "INSERT INTO pages(url_id, kind, status) VALUES (?, 'redirect', 301)",
            ((id_redirect + i,) for i in range(n_redirect)),
        )
        conn.executemany(
            "INSERT INTO redirects(src_id, dst_id, status) VALUES (?, ?, 301)",
            ((id_redirect + i, int(redirect_dst[i])) for i in range(n_redirect)),
        )
        # Links, in blocks of pages.
        social_flags = POSITION_CODES["footer"] | np.array(
            [EDGE_FLAG_FOLLOWED, 0, EDGE_FLAG_FOLLOWED]
        )
        block = 50_000
        total_links = 0
        for start in range(0, n, block):
            src = np.arange(start, min(n, start + block))
            dst, flags = link_block(src)
            count = src.size
            extra_dst = np.empty((count, 4), dtype=np.int64)
            extra_flags = np.empty((count, 4), dtype=np.int64)
            extra_dst[:, :3] = id_social + np.arange(3)
            extra_flags[:, :3] = social_flags
            extra_dst[:, 3] = id_ext + rng.integers(0, n_ext, size=count)
            extra_flags[:, 3] = POSITION_CODES["content"] | EDGE_FLAG_FOLLOWED
            # One in a hundred pages links a 404, a redirect, a PDF or a blocked URL.
            special = rng.random(count)
            pick = np.where(
                special < 0.01,
                id_missing + rng.integers(0, n_missing, size=count),
                np.where(
                    special < 0.02,
                    id_redirect + rng.integers(0, n_redirect, size=count),
                    np.where(
                        special < 0.025,
                        id_pdf + rng.integers(0, n_pdf, size=count),
                        np.where(
                            special < 0.027, id_blocked + rng.integers(0, n_blocked, size=count), -1
                        ),
                    ),
                ),
            )
            internal_extra = np.where(pick >= 0, pick, extra_dst[:, 3])
            extra_dst[:, 3] = internal_extra
            extra_flags[:, 3] = np.where(
                pick >= 0,
                POSITION_CODES["content"] | EDGE_FLAG_FOLLOWED | EDGE_FLAG_INTERNAL,
                extra_flags[:, 3],
            )
            all_dst = np.concatenate([dst, extra_dst], axis=1)
            all_flags = np.concatenate([flags, extra_flags], axis=1)
            all_flags[nofollow[src]] &= ~EDGE_FLAG_FOLLOWED
            packed = (all_dst << 8) | all_flags
            width = packed.shape[1]
            total_links += packed.size
            raw = packed.astype("<i8").tobytes()
            conn.executemany(
                "INSERT INTO edges(src_id, packed) VALUES (?, ?)",
                (
                    (int(s) + id_page, raw[r * width * 8 : (r + 1) * width * 8])
                    for r, s in enumerate(src.tolist())
                ),
            )
        # Backlinks: power-law referring domains and targets.
        n_backlinks = max(1000, n // 10)
        domains = max(200, n_backlinks // 5)
        domain = np.minimum(rng.zipf(1.3, size=n_backlinks) - 1, domains - 1)
        domain_authority = rng.random(domains)
        top = rng.random(n_backlinks)
        target = (
            np.where(
                top < 0.3,
                rng.integers(0, 1 + CATEGORIES + SUBCATEGORIES, size=n_backlinks),
                first_item + popularity[np.minimum(rng.zipf(1.4, size=n_backlinks) - 1, items - 1)],
            )
            + id_page
        )
        target[top > 0.98] = id_missing + rng.integers(0, n_missing, size=int((top > 0.98).sum()))
        unknown = rng.random(n_backlinks) < 0.1
        conn.executemany(
            "INSERT OR IGNORE INTO backlinks(source_url, source_host, source_domain, target_id, "
            "followed, nofollow, lost, metric_name, authority, vendors, origins) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'DR', ?, '[\"ahrefs\"]', '[]')",
            (
                (
                    f"https://www.ref{domain[i]}.example/post-{i}",
                    f"www.ref{domain[i]}.example",
                    f"ref{domain[i]}.example",
                    int(target[i]),
                    int(i % 20 != 0),
                    int(i % 20 == 0),
                    int(i % 33 == 0),
                    None if unknown[i] else float(domain_authority[domain[i]]),
                )
                for i in range(n_backlinks)
            ),
        )
        store.set_meta("start_urls", [BASE + "/"])
        store.set_meta("bench", {"pages": n, "links": total_links, "seed": seed})
        conn.execute("COMMIT")
    tmp.rename(path)
    print(
        f"built {path.name}: {n:,} pages, {total_links:,} links "
        f"in {time.perf_counter() - clock:.0f} s",
        flush=True,
    )


def ensure_store(pages: int, links: int, seed: int) -> Path:
    path = store_path(pages, links, seed)
    if not path.exists():
        # Build in a child process so its memory does not count in our peak RSS.
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--build",
                str(pages),
                "--links",
                str(links),
                "--seed",
                str(seed),
            ],
            check=True,
        )
    return path


# -- timing ---------------------------------------------------------------------


class Stages:
    """Records seconds and peak RSS per stage and prints them as it goes."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record(self, name: str, seconds: float, **extra: Any) -> None:
        row = {"stage": name, "seconds": seconds, "peak_rss_mb": peak_rss_mb(), **extra}
        self.rows.append(row)
        notes = "  ".join(f"{k}={v}" for k, v in extra.items())
        print(
            f"  {name:<28} {seconds:8.2f} s   peak RSS {row['peak_rss_mb']:7.0f} MB  {notes}",
            flush=True,
        )


def run_pipeline(path: Path, *, priority: int, whatifs: int, seed: int) -> dict[str, Any]:
    from reports.config import EquityConfig  # noqa: PLC0415
    from reports.equity import compute_equity, link_gain_estimates, simulate  # noqa: PLC0415
    from reports.graph import load_graph  # noqa: PLC0415
    from reports.priority import PriorityTarget  # noqa: PLC0415

    stages = Stages()
    config = EquityConfig()
    print(f"pipeline on {path.name}", flush=True)
    clock, cpu = time.perf_counter(), time.process_time()
    graph = load_graph(path, config)
    stages.record(
        "load graph",
        time.perf_counter() - clock,
        cpu_s=round(time.process_time() - cpu, 2),
        nodes=graph.n,
        links=graph.stats.links_read,
        flows=graph.transition.nnz,
        **{k: round(v, 2) for k, v in graph.stats.seconds.items()},
    )

    # The bandwidth bound of one iteration: one sparse mat-vec with P^T.
    x = np.full(graph.n, 1.0 / graph.n)
    graph.transition @ x
    clock = time.perf_counter()
    repeats = 5
    for _ in range(repeats):
        graph.transition @ x
    matvec = (time.perf_counter() - clock) / repeats
    stages.record(
        "one mat-vec (bound)", matvec, ns_per_edge=round(matvec / graph.transition.nnz * 1e9, 3)
    )

    # The real call, with 20 random pages as priority targets (mostly weak items).
    rng = np.random.default_rng(seed)
    chosen = rng.choice(graph.n, size=priority, replace=False)
    targets = [
        PriorityTarget(graph.urls[i], "url", np.asarray([i], dtype=np.int32), "bench")
        for i in chosen
    ]
    clock, cpu = time.perf_counter(), time.process_time()
    model = compute_equity(graph, config, priority=targets)
    compute_seconds = time.perf_counter() - clock
    compute_cpu = time.process_time() - cpu
    seconds = model.seconds
    solve = model.solve
    stages.record("deposits", seconds["deposits"], backlink_votes=len(graph.backlinks))
    stages.record(
        "equity solve",
        seconds["equity"],
        iterations=solve.iterations,
        error_bound=f"{solve.error_bound:.1e}",
        per_iteration_vs_matvec=round(solve.seconds / solve.iterations / matvec, 2),
    )
    stages.record("budget + scores", seconds["budget"], residual=f"{model.budget.residual:.1e}")
    assert model.pagerank_solve is not None
    stages.record("plain PageRank", seconds["pagerank"], iterations=model.pagerank_solve.iterations)
    stages.record("sections", seconds["sections"], sections=len(model.sections.names))
    solves = [r.attribution.solve for r in model.priority if r.attribution]
    solve_seconds = sum(info.seconds for info in solves)
    stages.record(
        f"attribution x{len(solves)}",
        solve_seconds,
        mean_iterations=round(float(np.mean([info.iterations for info in solves])), 1),
        per_iteration_vs_matvec=round(
            solve_seconds / sum(info.iterations for info in solves) / matvec, 2
        ),
    )
    stages.record(
        f"routes x{sum(len(r.routes) for r in model.priority)}",
        seconds["priority"] - solve_seconds,
    )
    print(
        f"    budget: held {model.budget.held:.4f}, leaked "
        + ", ".join(f"{k} {v:.4f}" for k, v in model.budget.leaked.items()),
        flush=True,
    )
    stages.record("compute_equity total", compute_seconds, cpu_s=round(compute_cpu, 2))

    # What-ifs the way a recommender calls them: rank sources for a target in one
    # pass, then grow a set of links greedily, each call warm-started from the last.
    chains = max(1, whatifs // 10)
    estimate_times, times, cold_times, iterations, errors = [], [], [], [], []
    clock, cpu = time.perf_counter(), time.process_time()
    for chain in range(chains):
        target = int(chosen[chain % priority])
        started = time.perf_counter()
        estimates = link_gain_estimates(model, target)
        estimate_times.append(time.perf_counter() - started)
        sources = estimates.best(10)
        links: list[tuple[int, int, str]] = []
        previous = None
        for k in range(min(10, whatifs - chain * 10, sources.size)):
            links.append((int(sources[k]), target, "content"))
            started = time.perf_counter()
            result = simulate(model, add=links, start=previous)
            elapsed = time.perf_counter() - started
            times.append(elapsed)
            if previous is None:
                cold_times.append(elapsed)
                exact = result.delta[target]
                errors.append(abs(estimates.estimate[sources[0]] - exact) / abs(exact))
            iterations.append(result.solve.iterations)
            previous = result
    stages.record(
        f"what-if x{len(times)}",
        time.perf_counter() - clock,
        cpu_s=round(time.process_time() - cpu, 2),
        mean_s=round(float(np.mean(times)), 3),
        cold_mean_s=round(float(np.mean(cold_times)), 3),
        max_s=round(float(np.max(times)), 3),
        mean_iterations=round(float(np.mean(iterations)), 1),
        estimates_s=round(float(np.mean(estimate_times)), 3),
        estimate_rel_error=f"{max(errors):.1e}",
    )
    redirect_source = graph.resolve(f"{BASE}/old/missing-0")
    if redirect_source.url_id is not None:
        clock = time.perf_counter()
        simulate(model, redirects={redirect_source.url: int(chosen[0])})
        stages.record("what-if redirect (404 -> page)", time.perf_counter() - clock)
    return {"stages": stages.rows, "nodes": graph.n, "flows": int(graph.transition.nnz)}


def run_networkx(path: Path) -> dict[str, Any]:
    """networkx.pagerank next to our plain PageRank, on the same graph."""
    import networkx as nx  # noqa: PLC0415

    from reports.config import EquityConfig  # noqa: PLC0415
    from reports.equity import _plain_pagerank  # noqa: PLC0415
    from reports.graph import load_graph  # noqa: PLC0415

    out: dict[str, Any] = {}
    config = EquityConfig(position_weights=(1.0,) * 6, weights_name="uniform")
    clock = time.perf_counter()
    graph = load_graph(path, config)
    out["load_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    ours, info = _plain_pagerank(graph, config)
    out["ours_s"] = time.perf_counter() - clock
    out["ours_iterations"] = info.iterations
    out["ours_error_bound"] = info.error_bound
    clock = time.perf_counter()
    digraph = nx.DiGraph()
    digraph.add_nodes_from(range(graph.n))
    coo = graph.transition.tocoo()
    digraph.add_edges_from(zip(coo.col.tolist(), coo.row.tolist(), strict=True))
    out["nx_build_s"] = time.perf_counter() - clock
    out["nx_edges"] = digraph.number_of_edges()
    del coo
    clock = time.perf_counter()
    default = nx.pagerank(digraph, alpha=0.85)
    out["nx_default_s"] = time.perf_counter() - clock
    values = np.array([default[i] for i in range(graph.n)])
    out["nx_default_l1_vs_ours"] = float(np.abs(values - ours).sum())
    clock = time.perf_counter()
    tight = nx.pagerank(digraph, alpha=0.85, tol=1e-10 / graph.n, max_iter=10_000)
    out["nx_tight_s"] = time.perf_counter() - clock
    values = np.array([tight[i] for i in range(graph.n)])
    out["nx_tight_l1_vs_ours"] = float(np.abs(values - ours).sum())
    out["nodes"] = graph.n
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1_000_000)
    parser.add_argument("--links", type=int, default=50, help="links per page (about)")
    parser.add_argument("--nx-pages", type=int, default=200_000)
    parser.add_argument("--priority", type=int, default=20)
    parser.add_argument("--whatifs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--nx-only", type=str, help=argparse.SUPPRESS)
    parser.add_argument("--skip-nx", action="store_true")
    args = parser.parse_args()

    if args.build:
        build_store(
            store_path(args.build, args.links, args.seed), args.build, args.links, args.seed
        )
        return
    if args.nx_only:
        print(json.dumps(run_networkx(Path(args.nx_only))))
        return

    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
        f"python {sys.version.split()[0]}, numpy {np.__version__}",
        flush=True,
    )
    path = ensure_store(args.pages, args.links, args.seed)
    nx_path = None if args.skip_nx else ensure_store(args.nx_pages, args.links, args.seed)
    started, cpu = time.perf_counter(), time.process_time()
    run_pipeline(path, priority=args.priority, whatifs=args.whatifs, seed=args.seed)
    wall = time.perf_counter() - started
    print(
        f"  {'whole pipeline':<28} {wall:8.2f} s   peak RSS {peak_rss_mb():7.0f} MB  "
        f"cpu_s={time.process_time() - cpu:.1f}  load after {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    if nx_path is not None:
        print(f"networkx at {args.nx_pages:,} pages (child process)", flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--nx-only", str(nx_path)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        for key, value in figures.items():
            print(
                f"  {key:<28} {value:.4g}" if isinstance(value, float) else f"  {key:<28} {value}"
            )
        print(
            f"  ratio networkx default / ours: {figures['nx_default_s'] / figures['ours_s']:.1f}x; "
            f"at equal accuracy: {figures['nx_tight_s'] / figures['ours_s']:.1f}x "
            f"(graph build not counted: {figures['nx_build_s']:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
