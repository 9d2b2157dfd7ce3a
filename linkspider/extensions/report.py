"""Write the run's report when the crawl ends (``REPORT_ENABLED``, on by default).

:class:`ReportExtension` listens to ``spider_closed``, which Scrapy sends after
every item pipeline has closed and after the site spider's
``linkspider.signals.crawl_finished`` (the store records how the run ended
then): so it reads a finished store. It calls
:func:`reports.pipeline.generate_report` on the spider's run folder, which
writes ``report/index.html`` and ``report/data/*``, and logs where they are.

A report that cannot be made never turns a finished crawl into a traceback:
the reason is logged as one error line and the crawl's data stays as it is
(``scrapy report RUN_DIR`` can try again later).

Settings (prefix ``REPORT_``, see ``docs/report.md``): ``REPORT_ENABLED``,
``REPORT_DIR`` and the table limits; the model reads the ``EQUITY_*`` settings.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

from scrapy import signals
from scrapy.exceptions import NotConfigured

from pipelines.storedb import STORE_FILENAME
from reports.config import ConfigError, EquityConfig
from reports.pipeline import ReportError, generate_report
from reports.report_config import ReportConfig, ReportConfigError

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

__all__ = ["ReportExtension"]

logger = logging.getLogger(__name__)


class ReportExtension:
    """Write ``<run folder>/report/`` when the spider closes.

    Parameters
    ----------
    config : ReportConfig
        The ``REPORT_*`` settings.
    crawler : Crawler
        Its settings are passed on to the report (``EQUITY_*``, ``REPORT_*``).
    """

    def __init__(self, config: ReportConfig, crawler: Crawler) -> None:
        self.config = config
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build from the crawler's settings.

        Raises
        ------
        NotConfigured
            ``REPORT_ENABLED`` is off, or a ``REPORT_*``/``EQUITY_*`` setting is
            malformed (the reason names it, and is logged when the crawl starts).
        """
        try:
            config = ReportConfig.from_settings(crawler.settings)
            EquityConfig.from_settings(crawler.settings)
        except (ReportConfigError, ConfigError) as exc:
            raise NotConfigured(f"no report will be written: {exc}") from None
        if not config.enabled:
            raise NotConfigured("REPORT_ENABLED is off")
        extension = cls(config, crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Write the report of the run the spider kept, or log one line saying why not."""
        run_dir = getattr(spider, "run_dir", None)
        if run_dir is None:
            return  # not a spider that keeps a run folder
        run_dir = Path(run_dir)
        if not (run_dir / STORE_FILENAME).is_file():
            logger.warning("Report not written: no crawl store in %s", run_dir)
            return
        started = time.perf_counter()
        try:
            files = generate_report(run_dir, settings=self.crawler.settings)
        except ReportError as exc:
            logger.error("Report not written: %s", exc)
            return
        except Exception as exc:  # a bug in the report must not fail a finished crawl
            logger.error(
                "Report not written: unexpected %s: %s (run `scrapy report %s` to retry)",
                type(exc).__name__,
                exc,
                run_dir,
            )
            logger.debug("Report failure details", exc_info=True)
            return
        logger.info(
            "Report: %s (%.1f MB, data in %s, %.1f s)",
            files.html,
            files.html_bytes / 1e6,
            files.html.parent / "data",
            time.perf_counter() - started,
        )
        stats = self.crawler.stats
        if stats is not None:
            stats.set_value("report/html_bytes", files.html_bytes)
            stats.set_value("report/pages_rows", files.exports.get("pages.csv", 0))
