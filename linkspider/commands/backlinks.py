"""``scrapy backlinks RUN_DIR FILE...``: add or replace the backlinks of a crawl run.

Reads every export (vendor and variant recognised from the header), merges
them with the run's stored backlinks (or replaces them with ``--replace``),
says per file what it found, and resolves the targets against the crawl.
A user mistake ends with one line on stderr and exit code 2; nothing is
written unless every file could be read.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand

from linkspider.urlnorm import TrackingParamsError, normalise_url, run_normaliser
from pipelines.backlinks.formats import parse_column_map
from pipelines.backlinks.model import BacklinkError
from pipelines.backlinks.resolve import lost_equity, resolve_targets
from pipelines.backlinks.store import import_backlinks, site_of_store
from pipelines.backlinks.summary import describe_import, describe_resolution
from pipelines.storedb import CrawlStore, StoreError


class Command(ScrapyCommand):
    """Import backlink exports into a crawl run."""

    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "RUN_DIR FILE... [--target URL] [--columns source=...,target=...] [--replace]"

    def short_desc(self) -> str:
        return "Add or replace the backlinks of a crawl run from vendor exports"

    def long_desc(self) -> str:
        return (
            "Read backlink exports (Ahrefs, Semrush, Moz, Majestic, Google Search Console, "
            "Screaming Frog, or any file with source/target columns), merge them with the "
            "run's backlinks and tie each to the crawled page it lands on. FILE may be a "
            "folder (every .csv/.tsv/.txt in it)."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--target",
            metavar="URL",
            help="target page for exports without a target column (Search Console's "
            "link lists); default: the site's home page",
        )
        parser.add_argument(
            "--columns",
            metavar="MAP",
            help="column map for an export we do not recognise, e.g. "
            "source='Backlink',target='Page',anchor='Text'",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="replace the run's backlinks instead of merging into them",
        )
        parser.add_argument(
            "--details",
            type=int,
            default=20,
            metavar="N",
            help="rejected rows and lost-equity targets listed (default 20)",
        )

    def _fail(self, message: str) -> None:
        print(f"scrapy backlinks: error: {message}", file=sys.stderr)
        self.exitcode = 2

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) < 2:
            self._fail(f"give a run folder and at least one export (usage: {self.syntax()})")
            return
        assert self.settings is not None
        workers = self.settings.getint("BACKLINKS_WORKERS", 0)
        if workers < 0:
            self._fail("BACKLINKS_WORKERS must be 0 (one per core) or more")
            return
        try:
            columns = parse_column_map(opts.columns) if opts.columns else None
        except ValueError as exc:
            self._fail(f"--columns: {exc}")
            return
        if opts.target and normalise_url(opts.target) is None:
            self._fail(f"--target {opts.target!r} is not an http(s) URL")
            return
        run_dir = Path(args[0])
        try:
            with CrawlStore(run_dir) as store:
                normaliser = run_normaliser(
                    store.get_meta("tracking_params"),
                    self.settings.get("LINKSPIDER_TRACKING_PARAMS"),
                )
                site = site_of_store(store, normaliser=normaliser)
                if site is None:
                    print(
                        "note: the run has no crawled page: targets are not checked against "
                        "the site",
                        file=sys.stderr,
                    )
                result = import_backlinks(
                    store,
                    args[1:],
                    site=site,
                    target=opts.target,
                    columns=columns,
                    normaliser=normaliser,
                    replace=opts.replace,
                    workers=workers or None,
                )
                for line in describe_import(result, details=opts.details):
                    print(line)
                resolutions = resolve_targets(store)
                if site is not None:
                    lost = lost_equity(store, resolutions)
                    for line in describe_resolution(resolutions, lost, details=opts.details):
                        print(line)
        except (BacklinkError, StoreError, TrackingParamsError) as exc:
            self._fail(str(exc))
        except sqlite3.Error as exc:
            self._fail(f"{run_dir}: the store could not be written ({exc})")
