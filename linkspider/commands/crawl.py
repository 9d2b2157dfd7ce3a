"""``scrapy crawl``, with the spider's arguments checked before anything starts.

The project's version of Scrapy's ``crawl`` command (Scrapy lets a project
command replace a built-in one). It behaves the same, plus:

* a spider with a ``check_arguments(args)`` class method (the site spider)
  has its ``-a`` arguments validated first; a mistake prints one line,
  ``error: ...``, and exits with status 2, without a traceback or a run;
* after the crawl it prints ``Run folder: ...`` and, if the crawl could not
  do its job (site unreachable, robots.txt unavailable or forbidding
  everything), that reason as the last line, exiting with status 1.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's own usage errors
            return
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        check = getattr(crawler.spidercls, "check_arguments", None)
        if check is not None:
            try:
                check(opts.spargs)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                self.exitcode = 2
                return
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        spider = crawler.spider
        run_dir = getattr(spider, "run_dir", None)
        if run_dir is not None:
            print(f"Run folder: {run_dir}")
        fatal = getattr(spider, "fatal_error", None)
        if fatal:
            print(f"error: {fatal}", file=sys.stderr)
            self.exitcode = 1


__all__ = ["Command"]
