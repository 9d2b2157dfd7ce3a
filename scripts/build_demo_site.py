#!/usr/bin/env python3
"""Regenerate the bundled demo site and its backlink exports.

Reads ``scripts/demo_site.toml`` (the content) and writes:

* ``linkspider/demo/site/``: the static pages of a small outdoor-gear shop
  with a guides section (~60 pages: header, navigation, breadcrumbs, asides,
  footers, pagination, canonicals, noindex pages, nofollow links, a PDF, a
  sitemap index, robots.txt, orphan pages);
* ``linkspider/demo/routes.json``: its redirects (with a chain), a 410 and
  the page of a paginated category;
* ``linkspider/demo/backlinks/``: exports in the Ahrefs, Semrush and Google
  Search Console formats, pointing at the site's public address, which
  ``scrapy demo`` rewrites to its local server.

Run from the project root: ``python scripts/build_demo_site.py``. The output
is committed; only the standard library is needed.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tomllib
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "scripts" / "demo_site.toml"
DEMO = ROOT / "linkspider" / "demo"
SITE = DEMO / "site"
BASE = "{{base}}"  # the demo server puts its own http://127.0.0.1:PORT here

NAV = [("/", "Home"), ("/shop/", "Shop"), ("/guides/", "Guides"), ("/about", "About")]
FOOTER = [
    ("/about", "About us"),
    ("/contact", "Contact"),
    ("/shipping", "Shipping"),
    ("/returns", "Returns"),
    ("/privacy", "Privacy"),
    ("/terms", "Terms"),
    ("/careers", "Careers"),
]
POPULAR = [
    ("/shop/boots/summit-pro", "Summit Pro boots"),
    ("/shop/jackets/storm-shell", "Storm Shell"),
    ("/shop/tents/ridge-2p", "Ridge 2P tent"),
    ("/guides/layering-101", "Layering 101"),
    ("/guides/how-to-choose-hiking-boots", "Choosing hiking boots"),
]

LAYOUT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | Northwind Outfitters</title>
<meta name="description" content="{description}">
<link rel="canonical" href="{base}{canonical}">
<link rel="stylesheet" href="/static/site.css">
{head}</head>
<body class="page has-sidebar">
<header class="site-header">
<a class="logo" href="/"><img src="/static/logo.svg" alt="Northwind Outfitters"></a>
<nav class="main-menu" aria-label="Main">{nav}</nav>
<a class="search" href="/search?q=boots">Search</a>
<a class="account" href="/account/login" rel="nofollow">Sign in</a>
<a class="cart" href="/cart" rel="nofollow">Cart (0)</a>
</header>
{crumbs}
<main id="content">
<h1>{title}</h1>
{body}
</main>
{aside}
<footer class="site-footer">
<nav aria-label="Footer">{footer}</nav>
<p><a href="https://www.instagram.com/northwind.example/" rel="noopener">Instagram</a>
<a href="https://www.youtube.com/@northwind-example" rel="noopener">YouTube</a>
<a href="mailto:hello@northwind-outfitters.example">hello@northwind-outfitters.example</a></p>
<p>&copy; 2026 Northwind Outfitters Ltd.</p>
</footer>
</body>
</html>
"""
CRUMB = (
    '<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">'
    '<a itemprop="item" href="{href}"><span itemprop="name">{text}</span></a></li>'
)


def ul(items: list[tuple[str, str]]) -> str:
    return "<ul>" + "".join(f'<li><a href="{h}">{escape(t)}</a></li>' for h, t in items) + "</ul>"


def page(
    path: str,
    title: str,
    body: str,
    *,
    crumbs: list[tuple[str, str]] | None = None,
    aside: bool = True,
    head: str = "",
    canonical: str | None = None,
    description: str = "",
) -> str:
    crumb_html = ""
    if crumbs:
        items = "".join(CRUMB.format(href=h, text=escape(t)) for h, t in crumbs)
        crumb_html = (
            '<nav class="breadcrumb" aria-label="Breadcrumb">'
            f'<ol itemscope itemtype="https://schema.org/BreadcrumbList">{items}</ol></nav>'
        )
    aside_html = (
        f'<aside class="sidebar"><h2>Popular right now</h2>{ul(POPULAR)}</aside>' if aside else ""
    )
    return LAYOUT.format(
        title=escape(title),
        description=escape(description or title),
        base=BASE,
        canonical=canonical if canonical is not None else path,
        head=head,
        nav=ul(NAV),
        crumbs=crumb_html,
        body=body,
        aside=aside_html,
        footer=ul(FOOTER),
    )


def write(path: str, text: str) -> None:
    """Write the page served at ``path`` (``/x`` -> x.html, ``/x/`` -> x/index.html)."""
    relative = path.lstrip("/") + ("index.html" if path.endswith("/") else ".html")
    target = SITE / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def product_card(category: str, slug: str, name: str, blurb: str, price: int) -> str:
    url = f"/shop/{category}/{slug}"
    return (
        f'<li class="card"><a href="{url}"><img src="/img/{slug}.jpg" alt="{escape(name)}"></a>'
        f'<h3><a href="{url}">{escape(name)}</a></h3><p>{escape(blurb)}</p>'
        f'<p class="price">&pound;{price}</p></li>'
    )


def build_shop(content: dict[str, Any], names: dict[str, str], guides_for: dict) -> dict[str, str]:
    """Shop index, category pages (one paginated) and product pages; returns aliases."""
    categories = content["categories"]
    shop = "".join(
        f'<li><a href="/shop/{c["slug"]}/">{escape(c["label"])}</a> '
        f"({len(c['products'])} products)</li>"
        for c in categories
    )
    write("/shop/", page("/shop/", "Shop", f"<ul>{shop}</ul>", crumbs=[("/", "Home")]))
    aliases: dict[str, str] = {}
    per_page = content["per_page"]
    trail = [("/", "Home"), ("/shop/", "Shop")]
    for category in categories:
        slug, label, products = category["slug"], category["label"], category["products"]
        chunks = [products[i : i + per_page] for i in range(0, len(products), per_page)]
        for number, chunk in enumerate(chunks, start=1):
            grid = "".join(product_card(slug, *product) for product in chunk)
            pager = ""
            if len(chunks) > 1:
                pages = " ".join(
                    f'<a href="/shop/{slug}/{"" if n == 1 else f"?page={n}"}">{n}</a>'
                    for n in range(1, len(chunks) + 1)
                )
                pager = f'<nav class="pagination" aria-label="Pages">{pages}</nav>'
            sort = f'<p>Sort by <a href="/shop/{slug}/?sort=price" rel="nofollow">price</a></p>'
            path = f"/shop/{slug}/" if number == 1 else f"/shop/{slug}/?page={number}"
            title = label if number == 1 else f"{label}, page {number}"
            html = page(path, title, f'{sort}<ul class="grid">{grid}</ul>{pager}', crumbs=trail)
            if number == 1:
                write(path, html)
            else:
                write(f"/shop/{slug}/page-{number}", html)
                aliases[path] = f"shop/{slug}/page-{number}.html"

        for index, (product, name, blurb, price) in enumerate(products):
            related = [products[(index + k) % len(products)] for k in (1, 2)]
            related_html = ul([(f"/shop/{slug}/{r[0]}", r[1]) for r in related])
            guides = guides_for.get(f"{slug}/{product}", [])
            guides_html = f"<h2>Read before you buy</h2>{ul(guides)}" if guides else ""
            extra = ""
            if (slug, product) == ("boots", "summit-pro"):
                extra = (
                    '<p>Also in <a href="/shop/boots/summit-pro-wide">wide fit</a>. '
                    '<a href="/files/size-chart.pdf">Size chart (PDF)</a></p>'
                )
            body = (
                f'<p class="lead">{escape(blurb)}</p><p class="price">&pound;{price}</p>'
                f'<p><a href="/cart?add={product}" rel="nofollow">Add to cart</a></p>{extra}'
                f"<h2>You may also like</h2>{related_html}{guides_html}"
                f'<p>Back to <a href="/shop/{slug}/">all {escape(label.lower())}</a>.</p>'
            )
            path = f"/shop/{slug}/{product}"
            crumbs = [*trail, (f"/shop/{slug}/", label)]
            write(path, page(path, name, body, crumbs=crumbs, description=blurb))

    boots = [*trail, ("/shop/boots/", "Hiking boots")]
    write(
        "/shop/boots/summit-pro-wide",
        page(
            "/shop/boots/summit-pro-wide",
            "Summit Pro (wide fit)",
            '<p class="lead">The Summit Pro on a wider last.</p>'
            '<p><a href="/shop/boots/summit-pro">Standard fit</a></p>',
            crumbs=boots,
            canonical="/shop/boots/summit-pro",
        ),
    )
    orphan = content["orphan_product"]
    path = f"/shop/{orphan['category']}/{orphan['slug']}"
    price = f'<p class="price">&pound;{orphan["price"]}</p>'
    body = f'<p class="lead">{escape(orphan["blurb"])}</p>{price}'
    write(path, page(path, orphan["name"], body, crumbs=[*trail, ("/shop/tents/", "Tents")]))
    return aliases


def build_guides(content: dict[str, Any], names: dict[str, str]) -> None:
    guides = content["guides"]
    titles = {guide["slug"]: guide["title"] for guide in guides}
    index = "".join(
        f'<article><h2><a href="/guides/{g["slug"]}">{escape(g["title"])}</a></h2>'
        f"<p>{escape(g['lead'])}</p></article>"
        for g in guides
    )
    write("/guides/", page("/guides/", "Guides", index, crumbs=[("/", "Home")]))
    trail = [("/", "Home"), ("/guides/", "Guides")]
    for guide in guides:
        gear = ul([(f"/shop/{p}", names[p]) for p in guide["products"]])
        following = " ".join(
            f'<a href="/guides/{n}">{escape(titles[n])}</a>' for n in guide["next"]
        )
        words = " ".join([guide["lead"]] * 6)
        body = (
            f'<article><p class="lead">{escape(guide["lead"])}</p><p>{escape(words)}</p>'
            f"<h2>Gear we use</h2>{gear}{guide.get('extra', '')}<p>Next: {following}</p></article>"
            '<section class="comments"><h2>Comments</h2><p>Great tips! '
            '<a href="https://hikingblog.example/my-trip" rel="ugc nofollow">My trip report</a>'
            "</p></section>"
        )
        path = f"/guides/{guide['slug']}"
        write(path, page(path, guide["title"], body, crumbs=trail, description=guide["lead"]))
    orphan = content["orphan_guide"]
    path = f"/guides/{orphan['slug']}"
    body = f"<article><p>{escape(orphan['lead'])}</p></article>"
    write(path, page(path, orphan["title"], body, crumbs=trail))


def build_home_and_company(content: dict[str, Any], names: dict[str, str]) -> None:
    categories = "".join(
        f'<li><a href="/shop/{c["slug"]}/">{escape(c["label"])}</a></li>'
        for c in content["categories"]
    )
    featured = ["boots/summit-pro", "jackets/storm-shell", "tents/ridge-2p", "backpacks/trekker-45"]
    cards = "".join(
        f'<li><a href="/shop/{key}"><img src="/img/{key.split("/")[1]}.jpg" '
        f'alt="{escape(names[key])}"></a> <a href="/shop/{key}">{escape(names[key])}</a></li>'
        for key in featured
    )
    latest = "".join(
        f'<li><a href="/guides/{g["slug"]}">{escape(g["title"])}</a></li>'
        for g in content["guides"][:3]
    )
    body = (
        "<p>Boots, jackets, tents and packs chosen by people who use them.</p>"
        f"<section><h2>Shop by category</h2><ul>{categories}</ul></section>"
        f'<section><h2>Featured</h2><ul class="cards">{cards}</ul></section>'
        '<p class="promo"><a href="/sale">Winter sale: up to 40% off</a> - '
        '<a href="/catalog">Browse the full catalogue</a></p>'
        f"<section><h2>From the guides</h2><ul>{latest}</ul>"
        '<a href="/guides/">All guides</a></section>'
    )
    head = (
        f'<link rel="alternate" hreflang="en" href="{BASE}/">'
        f'<link rel="alternate" hreflang="x-default" href="{BASE}/">'
    )
    description = "Outdoor gear shop: hiking boots, jackets, tents, backpacks."
    write(
        "/",
        page("/", "Gear for every trail", body, aside=False, head=head, description=description),
    )

    home = [("/", "Home")]
    company = {
        "/about": (
            "About us",
            "<p>Northwind Outfitters was founded in 2009 by two mountain guides. Read our "
            '<a href="/guides/">guides</a> or <a href="/contact">get in touch</a>.</p>',
        ),
        "/contact": (
            "Contact",
            '<p>Email <a href="mailto:hello@northwind-outfitters.example">'
            'hello@northwind-outfitters.example</a> or call <a href="tel:+441234567890">'
            '01234 567890</a>.</p><map name="stores"><area shape="rect" coords="0,0,50,50" '
            'href="/about" alt="Our shop in Keswick"></map>',
        ),
        "/shipping": ("Shipping", "<p>Free delivery on orders over &pound;50.</p>"),
        "/returns": (
            "Returns",
            '<p>Return anything within 60 days. See <a href="/shipping">shipping</a>.</p>',
        ),
        "/privacy": ("Privacy", "<p>We keep your data only as long as we need it.</p>"),
    }
    for path, (title, text) in company.items():
        write(path, page(path, title, text, crumbs=home, aside=False))
    noindex = '<meta name="robots" content="noindex">'
    write("/terms", page("/terms", "Terms and conditions", "<p>The small print.</p>",
                         crumbs=home, aside=False, head=noindex))  # fmt: skip
    write(
        "/careers",
        page(
            "/careers",
            "Careers",
            '<p>We are hiring: <a href="/careers/store-assistant">store assistant</a>.</p>',
            crumbs=home,
            aside=False,
            head='<meta name="robots" content="noindex, nofollow">',
        ),
    )
    write(
        "/careers/store-assistant",
        page(
            "/careers/store-assistant",
            "Store assistant",
            "<p>Join our Keswick team.</p>",
            crumbs=[*home, ("/careers", "Careers")],
            aside=False,
        ),
    )


def build_files(content: dict[str, Any]) -> None:
    """robots.txt, the sitemap index and its sitemaps, a PDF."""
    (SITE / "robots.txt").write_text(
        "User-agent: *\nDisallow: /account/\nDisallow: /cart\nDisallow: /search\n\n"
        f"User-agent: GPTBot\nDisallow: /\n\nSitemap: {BASE}/sitemap.xml\n",
        encoding="utf-8",
    )
    (SITE / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"<sitemap><loc>{BASE}/sitemap-pages.xml</loc></sitemap>\n"
        f"<sitemap><loc>{BASE}/sitemap-products.xml</loc></sitemap>\n</sitemapindex>\n",
        encoding="utf-8",
    )
    pages = ["/", "/shop/", "/guides/", "/about", "/contact", "/shipping", "/returns", "/privacy"]
    pages += [f"/guides/{g['slug']}" for g in content["guides"]]
    pages.append(f"/guides/{content['orphan_guide']['slug']}")
    products = [f"/shop/{c['slug']}/" for c in content["categories"]]
    products += [f"/shop/{c['slug']}/{p[0]}" for c in content["categories"] for p in c["products"]]
    orphan = content["orphan_product"]
    # A stale entry, as real sitemaps have: the product is gone (410).
    products += [f"/shop/{orphan['category']}/{orphan['slug']}", "/shop/tents/discontinued-dome"]
    for name, paths in (("sitemap-pages.xml", pages), ("sitemap-products.xml", products)):
        entries = "".join(
            f"<url><loc>{BASE}{p}</loc><lastmod>2026-01-15</lastmod></url>\n" for p in paths
        )
        (SITE / name).write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}</urlset>\n',
            encoding="utf-8",
        )
    (SITE / "files").mkdir(parents=True, exist_ok=True)
    (SITE / "files" / "size-chart.pdf").write_bytes(
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


AHREFS_HEADER = [
    "Referring page title", "Referring page URL", "Language", "Platform",
    "Referring page HTTP code", "Domain rating", "UR", "Domain traffic", "Referring domains",
    "Linked domains", "External links", "Page traffic", "Keywords", "Target URL", "Left context",
    "Anchor", "Right context", "Redirect Chain URLs", "Redirect Chain status codes", "Type",
    "Is spam", "Content", "Nofollow", "UGC", "Sponsored", "Rendered", "Raw", "Lost status",
    "Drop reason", "Discovered status", "First seen", "Last seen", "Lost", "Author", "Page type",
    "Page category", "Links in group",
]  # fmt: skip
SEMRUSH_HEADER = [
    "Page ascore", "Source title", "Source url", "Target url", "Anchor", "External links",
    "Internal links", "Nofollow", "Sponsored", "Ugc", "Text", "Frame", "Form", "Image",
    "Sitewide", "First seen", "Last seen", "New link", "Lost link",
]  # fmt: skip


def _flag(value: bool) -> str:
    return "true" if value else "false"


def build_backlinks(content: dict[str, Any]) -> None:
    out = DEMO / "backlinks"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    public = content["public_base"]
    rows = content["backlinks"]

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AHREFS_HEADER)
    for row in rows["ahrefs"]:
        title, source, platform, dr, ur, target, anchor, kind = row[:8]
        nofollow, ugc, sponsored, lost, lost_status, first_seen = row[8:]
        writer.writerow([
            title, source, "en", platform, 200, dr, ur, dr * 1370, dr * 53, 12, 24, ur * 40,
            ur * 3, public + target, "", anchor, "", "", "", kind, "false", "true",
            _flag(nofollow), _flag(ugc), _flag(sponsored), "false", "true", lost_status, "",
            "linkfound", first_seen, "2026-04-01 06:00:00", lost, "", "", "", 1,
        ])  # fmt: skip
    (out / "northwind-outfitters-backlinks-ahrefs.csv").write_text(buffer.getvalue(), "utf-8")

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SEMRUSH_HEADER)
    for row in rows["semrush"]:
        score, title, source, target, anchor, nofollow, sponsored, ugc, image = row[:9]
        first_seen, lost = row[9:]
        writer.writerow([
            score, title, source, public + target, anchor, 40, 120, _flag(nofollow),
            _flag(sponsored), _flag(ugc), _flag(not image), "false", "false", _flag(image),
            "false", first_seen, "2026-04-03", "false", _flag(lost),
        ])  # fmt: skip
    (out / "northwind-outfitters.example-backlinks-semrush.csv").write_text(
        buffer.getvalue(), "utf-8"
    )

    lines = ["Linking page,Last crawled"] + [f"{url},{day}" for url, day in rows["gsc_latest"]]
    gsc = out / "northwind-outfitters-Latest links-gsc.csv"
    gsc.write_bytes("\r\n".join(lines).encode("utf-8"))


def main() -> None:
    content = tomllib.loads(CONTENT.read_text("utf-8"))
    if SITE.exists():
        shutil.rmtree(SITE)
    names = {f"{c['slug']}/{p[0]}": p[1] for c in content["categories"] for p in c["products"]}
    guides_for: dict[str, list[tuple[str, str]]] = {}
    for guide in content["guides"]:
        for product in guide["products"]:
            guides_for.setdefault(product, []).append((f"/guides/{guide['slug']}", guide["title"]))
    build_home_and_company(content, names)
    aliases = build_shop(content, names, guides_for)
    build_guides(content, names)
    build_files(content)
    routes = {
        "redirects": content["routes"]["redirects"],
        "gone": content["routes"]["gone"],
        "aliases": aliases,
    }
    (DEMO / "routes.json").write_text(json.dumps(routes, indent=2, sort_keys=True) + "\n", "utf-8")
    build_backlinks(content)
    count = sum(1 for _ in SITE.rglob("*.html"))
    print(f"Demo site: {count} pages in {SITE.relative_to(ROOT)}, exports in {DEMO / 'backlinks'}")


if __name__ == "__main__":
    main()
