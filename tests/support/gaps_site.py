"""The gap analysis's designed site: a small shop whose routing problems are known.

Built with :class:`tests.support.site.SiteBuilder` and crawled for real by the
integration tests (``tests/integration/test_gaps_site.py``). What a correct
analysis finds (the module constants say the same in code):

* **Orphans.** ``/landing/spring-sale`` is live, no page links to it, and two
  referring domains do (the backlink export): an orphan with backlinks, ranked
  first. ``/lookbook`` is only in the sitemap: an orphan without backlinks.
* **Buried.** The money page ``/shop/tents/ultralight/summit-2p`` is 4 clicks
  deep (home > shop > tents > ultralight > it).
* **Starved.** The money page ``/shop/waterproof-boots`` is linked only from
  two footers.
* **Stranded vs routing.** ``/guides/waterproof-boots-care`` receives the most
  backlink authority (five strong domains) and links nowhere but the
  navigation and footer: stranded. ``/guides/choosing-trail-runners`` receives
  backlinks and links the trail-runner money page from its text: routing, not
  stranded.
* **Recommendation.** The stranded guide is about waterproof boots and holds
  the most equity: the best source of a link to the starved boots page.
* **Broken links.** ``/shop/discontinued-lantern`` (404) is linked from the
  home page, ``/guides/missing-guide`` (404) from the privacy page: the first
  wastes more.
* **Redirect links.** ``/sale`` (301 to the shop) from the home page;
  ``/old-shop`` (a two-hop chain to the shop) from the about page.
* **Vague anchors.** "Read more" once, from the routing guide into the trail
  runner (a priority page); "click here" three times into the contact page:
  "read more" carries more authority into priority pages.
* **Image link without alt** from the shop to the trail runner.
* **Lost backlink equity.** Two domains link to
  ``/shop/waterproof-hiking-boots-2019`` (404): the redirect to suggest is the
  live ``/shop/waterproof-boots`` (same words), not the shop's index.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from pipelines.storedb import (
    EDGE_FLAG_FOLLOWED,
    EDGE_FLAG_INTERNAL,
    POSITION_CODES,
    STORE_FILENAME,
    pack_edges,
    unpack_edges,
)
from tests.support.server import Response
from tests.support.site import SiteBuilder

__all__ = [
    "BACKLINKS",
    "BROKEN_BY_WASTE",
    "BURIED",
    "LOST_TARGET",
    "ORPHAN_WITHOUT_BACKLINKS",
    "ORPHAN_WITH_BACKLINKS",
    "PRIORITY",
    "REDIRECT_SUGGESTION",
    "ROUTING_GUIDE",
    "STARVED",
    "STRANDED_GUIDE",
    "add_links",
    "gaps_site",
    "write_backlinks",
    "write_priority",
]

NAV: tuple[tuple[str, str], ...] = (
    ("/", "Home"),
    ("/shop/", "Shop"),
    ("/guides/", "Guides"),
    ("/about", "About"),
)
FOOTER: tuple[tuple[str, str], ...] = (("/contact", "Contact"), ("/privacy", "Privacy"))
FOOTER_WITH_BOOTS = (*FOOTER, ("/shop/waterproof-boots", "Boots"))

STARVED = "/shop/waterproof-boots"
BURIED = "/shop/tents/ultralight/summit-2p"
TRAIL_RUNNER = "/shop/trail-runner"
PRIORITY = (TRAIL_RUNNER, STARVED, BURIED)
STRANDED_GUIDE = "/guides/waterproof-boots-care"
ROUTING_GUIDE = "/guides/choosing-trail-runners"
ORPHAN_WITH_BACKLINKS = "/landing/spring-sale"
ORPHAN_WITHOUT_BACKLINKS = "/lookbook"
#: Broken link targets, the one wasting the most authority first.
BROKEN_BY_WASTE = ("/shop/discontinued-lantern", "/guides/missing-guide")
LOST_TARGET = "/shop/waterproof-hiking-boots-2019"
REDIRECT_SUGGESTION = STARVED

#: (referring page, target path, domain rating, anchor) of the backlink export.
BACKLINKS: tuple[tuple[str, str, int, str], ...] = (
    ("https://hikingmag.example/boots-care", STRANDED_GUIDE, 88, "how to care for boots"),
    ("https://outdoorjournal.example/wet-feet", STRANDED_GUIDE, 82, "waterproof boot care"),
    ("https://trailforum.example/t/42", STRANDED_GUIDE, 75, "this guide"),
    ("https://gearblog.example/maintenance", STRANDED_GUIDE, 70, "boot care guide"),
    ("https://mountainnews.example/tips", STRANDED_GUIDE, 66, "waterproofing boots"),
    ("https://runnersworld.example/shoes", ROUTING_GUIDE, 60, "choosing trail runners"),
    ("https://ultrablog.example/kit", ROUTING_GUIDE, 55, "trail shoe guide"),
    ("https://localnews.example/shops", "/", 50, "Northwind Trail Co"),
    ("https://dealsite.example/spring", ORPHAN_WITH_BACKLINKS, 45, "spring sale"),
    ("https://couponhub.example/northwind", ORPHAN_WITH_BACKLINKS, 40, "northwind coupons"),
    ("https://reviews.example/boots-2019", LOST_TARGET, 72, "waterproof hiking boots"),
    ("https://bootsreview.example/best", LOST_TARGET, 64, "best waterproof boots 2019"),
)

AHREFS_COLUMNS = (
    "Referring page title", "Referring page URL", "Domain rating", "UR", "Target URL",
    "Anchor", "Type", "Nofollow", "UGC", "Sponsored", "First seen", "Last seen", "Lost",
)  # fmt: skip


def _text(*sentences: str) -> str:
    return "".join(f"<p>{s}</p>" for s in sentences)


def gaps_site() -> SiteBuilder:
    """The designed shop (see the module docstring for what it hides)."""
    site = SiteBuilder()
    site.robots("User-agent: *\nAllow: /\n\nSitemap: {base}/sitemap.xml\n")
    site.sitemap("/sitemap.xml", ["/", "/shop/", ORPHAN_WITHOUT_BACKLINKS])
    common = {"nav": NAV, "footer": FOOTER, "aside": ()}
    crumbs_shop = [("/", "Home"), ("/shop/", "Shop")]
    site.page(
        "/",
        "Northwind Trail Co",
        _text("Gear and advice for long days on the trail.")
        + f'<a href="{TRAIL_RUNNER}">Trail running shoes</a> '
        f'<a href="{ROUTING_GUIDE}">How to choose trail runners</a> '
        f'<a href="{BROKEN_BY_WASTE[0]}">Camp lantern</a> '
        '<a href="/sale">Spring sale</a> '
        '<a href="https://partner.example/offer">Partner offer</a>',
        **common,
    )
    site.page(
        "/shop/",
        "Shop | Northwind Trail Co",
        _text("Everything for the trail: shoes, jackets and tents.")
        + f'<a href="{TRAIL_RUNNER}">Trail runner</a> '
        f'<a href="{TRAIL_RUNNER}"><img src="/img/trail-runner.jpg"></a> '
        '<a href="/shop/alpine-jacket">Alpine jacket</a> '
        '<a href="/shop/tents/">Tents</a>',
        breadcrumb=[("/", "Home")],
        nav=NAV,
        footer=FOOTER_WITH_BOOTS,
        aside=(),
    )
    site.page(
        TRAIL_RUNNER,
        "Trail runner shoes | Northwind Trail Co",
        _text("Lightweight trail running shoes with grippy soles for rocky trails."),
        breadcrumb=crumbs_shop,
        **common,
    )
    site.page(
        "/shop/alpine-jacket",
        "Alpine jacket | Northwind Trail Co",
        _text("A warm insulated jacket for cold alpine mornings."),
        breadcrumb=crumbs_shop,
        nav=NAV,
        footer=FOOTER_WITH_BOOTS,
        aside=(),
    )
    site.page(
        "/shop/tents/",
        "Tents | Northwind Trail Co",
        _text("Tents for every trip.") + '<a href="/shop/tents/ultralight/">Ultralight tents</a>',
        breadcrumb=crumbs_shop,
        **common,
    )
    site.page(
        "/shop/tents/ultralight/",
        "Ultralight tents | Northwind Trail Co",
        _text("Tents under two kilos.") + f'<a href="{BURIED}">Summit 2P tent</a>',
        breadcrumb=[*crumbs_shop, ("/shop/tents/", "Tents")],
        **common,
    )
    site.page(
        BURIED,
        "Summit 2P ultralight tent | Northwind Trail Co",
        _text("A two person ultralight tent for alpine camping."),
        **common,
    )
    site.page(
        STARVED,
        "Waterproof hiking boots | Northwind Trail Co",
        _text(
            "Leather waterproof hiking boots with a breathable membrane that keeps feet dry "
            "on wet trails. Waterproof boots for hiking in rain and mud."
        ),
        breadcrumb=crumbs_shop,
        **common,
    )
    site.page(
        "/guides/",
        "Trail guides | Northwind Trail Co",
        _text("Advice from our staff.") + f'<a href="{STRANDED_GUIDE}">Boot care</a> '
        f'<a href="{ROUTING_GUIDE}">Choosing trail runners</a> '
        '<a href="/contact">click here</a>',
        **common,
    )
    site.page(
        STRANDED_GUIDE,
        "Caring for waterproof hiking boots | Northwind Trail Co",
        _text(
            "Waterproof hiking boots last for years when you clean them after every hike.",
            "Brush the mud off your boots, dry them slowly, then wax the leather so the "
            "waterproof membrane keeps working. Boots that stay waterproof keep feet dry.",
            "Re-proof your hiking boots twice a season.",
        ),
        **common,
    )
    site.page(
        ROUTING_GUIDE,
        "How to choose trail running shoes | Northwind Trail Co",
        _text(
            "Trail running shoes need grip, protection from rocks and a comfortable fit.",
            "Our lightweight trail runner has all three.",
        )
        + f'<a href="{TRAIL_RUNNER}">Read more</a>',
        **common,
    )
    site.page(
        "/about",
        "About Northwind Trail Co",
        _text("A family shop since 1998.")
        + '<a href="/contact">click here</a> <a href="/old-shop">Our old shop</a>',
        **common,
    )
    site.page("/contact", "Contact | Northwind Trail Co", _text("Write to us."), **common)
    site.page(
        "/privacy",
        "Privacy | Northwind Trail Co",
        _text("We keep little data.") + f'<a href="{BROKEN_BY_WASTE[1]}">Old privacy guide</a> '
        '<a href="/contact">Click here</a>',
        **common,
    )
    site.page(
        ORPHAN_WITH_BACKLINKS,
        "Spring sale | Northwind Trail Co",
        _text("Twenty percent off boots and tents this spring."),
        **common,
    )
    site.page(
        ORPHAN_WITHOUT_BACKLINKS,
        "Lookbook | Northwind Trail Co",
        _text("Photos from the trail."),
        **common,
    )
    site.redirect("/sale", "/shop/", 301)
    site.redirect("/old-shop", "/shop-2", 301)
    site.redirect("/shop-2", "/shop/", 301)
    for path in (*BROKEN_BY_WASTE, LOST_TARGET):
        site.add(path, Response("<h1>Not found</h1>", status=404))
    return site


def write_backlinks(folder: Path, base: str) -> Path:
    """An Ahrefs backlinks export (current format, UTF-8 CSV) of :data:`BACKLINKS`."""
    path = folder / "ahrefs-backlinks.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(AHREFS_COLUMNS)
        for source, target, rating, anchor in BACKLINKS:
            writer.writerow(
                [
                    "A page", source, rating, 20, base + target, anchor, "text", "false",
                    "false", "false", "2025-01-02 03:04:05", "2026-04-01 10:00:00", "",
                ]
            )  # fmt: skip
    return path


def write_priority(folder: Path, base: str, paths: Sequence[str] = PRIORITY) -> Path:
    """A priority file naming the money pages."""
    path = folder / "priority.txt"
    path.write_text("# money pages\n" + "".join(f"{base}{p}\n" for p in paths), "utf-8")
    return path


def add_links(store_file: Path, copy_to: Path, links: Sequence[tuple[str, str, str]]) -> Path:
    """A copy of a crawl store with followed internal links added, as a re-crawl would see them.

    Parameters
    ----------
    store_file : Path
        The run's ``crawl.sqlite``.
    copy_to : Path
        The folder (or ``.sqlite`` file) to write the copy to.
    links : sequence of (source URL, target URL, position)
        URLs already in the store; the source must be a crawled HTML page.

    Returns
    -------
    Path
        The copy's store file.
    """
    target = copy_to / STORE_FILENAME if copy_to.suffix != ".sqlite" else copy_to
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(store_file)
    try:
        copy = sqlite3.connect(target)
        source.backup(copy)
    finally:
        source.close()
    with copy:
        for src_url, dst_url, position in links:
            (src_id,) = copy.execute("SELECT id FROM urls WHERE url = ?", (src_url,)).fetchone()
            (dst_id,) = copy.execute("SELECT id FROM urls WHERE url = ?", (dst_url,)).fetchone()
            flag = POSITION_CODES[position] | EDGE_FLAG_FOLLOWED | EDGE_FLAG_INTERNAL
            row = copy.execute("SELECT packed FROM edges WHERE src_id = ?", (src_id,)).fetchone()
            dst_ids, flags = unpack_edges(row[0]) if row else ([], [])
            packed = pack_edges([*list(dst_ids), dst_id], [*list(flags), flag])
            copy.execute(
                "INSERT OR REPLACE INTO edges(src_id, packed) VALUES (?, ?)", (src_id, packed)
            )
            (order,) = copy.execute(
                "SELECT coalesce(max(ord) + 1, 0) FROM links WHERE src_id = ?", (src_id,)
            ).fetchone()
            copy.execute(
                "INSERT INTO links(src_id, ord, dst_id, href, anchor, followed, position, "
                "internal) VALUES (?, ?, ?, ?, 'added', 1, ?, 1)",
                (src_id, order, dst_id, dst_url, POSITION_CODES[position]),
            )
    copy.close()
    return target
