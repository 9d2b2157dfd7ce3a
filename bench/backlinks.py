"""Benchmark: read and merge a 1,000,000-row Ahrefs export and a 500,000-row Semrush export.

    python bench/backlinks.py [--ahrefs-rows N] [--semrush-rows N] [--overlap 0.3]
                              [--workers N] [--keep] [--exports DIR] [--repeat N]

Generates the two exports in a temporary folder (Ahrefs in its "for Excel"
form: UTF-16 LE with BOM, tab-separated, every field quoted; Semrush as UTF-8
comma; ``--overlap`` of the Semrush rows repeat an Ahrefs link), then imports
them into a fresh crawl store in a child process (so that its figures are the
import's own) with the importer's public entry point, and prints:

* read, stage, copy: the exports read (in worker processes for large ones),
  staged, and copied into the new table, the records of keys met before set
  aside;
* the rest: those merged (in the workers, from the repeats file) while the
  key index is built, the merged rows written, domains, known URLs, the swap;
* store close: SQLite copies what is left of its write-ahead log into the
  store file (nothing when the import had the store to itself: it then
  writes through a rollback journal);
* end to end (files on disk to rows in the store file), rows/s, CPU seconds
  of the importing process and of the workers, and peak RSS of each;
* with ``--repeat N``, each import's figures and then the median, the
  fastest and the slowest (this VM's speed moves by a third from one minute
  to the next: one run says little).

Prints figures, not pass/fail. Targets (issue 3): >= 100,000 rows/s end to
end and peak RSS < 1 GB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AHREFS_HEADER = [
    "Referring page title", "Referring page URL", "Language", "Platform",
    "Referring page HTTP code", "Domain rating", "UR", "Domain traffic", "Referring domains",
    "Linked domains", "External links", "Page traffic", "Keywords", "Target URL",
    "Left context", "Anchor", "Right context", "Redirect Chain URLs",
    "Redirect Chain status codes", "Type", "Is spam", "Content", "Nofollow", "UGC",
    "Sponsored", "Rendered", "Raw", "Lost status", "Drop reason", "Discovered status",
    "First seen", "Last seen", "Lost", "Author", "Page type", "Page category",
    "Links in group",
]  # fmt: skip
SEMRUSH_HEADER = [
    "Page ascore", "Source title", "Source url", "Target url", "Anchor", "External links",
    "Internal links", "Nofollow", "Sponsored", "Ugc", "Text", "Frame", "Form", "Image",
    "Sitewide", "First seen", "Last seen", "New link", "Lost link",
]  # fmt: skip
SITE = "https://www.example-shop.com"
WORDS = [
    "kettle", "tea", "coffee", "review", "best", "cheap", "guide", "steel", "glass", "electric",
    "travel", "gift", "home", "kitchen", "brew", "cup", "green", "black", "herbal",
]  # fmt: skip


def _source(rng: random.Random, i: int) -> tuple[str, int]:
    # Referring domains follow a power law: a few sites link many times.
    domain = int(rng.paretovariate(1.1)) % 120_000
    sub = ("www.", "", "blog.", "news.")[domain % 4]
    tld = ("com", "net", "org", "co.uk", "de", "fr", "io")[domain % 7]
    path = "/".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
    query = f"?page={i % 7}" if i % 11 == 0 else ""
    return f"https://{sub}site{domain}.{tld}/{path}/{i}{query}", domain


def _target(rng: random.Random) -> str:
    page = int(rng.paretovariate(0.8)) % 5000
    return f"{SITE}/" if page == 0 else f"{SITE}/products/{page}/"


def _anchor(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))


def _date(rng: random.Random, year_from: int = 2019) -> str:
    return (
        f"{rng.randint(year_from, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    )


def generate(
    folder: Path, ahrefs_rows: int, semrush_rows: int, overlap: float
) -> tuple[Path, Path]:
    """Write the two exports; returns their paths."""
    rng = random.Random(20260515)
    ahrefs = folder / "ahrefs_1m_for_excel.csv"
    semrush = folder / "semrush_500k.csv"
    shared_every = max(1, round(ahrefs_rows / max(1, semrush_rows * overlap)))
    shared: list[tuple[str, str]] = []
    with open(ahrefs, "w", encoding="utf-16", newline="") as out:  # "utf-16" writes the BOM
        writer = csv.writer(out, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(AHREFS_HEADER)
        for i in range(ahrefs_rows):
            source, domain = _source(rng, i)
            target = _target(rng)
            if i % shared_every == 0:
                shared.append((source, target))
            flag = rng.random()
            nofollow, ugc, sponsored = (
                0.05 <= flag < 0.25,
                0.25 <= flag < 0.28,
                0.28 <= flag < 0.3,
            )
            lost = _date(rng, 2025) if flag > 0.9 else ""
            writer.writerow([
                f"{_anchor(rng).title()} | Site {domain}", source, "en", "wordpress", "200",
                str(domain % 101), str(rng.randint(0, 60)), f"{rng.randint(0, 99999):,}", "120",
                "30", "14", "1,200", "40", target, "left context", _anchor(rng), "right context",
                "", "", "image" if flag < 0.05 else "text", "false", "true",
                str(nofollow).lower(), str(ugc).lower(), str(sponsored).lower(), "false", "true",
                "removedfromhtml" if lost else "", "", "linkfound", _date(rng), _date(rng, 2025),
                lost, "", "Article", "Shopping", str(rng.randint(1, 9)),
            ])  # fmt: skip
    with open(semrush, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(SEMRUSH_HEADER)
        for i in range(semrush_rows):
            if i < len(shared) and i < semrush_rows * overlap:
                source, target = shared[i]
            else:
                source, _ = _source(rng, ahrefs_rows + i)
                target = _target(rng)
            flag = rng.random()
            writer.writerow([
                str(rng.randint(0, 100)), "Title", source, target, _anchor(rng), "40", "300",
                "true" if flag < 0.2 else "false", "false", "false", "true", "false", "false",
                "false", "false", _date(rng)[:10], _date(rng, 2025)[:10], "false",
                "true" if flag > 0.92 else "false",
            ])  # fmt: skip
    return ahrefs, semrush


def _peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_import(files: list[str], store_dir: str, workers: int | None) -> dict[str, float]:
    """The measured part (runs in a child process): the importer itself."""
    from pipelines.backlinks import Site, import_backlinks  # noqa: PLC0415 - child only
    from pipelines.storedb import CrawlStore  # noqa: PLC0415

    site = Site.from_urls([SITE + "/"])
    began = time.perf_counter()
    with CrawlStore(store_dir, create=True) as store:
        result = import_backlinks(store, files, site=site, workers=workers)
        imported = time.perf_counter()
    closed = time.perf_counter()
    return {
        "rows": sum(r.rows_read for r in result.reports),
        "kept": sum(r.kept for r in result.reports),
        "merged": result.merged,
        "multi_vendor": result.multi_vendor,
        "read_s": result.read_seconds,
        "rest_s": result.seconds - result.read_seconds,
        **{f"{step}_s": seconds for step, seconds in result.timings.items()},
        "close_s": closed - imported,
        "total_s": closed - began,
        "cpu_main_s": _cpu_seconds(resource.RUSAGE_SELF),
        "cpu_workers_s": _cpu_seconds(resource.RUSAGE_CHILDREN),
        "rss_main_mib": _peak_rss_mib(),
        "rss_worker_mib": _peak_rss_mib(resource.RUSAGE_CHILDREN),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ahrefs-rows", type=int, default=1_000_000)
    parser.add_argument("--semrush-rows", type=int, default=500_000)
    parser.add_argument("--overlap", type=float, default=0.3)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--exports", type=Path, help="import the exports a run with --keep left in DIR"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="import N times, one after the other, and give the median (this VM's speed moves)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat takes a number of runs, 1 or more")
    if args.child:
        *files, store_dir = args.child
        print(json.dumps(run_import(files, store_dir, args.workers)))
        return
    if args.exports:
        folder = args.exports
        ahrefs, semrush = folder / "ahrefs_1m_for_excel.csv", folder / "semrush_500k.csv"
        missing = [path.name for path in (ahrefs, semrush) if not path.is_file()]
        if missing:
            sys.exit(
                f"error: {folder} has no {' or '.join(missing)}: "
                "generate them once with --keep (it prints the folder)"
            )
        shutil.rmtree(folder / "run", ignore_errors=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="linkspider-bench-backlinks-"))
        began = time.perf_counter()
        ahrefs, semrush = generate(folder, args.ahrefs_rows, args.semrush_rows, args.overlap)
        print(f"generated in {time.perf_counter() - began:.1f} s")
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.0f} MiB" for p in (ahrefs, semrush))
    print(f"exports              {sizes}")
    workers = [] if args.workers is None else ["--workers", str(args.workers)]
    totals: list[float] = []
    for run in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"-- run {run} of {args.repeat}")
        shutil.rmtree(folder / "run", ignore_errors=True)
        child = subprocess.run(
            [sys.executable, __file__, *workers, "--child", str(ahrefs), str(semrush),
             str(folder / "run")],
            check=True,
            capture_output=True,
            text=True,
        )  # fmt: skip
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        _print_run(figures)
        totals.append(figures["total_s"])
    if len(totals) > 1:
        rows = figures["rows"]
        ordered = sorted(totals)
        print(
            f"-- {len(totals)} runs: median {statistics.median(totals):.1f} s "
            f"({rows / statistics.median(totals):,.0f} rows/s), fastest {ordered[0]:.1f} s, "
            f"slowest {ordered[-1]:.1f} s; {sum(rows / t >= 100_000 for t in totals)} "
            "at 100,000 rows/s or more"
        )
    if args.keep or args.exports:
        shutil.rmtree(folder / "run", ignore_errors=True)
        print(f"files kept in {folder}")
    else:
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        folder.rmdir()


def _print_run(f: dict[str, float]) -> None:
    """One import's figures (what the child process measured)."""
    rows = f["rows"]
    print(f"rows read            {rows:,} ({f['kept']:,} kept)")
    print(f"merged backlinks     {f['merged']:,} ({f['multi_vendor']:,} seen by both vendors)")
    print(f"read, stage, copy    {f['read_s']:.1f} s")
    print(
        f"the rest             {f['rest_s']:.1f} s: merge repeated keys "
        f"{f.get('merge_s', 0):.1f} s (worker) while indexing {f.get('index_s', 0):.1f} s, "
        f"merged rows written {f.get('apply_s', 0):.1f} s, domains, known URLs, swap"
    )
    print(f"store close          {f['close_s']:.1f} s (what is left of the write-ahead log)")
    print(
        f"end to end           {f['total_s']:.1f} s  {rows / f['total_s']:,.0f} rows/s  "
        f"(CPU: importing process {f['cpu_main_s']:.1f} s, workers {f['cpu_workers_s']:.1f} s)"
    )
    print(
        f"peak RSS             importing process {f['rss_main_mib']:.0f} MiB, "
        f"largest worker {f['rss_worker_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
