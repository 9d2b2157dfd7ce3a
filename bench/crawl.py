#!/usr/bin/env python3
"""Crawl benchmark: the site spider with full extraction and the store, next to
a bare Scrapy spider that only follows links, in the same invocation.

    python bench/crawl.py [--pages 5000] [--links 100] [--kb 60] [--concurrency 32]

A generated site of N pages (~100 links each: navigation, footer, content
links to other pages, some with tracking parameters; ~60 KB of HTML) is
served by a small asyncio HTTP server in its own process. Each crawl runs in
its own process with politeness off (no robots.txt, no delays, no
AutoThrottle) and reports pages/s, links/s and its resident memory at 25, 50,
75 and 100 % of the pages, so growth with the number of links stored shows.

The bare spider is the ceiling: Scrapy's defaults, ``//a/@href`` with a seen
set so it does not build a request per repeated link, no items, no store.

Figures, not pass/fail; record them in docs/performance.md with the machine
and its load. Pages per CPU second of each crawl process is printed too: it
moves less than wall-clock rates when other work shares the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_TEXT = (
    "trail boot jacket tent pack summit ridge valley river forest alpine weather rain wind "
    "layer fleece down shell waterproof breathable light weight camp stove filter map compass"
)
WORDS = _TEXT.split()


# -- the site ---------------------------------------------------------------------


def render_page(
    index: int, pages: int, links: int, kilobytes: int, *, under_p: bool = True
) -> bytes:
    """Page ``index`` of the generated site (deterministic).

    ``under_p``: the page is served under ``/p/``, so ``../p/N`` links work.
    """
    rng = random.Random(index)
    nav = "".join(f'<li><a href="/section/{s}/">Section {s}</a></li>' for s in range(20))
    footer = "".join(f'<li><a href="/info/{s}">Info {s}</a></li>' for s in range(10))
    content_links = max(0, links - 30)
    targets = [(index + 1 + k * 37) % pages for k in range(content_links)]
    body_links = []
    for k, target in enumerate(targets):
        href = f"/p/{target}"
        if k % 10 == 0:
            href += "?utm_source=bench&utm_medium=link"
        elif k % 10 == 1 and under_p:
            href = f"../p/{target}#top"  # relative, with a fragment
        body_links.append(
            f'<p>{" ".join(rng.choices(WORDS, k=8))} <a href="{href}">page {target}</a></p>'
        )
    filler_target = kilobytes * 1024 - sum(len(x) for x in body_links) - len(nav) - len(footer)
    filler = []
    size = 0
    while size < max(0, filler_target):
        sentence = "<p>" + " ".join(rng.choices(WORDS, k=30)) + ".</p>"
        filler.append(sentence)
        size += len(sentence)
    html = (
        f"<!DOCTYPE html><html><head><title>Page {index}</title>"
        f'<link rel="canonical" href="/p/{index}"></head><body>'
        f'<header><a href="/">Home</a><nav><ul>{nav}</ul></nav></header>'
        f"<main><h1>Page {index}</h1>{''.join(body_links)}{''.join(filler)}</main>"
        f"<footer><ul>{footer}</ul></footer></body></html>"
    )
    return html.encode()


async def _serve(pages: int, links: int, kilobytes: int, ready: Any) -> None:
    cache: dict[str, bytes] = {}

    def body_for(path: str) -> tuple[int, bytes]:
        path = path.split("?", 1)[0]
        if path in cache:
            return 200, cache[path]
        if path == "/":
            index = 0
        elif path.startswith("/p/") and path[3:].isdigit() and int(path[3:]) < pages:
            index = int(path[3:])
        elif path.startswith(("/section/", "/info/")):
            index = sum(map(ord, path)) % pages
        else:
            return 404, b"<h1>Not found</h1>"
        body = render_page(index, pages, links, kilobytes, under_p=path.startswith("/p/"))
        if path.startswith(("/section/", "/info/", "/")) and len(cache) < 64:
            cache[path] = body
        return 200, body

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                parts = request_line.split(" ")
                status, body = body_for(parts[1] if len(parts) > 1 else "/")
                reason = b"OK" if status == 200 else b"Not Found"
                writer.write(
                    b"HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                    b"Content-Length: %d\r\n\r\n" % (status, reason, len(body))
                )
                if parts[0] != "HEAD":
                    writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    ready(port)
    async with server:
        await server.serve_forever()


def serve(pages: int, links: int, kilobytes: int) -> None:
    """Run the site's server (child process): prints its port, serves until killed."""
    asyncio.run(_serve(pages, links, kilobytes, lambda port: print(port, flush=True)))


# -- one crawl, in a child process ----------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def crawl_child(kind: str, base: str, pages: int, concurrency: int, out: Path) -> None:
    import scrapy  # noqa: PLC0415 - only the crawl processes need Scrapy
    from scrapy import signals  # noqa: PLC0415
    from scrapy.crawler import CrawlerProcess  # noqa: PLC0415
    from scrapy.settings import Settings  # noqa: PLC0415
    from scrapy.utils.project import get_project_settings  # noqa: PLC0415

    polite_off = {
        "ROBOTSTXT_OBEY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "MEMUSAGE_ENABLED": False,
        # Scrapy starts CONCURRENT_ITEMS tasks per response; both spiders get the
        # project's value, so the ceiling is not slowed by a default.
        "CONCURRENT_ITEMS": 8,
    }

    class BareSpider(scrapy.Spider):
        name = "bare"

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.seen: set[str] = set()

        async def start(self) -> Any:
            yield scrapy.Request(base + "/")

        def parse(self, response: Any) -> Any:
            for href in response.xpath("//a/@href").getall():
                if href not in self.seen:
                    self.seen.add(href)
                    yield response.follow(href, self.parse)

    if kind == "bare":
        settings = Settings(polite_off)
        spidercls: Any = BareSpider
        spider_args: dict[str, Any] = {}
    else:
        os.chdir(ROOT)
        settings = get_project_settings()
        settings.setdict({**polite_off, "LINKSPIDER_RUNS_DIR": tempfile.mkdtemp()}, "cmdline")
        spidercls = "site"
        spider_args = {"url": base + "/", "sitemaps": "off", "max_pages": str(pages + 100)}

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spidercls)
    marks: dict[str, float] = {}
    samples: list[tuple[int, float]] = []

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def opened(spider: Any) -> None:
        marks["start"] = time.perf_counter()
        marks["cpu_start"] = cpu()

    def closed(spider: Any, reason: str) -> None:
        marks["end"] = time.perf_counter()
        marks["cpu_end"] = cpu()

    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            try:
                answered = crawler.stats.get_value("response_received_count", 0)
            except Exception:
                answered = 0
            samples.append((int(answered or 0), _rss_mb()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    process.crawl(crawler, **spider_args)
    process.start()
    stop.set()
    answered = int(crawler.stats.get_value("response_received_count", 0))
    samples.append((answered, _rss_mb()))
    links = 0
    if kind == "site":
        from pipelines.storedb import CrawlStore  # noqa: PLC0415

        with CrawlStore(crawler.spider.run_dir) as store:
            links = store.count("links")
    result = {
        "kind": kind,
        "pages": answered,
        "links": links,
        "seconds": marks["end"] - marks["start"],
        "cpu_seconds": marks["cpu_end"] - marks["cpu_start"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_at": {
            str(q): next((rss for done, rss in samples if done >= answered * q / 100), None)
            for q in (25, 50, 75, 100)
        },
    }
    out.write_text(json.dumps(result))


# -- the benchmark --------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--links", type=int, default=100)
    parser.add_argument("--kb", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--site-only", action="store_true", help="skip the bare spider (memory checks on big sites)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=("bare", "site"), help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve:
        serve(opts.pages, opts.links, opts.kb)
        return
    if opts.child:
        crawl_child(opts.child, opts.base, opts.pages, opts.concurrency, opts.out)
        return

    sample = render_page(1, opts.pages, opts.links, opts.kb)
    print(
        f"site: {opts.pages} pages, {sample.count(b'<a ')} links and {len(sample) // 1024} KB per "
        f"page; concurrency {opts.concurrency}; {os.cpu_count()} CPUs"
    )
    me = [sys.executable, str(Path(__file__).resolve())]
    sizes = ["--pages", str(opts.pages), "--links", str(opts.links), "--kb", str(opts.kb)]
    server = subprocess.Popen([*me, "--serve", *sizes], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        results = {}
        with tempfile.TemporaryDirectory() as tmp:
            for kind in ("site",) if opts.site_only else ("bare", "site"):
                out = Path(tmp) / f"{kind}.json"
                subprocess.run(
                    [*me, "--child", kind, "--base", base, "--out", str(out), *sizes,
                     "--concurrency", str(opts.concurrency)],
                    check=True,
                )  # fmt: skip
                results[kind] = json.loads(out.read_text())
    finally:
        server.kill()
        server.wait()
    header = (
        f"{'':6} {'pages':>7} {'seconds':>8} {'pages/s':>8} {'CPU s':>7} {'pages/CPU s':>12}"
        f" {'links/s':>9} {'peak RSS':>9}"
    )
    print(f"{header}  RSS at 25/50/75/100% of pages")
    for kind, r in results.items():
        rss = " / ".join(
            f"{r['rss_at'][q]:.0f}" if r["rss_at"][q] else "-" for q in ("25", "50", "75", "100")
        )
        links_rate = f"{r['links'] / r['seconds']:,.0f}" if r["links"] else "-"
        print(
            f"{kind:6} {r['pages']:>7} {r['seconds']:>8.1f} {r['pages'] / r['seconds']:>8.0f} "
            f"{r['cpu_seconds']:>7.1f} {r['pages'] / r['cpu_seconds']:>12.0f} "
            f"{links_rate:>9} {r['peak_rss_mb']:>7.0f}MB  {rss} MB"
        )
    if "bare" not in results:
        return
    site, bare = results["site"], results["bare"]
    wall = (site["pages"] / site["seconds"]) / (bare["pages"] / bare["seconds"])
    cpu = (site["pages"] / site["cpu_seconds"]) / (bare["pages"] / bare["cpu_seconds"])
    print(f"site / bare pages per second: {wall:.2f} (target >= 0.5)")
    print(f"site / bare pages per CPU second: {cpu:.2f} (steadier when other work shares the CPUs)")


if __name__ == "__main__":
    main()
