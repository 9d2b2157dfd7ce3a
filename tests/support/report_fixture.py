"""A fixed, hand-built, realistic report view: the input of the report's golden and browser tests.

It describes a small kitchenware shop, ``https://www.kettle-and-co.example/``,
with backlinks from three tools, six priority pages, findings of most kinds,
recommendations and a previous run to compare with. The budget is built from
two small routing tables so that every column of the diagram sums to 1 and the
headline numbers agree with it, as the real builder's will.

``fixture_view(hostile=True)`` puts attack strings into every untrusted field
(titles, anchors, URLs, labels, notes) for the safety tests.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from reports.report_config import ReportConfig
from reports.view import (
    AnchorProfile,
    AnchorRow,
    AnchorUse,
    BacklinksSection,
    Bin,
    Budget,
    Comparison,
    Contribution,
    CrawlInfo,
    Distribution,
    Fact,
    Finding,
    FindingGroup,
    FindingRef,
    FindingsSection,
    KindCount,
    LandingRow,
    LeakRow,
    LinkRecommendation,
    LostTarget,
    PageRef,
    PageRow,
    PagesSection,
    PriorityDelta,
    PriorityPage,
    PrioritySection,
    RecommendationsSection,
    RedirectRecommendation,
    ReportView,
    Route,
    RouteStep,
    RunInfo,
    Sankey,
    SankeyLink,
    SankeyNode,
    SectionRow,
    Summary,
    TopFix,
    VendorRow,
)

SITE = "https://www.kettle-and-co.example/"

#: Attack strings the safety tests push through every untrusted field.
SCRIPT = "<script>window.__pwned = 1</script>"
IMG = '"><img src=x onerror="window.__pwned=1">'
JS_URL = "javascript:window.__pwned=1"
JS_URL_MIXED = " JaVaScRiPt:alert(1)"
DATA_URL = "data:text/html,<script>alert(1)</script>"
CLOSE_SCRIPT = "</script><script>window.__pwned=1</script>"


def u(path: str) -> str:
    """An absolute URL on the fixture site."""
    return SITE.rstrip("/") + path


SECTIONS = ["/", "/guides/", "/blog/", "/products/", "/category/", "/about/"]
SECTION_PAGES = {
    "/": 1,
    "/guides/": 38,
    "/blog/": 412,
    "/products/": 586,
    "/category/": 61,
    "/about/": 9,
}
# Share of all authority entering on each section (backlinks plus baseline).
DEPOSIT = {
    "/": 0.30,
    "/guides/": 0.24,
    "/blog/": 0.18,
    "/products/": 0.12,
    "/category/": 0.10,
    "/about/": 0.06,
}
# Where authority entering one section ends up (held or leaked), by section: rows sum to 1.
ROUTING = {
    "/": {
        "/": 0.36,
        "/guides/": 0.08,
        "/blog/": 0.05,
        "/products/": 0.21,
        "/category/": 0.26,
        "/about/": 0.04,
    },
    "/guides/": {
        "/": 0.04,
        "/guides/": 0.55,
        "/blog/": 0.07,
        "/products/": 0.24,
        "/category/": 0.08,
        "/about/": 0.02,
    },
    "/blog/": {
        "/": 0.05,
        "/guides/": 0.06,
        "/blog/": 0.71,
        "/products/": 0.06,
        "/category/": 0.09,
        "/about/": 0.03,
    },
    "/products/": {
        "/": 0.03,
        "/guides/": 0.01,
        "/blog/": 0.01,
        "/products/": 0.78,
        "/category/": 0.15,
        "/about/": 0.02,
    },
    "/category/": {
        "/": 0.04,
        "/guides/": 0.02,
        "/blog/": 0.02,
        "/products/": 0.52,
        "/category/": 0.38,
        "/about/": 0.02,
    },
    "/about/": {
        "/": 0.10,
        "/guides/": 0.02,
        "/blog/": 0.03,
        "/products/": 0.05,
        "/category/": 0.05,
        "/about/": 0.75,
    },
}

PRIORITY = [
    ("/products/stovetop-kettle-red", "Red Enamel Stovetop Kettle 1.7 L | Kettle & Co"),
    ("/products/gooseneck-kettle", "Gooseneck Pour-Over Kettle | Kettle & Co"),
    ("/products/cast-iron-teapot", "Cast Iron Teapot 0.9 L | Kettle & Co"),
    ("/products/electric-kettle-steel", "Brushed Steel Electric Kettle | Kettle & Co"),
    ("/products/tea-infuser-set", "Loose Leaf Tea Infuser Set | Kettle & Co"),
    ("/products/descaler-tablets", "Kettle Descaler Tablets (12) | Kettle & Co"),
]
# What each section's held-or-leaked authority becomes: priority pages by index, other pages, leaks.
OUTCOME = {
    "/": {
        "p0": 0.02,
        "p1": 0.01,
        "other": 0.87,
        "nofollow": 0.03,
        "external": 0.04,
        "broken": 0.01,
        "blocked": 0.01,
        "dead_end": 0.01,
    },
    "/guides/": {
        "p0": 0.03,
        "p1": 0.04,
        "p2": 0.02,
        "other": 0.71,
        "nofollow": 0.06,
        "external": 0.08,
        "broken": 0.03,
        "blocked": 0.00,
        "dead_end": 0.03,
    },
    "/blog/": {
        "p2": 0.01,
        "p4": 0.01,
        "other": 0.66,
        "nofollow": 0.09,
        "external": 0.11,
        "broken": 0.04,
        "blocked": 0.02,
        "dead_end": 0.06,
    },
    "/products/": {
        "p0": 0.14,
        "p1": 0.10,
        "p2": 0.08,
        "p3": 0.06,
        "p4": 0.03,
        "p5": 0.02,
        "other": 0.45,
        "nofollow": 0.01,
        "external": 0.01,
        "broken": 0.03,
        "blocked": 0.01,
        "dead_end": 0.06,
    },
    "/category/": {
        "other": 0.88,
        "nofollow": 0.02,
        "external": 0.01,
        "broken": 0.02,
        "blocked": 0.03,
        "dead_end": 0.04,
    },
    "/about/": {
        "other": 0.74,
        "nofollow": 0.04,
        "external": 0.17,
        "broken": 0.01,
        "blocked": 0.00,
        "dead_end": 0.04,
    },
}
LEAK_PAGES = {"nofollow": 214, "external": 388, "broken": 37, "blocked": 12, "dead_end": 96}


def _budget() -> tuple[Budget, dict[str, float]]:
    held_by_section = {s: sum(DEPOSIT[src] * ROUTING[src][s] for src in SECTIONS) for s in SECTIONS}
    outcome_totals: dict[str, float] = {}
    links: list[SankeyLink] = []
    for src in SECTIONS:
        for dst in SECTIONS:
            value = round(DEPOSIT[src] * ROUTING[src][dst], 6)
            if value:
                links.append(SankeyLink(f"in:{src}", f"sec:{dst}", value))
    for sec in SECTIONS:
        for key, fraction in OUTCOME[sec].items():
            value = round(held_by_section[sec] * fraction, 6)
            if value:
                links.append(SankeyLink(f"sec:{sec}", f"out:{key}", value))
                outcome_totals[key] = outcome_totals.get(key, 0.0) + value
    nodes = [SankeyNode(f"in:{s}", "Home page" if s == "/" else s, 0, "deposit") for s in SECTIONS]
    nodes += [
        SankeyNode(f"sec:{s}", "Home page" if s == "/" else s, 1, "section") for s in SECTIONS
    ]
    nodes += [
        SankeyNode(f"out:p{i}", title.split(" | ")[0], 2, "priority")
        for i, (_, title) in enumerate(PRIORITY)
    ]
    nodes.append(SankeyNode("out:other", "Other pages", 2, "other"))
    leak_labels = {
        "nofollow": "Nofollow",
        "external": "External links",
        "broken": "Broken links",
        "blocked": "Blocked pages",
        "dead_end": "Dead ends",
    }
    nodes += [SankeyNode(f"out:{k}", v, 2, "leak") for k, v in leak_labels.items()]
    leaks = [LeakRow(k, round(outcome_totals[k], 6), LEAK_PAGES[k]) for k in leak_labels]
    leaked = sum(row.share for row in leaks)
    priority_share = sum(outcome_totals.get(f"p{i}", 0.0) for i in range(len(PRIORITY)))
    sections = []
    for sec in SECTIONS:
        leaked_here = sum(held_by_section[sec] * OUTCOME[sec][k] for k in leak_labels)
        to_priority = sum(
            DEPOSIT[sec]
            * ROUTING[sec][dst]
            * sum(v for k, v in OUTCOME[dst].items() if k.startswith("p"))
            for dst in SECTIONS
        )
        sections.append(
            SectionRow(
                section=sec,
                pages=SECTION_PAGES[sec],
                deposit=DEPOSIT[sec],
                equity=round(held_by_section[sec] - leaked_here, 6),
                leaked=round(leaked_here, 6),
                to_priority=round(to_priority, 6),
            )
        )
    budget = Budget(
        sankey=Sankey(
            columns=["Where it enters", "Section holding or leaking it", "Where it ends up"],
            nodes=nodes,
            links=links,
        ),
        held_share=round(1 - leaked, 6),
        priority_share=round(priority_share, 6),
        baseline_share=0.15,
        leaks=leaks,
        sections=sections,
        sections_total=len(sections),
        section_rule="first path segment",
    )
    totals = dict(outcome_totals)
    totals["leaked"] = leaked
    totals["priority"] = priority_share
    return budget, totals


def _priority_pages(totals: dict[str, float]) -> list[PriorityPage]:
    ranks = [41, 57, 88, 133, 240, 502]
    depths: list[int | None] = [2, 3, 4, 5, 3, 6]
    inlinks = [64, 41, 18, 7, 22, 3]
    domains = [9, 4, 2, 0, 1, 0]
    findings = [
        [FindingRef("starved-descaler", "Descaler tablets get 0.06% of authority", "high")],
        [],
        [FindingRef("buried-cast-iron-teapot", "Cast iron teapot is 4 clicks deep", "medium")],
        [
            FindingRef(
                "buried-electric-kettle-steel",
                "Brushed steel electric kettle is 5 clicks deep",
                "medium",
            ),
            FindingRef(
                "starved-electric-kettle", "Electric kettle linked only from the footer", "high"
            ),
        ],
        [],
        [
            FindingRef("starved-descaler", "Descaler tablets get 0.06% of authority", "high"),
            FindingRef("buried-descaler-tablets", "Descaler tablets are 6 clicks deep", "medium"),
        ],
    ]
    pages = []
    for i, (path, title) in enumerate(PRIORITY):
        equity = round(totals.get(f"p{i}", 0.0), 6)
        routes = [
            Route(
                steps=[
                    RouteStep(
                        u("/guides/how-to-descale-a-kettle"),
                        "How to Descale a Kettle (Without Vinegar)",
                        "our favourite kettles",
                        "content",
                    ),
                    RouteStep(
                        u("/category/kettles"),
                        "Kettles | Kettle & Co",
                        title.split(" | ")[0],
                        "content",
                    ),
                    RouteStep(u(path), title),
                ],
                probability=round(0.031 / (i + 1), 6),
            ),
            Route(
                steps=[
                    RouteStep(
                        u("/"), "Kettle & Co: Kettles, Teapots and Tea Gear", "Kettles", "nav"
                    ),
                    RouteStep(
                        u("/category/kettles"),
                        "Kettles | Kettle & Co",
                        title.split(" | ")[0],
                        "content",
                    ),
                    RouteStep(u(path), title),
                ],
                probability=round(0.012 / (i + 1), 6),
            ),
        ]
        if i == 5:
            routes = []
        pages.append(
            PriorityPage(
                url=u(path),
                title=title,
                equity=equity,
                score=round(78.4 - 7.9 * i, 1),
                rank=ranks[i],
                depth=depths[i],
                inlinks=inlinks[i],
                referring_domains=domains[i],
                contributors=[
                    Contribution(
                        u("/"), "Kettle & Co: Kettles, Teapots and Tea Gear", 0.41 - 0.03 * i
                    ),
                    Contribution(
                        u("/guides/how-to-descale-a-kettle"),
                        "How to Descale a Kettle (Without Vinegar)",
                        0.22,
                    ),
                    Contribution(u("/category/kettles"), "Kettles | Kettle & Co", 0.13),
                    Contribution(
                        u("/blog/best-teas-for-winter"), "The Best Teas for Winter Evenings", 0.05
                    ),
                ],
                findings=findings[i],
                routes=routes,
            )
        )
    return pages


def _findings() -> FindingsSection:
    f = Finding
    groups = [
        FindingGroup(
            "lost_backlinks",
            "Backlinks to dead URLs",
            [
                f(
                    "lost-summer-sale",
                    "lost_backlinks",
                    "high",
                    "14 domains link to /summer-sale-2023, which answers 404",
                    [
                        Fact("Referring domains", 14, "count"),
                        Fact("Backlinks", 37, "count"),
                        Fact("Authority lost", 0.0212, "share"),
                        Fact("Suggested redirect", u("/category/kettles"), "url"),
                    ],
                    "Redirect /summer-sale-2023 (301) to /category/kettles.",
                    [PageRef(u("/summer-sale-2023"), "", "HTTP 404")],
                    1,
                    0.0212,
                ),
                f(
                    "lost-old-teapot",
                    "lost_backlinks",
                    "high",
                    "6 domains link to /shop/teapot-classic, which loops between two redirects",
                    [
                        Fact("Referring domains", 6, "count"),
                        Fact("Authority lost", 0.0071, "share"),
                    ],
                    "Break the loop and redirect /shop/teapot-classic"
                    " to /products/cast-iron-teapot.",
                    [PageRef(u("/shop/teapot-classic"), "", "redirect loop")],
                    1,
                    0.0071,
                ),
            ],
            2,
        ),
        FindingGroup(
            "stranded",
            "Landing pages that strand their authority",
            [
                f(
                    "stranded-winter-teas",
                    "stranded",
                    "high",
                    "“The Best Teas for Winter Evenings” receives 4.1% of all authority"
                    " and passes almost none of it to priority pages",
                    [
                        Fact("Authority entering", 0.041, "share"),
                        Fact("Reaching priority pages", 0.00008, "share"),
                        Fact("Referring domains", 23, "count"),
                        Fact("Outgoing links", 9, "count"),
                    ],
                    "Link from the article body to the infuser set and the gooseneck kettle"
                    " (see recommendations 1 and 3).",
                    [
                        PageRef(
                            u("/blog/best-teas-for-winter"),
                            "The Best Teas for Winter Evenings",
                            "23 referring domains",
                        )
                    ],
                    1,
                    0.039,
                )
            ],
            1,
        ),
        FindingGroup(
            "starved",
            "Starved priority pages",
            [
                f(
                    "starved-descaler",
                    "starved",
                    "high",
                    "Descaler tablets get 0.06% of authority",
                    [
                        Fact("Share", 0.0006, "share"),
                        Fact("Rank", 502, "rank"),
                        Fact("Internal inlinks", 3, "count"),
                        Fact("Contextual inlinks", 0, "count"),
                    ],
                    "Link to it from the descaling guide's body, where the text already names it.",
                    [
                        PageRef(
                            u("/products/descaler-tablets"),
                            "Kettle Descaler Tablets (12) | Kettle & Co",
                            "bottom 40% of pages",
                        )
                    ],
                    1,
                    None,
                ),
                f(
                    "starved-electric-kettle",
                    "starved",
                    "high",
                    "Electric kettle linked only from the footer",
                    [Fact("Internal inlinks", 7, "count"), Fact("From content", 0, "count")],
                    "Add contextual links from the kettle category and the buying guide.",
                    [
                        PageRef(
                            u("/products/electric-kettle-steel"),
                            "Brushed Steel Electric Kettle | Kettle & Co",
                            "7 footer links",
                        )
                    ],
                    1,
                    None,
                ),
            ],
            2,
        ),
        FindingGroup(
            "buried",
            "Buried priority pages",
            [
                f(
                    f"buried-{path.rsplit('/', 1)[1]}",
                    "buried",
                    "medium",
                    f"{title.split(' | ')[0]} is {depth} clicks deep",
                    [Fact("Click depth", depth, "depth"), Fact("Threshold", 3, "depth")],
                    "Link to it from the home page or a category page one click from it.",
                    [PageRef(u(path), title, f"depth {depth}")],
                    1,
                    None,
                )
                for (path, title), depth in [(PRIORITY[2], 4), (PRIORITY[3], 5), (PRIORITY[5], 6)]
            ],
            3,
        ),
        FindingGroup(
            "broken_link",
            "Broken internal links",
            [
                f(
                    "broken-old-guide",
                    "broken_link",
                    "medium",
                    "31 pages link to /guides/kettle-buying-guide-2021 (404)",
                    [Fact("Linking pages", 31, "count"), Fact("Authority wasted", 0.0093, "share")],
                    "Point these links at /guides/kettle-buying-guide.",
                    [
                        PageRef(
                            u(f"/blog/post-{n:03d}"), f"Blog post {n}", "anchor “our buying guide”"
                        )
                        for n in range(1, 21)
                    ],
                    31,
                    0.0093,
                )
            ],
            1,
        ),
        FindingGroup(
            "redirect_link",
            "Links through redirects",
            [
                f(
                    "redirect-nav-teapots",
                    "redirect_link",
                    "low",
                    "The main navigation links to /teapots, which redirects to /category/teapots",
                    [Fact("Linking pages", 1108, "count"), Fact("Redirect hops", 1, "count")],
                    "Change the navigation link to /category/teapots.",
                    [
                        PageRef(
                            u("/"), "Kettle & Co: Kettles, Teapots and Tea Gear", "nav: “Teapots”"
                        )
                    ],
                    1108,
                    0.0011,
                )
            ],
            1,
        ),
        FindingGroup(
            "vague_anchor",
            "Vague anchors",
            [
                f(
                    "vague-read-more",
                    "vague_anchor",
                    "low",
                    "“Read more” carries 0.8% of all authority into priority pages",
                    [Fact("Links", 146, "count"), Fact("Authority carried", 0.008, "share")],
                    "Use the product's name as the anchor.",
                    [PageRef(u("/category/kettles"), "Kettles | Kettle & Co", "“Read more” ×12")],
                    146,
                    None,
                )
            ],
            4,
        ),
    ]
    return FindingsSection(groups=groups, high=5, medium=4, low=5)


def _recommendations() -> RecommendationsSection:
    sources = [
        ("/blog/best-teas-for-winter", "The Best Teas for Winter Evenings"),
        ("/guides/how-to-descale-a-kettle", "How to Descale a Kettle (Without Vinegar)"),
        ("/blog/best-teas-for-winter", "The Best Teas for Winter Evenings"),
        ("/guides/pour-over-coffee-basics", "Pour-Over Coffee: The Basics"),
        ("/category/kettles", "Kettles | Kettle & Co"),
        ("/guides/choosing-a-teapot", "Choosing a Teapot: Materials Compared"),
        ("/blog/green-tea-temperature", "Why Green Tea Needs Cooler Water"),
        ("/", "Kettle & Co: Kettles, Teapots and Tea Gear"),
    ]
    targets = [4, 5, 1, 1, 3, 2, 1, 5]
    anchors = [
        "loose leaf tea infuser set",
        "kettle descaler tablets",
        "gooseneck kettle",
        "gooseneck pour-over kettle",
        "brushed steel electric kettle",
        "cast iron teapot",
        "temperature-control gooseneck kettle",
        "descaler tablets",
    ]
    links = []
    for i, ((src, src_title), t, anchor) in enumerate(zip(sources, targets, anchors, strict=True)):
        path, title = PRIORITY[t]
        gain = round(0.0061 / (1 + 0.6 * i), 6)
        before = round(0.0006 + 0.003 * (5 - t), 6)
        links.append(
            LinkRecommendation(
                id=f"rec-{i + 1}",
                source_url=u(src),
                source_title=src_title,
                target_url=u(path),
                target_title=title,
                anchor=anchor,
                gain=gain,
                equity_before=before,
                equity_after=round(before + gain, 6),
                rank_before=502 - 40 * t,
                rank_after=max(1, 502 - 40 * t - int(gain * 20000)),
                relevance=round(0.82 - 0.05 * i, 2),
            )
        )
    redirects = [
        RedirectRecommendation(
            "redir-1",
            u("/summer-sale-2023"),
            404,
            u("/category/kettles"),
            "Kettles | Kettle & Co",
            14,
            37,
            0.0198,
            0.0052,
        ),
        RedirectRecommendation(
            "redir-2",
            u("/shop/teapot-classic"),
            None,
            u("/products/cast-iron-teapot"),
            PRIORITY[2][1],
            6,
            9,
            0.0066,
            0.0041,
            u("/shop/teapots-old"),
        ),
        RedirectRecommendation(
            "redir-3",
            u("/press/2019-award"),
            410,
            u("/about/press"),
            "Press | Kettle & Co",
            2,
            2,
            0.0009,
        ),
    ]
    return RecommendationsSection(links, 24, 0.0187, redirects, 3)


_TITLES = [
    ("/", "Kettle & Co: Kettles, Teapots and Tea Gear"),
    ("/category/kettles", "Kettles | Kettle & Co"),
    ("/category/teapots", "Teapots | Kettle & Co"),
    ("/guides/how-to-descale-a-kettle", "How to Descale a Kettle (Without Vinegar)"),
    ("/blog/best-teas-for-winter", "The Best Teas for Winter Evenings"),
    ("/category/tea-accessories", "Tea Accessories | Kettle & Co"),
    ("/guides/kettle-buying-guide", "The Kettle Buying Guide"),
    ("/about/shipping", "Shipping and Returns"),
    ("/guides/pour-over-coffee-basics", "Pour-Over Coffee: The Basics"),
    ("/blog/green-tea-temperature", "Why Green Tea Needs Cooler Water"),
]


def _pages(priority: list[PriorityPage]) -> PagesSection:
    rows = []
    equity = 0.112
    for i, (path, title) in enumerate(_TITLES):
        flags = ["landing"] if i in (0, 3, 4, 8) else []
        if path == "/about/shipping":
            flags.append("dead_end")
        rows.append(
            PageRow(
                url=u(path),
                title=title,
                equity=round(equity, 6),
                score=round(100 - 4.1 * i, 1),
                rank=i + 1,
                depth=0 if i == 0 else 1 + i % 3,
                status=200,
                inlinks=1210 - 97 * i,
                referring_domains=max(0, 41 - 5 * i),
                deposit=round(0.3 / (i + 1) ** 1.3, 6),
                leaked=round(0.004 / (i + 1), 6),
                flags=flags,
            )
        )
        equity *= 0.72
    for i, p in enumerate(priority):
        rows.append(
            PageRow(
                url=p.url,
                title=p.title,
                equity=p.equity,
                score=p.score,
                rank=p.rank,
                depth=p.depth,
                status=200,
                inlinks=p.inlinks,
                referring_domains=p.referring_domains,
                deposit=round(0.002 / (i + 1), 6),
                leaked=round(0.0001 * (i + 1), 6),
                flags=["priority"] + (["deep"] if (p.depth or 0) > 3 else []),
            )
        )
    for n in range(1, 15):
        rows.append(
            PageRow(
                url=u(f"/blog/post-{n:03d}"),
                title=f"Blog post {n}",
                equity=round(0.0009 / n, 6),
                score=round(31 - n, 1),
                rank=600 + n * 40,
                depth=3 + n % 4,
                status=200,
                inlinks=2 + n % 5,
                referring_domains=0,
                deposit=0.000118,
                leaked=round(0.00002 * n, 6),
                flags=(["noindex"] if n % 7 == 0 else []) + (["orphan"] if n == 13 else []),
            )
        )
    rows.sort(key=lambda r: r.rank)
    distributions = [
        Distribution(
            "equity",
            "Equity share",
            "Share of all authority per page, log scale",
            [
                Bin("<0.001%", 198),
                Bin("0.001–0.01%", 524),
                Bin("0.01–0.1%", 403),
                Bin("0.1–1%", 141),
                Bin("1–10%", 17),
                Bin("≥10%", 1),
            ],
        ),
        Distribution(
            "depth",
            "Click depth",
            "Clicks from the start page",
            [Bin(str(d), c) for d, c in enumerate([1, 14, 96, 402, 511, 188, 52, 20])],
        ),
        Distribution(
            "inlinks",
            "Internal inlinks",
            "Distinct internal pages linking in",
            [
                Bin("0", 3),
                Bin("1", 77),
                Bin("2–3", 241),
                Bin("4–10", 503),
                Bin("11–30", 298),
                Bin("31–100", 109),
                Bin(">100", 53),
            ],
        ),
    ]
    return PagesSection(rows=rows, total=1284, distributions=distributions)


def _backlinks() -> BacklinksSection:
    return BacklinksSection(
        vendors=[
            VendorRow("Ahrefs", 2, 3412, 2987, 1210, 211, 2466, 143, "DR"),
            VendorRow("Semrush", 1, 2208, 2031, 402, 187, 1702, 0, "AS"),
            VendorRow("Search Console", 1, 1877, 1877, 295, 164, 1877, 0, ""),
        ],
        merged=4312,
        referring_domains=263,
        followed=3533,
        target_pages=188,
        lost_share=0.0292,
        lost=[
            LostTarget(
                u("/summer-sale-2023"),
                404,
                14,
                37,
                0.0212,
                u("/category/kettles"),
                "Kettles | Kettle & Co",
            ),
            LostTarget(
                u("/shop/teapot-classic"),
                None,
                6,
                9,
                0.0071,
                u("/products/cast-iron-teapot"),
                PRIORITY[2][1],
            ),
            LostTarget(
                u("/press/2019-award"), 410, 2, 2, 0.0009, u("/about/press"), "Press | Kettle & Co"
            ),
        ],
        lost_total=3,
        anchors=[
            AnchorRow("kettle & co", 812, 97, 0.2298, False),
            AnchorRow("www.kettle-and-co.example", 540, 61, 0.1528, False),
            AnchorRow("how to descale a kettle", 233, 31, 0.0659, False),
            AnchorRow("click here", 190, 22, 0.0538, True),
            AnchorRow("best teas for winter", 151, 23, 0.0427, False),
            AnchorRow("", 120, 18, 0.034, False),
            AnchorRow("gooseneck kettle", 88, 9, 0.0249, False),
            AnchorRow("read more", 64, 12, 0.0181, True),
        ],
        anchors_total=1406,
        landing=[
            LandingRow(u("/"), "Kettle & Co: Kettles, Teapots and Tea Gear", 97, 0.27, 0.041),
            LandingRow(
                u("/guides/how-to-descale-a-kettle"),
                "How to Descale a Kettle (Without Vinegar)",
                31,
                0.081,
                0.093,
            ),
            LandingRow(
                u("/blog/best-teas-for-winter"),
                "The Best Teas for Winter Evenings",
                23,
                0.041,
                0.002,
            ),
            LandingRow(u("/products/stovetop-kettle-red"), PRIORITY[0][1], 9, 0.022, 0.71),
            LandingRow(
                u("/guides/pour-over-coffee-basics"), "Pour-Over Coffee: The Basics", 8, 0.019, 0.12
            ),
        ],
        landing_total=188,
    )


def _comparison(priority: list[PriorityPage], totals: dict[str, float]) -> Comparison:
    before = [0.0021, 0.0188, None, 0.0019, 0.0041, 0.0009]
    return Comparison(
        previous_run="2025-04-01T030000",
        previous_date=datetime(2025, 4, 1, 3, 41, 7, tzinfo=UTC),
        priority_share=(0.0512, round(totals["priority"], 6)),
        home_share=(0.131, 0.112),
        leaked_share=(0.171, round(totals["leaked"], 6)),
        pages=(1251, 1284),
        priority=[
            PriorityDelta(p.url, p.title, b, p.equity, None if b is None else p.rank + 9, p.rank)
            for p, b in zip(priority, before, strict=True)
        ],
        fixed=[
            FindingRef("broken-contact", "12 pages link to /contact-us (404)", "medium"),
            FindingRef(
                "orphan-gift-cards", "/gift-cards has backlinks but no internal link", "high"
            ),
        ],
        fixed_total=2,
        new=[
            FindingRef(
                "lost-summer-sale",
                "14 domains link to /summer-sale-2023, which answers 404",
                "high",
            )
        ],
        new_total=1,
        pages_gained=[u("/products/tea-infuser-set"), u("/blog/green-tea-temperature")],
        pages_gained_total=41,
        pages_lost=[u("/summer-sale-2023")],
        pages_lost_total=8,
    )


def _anchor_profiles() -> list[AnchorProfile]:
    red, gooseneck = PRIORITY[0], PRIORITY[1]
    return [
        AnchorProfile(
            url=u(red[0]),
            title=red[1],
            internal=[
                AnchorUse("Red enamel kettle", 212, 208, False),
                AnchorUse("Read more", 41, 41, True),
                AnchorUse("stovetop kettle", 12, 9, False),
                AnchorUse("", 4, 4, False),
            ],
            internal_total=7,
            backlinks=[
                AnchorUse("red kettle", 18, 11, False),
                AnchorUse("click here", 6, 5, True),
            ],
            backlinks_total=2,
        ),
        AnchorProfile(
            url=u(gooseneck[0]),
            title=gooseneck[1],
            internal=[AnchorUse("Gooseneck kettle", 96, 95, False)],
            internal_total=1,
            backlinks=[],
            backlinks_total=0,
        ),
    ]


def fixture_view(*, hostile: bool = False) -> ReportView:
    """The fixed report view of the fixture shop.

    Parameters
    ----------
    hostile : bool
        Replace titles, anchors, URLs and labels with attack strings (see
        :func:`hostile_view`).
    """
    budget, totals = _budget()
    priority = _priority_pages(totals)
    view = ReportView(
        run=RunInfo(
            site=SITE,
            run_id="2025-05-01T030000",
            generated_at=datetime(2025, 5, 1, 4, 12, 55, tzinfo=UTC),
            crawl_started=datetime(2025, 5, 1, 3, 0, 0, tzinfo=UTC),
            crawl_finished=datetime(2025, 5, 1, 3, 47, 21, tzinfo=UTC),
            version="0.1.0",
            damping=0.85,
            weights="reasonable",
            backlink_mix=0.85,
        ),
        crawl=CrawlInfo(
            complete=True,
            finish_reason="finished",
            limit_note="",
            urls_seen=1562,
            pages_html=1284,
            by_kind=[
                KindCount("html", 1284),
                KindCount("redirect", 117),
                KindCount("error", 41),
                KindCount("other", 96),
                KindCount("blocked", 12),
                KindCount("trap", 8),
                KindCount("failed", 4),
            ],
            known_not_crawled=6,
            max_depth=9,
        ),
        summary=Summary(
            pages_crawled=1284,
            backlinks=4312,
            referring_domains=263,
            vendors=["Ahrefs", "Semrush", "Search Console"],
            priority_share=round(totals["priority"], 6),
            priority_pages=len(PRIORITY),
            priority_guessed=False,
            home_share=0.112,
            leaked_share=round(totals["leaked"], 6),
            top_fixes=[
                TopFix(
                    "Redirect /summer-sale-2023 to the kettles category",
                    "14 domains link to a page that answers 404; their authority is lost.",
                    0.0121,
                    "lost-summer-sale",
                ),
                TopFix(
                    "31 pages link to /guides/kettle-buying-guide-2021 (404)",
                    "Point these links at /guides/kettle-buying-guide.",
                    None,
                    "broken-old-guide",
                    0.0093,
                ),
                TopFix(
                    "Link the winter teas article to the infuser set and the gooseneck kettle",
                    "The article receives 4.1% of all authority and passes almost none on.",
                    0.0089,
                    "stranded-winter-teas",
                ),
            ],
        ),
        budget=budget,
        priority=PrioritySection(
            guessed=False,
            source="priority.txt (6 URLs)",
            pages=priority,
            total=len(priority),
            anchor_profiles=_anchor_profiles(),
        ),
        findings=_findings(),
        recommendations=_recommendations(),
        pages=_pages(priority),
        backlinks=_backlinks(),
        comparison=_comparison(priority, totals),
    )
    return hostile_view(view) if hostile else view


def hostile_view(view: ReportView) -> ReportView:
    """The same report with attack strings in every field a crawled site or an export controls."""
    evil_title = f"{SCRIPT}{IMG}"
    pages = view.pages
    rows = [
        replace(
            row,
            title=evil_title if i % 2 == 0 else IMG,
            url=JS_URL if i == 0 else row.url,
            flags=[*row.flags, IMG],
        )
        for i, row in enumerate(pages.rows)
    ]
    rows[1] = replace(rows[1], url=JS_URL_MIXED)
    rows[2] = replace(rows[2], url=DATA_URL)
    rows[3] = replace(rows[3], url=u("/search?q=" + IMG))
    priority = view.priority
    pp = [
        replace(
            p,
            title=evil_title,
            url=JS_URL if i == 0 else p.url,
            contributors=[replace(c, url=JS_URL, title=IMG) for c in p.contributors],
            findings=[replace(f, title=IMG, id=IMG) for f in p.findings],
            routes=[
                replace(
                    r,
                    steps=[replace(s, anchor=CLOSE_SCRIPT, title=IMG, url=JS_URL) for s in r.steps],
                )
                for r in p.routes
            ],
        )
        for i, p in enumerate(priority.pages)
    ]
    profiles = [
        replace(
            ap,
            url=JS_URL if i == 0 else DATA_URL,
            title=evil_title,
            internal=[
                replace(a, anchor=CLOSE_SCRIPT if k % 2 else IMG) for k, a in enumerate(ap.internal)
            ],
            backlinks=[replace(a, anchor=SCRIPT) for a in ap.backlinks],
        )
        for i, ap in enumerate(priority.anchor_profiles)
    ]
    groups = [
        replace(
            g,
            title=SCRIPT,
            findings=[
                replace(
                    f,
                    id=IMG,
                    title=evil_title,
                    fix=CLOSE_SCRIPT,
                    evidence=[*f.evidence, Fact(IMG, JS_URL, "url"), Fact(SCRIPT, IMG, "text")],
                    pages=[replace(p, url=JS_URL, title=IMG, note=SCRIPT) for p in f.pages],
                )
                for f in g.findings
            ],
        )
        for g in view.findings.groups
    ]
    rec = view.recommendations
    links = [
        replace(r, anchor=CLOSE_SCRIPT, source_title=IMG, target_url=JS_URL, id=IMG)
        for r in rec.links
    ]
    redirects = [
        replace(r, from_url=JS_URL, to_url=DATA_URL, to_title=SCRIPT, via_url=JS_URL_MIXED)
        for r in rec.redirects
    ]
    budget = view.budget
    sankey = replace(
        budget.sankey,
        nodes=[replace(n, label=evil_title) for n in budget.sankey.nodes],
        columns=[IMG for _ in budget.sankey.columns],
    )
    sections = [replace(s, section=IMG) for s in budget.sections]
    bl = view.backlinks
    backlinks = replace(
        bl,
        vendors=[replace(v, vendor=SCRIPT, metric=IMG) for v in bl.vendors],
        anchors=[replace(a, anchor=CLOSE_SCRIPT) for a in bl.anchors],
        lost=[
            replace(x, url=JS_URL, redirect_to=JS_URL_MIXED, redirect_title=IMG) for x in bl.lost
        ],
        landing=[replace(x, url=DATA_URL, title=SCRIPT) for x in bl.landing],
    )
    summary = replace(
        view.summary,
        vendors=[SCRIPT, IMG],
        top_fixes=[
            replace(t, title=evil_title, detail=IMG, target=IMG) for t in view.summary.top_fixes
        ],
    )
    comparison = view.comparison
    if comparison is not None:
        comparison = replace(
            comparison,
            previous_run=SCRIPT,
            fixed=[replace(f, title=IMG) for f in comparison.fixed],
            new=[replace(f, title=SCRIPT, id=IMG) for f in comparison.new],
            pages_gained=[JS_URL, DATA_URL],
            pages_lost=[JS_URL_MIXED],
            priority=[replace(p, url=JS_URL, title=IMG) for p in comparison.priority],
        )
    return replace(
        view,
        run=replace(view.run, site=JS_URL, run_id=SCRIPT, weights=IMG),
        crawl=replace(
            view.crawl,
            complete=False,
            finish_reason=SCRIPT,
            limit_note=IMG,
            by_kind=[KindCount(IMG, 1)],
        ),
        summary=summary,
        budget=replace(budget, sankey=sankey, sections=sections, section_rule=SCRIPT),
        priority=replace(priority, pages=pp, source=IMG, guessed=True, anchor_profiles=profiles),
        findings=replace(view.findings, groups=groups),
        recommendations=replace(rec, links=links, redirects=redirects),
        pages=replace(
            pages,
            rows=rows,
            distributions=[
                replace(d, title=SCRIPT, x_label=IMG, bins=[replace(b, label=IMG) for b in d.bins])
                for d in pages.distributions
            ],
        ),
        backlinks=backlinks,
        comparison=comparison,
    )


def large_view(config: ReportConfig | None = None, *, total_pages: int = 100_000) -> ReportView:
    """The fixture report grown to every limit of ``config``, as for a very large site.

    Every table holds as many rows as the HTML shows, every finding kind is
    present with as many findings and pages as shown, and URLs and titles are
    long: the worst case for the HTML's size.
    """
    config = config or ReportConfig()
    base = fixture_view()
    kinds = [
        "orphan", "buried", "starved", "pooling", "stranded", "dead_end", "broken_link",
        "redirect_link", "internal_nofollow", "noindex_link", "external_leak", "lost_backlinks",
        "vague_anchor", "image_no_alt", "anchor_cannibalisation", "blocked_linked",
        "crawler_trap", "oversize",
    ]  # fmt: skip

    def long_url(i: int) -> str:
        return u(
            f"/category/kitchen-and-dining/kettles-and-teapots/stovetop/item-{i:06d}?colour=red"
        )

    def long_title(i: int) -> str:
        return f"Red Enamel Stovetop Kettle 1.7 L, Induction Ready, Model {i:06d} | Kettle & Co"

    rows = [
        replace(
            base.pages.rows[i % len(base.pages.rows)],
            url=long_url(i),
            title=long_title(i),
            rank=i + 1,
            flags=["landing", "deep"],
        )
        for i in range(config.top_pages)
    ]
    template = base.findings.groups[4].findings[0]  # the broken-link finding
    pages = [PageRef(long_url(i), long_title(i), "anchor “our buying guide”") for i in range(50)]
    groups = [
        FindingGroup(
            kind,
            f"Findings of kind {kind}",
            [
                replace(template, id=f"{kind}-{n}", kind=kind, pages=pages[: config.finding_pages])
                for n in range(config.findings_per_kind)
            ],
            config.findings_per_kind * 4,
        )
        for kind in kinds
    ]
    n_findings = sum(g.total for g in groups)
    priority = [
        replace(
            base.priority.pages[i % len(base.priority.pages)],
            url=long_url(10_000 + i),
            title=long_title(10_000 + i),
            contributors=[
                Contribution(long_url(j), long_title(j), 0.1) for j in range(config.contributors)
            ],
            routes=[
                Route(
                    [
                        RouteStep(long_url(j), long_title(j), "our favourite kettles", "content")
                        for j in range(4)
                    ],
                    0.01,
                )
                for _ in range(config.routes)
            ],
            findings=[FindingRef(f"{kinds[j]}-0", long_title(j), "high") for j in range(3)],
        )
        for i in range(20)
    ]
    profile = base.priority.anchor_profiles[0]
    uses = [AnchorUse(f"{long_title(j)} anchor", 10, 9, j % 3 == 0) for j in range(200)]
    profiles = [
        replace(
            profile,
            url=p.url,
            title=p.title,
            internal=uses[: config.profile_anchors],
            internal_total=len(uses),
            backlinks=uses[: config.profile_anchors],
            backlinks_total=len(uses),
        )
        for p in priority
    ]
    rec = base.recommendations
    links = [
        replace(rec.links[0], id=f"rec-{i}", source_url=long_url(i), source_title=long_title(i),
                target_url=long_url(i + 1), target_title=long_title(i + 1))
        for i in range(config.top_rows)
    ]  # fmt: skip
    redirects = [
        replace(rec.redirects[0], id=f"redir-{i}", from_url=long_url(i), to_url=long_url(i + 1),
                to_title=long_title(i + 1))
        for i in range(config.top_rows)
    ]  # fmt: skip
    bl = base.backlinks
    backlinks = replace(
        bl,
        lost=[replace(bl.lost[0], url=long_url(i), redirect_to=long_url(i + 1),
                      redirect_title=long_title(i)) for i in range(config.top_rows)],
        lost_total=config.top_rows * 10,
        anchors=[replace(bl.anchors[0], anchor=f"{long_title(i)} anchor")
                 for i in range(config.top_rows)],
        anchors_total=40_000,
        landing=[replace(bl.landing[0], url=long_url(i), title=long_title(i))
                 for i in range(config.top_rows)],
        landing_total=9_000,
    )  # fmt: skip
    nodes = [SankeyNode(f"in{i}", f"/section-{i}/", 0, "deposit") for i in range(300)]
    nodes += [SankeyNode(f"s{i}", f"/section-{i}/", 1, "section") for i in range(300)]
    nodes += [SankeyNode(f"p{i}", long_title(i), 2, "priority") for i in range(20)]
    nodes.append(SankeyNode("other", "Other pages", 2, "other"))
    sankey_links = [SankeyLink(f"in{i}", f"s{(i * 7) % 300}", 1 / 300) for i in range(300)]
    sankey_links += [SankeyLink(f"s{i}", f"p{i % 20}", 0.2 / 300) for i in range(300)]
    sankey_links += [SankeyLink(f"s{i}", "other", 0.8 / 300) for i in range(300)]
    from reports.charts import limit_sankey  # noqa: PLC0415 (the builder's job, done here)

    sankey = limit_sankey(
        Sankey(base.budget.sankey.columns, nodes, sankey_links), config.sankey_nodes
    )
    sections = [
        replace(base.budget.sections[0], section=f"/section-{i}/") for i in range(config.top_rows)
    ]
    comparison = base.comparison
    assert comparison is not None
    comparison = replace(
        comparison,
        pages_gained=[long_url(i) for i in range(20)],
        pages_lost=[long_url(i) for i in range(20)],
        fixed=[FindingRef(f"f{i}", long_title(i), "medium") for i in range(20)],
        new=[FindingRef(f"n{i}", long_title(i), "high") for i in range(20)],
        priority=[replace(comparison.priority[0], url=p.url, title=p.title) for p in priority],
    )
    return replace(
        base,
        crawl=replace(base.crawl, pages_html=total_pages, urls_seen=total_pages + 20_000),
        summary=replace(base.summary, pages_crawled=total_pages, priority_pages=20),
        budget=replace(base.budget, sankey=sankey, sections=sections, sections_total=300),
        priority=replace(base.priority, pages=priority, total=20, anchor_profiles=profiles),
        findings=replace(base.findings, groups=groups, high=n_findings // 3, medium=n_findings // 3,
                         low=n_findings - 2 * (n_findings // 3)),
        recommendations=replace(rec, links=links, links_total=400, redirects=redirects,
                                redirects_total=300),
        pages=replace(base.pages, rows=rows, total=total_pages),
        backlinks=backlinks,
        comparison=comparison,
    )  # fmt: skip
