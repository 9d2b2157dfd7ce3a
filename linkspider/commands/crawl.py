"""``scrapy crawl``, with the spider's arguments checked before anything starts.

The project's version of Scrapy's ``crawl`` command (Scrapy lets a project
command replace a built-in one). It behaves the same, plus:

* a spider with a ``check_arguments(args)`` class method (the site spider)
  has its ``-a`` arguments validated first; a mistake prints one line,
  ``error: ...``, and exits with status 2: no traceback, no log, no run;
* when the end-of-crawl report is on (``REPORT_ENABLED``), its settings
  (``EQUITY_*``, ``REPORT_*``, ``GAPS_*``, e.g. given with ``-s``) are checked
  the same way, so a typo does not cost a whole crawl without its report;
* after the crawl it prints ``Run folder: ...`` and, if the crawl could not
  do its job (site unreachable, robots.txt unavailable or forbidding
  everything), that reason as the last line, exiting with status 1.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.spiderloader import get_spider_loader

from linkspider.commands._process import crawler_process
from reports.pipeline import ReportError, check_settings

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCrawlCommand):
    # Built in run(), after the arguments are checked: creating it starts logging.
    requires_crawler_process = False

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) == 1:
            try:
                spidercls = get_spider_loader(self.settings).load(args[0])
            except KeyError:
                print(
                    f"error: no spider named {args[0]!r} (scrapy list shows them)", file=sys.stderr
                )
                self.exitcode = 2
                return
            check = getattr(spidercls, "check_arguments", None)
            if check is not None:
                try:
                    check(opts.spargs)
                except ValueError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    self.exitcode = 2
                    return
        if self._report_enabled():
            try:
                check_settings(self.settings)
            except ReportError as exc:
                print(f"error: {exc}", file=sys.stderr)
                self.exitcode = 2
                return
        self.crawler_process = crawler_process(self.settings)
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's own usage errors
            return
        crawler = self._create_crawler(args[0])
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

    def _report_enabled(self) -> bool:
        assert self.settings is not None
        try:
            return self.settings.getbool("REPORT_ENABLED", True)
        except ValueError:
            return True  # malformed: check_settings names it
