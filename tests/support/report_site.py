"""The site the report's integration tests crawl: a small kettle shop with a known shape.

* ``/`` links the shop and the blog in its navigation, the red kettle in its
  content, ``/about`` and ``/contact`` in its footer (as every page does), a
  partner site (external) and the cart (nofollow).
* ``/shop/`` lists both kettles; the red kettle links the steel one; the steel
  kettle links a 404 (``/old-kettle``).
* ``/blog/`` lists two posts; ``/blog/descaling`` links the red kettle.
* ``/about`` is linked **only from footers**: the reasonable-surfer weights
  (footer 0.2) give it much less than uniform weights do.
* ``/promo`` redirects to ``/shop/`` (linked from the blog).

:func:`semrush_export` writes a backlink export for it (the Semrush layout)
once the server's address is known.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tests.support.site import SiteBuilder

__all__ = ["REPORT_PAGES", "report_site", "semrush_export"]

NAV = (("/shop/", "Shop"), ("/blog/", "Blog"))
FOOTER = (("/about", "About us"), ("/contact", "Contact"))

#: The 200 HTML pages of :func:`report_site` (the model's nodes).
REPORT_PAGES = (
    "/",
    "/shop/",
    "/shop/kettle-red",
    "/shop/kettle-steel",
    "/blog/",
    "/blog/descaling",
    "/blog/teas",
    "/about",
    "/contact",
)


def report_site() -> SiteBuilder:
    """The routes of the report tests' shop."""
    site = SiteBuilder()
    site.robots("User-agent: *\nDisallow: /cart\n")
    page = {"nav": NAV, "footer": FOOTER, "aside": ()}
    site.page(
        "/",
        "Kettle & Co",
        '<p>Kettles since 1890.</p><a href="/shop/kettle-red">Our red kettle</a> '
        '<a href="https://partner.example/">Our partner</a> '
        '<a href="/cart" rel="nofollow">Cart</a>',
        **page,
    )
    site.page(
        "/shop/",
        "Shop | Kettle & Co",
        '<a href="/shop/kettle-red">Red kettle</a> <a href="/shop/kettle-steel">Steel kettle</a>',
        breadcrumb=[("/", "Home")],
        **page,
    )
    site.page(
        "/shop/kettle-red",
        "Red kettle | Kettle & Co",
        '<p>Enamel, 1.7 litres.</p><a href="/shop/kettle-steel">The steel one</a>',
        breadcrumb=[("/", "Home"), ("/shop/", "Shop")],
        **page,
    )
    site.page(
        "/shop/kettle-steel",
        "Steel kettle | Kettle & Co",
        '<a href="/old-kettle">Last year\'s model</a>',
        breadcrumb=[("/", "Home"), ("/shop/", "Shop")],
        **page,
    )
    site.page(
        "/blog/",
        "Blog | Kettle & Co",
        '<a href="/blog/descaling">How to descale</a> <a href="/blog/teas">Winter teas</a> '
        '<a href="/promo">This month\'s offer</a>',
        breadcrumb=[("/", "Home")],
        **page,
    )
    site.page(
        "/blog/descaling",
        "How to descale a kettle | Kettle & Co",
        '<p>Vinegar is not the answer.</p><a href="/shop/kettle-red">our red kettle</a>',
        breadcrumb=[("/", "Home"), ("/blog/", "Blog")],
        **page,
    )
    site.page(
        "/blog/teas",
        "Winter teas | Kettle & Co",
        "<p>Rooibos, chai, lapsang.</p>",
        breadcrumb=[("/", "Home"), ("/blog/", "Blog")],
        **page,
    )
    site.page("/about", "About us | Kettle & Co", "<p>A family business.</p>", **page)
    site.page("/contact", "Contact | Kettle & Co", "<p>Write to us.</p>", **page)
    site.redirect("/promo", "/shop/", 301)
    site.html("/old-kettle", "<h1>Gone</h1>", status=404)
    return site


SEMRUSH_HEADER = (
    "Page ascore", "Source title", "Source url", "Target url", "Anchor", "External links",
    "Internal links", "Nofollow", "Sponsored", "Ugc", "Text", "Frame", "Form", "Image",
    "Sitewide", "First seen", "Last seen", "New link", "Lost link",
)  # fmt: skip


def semrush_export(path: Path, base: str) -> Path:
    """Write a Semrush backlinks export for the site served at ``base``.

    Three referring domains: one links the descaling post (AS 60), one the red
    kettle (AS 40), one the 404 ``/old-kettle`` (AS 50: lost equity).
    """
    rows = [
        ("60", "https://tea-news.example/kettles", "/blog/descaling", "descaling guide"),
        ("40", "https://kitchen-mag.example/best", "/shop/kettle-red", "red kettle"),
        ("50", "https://old-forum.example/t/1", "/old-kettle", "click here"),
    ]
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(SEMRUSH_HEADER)
        for score, source, target, anchor in rows:
            record = dict.fromkeys(SEMRUSH_HEADER, "")
            record.update(
                {
                    "Page ascore": score,
                    "Source title": "A page",
                    "Source url": source,
                    "Target url": base + target,
                    "Anchor": anchor,
                    "Nofollow": "false",
                    "Sponsored": "false",
                    "Ugc": "false",
                    "Text": "true",
                    "Image": "false",
                    "First seen": "2025-01-01",
                    "Last seen": "2026-03-01",
                    "Lost link": "false",
                }
            )
            writer.writerow([record[name] for name in SEMRUSH_HEADER])
    return path
