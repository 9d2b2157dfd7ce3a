"""``scrapy crawl``, with the spider's arguments checked before anything starts.

The project's version of Scrapy's ``crawl`` command (Scrapy lets a project
command replace a built-in one). It behaves the same, plus:

* everything a user can get wrong is checked before anything starts, and a
  mistake prints one line, ``error: ...``, and exits with status 2: no
  traceback, no log, no run. That is the spider's ``-a`` arguments, its
  settings and its run folder (a spider's ``check_setup(args, settings)``
  class method, else ``check_arguments(args)``), the settings of every
  component of the crawl, parsed by the components' own
  ``Config.from_settings`` (robots.txt, backoff, throttle, store, backlink
  import), the Scrapy settings the crawl relies on, and, when the
  end-of-crawl report is on (``REPORT_ENABLED``), the report's settings
  (``EQUITY_*``, ``REPORT_*``, ``GAPS_*``), so a typo does not cost a whole
  crawl without its report;
* after the crawl it prints ``Run folder: ...`` and, if the crawl could not
  do its job (site unreachable, robots.txt unavailable or forbidding
  everything), that reason as the last line, exiting with status 1.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.spiderloader import get_spider_loader

from linkspider.checked_settings import CheckedSettings, checked
from linkspider.commands._process import crawler_process
from linkspider.extensions.throttle import ThrottleConfig
from linkspider.middlewares.backoff import BackoffConfig
from linkspider.middlewares.robots import RobotsConfig
from pipelines.backlinks.extension import BacklinksConfig
from pipelines.store import StoreConfig
from reports.pipeline import ReportError, check_settings

if TYPE_CHECKING:
    import argparse


#: The crawl's components whose settings are checked before the crawl starts.
COMPONENT_CONFIGS = (RobotsConfig, BackoffConfig, ThrottleConfig, StoreConfig, BacklinksConfig)

#: Scrapy settings the crawl relies on, which Scrapy reads without naming them
#: in its errors: whole numbers (with their minimum), numbers, booleans.
_SCRAPY_COUNTS = {
    "CONCURRENT_REQUESTS": 1,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "CONCURRENT_ITEMS": 1,
    "RETRY_TIMES": 0,
    "DOWNLOAD_WARNSIZE": 0,
}
_SCRAPY_NUMBERS = ("DOWNLOAD_TIMEOUT",)
_SCRAPY_FLAGS = ("ROBOTSTXT_OBEY", "COOKIES_ENABLED", "RETRY_ENABLED")


def check_crawl_settings(settings: CheckedSettings) -> None:
    """Parse the crawl components' settings (and the Scrapy ones they rely on).

    Raises
    ------
    ValueError
        One line naming the setting (a ``SettingError`` mostly).
    """
    for config in COMPONENT_CONFIGS:
        config.from_settings(settings)
    for name, minimum in _SCRAPY_COUNTS.items():
        settings.getint(name, minimum=minimum)
    for name in _SCRAPY_NUMBERS:
        settings.getfloat(name, above=0)
    for name in _SCRAPY_FLAGS:
        settings.getbool(name)


class Command(ScrapyCrawlCommand):
    # Built in run(), after the arguments are checked: creating it starts logging.
    requires_crawler_process = False

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        spidercls = None
        if len(args) == 1:
            try:
                spidercls = get_spider_loader(self.settings).load(args[0])
            except KeyError:
                print(
                    f"error: no spider named {args[0]!r} (scrapy list shows them)", file=sys.stderr
                )
                self.exitcode = 2
                return
        try:
            self._check(spidercls, opts.spargs)
        except (ValueError, ReportError) as exc:
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

    def _check(self, spidercls: type | None, spargs: dict[str, str]) -> None:
        """Arguments, then settings, then the spider's setup (it creates the run folder)."""
        assert self.settings is not None
        settings = checked(self.settings)
        check_arguments = getattr(spidercls, "check_arguments", None)
        if check_arguments is not None:
            check_arguments(spargs)
        if spidercls is not None:
            check_crawl_settings(settings)
        if self._report_enabled():
            check_settings(self.settings)
        check_setup = getattr(spidercls, "check_setup", None)
        if check_setup is not None:
            check_setup(spargs, settings)

    def _report_enabled(self) -> bool:
        assert self.settings is not None
        try:
            return self.settings.getbool("REPORT_ENABLED", True)
        except ValueError:
            return True  # malformed: check_settings names it
