"""Rendering the report: filters, the content security policy, every variant of the view."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace

import lxml.html
import pytest

from reports.render import (
    content_security_policy,
    environment,
    format_share,
    is_http_url,
    load_assets,
    render,
)
from reports.report_config import ReportConfig
from reports.view import (
    BacklinksSection,
    FindingsSection,
    PrioritySection,
    RecommendationsSection,
    Sankey,
)
from tests.support.report_fixture import fixture_view, large_view


def _doc(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def _section_text(doc: lxml.html.HtmlElement, section: str) -> str:
    (element,) = doc.xpath(f'//section[@id="{section}"]')
    return " ".join(element.text_content().split())


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.2345, "23.4%"),
        (0.1, "10.0%"),
        (0.012, "1.20%"),
        (0.00042, "0.042%"),
        (0.0000123, "0.0012%"),
        (0.0, "0%"),
        (None, "–"),
        (float("nan"), "–"),
    ],
)
def test_share_formatting(value: float | None, text: str) -> None:
    assert format_share(value) == text


def test_signed_share_and_points() -> None:
    assert format_share(0.0061, signed=True) == "+0.61%"
    assert format_share(-0.019, signed=True) == "−1.90%"
    assert environment().filters["points"](0.0187) == "+1.87 pts"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.example.com/a?b=c", True),
        ("HTTP://EXAMPLE.COM/", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("https://exa mple.com/", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//example.com/", False),
        ("/relative/path", False),
        ("https://", False),
        ("mailto:someone@example.com", False),
        ("", False),
        (None, False),
        ("http://[::1", False),
    ],
)
def test_only_http_urls_become_links(url: str | None, ok: bool) -> None:
    assert is_http_url(url) is ok


def test_csp_allows_exactly_our_inline_style_and_script() -> None:
    html = render(fixture_view())
    doc = _doc(html)
    (meta,) = doc.xpath('//meta[@http-equiv="Content-Security-Policy"]')
    policy = dict(part.partition(" ")[::2] for part in meta.get("content").split("; "))
    assert policy["default-src"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'none'"
    assert "unsafe-inline" not in meta.get("content")
    (style,) = doc.xpath("//style")
    (script,) = doc.xpath("//script")

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert policy["style-src"] == digest(style.text)
    assert policy["script-src"] == digest(script.text)
    # The policy comes before anything it governs.
    head = doc.head
    assert list(head).index(meta) < list(head).index(style)
    assert content_security_policy(load_assets()) == meta.get("content")


def test_report_is_self_contained() -> None:
    doc = _doc(render(fixture_view()))
    assert not doc.xpath("//img | //iframe | //object | //embed | //link | //base | //form")
    assert not doc.xpath("//*[@src] | //*[@srcset] | //*[@style] | //*[@action]")
    for element in doc.xpath("//*[@href]"):
        href = element.get("href")
        # Links out go to the site (http/https), the rest stay in the page or its data folder.
        assert href.startswith(("https://", "http://", "#", "data/")), href
    assert "@import" not in doc.xpath("//style")[0].text
    assert "url(" not in doc.xpath("//style")[0].text


def test_summary_headline_and_explanations() -> None:
    view = fixture_view()
    doc = _doc(render(view))
    text = _section_text(doc, "summary")
    assert (
        f"Of all the authority entering the site, {format_share(view.summary.priority_share)} "
        "ends up on the 6 priority pages, 11.2% stays on the home page and "
        f"{format_share(view.summary.leaked_share)} leaks away." in text
    )
    assert "Redirect /summer-sale-2023 to the kettles category +1.21 pts" in text
    # Each headline number sits next to its explanation.
    cards = doc.xpath('//section[@id="summary"]//div[contains(concat(" ", @class, " "), " card ")]')
    assert len(cards) == 5
    assert all(card.xpath('.//p[@class="explain"]') for card in cards)
    # Top fixes link to the finding or recommendation in the page.
    targets = doc.xpath('//ol[@class="fixes"]//a/@href')
    for target in targets:
        assert doc.xpath(f'//*[@id="{target[1:]}"]'), target


def test_tables_are_sortable_and_numbers_carry_raw_values() -> None:
    doc = _doc(render(fixture_view()))
    table = doc.get_element_by_id("pages-table")
    assert "sortable" in table.get("class")
    headers = table.xpath("./thead/tr/th")
    assert all(th.xpath("./button[@class='sort']") for th in headers)
    numeric = [i for i, th in enumerate(headers) if th.get("data-type") == "num"]
    for row in table.xpath("./tbody/tr"):
        cells = row.xpath("./td")
        for i in numeric:
            float(cells[i].get("data-v"))
    assert len(table.xpath("./tbody/tr")) == 30
    note = " ".join(table.getparent().getnext().text_content().split())
    assert note == "Showing the top 30 of 1,284 pages; all of them are in data/pages.csv."


def test_every_page_flag_is_explained_in_the_flag_filter() -> None:
    view = fixture_view()
    rows = list(view.pages.rows)
    rows[0] = replace(rows[0], flags=[*rows[0].flags, "meta_refresh"])
    doc = _doc(render(replace(view, pages=replace(view.pages, rows=rows))))
    (select,) = doc.xpath('//select[@data-flag-for="pages-table"]')
    options = {o.get("value"): " ".join(o.text_content().split()) for o in select.xpath("./option")}
    assert options["meta_refresh"] == (
        "meta refresh: sends visitors on to another page after a delay"
    )
    # Every flag the view can carry says what it means.
    assert all(":" in text for value, text in options.items() if value), options


def test_budget_draws_the_sankey_and_the_leaks() -> None:
    view = fixture_view()
    doc = _doc(render(view))
    (svg,) = doc.xpath('//svg[contains(@class, "sankey")]')
    assert len(svg.xpath(".//path[contains(@class, 'band')]")) == len(view.budget.sankey.links)
    assert len(svg.xpath(".//g[@class='node']/rect")) == len(view.budget.sankey.nodes)
    titles = [" ".join(t.text_content().split()) for t in svg.xpath(".//rect/title")]
    assert "Other pages: 68.3% of all authority" in titles
    leak_bars = doc.xpath('//svg[contains(@class, "hbars")]//rect/title/text()')
    assert leak_bars == [
        f"{row.kind.replace('_', ' ')}: {format_share(row.share)}" for row in view.budget.leaks
    ]
    text = _section_text(doc, "budget")
    assert "evaporates" in text and "Dead ends" not in text.split("Where it leaks")[1][:20]


def test_variant_without_backlinks_priority_or_comparison() -> None:
    view = fixture_view()
    bare = replace(
        view,
        summary=replace(
            view.summary, backlinks=0, referring_domains=0, vendors=[], priority_guessed=True,
            top_fixes=[],
        ),
        budget=replace(view.budget, baseline_share=1.0, sankey=Sankey([], [], [])),
        priority=PrioritySection(
            guessed=True, source="URL patterns like /products/", pages=[], total=0
        ),
        findings=FindingsSection(groups=[], high=0, medium=0, low=0),
        recommendations=RecommendationsSection([], 0, 0.0, [], 0),
        backlinks=BacklinksSection([], 0, 0, 0, 0, 0.0, [], 0, [], 0, [], 0),
        crawl=replace(
            view.crawl, complete=False, finish_reason="closespider_pagecount",
            limit_note="It stopped at the 10,000-page cap (CLOSESPIDER_PAGECOUNT).",
        ),
        comparison=None,
    )  # fmt: skip
    doc = _doc(render(bare))
    assert not doc.xpath('//section[@id="comparison"]')
    assert not doc.xpath('//nav//a[@href="#comparison"]')
    summary = _section_text(doc, "summary")
    assert "The crawl did not finish. It stopped at the 10,000-page cap" in summary
    assert "inconclusive" in summary
    assert "Priority pages were guessed from URL patterns (URL patterns like /products/)" in summary
    assert "No backlink export was given" in summary
    assert "Nothing stands out" in summary
    assert "No backlink export was given" in _section_text(doc, "backlinks")
    assert "No findings" in _section_text(doc, "findings")
    assert "No link to add" in _section_text(doc, "recommendations")
    assert "No priority pages" in _section_text(doc, "priority")
    assert "internal PageRank" in _section_text(doc, "budget")


def test_comparison_shows_changes_in_points_with_direction() -> None:
    doc = _doc(render(fixture_view()))
    rows = doc.xpath('//table[@id="headline-delta-table"]/tbody/tr')
    cells = [[" ".join(td.text_content().split()) for td in row.xpath("./td")] for row in rows]
    assert cells[0][0] == "Reaches priority pages" and cells[0][3] == "+9.21 pts"
    assert rows[0].xpath(".//span[@class='delta-up']")
    # Less pooled on the home page is better: green although negative.
    assert cells[1][3] == "−1.90 pts" and rows[1].xpath(".//span[@class='delta-up']")
    assert rows[2].xpath(".//span[@class='delta-down']")
    assert cells[3][3] == "+33"
    text = _section_text(doc, "comparison")
    assert "Findings fixed 2" in text and "Pages gained 41" in text
    assert "Showing 2 of 41" in text


def test_rendering_is_deterministic() -> None:
    assert render(fixture_view()) == render(fixture_view())


def test_largest_report_stays_under_five_megabytes() -> None:
    config = ReportConfig()
    view = large_view(config, total_pages=100_000)
    html = render(view)
    size = len(html.encode("utf-8"))
    assert size < 5_000_000, f"{size / 1e6:.1f} MB"
    doc = _doc(html)
    assert len(doc.xpath('//table[@id="pages-table"]/tbody/tr')) == config.top_pages
    assert "Showing the top 500 of 100,000 pages" in _section_text(doc, "pages")
    # The 300-section budget was merged down to the configured number of nodes per column.
    nodes = doc.xpath('//svg[contains(@class, "sankey")]//g[@class="node"]')
    assert len(nodes) <= 3 * 2 * config.sankey_nodes
    assert "291 other sections" in _section_text(doc, "budget")
