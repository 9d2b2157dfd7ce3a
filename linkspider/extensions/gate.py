"""Stop downloading bodies the crawl would not parse.

On ``headers_received`` for a page request (meta ``linkspider_page``):

* a non-HTML ``Content-Type`` (PDF, image, video, archive...) stops the
  download: the spider records the status and type without the body;
* a ``Content-Length`` above ``DOWNLOAD_MAXSIZE`` stops it too, and the page
  is recorded as *oversize* with its status and announced size, instead of
  Scrapy cancelling it silently.

The download is stopped with ``StopDownload(fail=False)``, so the response
reaches the spider's callback with an empty body and the reason in
``request.meta["linkspider_stopped"]`` (``not_html`` or ``oversize``).
Requests for robots.txt and sitemaps are never touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured, StopDownload

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Headers, Request

__all__ = ["HTML_TYPES", "PAGE_META_KEY", "STOPPED_META_KEY", "ResponseGate", "is_html_type"]

#: Request meta key: the request is for a page (HTML expected).
PAGE_META_KEY = "linkspider_page"
#: Request meta key set by the gate: why the body was not downloaded.
STOPPED_META_KEY = "linkspider_stopped"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def is_html_type(content_type: str | None) -> bool:
    """Whether a Content-Type is HTML; a missing type counts as HTML (sniffed later)."""
    if not content_type:
        return True
    return content_type.split(";", 1)[0].strip().lower() in HTML_TYPES


class ResponseGate:
    """Stops non-HTML and oversize page downloads at the headers."""

    def __init__(self, crawler: Crawler, maxsize: int) -> None:
        self.crawler = crawler
        self.maxsize = maxsize
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("LINKSPIDER_SKIP_NON_HTML", True):
            raise NotConfigured("LINKSPIDER_SKIP_NON_HTML is off")
        return cls(crawler, crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def headers_received(
        self, headers: Headers, body_length: Any, request: Request, **kwargs: Any
    ) -> None:
        meta = request.meta
        if not meta.get(PAGE_META_KEY) or request.method == "HEAD":
            return
        raw_type = headers.get(b"Content-Type")
        content_type = raw_type.decode("latin-1") if raw_type else None
        if not is_html_type(content_type):
            meta[STOPPED_META_KEY] = "not_html"
            raise StopDownload(fail=False)
        maxsize = meta.get("download_maxsize", self.maxsize)
        if maxsize and isinstance(body_length, int) and body_length > maxsize:
            meta[STOPPED_META_KEY] = "oversize"
            raise StopDownload(fail=False)
