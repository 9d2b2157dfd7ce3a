"""Import backlink exports when a crawl starts (``scrapy crawl site -a backlinks=...``).

:class:`BacklinksImport` is a Scrapy extension. On ``spider_opened`` it reads
and merges the files the spider was given (``spider.backlink_files``), writes
them into ``<spider.run_dir>/crawl.sqlite`` through its own store connection,
and asks the spider to crawl every distinct target
(``spider.schedule_known_url(url, "backlink")``), so targets no internal link
reaches are crawled too. An unreadable or unrecognised file stops the crawl
before any request (close reason ``backlinks_error``) with one clear log line;
a spider with ``fail(reason, message)`` (the site spider) records that line
as the run's fatal error, which ``scrapy crawl`` prints last.

When the crawl then adopts another host of the site (a start URL redirects
to ``www.``: the spider's ``run_facts_changed`` signal), backlinks whose
source is on that host are the site's own links: they are removed
(:func:`~pipelines.backlinks.store.drop_backlinks_from`).

The spider opens the run's store first (the store pipeline opens before
``spider_opened``); the import writes ``known_urls`` rows with ``INSERT OR
IGNORE``, as the pipeline does, so the targets it records and the ones the
spider hands the pipeline never clash.

Settings (prefix ``BACKLINKS_``):

``BACKLINKS_ENABLED`` (``True``)
    Off: the files are ignored.
``BACKLINKS_TARGET`` (unset)
    Target assumed for exports without a target column (Search Console's link
    lists); default: the home page of the crawl's first start URL.
``BACKLINKS_COLUMNS`` (unset)
    Column map for exports we do not recognise: a dict, or
    ``"source=...,target=...,anchor=..."``.
``BACKLINKS_SCHEDULE_TARGETS`` (``True``)
    Ask the spider to crawl the targets.
``BACKLINKS_REJECT_DETAILS`` (``1000``)
    Rejected rows kept with line and reason per file (all are counted).
``BACKLINKS_WORKERS`` (``0``)
    Processes that read large exports: 0 = one per core (at most 4), 1 = none
    (everything in the crawl's process).

URLs are normalised with the crawl's ``LINKSPIDER_TRACKING_PARAMS`` when set.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured

from linkspider import signals as linkspider_signals
from linkspider.urlnorm import (
    DEFAULT_TRACKING_PARAMS,
    UrlNormaliser,
    registrable_domain,
    tracking_params_setting,
)
from pipelines.backlinks.formats import custom_format, parse_column_map
from pipelines.backlinks.model import BacklinkError
from pipelines.backlinks.store import drop_backlinks_from, import_backlinks
from pipelines.backlinks.summary import describe_import
from pipelines.backlinks.urls import Site
from pipelines.storedb import CrawlStore, StoreError

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

__all__ = ["BacklinksConfig", "BacklinksImport"]

logger = logging.getLogger(__name__)

#: The crawl's finish reason when an export cannot be imported.
_CLOSE_REASON = "backlinks_error"


@dataclass(frozen=True)
class BacklinksConfig:
    """The ``BACKLINKS_*`` settings, parsed and checked."""

    enabled: bool = True
    target: str | None = None
    columns: Mapping[str, str] | None = None
    schedule_targets: bool = True
    reject_details: int = 1000
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS
    workers: int = 0

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        """Parse the settings.

        Raises
        ------
        ValueError
            For a target that is not an http(s) URL, a bad column map, or a
            negative ``BACKLINKS_REJECT_DETAILS``.
        """
        target = settings.get("BACKLINKS_TARGET") or None
        if target is not None and UrlNormaliser().normalise(str(target)) is None:
            raise ValueError(f"BACKLINKS_TARGET {target!r} is not an http(s) URL")
        raw_columns = settings.get("BACKLINKS_COLUMNS") or None
        columns: dict[str, str] | None
        if raw_columns is None:
            columns = None
        elif isinstance(raw_columns, str):
            columns = parse_column_map(raw_columns)
        else:
            columns = {str(k): str(v) for k, v in dict(raw_columns).items()}
            custom_format(columns)
        details = settings.getint("BACKLINKS_REJECT_DETAILS", 1000)
        if details < 0:
            raise ValueError("BACKLINKS_REJECT_DETAILS must be 0 or more")
        workers = settings.getint("BACKLINKS_WORKERS", 0)
        if workers < 0:
            raise ValueError("BACKLINKS_WORKERS must be 0 (one per core) or more")
        return cls(
            enabled=settings.getbool("BACKLINKS_ENABLED", True),
            target=str(target) if target else None,
            columns=columns,
            schedule_targets=settings.getbool("BACKLINKS_SCHEDULE_TARGETS", True),
            reject_details=details,
            tracking_params=tracking_params_setting(settings.get("LINKSPIDER_TRACKING_PARAMS")),
            workers=workers,
        )


def _scope_hosts(spider: Spider) -> frozenset[str]:
    """The hosts (with their ports) in the crawl's scope: the start URLs' and
    those a start URL redirected to (the site spider's ``scope.netlocs``)."""
    netlocs = getattr(getattr(spider, "scope", None), "netlocs", None)
    return frozenset(str(h) for h in netlocs) if isinstance(netlocs, frozenset) else frozenset()


def _start_urls(spider: Spider) -> list[str]:
    """The crawl's start URLs, from the usual spider attributes."""
    urls = [str(u) for u in getattr(spider, "start_urls", None) or []]
    single = getattr(spider, "url", None)
    if isinstance(single, str) and single:
        urls.insert(0, single)
    return urls


class BacklinksImport:
    """Import ``spider.backlink_files`` into the run's store when the crawl opens.

    Parameters
    ----------
    config : BacklinksConfig
    files : sequence of Path
        The exports (files or folders).
    crawler : Crawler
    """

    def __init__(self, config: BacklinksConfig, files: Sequence[Path], crawler: Crawler) -> None:
        self.config = config
        self.files = list(files)
        self.crawler = crawler
        #: The run folder and the site the import read the exports for (once done).
        self.imported: tuple[Path, Site] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build from the crawler.

        Raises
        ------
        NotConfigured
            When off, misconfigured (with the reason), or when the spider was
            given no backlink file (silently: the usual crawl).
        """
        try:
            config = BacklinksConfig.from_settings(crawler.settings)
        except ValueError as exc:
            raise NotConfigured(str(exc)) from None
        if not config.enabled:
            raise NotConfigured("BACKLINKS_ENABLED is off")
        files = list(getattr(crawler.spider, "backlink_files", None) or [])
        if not files:
            # The usual case, not a problem: no message, so Scrapy logs no warning.
            raise NotConfigured
        extension = cls(config, [Path(f) for f in files], crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(
            extension.run_facts_changed, signal=linkspider_signals.run_facts_changed
        )
        return extension

    def spider_opened(self, spider: Spider) -> None:
        """Read, merge and store the exports, then schedule their targets."""
        config = self.config
        # The crawl's own normaliser when the spider offers it: targets must
        # compare equal to the links the crawl finds.
        normaliser = getattr(spider, "normaliser", None)
        if not isinstance(normaliser, UrlNormaliser):
            normaliser = UrlNormaliser(tracking_params=config.tracking_params)
        # With the hosts of the crawl's scope (those a resumed crawl adopted too).
        site = Site.from_urls(
            _start_urls(spider),
            extra_hosts=_scope_hosts(spider),
            normaliser=normaliser,
        )
        run_dir = Path(spider.run_dir)  # type: ignore[attr-defined]
        try:
            with CrawlStore(run_dir, create=True) as store:
                result = import_backlinks(
                    store,
                    self.files,
                    site=site,
                    target=config.target,
                    columns=config.columns,
                    normaliser=normaliser,
                    reject_details=config.reject_details,
                    workers=config.workers or None,
                )
        except (BacklinkError, StoreError, sqlite3.Error) as exc:
            message = f"backlinks not imported, crawl stopped: {exc}"
            fail = getattr(spider, "fail", None)
            if callable(fail):
                # The site spider records it as the run's fatal error (the store's
                # meta, the last line of `scrapy crawl`) and logs it once.
                fail(_CLOSE_REASON, message)
            else:
                logger.error("%s", message)
            raise CloseSpider(_CLOSE_REASON) from None
        if site is not None:
            self.imported = (run_dir, site)
        for line in describe_import(result, details=5):
            logger.info("Backlinks: %s", line)
        stats = self.crawler.stats
        if stats is not None:
            stats.set_value("backlinks/files", len(result.reports))
            stats.set_value("backlinks/rows_kept", sum(r.kept for r in result.reports))
            stats.set_value("backlinks/rows_rejected", sum(r.rejected for r in result.reports))
            stats.set_value("backlinks/stored", result.backlinks)
            stats.set_value("backlinks/targets", len(result.targets))
        if not config.schedule_targets:
            return
        schedule: Any = getattr(spider, "schedule_known_url", None)
        if schedule is None:
            logger.warning("Backlinks: the spider cannot schedule URLs; targets not crawled")
            return
        scheduled = sum(1 for url in result.targets if schedule(url, "backlink"))
        logger.info(
            "Backlinks: %d target(s) scheduled for crawling, %d outside the crawl scope",
            scheduled,
            len(result.targets) - scheduled,
        )
        if stats is not None:
            stats.set_value("backlinks/targets_scheduled", scheduled)

    def run_facts_changed(self, spider: Spider) -> None:
        """A start URL redirected to another host of the site, which the crawl
        adopted: backlinks from that host are the site's own links, removed."""
        if self.imported is None:
            return  # not imported yet: the import takes the scope's hosts itself
        run_dir, site = self.imported
        # Sent for every start URL that redirects (there may be many): the
        # scope's few hosts are compared, nothing is normalised again.
        hosts = {
            host
            for host in _scope_hosts(spider) - site.hosts
            if registrable_domain(host) in site.domains
        }
        if not hosts:
            return
        self.imported = (run_dir, dataclasses.replace(site, hosts=site.hosts | hosts))
        try:
            with CrawlStore(run_dir) as store:
                removed = drop_backlinks_from(
                    store,
                    hosts,
                    why="the crawl's start URL redirects to that host, so they are the "
                    "site's own links",
                )
        except (StoreError, sqlite3.Error) as exc:
            logger.error("Backlinks: links from %s not removed: %s", ", ".join(hosts), exc)
            return
        if removed:
            logger.info(
                "Backlinks: %d backlink(s) from %s removed: the start URL redirects there, "
                "so they are the site's own links",
                removed,
                ", ".join(sorted(hosts)),
            )
            stats = self.crawler.stats
            if stats is not None:
                stats.inc_value("backlinks/stored", -removed)
                stats.inc_value("backlinks/removed_internal", removed)
