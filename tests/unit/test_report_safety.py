"""Untrusted strings come out of the report inert.

The hostile fixture puts ``<script>``, ``"><img onerror=...>``, ``</script>``
and ``javascript:``/``data:`` URLs into every field a crawled site or a
backlink export controls. The output is parsed (as a browser would) and
checked structurally: the only script is ours, no element carries an event
handler, every link is http(s) with a safe ``rel``, and the attack strings
survive as visible text.
"""

from __future__ import annotations

import re

import lxml.html
import pytest

from reports.render import is_http_url, load_assets, render
from tests.support.report_fixture import (
    CLOSE_SCRIPT,
    DATA_URL,
    IMG,
    JS_URL,
    SCRIPT,
    fixture_view,
)

URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "poster", "background")


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render(fixture_view(hostile=True))


@pytest.fixture(scope="module")
def doc(hostile_html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(hostile_html)


def test_the_only_script_is_ours(doc: lxml.html.HtmlElement) -> None:
    scripts = doc.xpath("//script")
    assert len(scripts) == 1
    assert scripts[0].get("src") is None
    assert scripts[0].text == str(load_assets().js)
    assert len(doc.xpath("//style")) == 1


def test_no_injected_elements(doc: lxml.html.HtmlElement) -> None:
    for tag in ("img", "iframe", "object", "embed", "form", "base", "link", "input[@type='image']"):
        assert not doc.xpath(f"//{tag}"), tag
    assert not doc.xpath("//meta[@http-equiv='refresh']")


def test_no_event_handlers_or_style_attributes(doc: lxml.html.HtmlElement) -> None:
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        for name in element.attrib:
            assert not name.lower().startswith("on"), (element.tag, name)
            assert name.lower() != "style", element.tag


def test_every_link_is_http_with_a_safe_rel(doc: lxml.html.HtmlElement) -> None:
    links = doc.xpath("//a[@href]")
    assert links
    outbound = 0
    for a in links:
        href = a.get("href")
        if href.startswith("#"):
            # In-page anchors: our sections, or ids reduced to letters, digits and dashes.
            assert re.fullmatch(r"#(x-[a-z0-9_-]+|[a-z]+)", href), href
            assert doc.xpath(f'//*[@id="{href[1:]}"]') or href.startswith("#x-"), href
            continue
        if href.startswith("data/"):
            assert a.get("download") is not None
            assert re.fullmatch(r"data/[a-z]+\.(csv|json)", href), href
            continue
        assert is_http_url(href), href
        assert {"noopener", "noreferrer", "nofollow"} <= set(a.get("rel", "").split())
        outbound += 1
    assert outbound > 10


def test_no_dangerous_url_anywhere(doc: lxml.html.HtmlElement) -> None:
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if name.lower() in URL_ATTRIBUTES:
                squashed = re.sub(r"[\x00-\x20]", "", value).lower()
                assert not squashed.startswith(("javascript:", "data:", "vbscript:")), (name, value)


def test_ids_are_well_formed(doc: lxml.html.HtmlElement) -> None:
    ids = [element.get("id") for element in doc.xpath("//*[@id]")]
    for value in ids:
        assert re.fullmatch(r"[a-z][a-z0-9_-]*", value), value


def test_attack_strings_survive_as_text(doc: lxml.html.HtmlElement) -> None:
    body = doc.body.text_content()
    # Shown to the reader exactly as the site wrote them, so the report stays truthful.
    for attack in (SCRIPT, IMG, CLOSE_SCRIPT):
        assert attack in body
    # A non-http URL is shown as text, not as a link.
    spans = [s.text_content() for s in doc.xpath("//span[@class='url-text']")]
    assert JS_URL in spans and DATA_URL in spans
    # Attribute values keep the attack inert inside quotes (parsed back intact).
    titles = [e.get("title") for e in doc.xpath("//*[@title]")]
    assert IMG in titles


def test_sankey_and_chart_labels_are_text(doc: lxml.html.HtmlElement) -> None:
    texts = doc.xpath('//svg[contains(@class, "sankey")]//text')
    assert texts
    for text in texts:
        assert not [child for child in text if child.tag != "tspan"]
    tooltips = doc.xpath('//svg[contains(@class, "sankey")]//rect/title/text()')
    assert any(SCRIPT in t for t in tooltips)


def test_export_filter_refuses_names_outside_the_contract() -> None:
    from reports.render import environment  # noqa: PLC0415

    export = environment().filters["export"]
    assert export("pages.csv") == "data/pages.csv"
    with pytest.raises(ValueError, match="not one of the report's exports"):
        export("../../etc/passwd")
