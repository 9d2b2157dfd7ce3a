"""The equity model's test site: a small shop whose link graph is designed so
that the model's answers can be predicted.

Two guides sit in exactly symmetric places (same inlinks, same layout, each
linking on to two money pages that nothing else links). Only backlinks tell
them apart, so without backlinks the money pages behind each guide hold
exactly the same equity, and with them the difference is what the backlinks
deposited. Around them, every way a link can stop passing equity:

* ``/guides/old-routing`` and ``/guides/old-other`` redirect (301) to the
  guides; ``/about`` reaches ``/company/about`` through a 301 then a 308 (it is
  in every page's footer);
* ``/guides/routing?print=1`` and ``/guides/other?print=1`` are print variants
  whose ``rel=canonical`` names their guide; ``/blog/printables`` links them;
* ``/partners`` has nothing but nofollow/sponsored links; ``/guides/draft`` says
  ``<meta name=robots content="noindex, nofollow">``, so its ordinary layout
  links are unfollowed; the home page has one nofollow link among followed ones;
* ``/blog/archive`` links a 404, a robots-disallowed page and another site.

Positions follow :func:`tests.support.site.layout`: the logo is ``header``,
the main menu ``nav``, the breadcrumb ``breadcrumb``, ``<main>`` ``content``,
``<aside>`` ``aside`` and the footer ``footer``.
"""

from __future__ import annotations

from tests.support.server import Response
from tests.support.site import SiteBuilder

__all__ = [
    "CANONICAL_VARIANTS",
    "GUIDE_OTHER",
    "GUIDE_ROUTING",
    "MONEY_OTHER",
    "MONEY_ROUTING",
    "NOFOLLOW_ONLY",
    "REDIRECTS",
    "equity_site",
]

NAV = (("/", "Home"), ("/guides/", "Guides"), ("/shop/", "Shop"), ("/blog/", "Blog"))
FOOTER = (("/about", "About us"), ("/partners", "Partners"))

GUIDE_ROUTING = "/guides/routing"
GUIDE_OTHER = "/guides/other"
#: Money pages linked only from the routing guide / only from the other guide,
#: in matching pairs.
MONEY_ROUTING = ("/shop/tents/alpine", "/shop/tents/summit")
MONEY_OTHER = ("/shop/stoves/ember", "/shop/stoves/flare")
#: URL -> the page its redirects end on (every hop is a pages row of kind redirect).
REDIRECTS = {
    "/guides/old-routing": GUIDE_ROUTING,
    "/guides/old-other": GUIDE_OTHER,
    "/about": "/company/about",
    "/about/": "/company/about",
}
#: Variant -> its canonical page.
CANONICAL_VARIANTS = {
    "/guides/routing?print=1": GUIDE_ROUTING,
    "/guides/other?print=1": GUIDE_OTHER,
}
#: Pages whose every link is unfollowed (rel, or meta robots nofollow).
NOFOLLOW_ONLY = ("/partners", "/guides/draft")

ROBOTS = "User-agent: *\nDisallow: /private/\n"


def _links(*pairs: tuple[str, str], rel: str = "") -> str:
    attr = f' rel="{rel}"' if rel else ""
    return " ".join(f'<a href="{href}"{attr}>{text}</a>' for href, text in pairs)


def _guide(site: SiteBuilder, path: str, title: str, money: tuple[str, str]) -> None:
    site.page(
        path,
        title,
        "<p>Where to go, and what to take.</p>"
        + _links((money[0], "The tent we take"), (money[1], "The one for storms")),
        nav=NAV,
        footer=FOOTER,
        aside=(),
        breadcrumb=[("/", "Home"), ("/guides/", "Guides")],
    )


def _money(site: SiteBuilder, path: str, title: str) -> None:
    site.page(
        path,
        title,
        "<p>In stock. Free returns.</p>",
        nav=NAV,
        footer=FOOTER,
        aside=(),
        breadcrumb=[("/", "Home"), ("/shop/", "Shop")],
    )


def _plain(
    site: SiteBuilder,
    path: str,
    title: str,
    content: str = "",
    *,
    breadcrumb: tuple[tuple[str, str], ...] = (),
    head: str = "",
) -> None:
    site.page(
        path, title, content, nav=NAV, footer=FOOTER, aside=(), breadcrumb=breadcrumb, head=head
    )


def equity_site() -> SiteBuilder:
    """The equity tests' site (see the module docstring)."""
    site = SiteBuilder()
    site.robots(ROBOTS)
    _plain(
        site,
        "/",
        "Northwind Outfitters",
        "<p>Gear and routes for the outdoors.</p>"
        + _links(("/guides/routing", "Route guide"), ("/guides/other", "Stove guide"))
        + _links(("/basket", "Basket"), rel="nofollow"),
    )
    _plain(
        site,
        "/guides/",
        "Guides",
        _links(
            ("/guides/routing", "Route guide"),
            ("/guides/other", "Stove guide"),
            ("/guides/draft", "Coming soon"),
        ),
        breadcrumb=(("/", "Home"),),
    )
    _guide(site, GUIDE_ROUTING, "Planning a route", MONEY_ROUTING)
    _guide(site, GUIDE_OTHER, "Cooking outdoors", MONEY_OTHER)
    for path in MONEY_ROUTING + MONEY_OTHER:
        _money(site, path, path.rsplit("/", 1)[-1].title())
    for variant, canonical in CANONICAL_VARIANTS.items():
        # Same content as the guide, printable: the canonical says it is the guide.
        site.page(
            variant,
            "Printable guide",
            "<p>Print me.</p>",
            nav=NAV,
            footer=FOOTER,
            aside=(),
            head=f'<link rel="canonical" href="{canonical}">',
        )
    _plain(
        site,
        "/guides/draft",
        "Draft guide",
        "<p>Not ready yet.</p>" + _links(("/shop/", "Shop")),
        head='<meta name="robots" content="noindex, nofollow">',
    )
    _plain(site, "/shop/", "Shop", "<p>Browse the guides to find your gear.</p>")
    _plain(
        site,
        "/blog/",
        "Blog",
        _links(("/blog/printables", "Printables"), ("/blog/archive", "Archive")),
    )
    _plain(
        site,
        "/blog/printables",
        "Printables",
        _links(
            ("/guides/routing?print=1", "Print the route guide"),
            ("/guides/other?print=1", "Print the stove guide"),
        ),
    )
    _plain(
        site,
        "/blog/archive",
        "Archive",
        _links(
            ("/guides/old-routing", "Our first route guide"),
            ("/guides/old-other", "Our first stove guide"),
            ("/blog/retired", "A retired post"),
            ("/private/notes", "Staff notes"),
            ("https://maps.example.org/", "Maps"),
        ),
    )
    site.redirect("/guides/old-routing", GUIDE_ROUTING, 301)
    site.redirect("/guides/old-other", GUIDE_OTHER, 301)
    site.redirect("/about", "/about/", 301)
    site.redirect("/about/", "/company/about", 308)
    _plain(site, "/company/about", "About us", "<p>Since 1987.</p>")
    site.html(
        "/partners",
        "<!DOCTYPE html><html><head><title>Partners</title></head><body>"
        "<h1>Our partners</h1>"
        '<p><a href="https://stoves.example.com/" rel="sponsored">Stove maker</a> '
        '<a href="https://tents.example.net/" rel="nofollow">Tent maker</a> '
        '<a href="/shop/" rel="nofollow">Our shop</a></p>'
        "</body></html>",
    )
    site.add("/blog/retired", Response("<h1>Gone</h1>", status=404))
    site.page("/private/notes", "Staff notes")
    site.page("/basket", "Basket")
    return site
