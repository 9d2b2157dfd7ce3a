"""Test sites: a builder for realistic pages, and the designed site the crawl
tests assert on.

:class:`SiteBuilder` assembles routes for :class:`tests.support.server.TestServer`:
pages in a common layout (header with logo and main navigation, breadcrumb,
main content, aside, footer), redirects, raw responses, robots.txt and
sitemaps. Texts may contain ``{base}``, replaced per request by the server's
own ``http://127.0.0.1:PORT`` (the port is only known once it listens).

:func:`designed_site` is the site with a known link graph used by the crawl's
integration tests; :data:`EXPECTED_DEPTHS` and friends say what a correct
crawl of it finds. Other tests may start from :func:`designed_site` and add
pages with :meth:`SiteBuilder.page`.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from tests.support.server import LoggedRequest, Response, Route, redirect

__all__ = [
    "BLOCKED_PATHS",
    "EXPECTED_DEPTHS",
    "HEAD_ONLY_PATHS",
    "NEVER_REQUESTED",
    "NOT_REACHABLE",
    "SiteBuilder",
    "base_of",
    "designed_site",
    "layout",
]

NAV: tuple[tuple[str, str], ...] = (
    ("/", "Home"),
    ("/shop/", "Shop"),
    ("/blog/", "Blog"),
    ("/about", "About"),
)
FOOTER: tuple[tuple[str, str], ...] = (("/contact", "Contact"), ("/privacy", "Privacy"))
ASIDE: tuple[tuple[str, str], ...] = (("/shop/boots", "Best seller: hiking boots"),)


def base_of(request: LoggedRequest) -> str:
    """``http://host:port`` of the server, from the request's Host header."""
    return "http://" + request.headers.get("Host", "127.0.0.1")


def _anchors(links: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in links)


def layout(
    title: str,
    *,
    content: str = "",
    breadcrumb: Sequence[tuple[str, str]] = (),
    head: str = "",
    nav: Sequence[tuple[str, str]] = NAV,
    aside: Sequence[tuple[str, str]] = ASIDE,
    footer: Sequence[tuple[str, str]] = FOOTER,
) -> str:
    """A page in the shop's layout.

    Parameters
    ----------
    title : str
        ``<title>`` and ``<h1>``.
    content : str
        HTML inside ``<main>`` after the h1.
    breadcrumb : sequence of (href, text)
        A ``<nav aria-label="Breadcrumb">`` before the main content.
    head : str
        Extra HTML in ``<head>`` (canonical, meta robots, base...).
    nav, aside, footer : sequence of (href, text)
        Links in the header's navigation, the aside and the footer.
    """
    crumbs = (
        f'<nav aria-label="Breadcrumb" class="breadcrumbs"><ol>{_anchors(breadcrumb)}</ol></nav>'
        if breadcrumb
        else ""
    )
    side = (
        f'<aside class="sidebar"><h2>Popular</h2><ul>{_anchors(aside)}</ul></aside>'
        if aside
        else ""
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>{head}</head>\n'
        '<body class="has-sidebar header-sticky">\n'
        '<header class="site-header"><a class="logo" href="/">Northwind Outfitters</a>'
        f'<nav class="main-menu"><ul>{_anchors(nav)}</ul></nav></header>\n'
        f"{crumbs}\n"
        f"<main><h1>{escape(title)}</h1>\n{content}\n</main>\n"
        f"{side}\n"
        f'<footer class="site-footer"><ul>{_anchors(footer)}</ul>'
        "<p>&copy; Northwind Outfitters</p></footer>\n"
        "</body></html>\n"
    )


def _templated(text: str, content_type: str, status: int = 200) -> Route:
    if "{base}" not in text:
        return Response(text, status=status, content_type=content_type)

    def route(request: LoggedRequest) -> Response:
        return Response(
            text.replace("{base}", base_of(request)), status=status, content_type=content_type
        )

    return route


@dataclass
class SiteBuilder:
    """Routes of a test site, built page by page."""

    routes: dict[str, Route] = field(default_factory=dict)

    def add(self, path: str, route: Route) -> SiteBuilder:
        """Any route (a Response or a callable)."""
        self.routes[path] = route
        return self

    def page(
        self,
        path: str,
        title: str,
        content: str = "",
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        **layout_args: object,
    ) -> SiteBuilder:
        """An HTML page in the common layout (see :func:`layout`)."""
        html = layout(title, content=content, **layout_args)  # type: ignore[arg-type]
        self.routes[path] = Response(html, status=status, headers=dict(headers or {}), delay=delay)
        return self

    def html(self, path: str, html: str, *, status: int = 200, **kwargs: object) -> SiteBuilder:
        """A raw HTML document; ``{base}`` is replaced per request."""
        if "{base}" in html:
            self.routes[path] = _templated(html, "text/html; charset=utf-8", status)
        else:
            self.routes[path] = Response(html, status=status, **kwargs)  # type: ignore[arg-type]
        return self

    def redirect(self, path: str, location: str, status: int = 301) -> SiteBuilder:
        self.routes[path] = redirect(location, status)
        return self

    def robots(self, text: str) -> SiteBuilder:
        """robots.txt; ``{base}`` is replaced per request."""
        self.routes["/robots.txt"] = _templated(text, "text/plain")
        return self

    def sitemap(self, path: str, paths: Iterable[str], *, gzipped: bool = False) -> SiteBuilder:
        """A urlset sitemap of paths on this server."""
        entries = "".join(f"<url><loc>{{base}}{escape(p)}</loc></url>" for p in paths)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>\n'
        )
        self.routes[path] = self._xml(xml, gzipped)
        return self

    def sitemap_index(self, path: str, sitemaps: Iterable[str]) -> SiteBuilder:
        entries = "".join(f"<sitemap><loc>{{base}}{escape(p)}</loc></sitemap>" for p in sitemaps)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</sitemapindex>\n"
        )
        self.routes[path] = self._xml(xml, gzipped=False)
        return self

    @staticmethod
    def _xml(xml: str, gzipped: bool) -> Route:
        def route(request: LoggedRequest) -> Response:
            body = xml.replace("{base}", base_of(request)).encode()
            if gzipped:
                return Response(gzip.compress(body), content_type="application/x-gzip")
            return Response(body, content_type="application/xml")

        return route

    def build(self) -> dict[str, Route]:
        return dict(self.routes)


def _counting(responses: Sequence[Response], then: Response) -> Callable[[LoggedRequest], Response]:
    """A route answering ``responses`` in turn, then ``then`` forever."""
    served = iter(responses)

    def route(request: LoggedRequest) -> Response:
        if request.method == "HEAD":
            return then
        return next(served, then)

    return route


def _calendar(request: LoggedRequest) -> Response:
    """An infinite calendar: every month links to the next one."""
    parts = request.path.strip("/").split("/")
    try:
        year, month = int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        return Response("<h1>Not found</h1>", status=404)
    nxt_year, nxt_month = (year + 1, 1) if month == 12 else (year, month + 1)
    html = layout(
        f"Events in {year}-{month:02d}",
        content=f'<a href="/calendar/{nxt_year}/{nxt_month:02d}">Next month</a>',
    )
    return Response(html)


def _loop_trap(request: LoggedRequest) -> Response:
    """/trap/, /trap/loop/, /trap/loop/loop/ ...: a relative link that nests forever."""
    return Response(layout("Trap", content='<a href="loop/">Deeper</a>'))


ROBOTS = """\
User-agent: BadBot
Disallow: /

User-agent: *
Disallow: /private/

Sitemap: {base}/sitemap_index.xml
"""


def designed_site() -> SiteBuilder:
    """The crawl tests' site: every feature the crawl handles, with a known graph.

    See :data:`EXPECTED_DEPTHS` for the click depth of every URL a correct
    crawl records, and the module constants for what must never be fetched.
    """
    site = SiteBuilder()
    site.robots(ROBOTS)
    site.sitemap_index("/sitemap_index.xml", ["/sitemap-pages.xml", "/sitemap-blog.xml.gz"])
    site.sitemap("/sitemap-pages.xml", ["/", "/shop/", "/about", "/orphan"])
    site.sitemap("/sitemap-blog.xml.gz", ["/blog/hello", "/blog/guide"], gzipped=True)

    site.page(
        "/",
        "Northwind Outfitters",
        "<p>Gear for the outdoors.</p>"
        '<a href="/shop/boots">Hiking boots</a> '
        '<a href="/blog/hello?utm_source=newsletter&amp;utm_medium=email#comments">'
        "Read our  hello\n post</a> "
        '<a href="/old-page">Our story</a> '
        '<a href="https://partner.example/deal" rel="sponsored noopener">Partner deal</a> '
        '<a href="/private/secret">Staff area</a> '
        '<a href="mailto:shop@northwind.test">Email us</a> '
        '<a href="tel:+15550100">Call us</a> '
        '<a href="javascript:void(0)">Open menu</a> '
        '<a href="/files/catalog.pdf">Catalogue (PDF)</a> '
        '<a href="/shop/cart" rel="nofollow">Cart</a>',
        aside=ASIDE,
    )
    site.page(
        "/shop/",
        "Shop",
        '<ul><li><a href="/shop/boots">Boots</a></li>'
        '<li><a href="/shop/jackets">Jackets</a></li>'
        '<li><a href="/shop/tents">Tents</a></li>'
        '<li><a href="socks">Socks</a></li></ul>'
        '<a href="?page=2">Next page</a> <a href="/shop/cart" rel="nofollow">Cart</a>',
        breadcrumb=[("/", "Home")],
    )
    site.page(
        "/shop/?page=2",
        "Shop, page 2",
        '<a href="/shop/tents">Tents</a> <a href="/shop/boots">Boots</a>',
        breadcrumb=[("/", "Home"), ("/shop/", "Shop")],
    )
    site.page(
        "/shop/boots",
        "Hiking boots",
        "<p>Waterproof leather hiking boots for long walks in wet weather.</p>"
        '<a href="/shop/boots-large"><img src="/img/boots.jpg" alt="Boots, large  photo"></a>',
        breadcrumb=[("/", "Home"), ("/shop/", "Shop")],
        head='<link rel="canonical" href="/shop/boots?utm_campaign=spring">'
        '<link rel="alternate" hreflang="de" href="/de/shop/stiefel">',
    )
    site.add("/shop/boots-large", Response("<h1>Gone</h1>", status=410))
    site.page(
        "/shop/jackets",
        "Jackets",
        '<a href="parka">Parka</a>',
        breadcrumb=[("/", "Home"), ("/shop/", "Shop")],
        head='<base href="/shop/outer/"><link rel="canonical" href="/shop/coats">',
    )
    site.page("/shop/outer/parka", "Parka", '<a href="/shop/jackets">All jackets</a>')
    site.page("/shop/coats", "Coats")
    site.page(
        "/shop/tents",
        "Tents",
        '<a href="/shop/tent-secret">Prototype tent</a>',
        head='<meta name="robots" content="noindex, nofollow">',
    )
    site.redirect("/shop/socks", "/shop/socks-sale", 302)
    site.page("/shop/socks-sale", "Socks sale")

    site.page(
        "/blog/",
        "Blog",
        '<article><a href="/blog/hello">Hello</a></article>'
        '<article><a href="/blog/guide">The layering guide</a></article>'
        '<a href="/blog/chain-start">Archive</a>',
        breadcrumb=[("/", "Home")],
    )
    site.page(
        "/blog/hello",
        "Hello from the trail",
        "<article><p>We walked the coast path.</p>"
        '<p class="comment">'
        '<a href="https://commenter.example/" rel="ugc nofollow">A reader</a></p>'
        '<a href="/blog/guide">Next: layering</a></article>',
        breadcrumb=[("/", "Home"), ("/blog/", "Blog")],
        headers={"X-Robots-Tag": "googlebot: noindex"},
    )
    site.redirect("/blog/chain-start", "/blog/chain-2", 301)
    site.redirect("/blog/chain-2", "/blog/chain-end", 308)
    site.page("/blog/chain-end", "Archive")
    site.redirect("/blog/loop-a", "/blog/loop-b", 302)
    site.redirect("/blog/loop-b", "/blog/loop-a", 301)
    site.page(
        "/blog/guide",
        "The layering guide",
        '<a href="/blog/loop-a">Old guide</a> '
        '<a href="/missing">Missing page</a> '
        '<a href="/calendar/2024/01">Events</a> '
        '<a href="/slow">Slow page</a> '
        '<a href="/big">Big page</a> '
        '<a href="/files/report">Annual report</a> '
        '<a href="/busy">Busy page</a> '
        '<a href="/throttled">Throttled page</a> '
        '<a href="/trap/">Nested</a>',
        breadcrumb=[("/", "Home"), ("/blog/", "Blog")],
    )
    site.add("/calendar", _calendar)
    for year in (2024, 2025):
        for month in range(1, 13):
            site.add(f"/calendar/{year}/{month:02d}", _calendar)
    site.add("/trap/", _loop_trap)
    for depth in range(1, 6):
        site.add("/trap/" + "loop/" * depth, _loop_trap)
    site.page("/slow", "Slow page", "<p>Worth the wait.</p>", delay=1.0)
    site.add("/big", Response(layout("Big", content="<p>" + "x" * 300_000 + "</p>")))
    site.add("/files/catalog.pdf", Response(b"%PDF-1.4 catalogue", content_type="application/pdf"))
    site.add("/files/report", Response(b"%PDF-1.4 report " * 1000, content_type="application/pdf"))
    busy = Response("<h1>Busy</h1>", status=503, headers={"Retry-After": "1"})
    site.add("/busy", _counting([busy, busy], Response(layout("Busy page, now free"))))
    site.add(
        "/throttled",
        _counting(
            [Response("<h1>Slow down</h1>", status=429, headers={"Retry-After": "1"})],
            Response(layout("Throttled page, now free")),
        ),
    )

    site.redirect("/old-page", "/about", 301)
    site.page(
        "/about",
        "About us",
        '<map name="m"><area href="/contact" alt="Find us"></map>',
        breadcrumb=[("/", "Home")],
    )
    site.page(
        "/contact",
        "Contact",
        '<a href="  /about  ">About\n   us  now</a> <a href="/privacy"></a> '
        '<a href="/shop/%62oots">Boots again</a>',
    )
    site.page("/privacy", "Privacy")
    site.page("/orphan", "Orphan page", "<p>Only the sitemap knows me.</p>")
    site.page("/private/secret", "Staff only")
    site.page("/shop/tent-secret", "Prototype")
    site.page("/shop/cart", "Cart")
    return site


#: Click depth of every URL the crawl records with one (redirect hops are
#: not levels; URLs found only through the sitemap or a canonical have none).
EXPECTED_DEPTHS: dict[str, int | None] = {
    "/": 0,
    "/shop/": 1,
    "/blog/": 1,
    "/about": 1,
    "/contact": 1,
    "/privacy": 1,
    "/shop/boots": 1,
    "/blog/hello": 1,
    "/old-page": 1,
    "/private/secret": 1,
    "/files/catalog.pdf": 1,
    "/shop/jackets": 2,
    "/shop/tents": 2,
    "/shop/socks": 2,
    "/shop/socks-sale": 2,
    "/shop/?page=2": 2,
    "/shop/boots-large": 2,
    "/blog/guide": 2,
    "/blog/chain-start": 2,
    "/blog/chain-2": 2,
    "/blog/chain-end": 2,
    "/shop/outer/parka": 3,
    "/blog/loop-a": 3,
    "/blog/loop-b": 3,
    "/missing": 3,
    "/calendar/2024/01": 3,
    "/slow": 3,
    "/big": 3,
    "/files/report": 3,
    "/busy": 3,
    "/throttled": 3,
    "/trap/": 3,
    "/calendar/2024/02": 4,
    "/trap/loop/": 4,
    "/calendar/2024/03": 5,
    "/trap/loop/loop/": 5,
    "/calendar/2024/04": 6,
    "/trap/loop/loop/loop/": 6,
    "/calendar/2024/05": 7,
    "/calendar/2024/06": 8,
    "/shop/coats": None,
    "/orphan": None,
}
#: Disallowed by robots.txt: recorded as blocked, never requested.
BLOCKED_PATHS = ("/private/secret",)
#: Linked only with nofollow (rel or page-level): never requested.
NEVER_REQUESTED = ("/private/secret", "/shop/cart", "/shop/tent-secret", "/calendar/2024/06")
#: Found only through the sitemap or a canonical: crawled, no click depth.
NOT_REACHABLE = ("/shop/coats", "/orphan")
#: Non-HTML by extension: requested with HEAD only.
HEAD_ONLY_PATHS = ("/files/catalog.pdf",)
