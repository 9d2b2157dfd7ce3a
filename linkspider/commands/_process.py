"""Shared by the project's commands: the crawler process ``scrapy.cmdline`` would build."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.crawler import AsyncCrawlerProcess, CrawlerProcess

if TYPE_CHECKING:
    from scrapy.settings import Settings

_ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def crawler_process(settings: Settings) -> CrawlerProcess | AsyncCrawlerProcess:
    """The process class ``scrapy.cmdline`` picks for these settings.

    Commands that validate their input first build it themselves: creating
    it configures logging and prints Scrapy's banner.
    """
    if (
        settings["TWISTED_REACTOR"] == _ASYNCIO_REACTOR
        and not settings.getbool("FORCE_CRAWLER_PROCESS")
    ) or not settings.getbool("TWISTED_REACTOR_ENABLED"):
        return AsyncCrawlerProcess(settings)
    return CrawlerProcess(settings)
