"""``scrapy demo``: crawl the bundled demo site and print the run folder.

Serves the demo shop (:mod:`linkspider.demo`) on 127.0.0.1 from within the
command, crawls it in-process with the ``site`` spider and the project's
components, with the bundled backlink exports, and prints the run folder.
The exports name the site's public address; the command writes copies that
point at the local server into ``<run folder>/inputs/backlinks/`` and passes
those, so the run folder holds everything the report was built from.

Politeness stays on, with delays fit for a server on the same machine
(``-s`` overrides them as usual).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from scrapy.settings import SETTINGS_PRIORITIES

from linkspider.commands._process import crawler_process
from linkspider.demo.server import PUBLIC_BASE, DemoServer

if TYPE_CHECKING:
    import argparse

#: Delays for a server on this machine; a real site gets the project defaults.
DEMO_SETTINGS = {
    "DOWNLOAD_DELAY": 0.02,
    "AUTOTHROTTLE_START_DELAY": 0.02,
    "AUTOTHROTTLE_MAX_DELAY": 1.0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
}


def copy_exports(target: Path, base: str) -> Path:
    """Copy the bundled backlink exports into ``target``, pointed at ``base``.

    Parameters
    ----------
    target : Path
        Folder to write (created).
    base : str
        The local server's ``http://127.0.0.1:PORT``.

    Returns
    -------
    Path
        ``target``.
    """
    target.mkdir(parents=True, exist_ok=True)
    for export in files("linkspider.demo").joinpath("backlinks").iterdir():
        if export.is_file() and not export.name.startswith("."):
            # The bundled exports are UTF-8; the address is replaced byte for byte.
            data = export.read_bytes().replace(PUBLIC_BASE.encode(), base.encode())
            (target / export.name).write_bytes(data)
    return target


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False  # built after the demo site is up

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Serve the bundled demo site on 127.0.0.1, crawl it and print the run folder"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--port", type=int, default=0, help="port of the demo site (default: free)"
        )
        parser.add_argument(
            "--run-dir", default=None, help="run folder (default: runs/demo/<time>)"
        )
        parser.add_argument(
            "--no-backlinks", action="store_true", help="crawl without the bundled backlink exports"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        settings = self.settings
        assert settings is not None
        for name, value in DEMO_SETTINGS.items():
            if (settings.getpriority(name) or 0) < SETTINGS_PRIORITIES["cmdline"]:
                settings.set(name, value, priority="cmdline")
        if opts.run_dir:
            run_dir = Path(opts.run_dir)
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            run_dir = Path(settings.get("LINKSPIDER_RUNS_DIR") or "runs") / "demo" / stamp
        with DemoServer(port=opts.port) as server:
            arguments = {"url": server.base + "/", "run_dir": str(run_dir)}
            if not opts.no_backlinks:
                exports = copy_exports(run_dir / "inputs" / "backlinks", server.base)
                arguments["backlinks"] = str(exports)
            process = crawler_process(settings)
            crawler = process.create_crawler("site")
            process.crawl(crawler, **arguments)
            process.start()
        print(f"Run folder: {run_dir}")
        report = run_dir / "report" / "index.html"
        if report.is_file():
            print(f"Report: {report}")
        fatal = getattr(crawler.spider, "fatal_error", None)
        if fatal or process.bootstrap_failed:
            print(f"error: {fatal or 'the crawl could not start'}", file=sys.stderr)
            self.exitcode = 1
