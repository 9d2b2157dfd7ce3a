"""A test extension standing in for the later steps that build on the crawl.

Like the backlink importer, it calls ``spider.schedule_known_url`` on
``spider_opened``; like the post-crawl report, it reads the store on
``spider_closed``. What it saw goes to the JSON file named by the
``PROBE_OUTPUT`` setting; ``PROBE_URLS`` lists the URLs to schedule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scrapy import signals

from pipelines.storedb import CrawlStore


class KnownUrlsProbe:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.output = Path(crawler.settings["PROBE_OUTPUT"])
        self.urls = crawler.settings.getlist("PROBE_URLS")
        self.seen: dict[str, Any] = {}
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> KnownUrlsProbe:
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        self.seen["scheduled"] = {
            url: spider.schedule_known_url(url, "backlink") for url in self.urls
        }
        self.seen["backlink_files"] = [str(path) for path in spider.backlink_files]
        self.seen["priority_file"] = str(spider.priority_file) if spider.priority_file else None
        self.seen["run_dir"] = str(spider.run_dir)

    def spider_closed(self, spider: Any, reason: str) -> None:
        with CrawlStore(spider.run_dir) as store:
            self.seen["at_close"] = {
                "finish_reason": store.get_meta("finish_reason"),
                "complete": store.get_meta("complete"),
                "pages": store.count("pages"),
                "depth_written": store.conn.execute(
                    "SELECT count(*) FROM pages WHERE depth IS NOT NULL"
                ).fetchone()[0],
            }
        self.output.write_text(json.dumps(self.seen), encoding="utf-8")
