"""The report's view model: everything the HTML report shows, as plain typed data.

The report is built in four steps (see ``docs/report.md``): the equity model and
the gap analysis compute; a *builder* turns their results into a
:class:`ReportView`; :func:`reports.render.render` turns the view into HTML;
:mod:`reports.write` puts the HTML and the exports on disk.

This module is the contract between the builder and the templates. It holds
only plain values (floats, ints, strings, lists, datetimes) and imports nothing
from the equity model, the gap analysis, jinja2 or Scrapy, so the templates can
be developed and tested from a hand-built view and the builder only has to fill
these fields.

Conventions for every field:

* A *share* is a fraction of all the authority that entered the site, 0-1
  (the budget sums to 1). The templates format it as a percentage.
* A *score* is the model's 0-100 log-scaled score; a *rank* is 1-based, 1 being
  the page with the most equity.
* Lists hold what the HTML shows (the builder cuts them to the limits in
  :class:`reports.report_config.ReportConfig`); the matching ``*_total`` field
  holds how many exist, so the report can say "showing N of M, full data in
  data/...".
* Every string may come from the crawled site or a backlink export: it is
  untrusted, and the templates escape it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = [
    "LEAK_KINDS",
    "SEVERITIES",
    "AnchorProfile",
    "AnchorRow",
    "AnchorUse",
    "BacklinksSection",
    "Bin",
    "Budget",
    "Comparison",
    "Contribution",
    "CrawlInfo",
    "Distribution",
    "Fact",
    "Finding",
    "FindingGroup",
    "FindingRef",
    "FindingsSection",
    "KindCount",
    "LandingRow",
    "LeakRow",
    "LinkRecommendation",
    "LostTarget",
    "PageRef",
    "PageRow",
    "PagesSection",
    "PriorityDelta",
    "PriorityPage",
    "PrioritySection",
    "RecommendationsSection",
    "RedirectRecommendation",
    "ReportView",
    "Route",
    "RouteStep",
    "RunInfo",
    "Sankey",
    "SankeyKind",
    "SankeyLink",
    "SankeyNode",
    "SectionRow",
    "Severity",
    "Summary",
    "TopFix",
    "Unit",
    "VendorRow",
]

Severity = Literal["high", "medium", "low"]
#: Severities, most urgent first (the order findings are shown in).
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")

#: The kinds of leak the equity model reports (DESIGN.md section 2), in display order.
LEAK_KINDS: tuple[str, ...] = ("nofollow", "external", "broken", "blocked", "dead_end")

#: How a :class:`Fact` value is formatted: ``share`` as a percentage,
#: ``count``/``rank``/``depth`` as integers, ``score`` 0-100, ``probability`` as a
#: percentage of a path, ``url`` as a (safe) link, ``text`` as is.
Unit = Literal["share", "count", "score", "rank", "depth", "probability", "url", "text"]

SankeyKind = Literal["deposit", "section", "priority", "other", "leak"]


# -- small shared pieces --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRef:
    """A page named in a finding or a list.

    Attributes
    ----------
    url : str
        Absolute URL.
    title : str
        Its ``<title>``, or ``""`` when unknown.
    note : str
        Context in a few words, e.g. the anchor text of the link concerned or
        ``"HTTP 404"``; ``""`` for none.
    """

    url: str
    title: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Fact:
    """One number of evidence, with its label and how to format it."""

    label: str
    value: float | int | str
    unit: Unit = "text"


@dataclass(frozen=True, slots=True)
class KindCount:
    """How many URLs of one kind (``html``, ``redirect``, ``error``...) the crawl saw."""

    kind: str
    count: int


# -- run and crawl --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What was crawled, when, and with which model settings.

    Attributes
    ----------
    site : str
        The site's start URL (what the report is about).
    run_id : str
        The run folder's name.
    generated_at : datetime
        When this report was rendered (timezone-aware).
    crawl_started, crawl_finished : datetime
        The crawl's start and end (timezone-aware).
    version : str
        linkspider's version.
    damping : float
        The model's damping ``d``.
    weights : str
        Link-position weights: ``"reasonable"``, ``"uniform"`` or a file name.
    backlink_mix : float
        The model's ``beta``: the weight of backlink deposits in the source
        vector (0 when no backlinks were given).
    """

    site: str
    run_id: str
    generated_at: datetime
    crawl_started: datetime
    crawl_finished: datetime
    version: str
    damping: float
    weights: str
    backlink_mix: float


@dataclass(frozen=True, slots=True)
class CrawlInfo:
    """How complete the crawl was: the context every verdict depends on.

    Attributes
    ----------
    complete : bool
        ``True`` when the crawl ended on its own (no cap, no error stopped it).
    finish_reason : str
        Scrapy's finish reason, e.g. ``"finished"`` or ``"closespider_pagecount"``.
    limit_note : str
        Why the crawl stopped early, in words (``""`` when complete).
    urls_seen : int
        URLs the crawl fetched or decided about (rows of the store's ``pages``).
    pages_html : int
        Internal HTML pages that answered 200: the model's nodes.
    by_kind : list of KindCount
        ``urls_seen`` broken down by kind, largest first.
    known_not_crawled : int
        URLs known from sitemaps, backlinks or a URL list that were never fetched.
    max_depth : int or None
        The deepest click depth reached.
    meta_refresh_hops : int
        Redirects (among ``by_kind``'s) that are instant HTML meta refreshes.
    delayed_refreshes : int
        HTML pages whose meta refresh sends visitors to another URL after a
        delay (they stay pages; the refresh counts as one of their links).
    """

    complete: bool
    finish_reason: str
    limit_note: str
    urls_seen: int
    pages_html: int
    by_kind: list[KindCount]
    known_not_crawled: int
    max_depth: int | None
    meta_refresh_hops: int = 0
    delayed_refreshes: int = 0


# -- 1. summary -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopFix:
    """One of the headline fixes.

    Attributes
    ----------
    title : str
        The fix as an imperative, e.g. "Link the buying guide to the red kettle page".
    detail : str
        One sentence of why.
    gain : float or None
        What the model predicts the fix brings, when it predicts it: for a
        link, the rise in the priority pages' share; for a redirect, the share
        of authority it recovers.
    target : str
        Id of the finding or recommendation in the report that details it.
    stake : float or None
        For a finding: the share of all authority it wastes or withholds
        (``gain`` is then ``None``).
    """

    title: str
    detail: str
    gain: float | None
    target: str
    stake: float | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """The headline: what an engineer reads first.

    Attributes
    ----------
    pages_crawled : int
        Internal HTML pages that answered 200.
    backlinks : int
        Merged backlinks (one per source URL and target).
    referring_domains : int
        Distinct registrable domains linking in.
    vendors : list of str
        Backlink sources merged, e.g. ``["Ahrefs", "Search Console"]``.
    priority_share : float
        Share of all authority held by the priority pages.
    priority_pages : int
        How many priority pages there are.
    priority_guessed : bool
        ``True`` when priority pages were guessed, not given by the user.
    home_share : float
        Share held by the home page.
    leaked_share : float
        Share leaked, all kinds together.
    top_fixes : list of TopFix
        The three (or fewer) fixes worth doing first.
    """

    pages_crawled: int
    backlinks: int
    referring_domains: int
    vendors: list[str]
    priority_share: float
    priority_pages: int
    priority_guessed: bool
    home_share: float
    leaked_share: float
    top_fixes: list[TopFix]


# -- 2. authority budget ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SankeyNode:
    """A node of the budget diagram.

    Attributes
    ----------
    id : str
        Unique within the diagram; links refer to it.
    label : str
        Shown next to the node.
    column : int
        0 for the leftmost column. Links go from a lower to a higher column.
    kind : {"deposit", "section", "priority", "other", "leak"}
        Colours the node and its outgoing bands.
    value : float or None
        Its size as a share; ``None`` takes the larger of its in- and outflow.
    """

    id: str
    label: str
    column: int
    kind: SankeyKind
    value: float | None = None


@dataclass(frozen=True, slots=True)
class SankeyLink:
    """A band of the budget diagram: ``value`` (a share) from ``source`` to ``target``."""

    source: str
    target: str
    value: float


@dataclass(frozen=True, slots=True)
class Sankey:
    """The budget diagram: nodes in columns, bands between them.

    Nodes are drawn top to bottom in list order within their column.
    ``columns`` holds a heading per column.
    """

    columns: list[str]
    nodes: list[SankeyNode]
    links: list[SankeyLink]


@dataclass(frozen=True, slots=True)
class LeakRow:
    """Authority lost one way: ``kind`` is one of :data:`LEAK_KINDS`."""

    kind: str
    share: float
    pages: int


@dataclass(frozen=True, slots=True)
class SectionRow:
    """One section's budget.

    Attributes
    ----------
    section : str
        Its name (a path prefix such as ``/blog/`` or a user's group name).
    pages : int
        Pages in it.
    deposit : float
        Share of all authority that enters the site on its pages.
    equity : float
        Share held by its pages.
    leaked : float
        Share leaked from its pages.
    to_priority : float
        Share of all authority that enters here and ends on priority pages.
    """

    section: str
    pages: int
    deposit: float
    equity: float
    leaked: float
    to_priority: float


@dataclass(frozen=True, slots=True)
class Budget:
    """Where authority enters, where it goes, what is lost.

    Attributes
    ----------
    sankey : Sankey
        The flow diagram (the builder may merge small nodes, see
        :func:`reports.charts.limit_sankey`).
    held_share : float
        Share held by pages (``1 - sum of leaks``).
    priority_share : float
        Share held by the priority pages.
    baseline_share : float
        Share of the source that every page gets regardless of backlinks
        (``1 - beta``; 1 when no backlinks were given).
    leaks : list of LeakRow
        Every leak kind, even at 0, in :data:`LEAK_KINDS` order.
    sections : list of SectionRow
        The largest sections by deposit.
    sections_total : int
        How many sections exist.
    section_rule : str
        How pages were grouped, in words (e.g. "first path segment").
    """

    sankey: Sankey
    held_share: float
    priority_share: float
    baseline_share: float
    leaks: list[LeakRow]
    sections: list[SectionRow]
    sections_total: int
    section_rule: str


# -- 3. priority pages -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contribution:
    """A landing page's part in a priority page's equity (``share`` of that page's equity, 0-1)."""

    url: str
    title: str
    share: float


@dataclass(frozen=True, slots=True)
class RouteStep:
    """A page on a route, and the link it is left by (``anchor``/``position`` empty on the last)."""

    url: str
    title: str
    anchor: str = ""
    position: str = ""


@dataclass(frozen=True, slots=True)
class Route:
    """The most probable click path from a landing page to a priority page.

    ``probability`` is the chance a visitor following links as the model does
    takes exactly this path (the product of the link shares).
    """

    steps: list[RouteStep]
    probability: float


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A pointer to a finding: enough to list and link it."""

    id: str
    title: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class PriorityPage:
    """One priority page and what feeds it.

    Attributes
    ----------
    url, title : str
        The page.
    equity : float
        Share of all authority it holds.
    score : float or None
        0-100 score (``None`` for a group of pages, which has no single score).
    rank : int or None
        Its rank by equity among all pages (a group: its best page's rank;
        ``None`` when it matched no crawled page).
    depth : int or None
        Click depth from the start URL (``None``: not reachable by links; a
        group: its shallowest page).
    inlinks : int
        Unique internal pages linking to it (a group: from outside the group).
    referring_domains : int
        Domains with a backlink to it.
    contributors : list of Contribution
        Landing pages its equity comes from, largest first.
    findings : list of FindingRef
        Findings that concern it.
    routes : list of Route
        Its best routes from the top landing pages, most probable first.
    pages : int
        Crawled pages it stands for: 1 for a page; for a priority entry that
        is a pattern (``re:...``, a ``*`` glob, a guessed URL template) the
        pages it matched, with ``url`` holding the pattern; 0 when it matched
        no crawled page.
    note : str
        How the entry was resolved, in words, when it needs saying (e.g.
        "resolves to no page: broken"); ``""`` otherwise.
    """

    url: str
    title: str
    equity: float
    score: float | None
    rank: int | None
    depth: int | None
    inlinks: int
    referring_domains: int
    contributors: list[Contribution]
    findings: list[FindingRef]
    routes: list[Route]
    pages: int = 1
    note: str = ""


@dataclass(frozen=True, slots=True)
class AnchorUse:
    """One anchor text used for a page.

    ``links`` counts the links (or backlinks) with that text; ``sources`` the
    distinct pages they are on (internal links) or the referring domains
    (backlinks); ``vague`` marks an anchor that says nothing about its target
    ("click here", ``GAPS_VAGUE_ANCHORS``).
    """

    anchor: str
    links: int
    sources: int
    vague: bool


@dataclass(frozen=True, slots=True)
class AnchorProfile:
    """The anchor texts pointing at one priority page: internal and backlinks side by side.

    Attributes
    ----------
    url, title : str
        The priority page.
    internal : list of AnchorUse
        Anchors of the links from crawled pages (through redirects and
        canonicals too), most used first.
    internal_total : int
        Distinct internal anchors in all.
    backlinks : list of AnchorUse
        Anchors of its live backlinks, most used first.
    backlinks_total : int
        Distinct backlink anchors in all.
    """

    url: str
    title: str
    internal: list[AnchorUse]
    internal_total: int
    backlinks: list[AnchorUse]
    backlinks_total: int


@dataclass(frozen=True, slots=True)
class PrioritySection:
    """The priority pages table.

    ``guessed`` is ``True`` when the pages were suggested from URL patterns
    rather than given by the user; ``source`` says which (a file name or the
    rule used). ``anchor_profiles`` holds the anchor profiles of the priority
    pages the gap analysis looked at (empty when it did not run), in the
    order of ``pages``.
    """

    guessed: bool
    source: str
    pages: list[PriorityPage]
    total: int
    anchor_profiles: list[AnchorProfile] = field(default_factory=list)


# -- 4. findings ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found, with its evidence and fix.

    Attributes
    ----------
    id : str
        Stable from run to run (the comparison matches findings by id).
    kind : str
        e.g. ``"orphan"``, ``"broken_link"`` (the templates explain known kinds).
    severity : {"high", "medium", "low"}
    title : str
        One line naming the problem.
    evidence : list of Fact
        The numbers behind it.
    fix : str
        The fix, in one sentence.
    pages : list of PageRef
        The pages concerned (cut to the report's limit).
    pages_total : int
        How many pages are concerned in all.
    equity_at_stake : float or None
        The share of authority the problem wastes or withholds, when known.
    """

    id: str
    kind: str
    severity: Severity
    title: str
    evidence: list[Fact]
    fix: str
    pages: list[PageRef]
    pages_total: int
    equity_at_stake: float | None = None


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """The findings of one kind, most severe first.

    ``total`` counts every finding of the kind that exists; ``exported`` how
    many of them ``findings.json`` holds (the analysis keeps the most
    important ``GAPS_MAX_FINDINGS`` per kind); ``None`` means all of them.
    """

    kind: str
    title: str
    findings: list[Finding]
    total: int
    exported: int | None = None


@dataclass(frozen=True, slots=True)
class FindingsSection:
    """Every finding group, and the counts by severity over all findings.

    ``computed`` is ``False`` when the report was built without the gap
    analysis: the section then says so instead of claiming there is nothing
    to find.
    """

    groups: list[FindingGroup]
    high: int
    medium: int
    low: int
    computed: bool = True

    @property
    def total(self) -> int:
        """All findings, shown or not."""
        return self.high + self.medium + self.low


# -- 5. recommendations -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkRecommendation:
    """An internal link to add, with what the model predicts it does.

    Attributes
    ----------
    id : str
        Stable identifier (anchors the row in the report).
    source_url, source_title : str
        The page to add the link on.
    target_url, target_title : str
        The page to link to.
    anchor : str
        Suggested anchor text.
    gain : float
        Predicted rise in the priority pages' share this link brings on top
        of the links before it in the set (the gains of the set add up to
        :attr:`RecommendationsSection.set_gain`).
    equity_before, equity_after : float
        The target's share before and with the whole set.
    rank_before, rank_after : int
        The target's rank before and with the whole set.
    relevance : float
        Topical relevance of source and target, 0-1.
    """

    id: str
    source_url: str
    source_title: str
    target_url: str
    target_title: str
    anchor: str
    gain: float
    equity_before: float
    equity_after: float
    rank_before: int
    rank_after: int
    relevance: float


@dataclass(frozen=True, slots=True)
class RedirectRecommendation:
    """A redirect to add so backlinks to a dead URL count again.

    ``status`` is what the dead URL answers (``None`` for a redirect loop or no
    answer); ``gain`` the share of authority the redirect recovers;
    ``priority_gain`` the part of it that reaches the priority pages;
    ``via_url``, when not empty, the URL where the dead URL's existing
    redirects end in the error (the redirect to change).
    """

    id: str
    from_url: str
    status: int | None
    to_url: str
    to_title: str
    referring_domains: int
    backlinks: int
    gain: float
    priority_gain: float = 0.0
    via_url: str = ""


@dataclass(frozen=True, slots=True)
class RecommendationsSection:
    """Links and redirects to add.

    ``set_gain`` is the model's predicted change in the priority pages' share
    when every recommended link is added together (computed for the set, not
    summed from the rows). ``computed`` is ``False`` when the report was built
    without the recommender. ``note`` says why there is no link to recommend,
    when there is none (no priority pages, no relevant source...).
    """

    links: list[LinkRecommendation]
    links_total: int
    set_gain: float
    redirects: list[RedirectRecommendation]
    redirects_total: int
    computed: bool = True
    note: str = ""


# -- 6. pages -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRow:
    """A row of the pages table (the same fields as ``data/pages.csv``).

    ``flags`` are short tags such as ``"noindex"``, ``"orphan"``,
    ``"dead_end"``, ``"priority"``; ``deposit`` is the share entering the site
    on this page, ``leaked`` the share leaking from it.
    """

    url: str
    title: str
    equity: float
    score: float
    rank: int
    depth: int | None
    status: int | None
    inlinks: int
    referring_domains: int
    deposit: float
    leaked: float
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Bin:
    """One bar of a distribution: ``count`` pages fall in the range ``label`` names."""

    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Distribution:
    """A histogram over all pages.

    ``key`` (``"equity"``, ``"depth"``, ``"inlinks"``) selects the explanation
    the template shows; ``x_label`` names the binned quantity.
    """

    key: str
    title: str
    x_label: str
    bins: list[Bin]


@dataclass(frozen=True, slots=True)
class PagesSection:
    """The top pages by equity, and distributions over all pages."""

    rows: list[PageRow]
    total: int
    distributions: list[Distribution]


# -- 7. backlinks -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VendorRow:
    """What one backlink export contributed.

    ``rows`` is what its files held, ``backlinks`` the merged backlinks it
    reported, ``unique`` those no other vendor reported, ``followed`` the live
    followed ones among them, ``lost`` those marked lost, ``metric`` the
    authority metric(s) its exports carry (``""`` for none).
    """

    vendor: str
    files: int
    rows: int
    backlinks: int
    unique: int
    referring_domains: int
    followed: int
    lost: int
    metric: str


@dataclass(frozen=True, slots=True)
class LostTarget:
    """A dead URL that backlinks point at.

    ``lost_share`` is the share of deposits that would enter there and is lost;
    ``redirect_to`` the live page suggested as the redirect target.
    """

    url: str
    status: int | None
    referring_domains: int
    backlinks: int
    lost_share: float
    redirect_to: str
    redirect_title: str


@dataclass(frozen=True, slots=True)
class AnchorRow:
    """A backlink anchor text, with how often it is used and whether it is vague."""

    anchor: str
    backlinks: int
    referring_domains: int
    share: float
    vague: bool


@dataclass(frozen=True, slots=True)
class LandingRow:
    """A page where backlink authority lands.

    ``deposit`` is the share entering on it, ``to_priority`` the part of that
    deposit that ends on priority pages (0-1 of ``deposit``).
    """

    url: str
    title: str
    referring_domains: int
    deposit: float
    to_priority: float


@dataclass(frozen=True, slots=True)
class BacklinksSection:
    """Backlinks per vendor and merged; lost equity; anchors; landing pages.

    ``merged`` counts merged backlinks, ``followed`` the live (not lost),
    followed ones among them, ``lost_share`` the share of deposits lost to dead
    targets.
    """

    vendors: list[VendorRow]
    merged: int
    referring_domains: int
    followed: int
    target_pages: int
    lost_share: float
    lost: list[LostTarget]
    lost_total: int
    anchors: list[AnchorRow]
    anchors_total: int
    landing: list[LandingRow]
    landing_total: int


# -- 8. comparison ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriorityDelta:
    """A priority page's equity in the previous and this run (``None``: absent then)."""

    url: str
    title: str
    before: float | None
    after: float | None
    rank_before: int | None
    rank_after: int | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """This run against the previous run of the same site.

    Headline pairs are ``(before, after)`` shares; ``fixed``/``new`` list
    findings present only before/only now, ``pages_gained``/``pages_lost`` live
    pages (200 HTML) present only now/only before, each with its total.
    ``findings_compared`` is ``False`` when either run was reported without the
    gap analysis (then ``fixed`` and ``new`` are empty: nothing can be said).
    """

    previous_run: str
    previous_date: datetime
    priority_share: tuple[float, float]
    home_share: tuple[float, float]
    leaked_share: tuple[float, float]
    pages: tuple[int, int]
    priority: list[PriorityDelta]
    fixed: list[FindingRef]
    fixed_total: int
    new: list[FindingRef]
    new_total: int
    pages_gained: list[str]
    pages_gained_total: int
    pages_lost: list[str]
    pages_lost_total: int
    findings_compared: bool = True


# -- the whole report ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportView:
    """Everything the report shows, section by section.

    ``comparison`` is ``None`` for the first run of a site.
    """

    run: RunInfo
    crawl: CrawlInfo
    summary: Summary
    budget: Budget
    priority: PrioritySection
    findings: FindingsSection
    recommendations: RecommendationsSection
    pages: PagesSection
    backlinks: BacklinksSection
    comparison: Comparison | None = None
