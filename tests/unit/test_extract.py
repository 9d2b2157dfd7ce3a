"""The HTML extractor: page facts, links, positions, and malformed input."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkspider.extract import (
    MAX_REFRESH_DELAY,
    PositionRules,
    Refresh,
    canonical_from_link_header,
    extract_page,
    parse_refresh,
    robots_directives,
)
from linkspider.urlnorm import UrlNormaliser
from pipelines.storedb import POSITIONS
from tests.support.site import layout

URL = "https://shop.example/shop/boots"


def positions(html: str, url: str = URL, **kwargs: object) -> list[tuple[str, str]]:
    facts = extract_page(html.encode(), url, encoding="utf-8", **kwargs)  # type: ignore[arg-type]
    return [(link.anchor, link.position) for link in facts.links]


def test_layout_regions_get_their_positions() -> None:
    html = layout(
        "Boots",
        content='<a href="/a">In text</a>',
        breadcrumb=[("/", "Crumb")],
        aside=[("/side", "Side")],
        footer=[("/f", "Foot")],
    )
    assert positions(html) == [
        ("Northwind Outfitters", "header"),  # logo in <header>
        ("Home", "nav"),  # <header><nav>: the navigation wins
        ("Shop", "nav"),
        ("Blog", "nav"),
        ("About", "nav"),
        ("Crumb", "breadcrumb"),
        ("In text", "content"),
        ("Side", "aside"),
        ("Foot", "footer"),
    ]


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ('<footer><nav><a href="/x">x</a></nav></footer>', "footer"),
        ('<aside><nav><a href="/x">x</a></nav></aside>', "aside"),
        ('<main><article><header><a href="/x">x</a></header></article></main>', "content"),
        ('<section><footer><a href="/x">x</a></footer></section>', "content"),
        ('<div role="navigation"><a href="/x">x</a></div>', "nav"),
        ('<div role="banner"><a href="/x">x</a></div>', "header"),
        ('<div role="contentinfo"><a href="/x">x</a></div>', "footer"),
        ('<div role="complementary"><a href="/x">x</a></div>', "aside"),
        ('<ol itemscope itemtype="https://schema.org/BreadcrumbList"><li><a href="/x">x</a></ol>',
         "breadcrumb"),
        ('<nav class="navbar"><div class="breadcrumb"><a href="/x">x</a></div></nav>',
         "breadcrumb"),
        ('<div id="site-footer"><a href="/x">x</a></div>', "footer"),
        ('<ul class="main-menu"><li><a href="/x">x</a></li></ul>', "nav"),
        ('<div class="sidebar-left"><a href="/x">x</a></div>', "aside"),
        ('<div class="masthead"><a href="/x">x</a></div>', "header"),
        # State classes and classes on <body> name no region.
        ('<div class="has-sidebar"><a href="/x">x</a></div>', "content"),
        ('<div class="content-wrapper"><p><a href="/x">x</a></p></div>', "content"),
    ],
)  # fmt: skip
def test_position_rules(fragment: str, expected: str) -> None:
    html = f'<html><body class="header-fixed footer-dark">{fragment}</body></html>'
    assert positions(html) == [("x", expected)]


def test_position_names_and_precedence_are_configurable() -> None:
    html = '<footer><div class="promo-box"><a href="/x">x</a></div></footer>'
    rules = PositionRules(names={"promo": "aside"}, precedence=("aside", "footer"))
    assert positions(html) == [("x", "footer")]
    assert positions(html, rules=rules) == [("x", "aside")]


def test_link_targets_are_normalised_and_kinds_recorded() -> None:
    html = """<html><head><base href="/shop/outer/"></head><body>
    <a href="  parka#reviews ">a</a>
    <a href="/blog/post?utm_source=x&amp;id=3&amp;fbclid=9">b</a>
    <a href="HTTPS://Shop.Example:443/%7Euser/">c</a>
    <a href="//cdn.example/img.png">d</a>
    <a href="mailto:me@shop.example">e</a>
    <a href="tel:+1555">f</a>
    <a href="javascript:void(0)">g</a>
    <a href="">h</a>
    <a>no href</a>
    </body></html>"""
    facts = extract_page(html.encode(), URL, is_internal=lambda u: "shop.example" in u)
    got = [(link.url, link.href, link.kind, link.internal, link.followed) for link in facts.links]
    assert got == [
        ("https://shop.example/shop/outer/parka", "  parka#reviews ", "http", True, True),
        ("https://shop.example/blog/post?id=3", "/blog/post?utm_source=x&id=3&fbclid=9", "http",
         True, True),
        ("https://shop.example/~user/", "HTTPS://Shop.Example:443/%7Euser/", "http", True, True),
        ("https://cdn.example/img.png", "//cdn.example/img.png", "http", False, True),
        (None, "mailto:me@shop.example", "mailto", False, False),
        (None, "tel:+1555", "tel", False, False),
        (None, "javascript:void(0)", "javascript", False, False),
        ("https://shop.example/shop/outer/", "", "http", True, True),
    ]  # fmt: skip


def test_anchors_rel_and_followed() -> None:
    html = """<body>
    <a href="/a">  Walking
       boots </a>
    <a href="/b"><img src="b.jpg" alt=" Boot  photo "></a>
    <a href="/c"></a>
    <a href="/d" rel="NoFollow noopener">d</a>
    <a href="/e" rel="ugc">e</a>
    <a href="/f" rel="sponsored">f</a>
    <map><area href="/g" alt="Region"></map>
    </body>"""
    links = extract_page(html, URL).links
    assert [(x.anchor, x.is_image, x.rel, x.followed) for x in links] == [
        ("Walking boots", False, [], True),
        ("Boot photo", True, [], True),
        ("", False, [], True),
        ("d", False, ["nofollow", "noopener"], False),
        ("e", False, ["ugc"], False),
        ("f", False, ["sponsored"], False),
        ("Region", True, [], True),
    ]


@pytest.mark.parametrize(
    ("head", "header", "noindex", "nofollow"),
    [
        ('<meta name="robots" content="noindex, nofollow">', None, True, True),
        ('<meta name="ROBOTS" content="none">', None, True, True),
        ('<meta name="googlebot" content="nofollow">', None, False, True),
        ("", "noindex", True, False),
        ("", "googlebot: nofollow, unavailable_after: 2030-01-01", False, True),
        ('<meta name="robots" content="max-snippet:50, index">', None, False, False),
    ],
)
def test_robots_directives_unfollow_every_link(
    head: str, header: str | None, noindex: bool, nofollow: bool
) -> None:
    html = f'<html><head>{head}</head><body><a href="/x">x</a></body></html>'
    facts = extract_page(html, URL, x_robots_tag=header)
    assert (facts.noindex, facts.nofollow) == (noindex, nofollow)
    assert facts.links[0].followed is not nofollow


def test_robots_directives_parser() -> None:
    assert robots_directives(None, "") == (False, False)
    assert robots_directives("index, follow", "bingbot: noindex") == (True, False)


def test_head_facts() -> None:
    html = """<html><head><title>  Boots |
      Shop </title>
    <link rel="canonical" href="/shop/boots?utm_medium=x">
    <link rel="alternate" hreflang="DE" href="/de/stiefel">
    <link rel="alternate" hreflang="x-default" href="https://shop.example/">
    <meta name="robots" content="index">
    </head><body><h1>Walking <em>boots</em></h1><h1>Second</h1></body></html>"""
    facts = extract_page(html, URL)
    assert facts.title == "Boots | Shop"
    assert facts.h1 == "Walking boots"
    assert facts.canonical == "https://shop.example/shop/boots"
    assert [(h.lang, h.url) for h in facts.hreflang] == [
        ("de", "https://shop.example/de/stiefel"),
        ("x-default", "https://shop.example/"),
    ]
    assert facts.meta_robots == "index"


def test_canonical_from_link_header() -> None:
    header = '<https://shop.example/a>; rel="preload", </boots?utm_source=x>; rel="canonical"'
    assert canonical_from_link_header(header, URL) == "https://shop.example/boots"
    assert canonical_from_link_header("<https://x/>; rel=preload", URL) is None
    assert canonical_from_link_header(None, URL) is None


def test_main_text_word_count_and_signature() -> None:
    with_main = layout("Hiking boots", content="<p>Waterproof boots, waterproof soles.</p>")
    facts = extract_page(with_main, URL)
    # <main> holds the h1 and the paragraph; navigation and footer are left out.
    assert facts.word_count == 2 + 4
    assert facts.signature[:3] == ["boots", "hiking", "waterproof"]

    no_main = (
        "<body><nav><a href='/'>Home page link</a></nav><div><p>Tents for"
        " two</p><p>people</p></div><footer>Copyright text</footer>"
        "<script>var ignored = 1;</script></body>"
    )
    assert extract_page(no_main, URL).word_count == 4
    articles = "<body><article><p>One two</p></article><article>three</article></body>"
    assert extract_page(articles, URL).word_count == 3


def test_encodings_follow_the_http_layer() -> None:
    body = '<html><head><meta charset="utf-8"></head><body><a href="/x">Café</a></body></html>'
    assert extract_page(body.encode("cp1252"), URL, encoding="cp1252").links[0].anchor == "Café"
    utf16 = body.encode("utf-16")
    assert extract_page(utf16, URL, encoding="utf-16").links[0].anchor == "Café"
    # An encoding lxml does not know falls back to the document's own.
    assert extract_page(body.encode(), URL, encoding="x-unknown").links[0].anchor == "Café"


def test_nul_bytes_and_garbage() -> None:
    facts = extract_page(b"<html><body>\x00<a href='/a\x00b'>x\x00y</a></body>", URL)
    assert [link.url for link in facts.links] == ["https://shop.example/ab"]
    assert extract_page(b"", URL).error is not None
    assert extract_page(b"\xff\xfe\xfd", URL).links == []


def test_a_ten_megabyte_single_line_is_parsed_quickly() -> None:
    line = "<p>" + "word " * 2_000_000 + '<a href="/end">end</a></p>'
    assert len(line) > 10_000_000
    started = time.perf_counter()
    facts = extract_page(line.encode(), URL)
    assert time.perf_counter() - started < 20
    assert [link.url for link in facts.links] == ["https://shop.example/end"]
    assert facts.word_count == 2_000_001


def test_memoised_normaliser_does_not_leak_between_pages() -> None:
    normaliser = UrlNormaliser()
    first = extract_page('<a href="a">x</a>', "https://s.example/one/", normaliser=normaliser)
    second = extract_page('<a href="a">x</a>', "https://s.example/two/", normaliser=normaliser)
    assert first.links[0].url == "https://s.example/one/a"
    assert second.links[0].url == "https://s.example/two/a"


# -- property-based: malformed HTML never crashes and keeps the invariants --

_TAGS = ["a", "area", "nav", "header", "footer", "aside", "main", "article", "div", "p", "base",
         "title", "h1", "meta", "link", "script", "style", "img", "table", "td", "svg"]  # fmt: skip
_ATTRS = ["href", "rel", "class", "id", "role", "alt", "name", "content", "aria-label"]


@st.composite
def _html_soup(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 4))
        tag = draw(st.sampled_from(_TAGS))
        if kind == 0:
            attrs = "".join(
                f' {draw(st.sampled_from(_ATTRS))}="{draw(st.text(max_size=12))}"'
                for _ in range(draw(st.integers(0, 3)))
            )
            parts.append(f"<{tag}{attrs}>")
        elif kind == 1:
            parts.append(f"</{tag}>")
        elif kind == 2:
            parts.append(draw(st.text(max_size=30)))
        elif kind == 3:
            parts.append(f'<a href="{draw(st.text(max_size=20))}">')
        else:
            parts.append(
                draw(st.sampled_from(["<!--", "-->", "<![CDATA[", "&amp", "&#0;", "<", ">"]))
            )
    return "".join(parts)


def _check_invariants(facts: object) -> None:
    for link in facts.links:  # type: ignore[attr-defined]
        assert link.position in POSITIONS
        assert link.url is None or link.url.startswith(("http://", "https://"))
        assert (link.url is None) or link.kind == "http"
        assert not (link.followed and link.kind != "http")
        assert link.anchor == " ".join(link.anchor.split())
    assert facts.word_count >= 0  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_html_soup())
def test_malformed_markup_never_crashes(html: str) -> None:
    _check_invariants(extract_page(html, URL))
    _check_invariants(extract_page(html.encode("utf-8", "surrogatepass"), URL, encoding="utf-8"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from([None, "utf-8", "cp1252", "utf-16", "latin-1"]))
def test_arbitrary_bytes_never_crash(body: bytes, encoding: str | None) -> None:
    _check_invariants(extract_page(b"<html><body>" + body, URL, encoding=encoding))


# -- meta refresh ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "delay", "url"),
    [
        ("0;url=/new-page", 0, "/new-page"),
        ("0; URL='/new-page'", 0, "/new-page"),
        ('0;url="/new-page"', 0, "/new-page"),
        ("0; Url = /new-page ", 0, "/new-page"),
        ("  3 , url=/a b ", 3, "/a b"),
        ("0 /new-page", 0, "/new-page"),  # the url= prefix is optional
        ("0;'/quoted' tail", 0, "/quoted"),  # the URL ends at its closing quote
        ("0;url='/unclosed", 0, "/unclosed"),
        ("0;https://other.example/x?a=1;b=2", 0, "https://other.example/x?a=1;b=2"),
        ("5", 5, None),  # reload the page itself
        ("30;", 30, None),
        ("0; url=", 0, None),
        ("1.9; url=/a", 1, "/a"),  # a fraction is ignored, as browsers do
        (".5;url=/a", 0, "/a"),
        ("0\t\n;\turl=/a", 0, "/a"),
        ("007;url=/a", 7, "/a"),
    ],
)
def test_refresh_content_forms(content: str, delay: int, url: str | None) -> None:
    assert parse_refresh(content) == Refresh(delay, url)


@pytest.mark.parametrize(
    "content",
    ["", "   ", "url=/new", "; url=/new", "-1; url=/new", "0url=/new", "zero; url=/new", "+1;/a"],
)
def test_malformed_refresh_content_is_none(content: str) -> None:
    assert parse_refresh(content) is None


def test_a_huge_refresh_delay_is_clamped_without_converting_every_digit() -> None:
    started = time.perf_counter()
    parsed = parse_refresh("9" * 1_000_000 + "; url=/a")
    assert parsed == Refresh(MAX_REFRESH_DELAY, "/a")
    assert parse_refresh("2147483648;url=/a") == Refresh(MAX_REFRESH_DELAY, "/a")
    assert time.perf_counter() - started < 1.0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_refresh_parsing_never_raises(content: str) -> None:
    parsed = parse_refresh(content)
    assert parsed is None or (0 <= parsed.delay <= MAX_REFRESH_DELAY and parsed.url != "")


def _refresh_facts(head: str, body: str = "", url: str = URL) -> tuple[object, ...]:
    html = f"<html><head><title>t</title>{head}</head><body>{body}<p>text</p></body></html>"
    facts = extract_page(html.encode(), url, encoding="utf-8")
    return facts.meta_refresh, facts.refresh_url, facts.refresh_delay


def test_a_refresh_in_head_is_resolved_against_the_page_and_base_href() -> None:
    meta = '<meta http-equiv="refresh" content="0; url=sale">'
    assert _refresh_facts(meta) == ("0; url=sale", "https://shop.example/shop/sale", 0)
    based = '<base href="https://shop.example/archive/">' + meta
    assert _refresh_facts(based)[1] == "https://shop.example/archive/sale"
    upper = '<META HTTP-EQUIV=" REFRESH " CONTENT="10;URL=/later?utm_source=x#top">'
    assert _refresh_facts(upper) == (
        "10;URL=/later?utm_source=x#top",
        "https://shop.example/later",
        10,
    )


def test_what_is_not_a_refresh_to_another_url() -> None:
    meta = '<meta http-equiv="refresh" content="0; url=/elsewhere">'
    # Inside <noscript> (for browsers without scripts), or in the body: not acted upon.
    assert _refresh_facts(f"<noscript>{meta}</noscript>") == (None, None, None)
    assert _refresh_facts("", body=meta) == (None, None, None)
    # To the page itself (a fragment or tracking parameter does not make it another URL).
    same = '<meta http-equiv="refresh" content="0; url=/shop/boots?utm_medium=x#reviews">'
    assert _refresh_facts(same)[1:] == (None, None)
    # Not http(s), or malformed: recorded as written, nothing to follow.
    js = '<meta http-equiv="refresh" content="0; url=javascript:alert(1)">'
    assert _refresh_facts(js) == ("0; url=javascript:alert(1)", None, None)
    assert _refresh_facts('<meta http-equiv="refresh" content="soon">') == ("soon", None, None)
    assert _refresh_facts('<meta http-equiv="content-type" content="0;url=/x">') == (
        None,
        None,
        None,
    )


def test_the_first_valid_refresh_wins() -> None:
    head = (
        '<meta http-equiv="refresh" content="later please">'
        '<meta http-equiv="refresh" content="2;url=/second">'
        '<meta http-equiv="refresh" content="0;url=/third">'
    )
    assert _refresh_facts(head) == ("2;url=/second", "https://shop.example/second", 2)
