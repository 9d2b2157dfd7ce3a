"""The crawl's items: typed dataclasses, one item per page carrying its links.

A Scrapy item per link would cost about three times the crawl time, so a page
and its links travel together as one :class:`PageItem`. Redirect hops and
URLs that were not fetched (failed, blocked, skipped, trapped) get their own
small items. The field names of :class:`PageItem` and :class:`Link` are a
contract: feed exports (``-O pages.jsonl``) and later tools rely on them.

This module imports nothing from Scrapy: the extractor and the tests build
these objects as plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ErrorItem", "Hreflang", "Link", "PageItem", "RedirectHop", "RedirectItem"]


@dataclass(slots=True)
class Link:
    """One ``<a href>`` or ``<area href>`` on a page.

    Attributes
    ----------
    url : str or None
        Normalised absolute target; ``None`` when the href is not an http(s)
        URL (``mailto:``, ``tel:``, ``javascript:``) or cannot be parsed.
    href : str
        The attribute as written.
    anchor : str
        Visible text, whitespace-collapsed; the ``alt`` text for an image
        link (then ``is_image`` is true); empty when there is none.
    rel : list of str
        ``rel`` tokens, lower-case, in document order.
    followed : bool
        False for ``nofollow``/``ugc``/``sponsored`` or when the page's robots
        directives say ``nofollow``.
    position : str
        One of :data:`pipelines.storedb.POSITIONS`.
    internal : bool
        The target is inside the crawl scope.
    is_image : bool
        The anchor is an image's ``alt`` text.
    kind : str
        ``http``, ``mailto``, ``tel``, ``javascript``, ``data`` or ``other``
        (see :class:`linkspider.urlnorm.HrefKind`).
    """

    url: str | None
    href: str
    anchor: str
    rel: list[str]
    followed: bool
    position: str
    internal: bool = False
    is_image: bool = False
    kind: str = "http"


@dataclass(slots=True)
class RedirectHop:
    """One hop of a redirect chain: ``url`` answered ``status``.

    ``kind`` is ``http`` for a 3xx answer and ``meta_refresh`` for an HTML
    page whose ``<meta http-equiv="refresh">`` sends the browser on at once
    (then ``status`` is the page's own, usually 200).
    """

    url: str
    status: int
    kind: str = "http"


@dataclass(slots=True)
class Hreflang:
    """One ``<link rel=alternate hreflang>`` of a page."""

    lang: str
    url: str


@dataclass(slots=True)
class PageItem:
    """A fetched URL that answered with something other than a redirect.

    Attributes
    ----------
    url : str
        The URL that answered (after any redirects), normalised.
    status : int
        HTTP status.
    depth : int
        Depth of the request that fetched it (clicks from where the crawl
        entered, as scheduled). The exact click depth is computed over the
        whole link graph when the crawl ends and is in the store.
    title, canonical, meta_robots : str or None
        ``<title>``; absolute normalised ``rel=canonical`` (from the HTML or
        a ``Link`` header); raw content of ``<meta name=robots>``.
    redirect_chain : list of RedirectHop
        The hops that led here, first request first; empty when none.
    links : list of Link
        Every ``<a href>``/``<area href>`` in document order (the index is
        the link's order on the page).
    kind : str
        ``html`` (parsed), ``other`` (not HTML: recorded, not parsed),
        ``error`` (4xx/5xx: not parsed) or ``oversize`` (larger than
        ``DOWNLOAD_MAXSIZE``: recorded, not parsed).
    requested_url : str
        First URL requested (equals ``url`` without redirects).
    x_robots_tag : str or None
        Raw ``X-Robots-Tag`` header(s).
    noindex, nofollow : bool
        Parsed from the meta robots tag and the X-Robots-Tag header.
    h1 : str or None
        First ``<h1>``.
    hreflang : list of Hreflang
        Alternates from ``<link rel=alternate hreflang>``.
    word_count : int or None
        Words of the main text (``<main>``, else ``<article>``, else the body
        without navigation, header, footer and aside).
    signature : list of str
        Top terms of title, h1 and main text, for topical relevance.
    content_type : str or None
    response_ms : float or None
        Download latency in milliseconds.
    size_bytes : int or None
        Body size (``Content-Length`` when the body was not downloaded).
    fetched_at : float
        UNIX time of the answer.
    error : str or None
        Why the page was not parsed, in words.
    meta_refresh : str or None
        The content of the page's ``<meta http-equiv="refresh">`` in
        ``<head>``, as written.
    refresh_url : str or None
        Where that refresh sends the browser (normalised), when it names
        another URL; the page refreshes after ``refresh_delay`` seconds, more
        than ``LINKSPIDER_META_REFRESH_INSTANT`` (an instant one makes the
        page a :class:`RedirectItem` instead).
    refresh_delay : int or None
    """

    url: str
    status: int
    depth: int
    title: str | None = None
    canonical: str | None = None
    meta_robots: str | None = None
    redirect_chain: list[RedirectHop] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    kind: str = "html"
    requested_url: str = ""
    x_robots_tag: str | None = None
    noindex: bool = False
    nofollow: bool = False
    h1: str | None = None
    hreflang: list[Hreflang] = field(default_factory=list)
    word_count: int | None = None
    signature: list[str] = field(default_factory=list)
    content_type: str | None = None
    response_ms: float | None = None
    size_bytes: int | None = None
    fetched_at: float = 0.0
    error: str | None = None
    meta_refresh: str | None = None
    refresh_url: str | None = None
    refresh_delay: int | None = None


@dataclass(slots=True)
class RedirectItem:
    """One redirect hop: ``url`` answered ``status`` pointing at ``target``.

    Attributes
    ----------
    url : str
        The URL that redirected.
    status : int
        301, 302, 303, 307 or 308; for a meta refresh, the page's own status
        (a 2xx).
    target : str or None
        Normalised ``Location``; ``None`` when missing or unusable.
    location : str
        The ``Location`` header as sent; for a meta refresh, the content
        attribute as written.
    depth : int
        Depth of the request (redirect hops are not click levels).
    loop : bool
        The target is already in this chain.
    error : str or None
        Why the chain stopped here (a loop, too many hops, an unusable
        Location), in words.
    kind : str
        ``http`` (a 3xx answer) or ``meta_refresh`` (an HTML page whose
        ``<meta http-equiv="refresh">`` sends the browser on within
        ``LINKSPIDER_META_REFRESH_INSTANT`` seconds).
    delay : int or None
        The meta refresh's delay in seconds; ``None`` for ``http``.
    content_type : str or None
        ``Content-Type`` of a meta refresh page; ``None`` for ``http``.
    """

    url: str
    status: int
    target: str | None
    location: str
    depth: int
    loop: bool = False
    requested_url: str = ""
    response_ms: float | None = None
    fetched_at: float = 0.0
    error: str | None = None
    kind: str = "http"
    delay: int | None = None
    content_type: str | None = None


@dataclass(slots=True)
class ErrorItem:
    """A URL the crawl decided about without a usable answer.

    Attributes
    ----------
    url : str
        Normalised URL.
    kind : str
        ``failed`` (no HTTP answer: DNS, refused, timeout), ``blocked``
        (robots.txt), ``skipped`` (excluded, too long, beyond a cap) or
        ``trap`` (crawler trap suspected).
    reason : str
        What happened, in words.
    depth : int or None
        Depth of the request or of the link that led to it.
    pattern : str or None
        For traps: the pattern whose cap was hit.
    """

    url: str
    kind: str
    reason: str
    depth: int | None = None
    pattern: str | None = None
    fetched_at: float = 0.0
