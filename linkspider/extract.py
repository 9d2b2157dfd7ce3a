"""Page facts and links from HTML: pure functions over bytes, built on lxml.

:func:`extract_page` parses a page once and returns a :class:`PageFacts`:
title, first h1, robots directives, canonical, hreflang alternates, word
count and topical signature of the main text, and every ``<a href>`` and
``<area href>`` as a :class:`linkspider.items.Link` with its anchor, rel,
followed flag and position on the page.

Link positions come from the page's structure, nearest meaningful ancestor
first, then a precedence between the regions found (a ``<nav>`` inside the
``<footer>`` is footer navigation):

* HTML5 elements: ``nav``, ``aside``, and ``header``/``footer`` when they
  belong to the page (not inside ``article``, ``aside``, ``main``, ``nav`` or
  ``section``, as HTML-AAM maps them to the banner/contentinfo landmarks);
* ARIA roles: ``navigation``, ``banner``, ``contentinfo``, ``complementary``;
* breadcrumbs: schema.org ``BreadcrumbList``, ``aria-label`` naming a
  breadcrumb, or a class/id such as ``breadcrumb``;
* class and id names split on ``-``/``_`` (``site-footer``, ``main-menu``,
  ``sidebar-left``), except on ``<html>``/``<body>`` and for state classes
  such as ``has-sidebar``. The names are a setting (:class:`PositionRules`).

Nothing here imports Scrapy: the spider, the tests and the benchmark call
these functions directly. Malformed input (unclosed tags, odd encodings, NUL
bytes, a 10 MB single line) yields best-effort facts, never an exception.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urljoin

from lxml import etree

from linkspider.items import Hreflang, Link
from linkspider.urlnorm import HrefKind, UrlNormaliser, href_kind

__all__ = [
    "DEFAULT_POSITION_NAMES",
    "DEFAULT_POSITION_PRECEDENCE",
    "MAX_REFRESH_DELAY",
    "NOT_FOLLOWED_RELS",
    "PageFacts",
    "PositionRules",
    "Refresh",
    "canonical_from_link_header",
    "extract_page",
    "parse_refresh",
    "robots_directives",
]

#: rel tokens that tell search engines not to pass authority.
NOT_FOLLOWED_RELS: Final = frozenset({"nofollow", "ugc", "sponsored"})

#: Class/id name parts that mark a region, by position.
DEFAULT_POSITION_NAMES: Final[Mapping[str, str]] = {
    "breadcrumb": "breadcrumb",
    "breadcrumbs": "breadcrumb",
    "crumbs": "breadcrumb",
    "nav": "nav",
    "navbar": "nav",
    "navigation": "nav",
    "menu": "nav",
    "menubar": "nav",
    "megamenu": "nav",
    "topnav": "nav",
    "header": "header",
    "masthead": "header",
    "banner": "header",
    "footer": "footer",
    "colophon": "footer",
    "sidebar": "aside",
    "aside": "aside",
    "widget": "aside",
    "widgets": "aside",
}

#: Which region wins when a link sits in several (breadcrumb always wins).
DEFAULT_POSITION_PRECEDENCE: Final = ("breadcrumb", "footer", "aside", "nav", "header")

_ROLE_POSITIONS: Final = {
    "navigation": "nav",
    "banner": "header",
    "contentinfo": "footer",
    "complementary": "aside",
}
_TAG_POSITIONS: Final = {"nav": "nav", "aside": "aside", "header": "header", "footer": "footer"}
# header/footer below these belong to that section, not to the page (HTML-AAM).
_SECTIONING: Final = frozenset({"article", "aside", "main", "nav", "section"})
_PAGE_SCOPED: Final = frozenset({"header", "footer"})
# Class tokens starting with these describe a state, not a region ("has-sidebar").
_STATE_PREFIXES: Final = frozenset({"has", "with", "without", "no", "is", "show", "hide", "js"})
_CLASS_SPLIT: Final = re.compile(r"[-_]+")
_NO_CLASS_MATCH: Final = frozenset({"html", "body"})
_DROP_TEXT: Final = ("script", "style", "template")
_BOILERPLATE: Final = ("nav", "header", "footer", "aside")
_VALUED_ROBOTS: Final = frozenset(
    {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
)
_TERM: Final = re.compile(r"[^\W\d_]{3,}")
_SIGNATURE_TEXT_CHARS: Final = 4_000
_STOPWORDS_TEXT: Final = """
    about above after again against all also and any are because been before being below
    between both but can could did does doing down during each few for from further had
    has have having her here hers herself him himself his how into its itself just let
    more most much must not now off once only other our ours ourselves out over own same
    she should some such than that the their theirs them themselves then there these they
    this those through too under until very was way were what when where which while who
    whom why will with would you your yours yourself yourselves get got new one two use
    used may might per via les des une der die das und von mit
    """
_STOPWORDS: Final = frozenset(_STOPWORDS_TEXT.split())


@dataclass(frozen=True)
class PositionRules:
    """How link positions are decided (the class/id part of it is configurable).

    Parameters
    ----------
    names : mapping
        Class/id name part -> position (one of ``storedb.POSITIONS``).
    precedence : tuple of str
        Regions in the order they win when a link is inside several.
    """

    names: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_POSITION_NAMES))
    precedence: tuple[str, ...] = DEFAULT_POSITION_PRECEDENCE

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.names.items())), self.precedence))


@dataclass(frozen=True, slots=True)
class Refresh:
    """A parsed ``<meta http-equiv="refresh">`` content attribute.

    Attributes
    ----------
    delay : int
        Whole seconds before the browser refreshes (the fraction a page may
        write is ignored, as browsers ignore it); at most
        :data:`MAX_REFRESH_DELAY`.
    url : str or None
        The URL as written (quotes and a ``url=`` prefix removed, not
        resolved); ``None`` when the content names none: the page reloads
        itself.
    """

    delay: int
    url: str | None


@dataclass(slots=True)
class PageFacts:
    """What :func:`extract_page` found on one page.

    ``meta_refresh`` is the content of the page's first ``<meta
    http-equiv=refresh>`` in ``<head>`` (outside ``<noscript>``), as written;
    ``refresh_url`` and ``refresh_delay`` say where and when it sends the
    browser, when it names another URL than the page's own (``refresh_url`` is
    normalised and resolved against the document base).
    """

    title: str | None = None
    h1: str | None = None
    meta_robots: str | None = None
    noindex: bool = False
    nofollow: bool = False
    canonical: str | None = None
    hreflang: list[Hreflang] = field(default_factory=list)
    base_url: str = ""
    word_count: int = 0
    signature: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    error: str | None = None
    meta_refresh: str | None = None
    refresh_url: str | None = None
    refresh_delay: int | None = None


_DEFAULT_NORMALISER: Final = UrlNormaliser()
_DEFAULT_RULES: Final = PositionRules()


def extract_page(
    body: bytes | str,
    url: str,
    *,
    encoding: str | None = None,
    x_robots_tag: str | None = None,
    normaliser: UrlNormaliser = _DEFAULT_NORMALISER,
    rules: PositionRules = _DEFAULT_RULES,
    is_internal: Callable[[str], bool] | None = None,
    signature_size: int = 12,
) -> PageFacts:
    """Extract page facts and links from one HTML document.

    Parameters
    ----------
    body : bytes or str
        The document. Bytes are decoded with ``encoding`` (what the HTTP
        layer decided) or, without it, by the parser from the document.
    url : str
        The URL that answered: the base for relative links unless the page
        has a ``<base href>``.
    encoding : str, optional
        Character encoding of ``body`` when it is bytes.
    x_robots_tag : str, optional
        The ``X-Robots-Tag`` header(s), joined by ``,``: its ``nofollow``
        makes every link unfollowed, as a meta robots ``nofollow`` does.
    normaliser : UrlNormaliser
        Normalises link targets, canonical and hreflang URLs.
    rules : PositionRules
        Class/id names and precedence for link positions.
    is_internal : callable, optional
        ``url -> bool``, whether a normalised URL is inside the crawl scope;
        without it every link has ``internal=False``.
    signature_size : int
        How many top terms the topical signature keeps.

    Returns
    -------
    PageFacts
        Best-effort facts; ``error`` says why a document could not be parsed
        at all (then the facts are empty).
    """
    facts = PageFacts(base_url=url)
    root = _parse(body, encoding)
    if root is None:
        facts.error = "empty or unparsable HTML"
        return facts
    etree.strip_elements(root, *_DROP_TEXT, with_tail=False)

    _read_head(root, url, facts, normaliser)
    noindex, nofollow = robots_directives(facts.meta_robots, x_robots_tag)
    facts.noindex, facts.nofollow = noindex, nofollow
    facts.title = _first_text(root, "title")
    facts.h1 = _first_text(root, "h1")
    facts.links = _links(
        root,
        base=facts.base_url,
        page_nofollow=nofollow,
        normaliser=normaliser,
        rules=rules,
        is_internal=is_internal,
    )
    main_text = _main_text(root)
    facts.word_count = len(main_text.split())
    facts.signature = _signature(facts.title, facts.h1, main_text, signature_size)
    return facts


def robots_directives(*values: str | None) -> tuple[bool, bool]:
    """Parse robots directives (meta robots contents, X-Robots-Tag headers).

    Parameters
    ----------
    *values : str or None
        Comma-separated directive lists. A user-agent prefix
        (``googlebot: noindex``) is accepted and applies to everyone: the
        audit reports what any major crawler is told.

    Returns
    -------
    (noindex, nofollow) : tuple of bool
        ``none`` sets both.
    """
    noindex = nofollow = False
    for value in values:
        if not value:
            continue
        for part in value.lower().split(","):
            token = part.strip()
            if ":" in token:
                prefix, _, rest = token.partition(":")
                if prefix.strip() in _VALUED_ROBOTS:
                    continue
                token = rest.strip()
            if token in ("noindex", "none"):
                noindex = True
            if token in ("nofollow", "none"):
                nofollow = True
    return noindex, nofollow


_LINK_HEADER_PART: Final = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")


def canonical_from_link_header(
    value: str | None, base: str, normaliser: UrlNormaliser = _DEFAULT_NORMALISER
) -> str | None:
    """The ``rel=canonical`` target of an HTTP ``Link`` header, normalised.

    Parameters
    ----------
    value : str or None
        The header value(s), joined by ``,``.
    base : str
        The URL that answered, to resolve a relative target.
    normaliser : UrlNormaliser
        Normalises the target.

    Returns
    -------
    str or None
    """
    if not value:
        return None
    for match in _LINK_HEADER_PART.finditer(value):
        params = match.group(2).lower()
        rel = re.search(r"rel\s*=\s*\"?([^\";]*)", params)
        if rel and "canonical" in rel.group(1).split():
            return normaliser.normalise(match.group(1), base)
    return None


#: The longest refresh delay kept, in seconds (a longer one is clamped to it).
MAX_REFRESH_DELAY: Final = 2**31 - 1
_HTML_SPACE: Final = " \t\n\x0c\r"
_DIGITS: Final = "0123456789"
#: Characters of a refresh content attribute kept in ``meta_refresh``.
_MAX_REFRESH_CONTENT: Final = 2000
_URL_PREFIX: Final = re.compile(r"[Uu][Rr][Ll][ \t\n\x0c\r]*=[ \t\n\x0c\r]*")


def parse_refresh(content: str) -> Refresh | None:
    """Parse the content attribute of ``<meta http-equiv="refresh">``.

    Follows the HTML standard's declarative refresh steps: optional
    whitespace, the delay in whole seconds (digits, or a bare ``.``; a
    fraction is ignored), then, after ``;``, ``,`` or whitespace, the URL,
    with an optional ``url=`` prefix (any case, spaces around ``=``) and
    optional quotes (the URL ends at the matching quote). ``0;url=/a``,
    ``0; URL='/a'``, ``5``, ``0;url="/a"`` and ``3 , url = /a`` all parse.

    Parameters
    ----------
    content : str
        The attribute as written.

    Returns
    -------
    Refresh or None
        ``None`` when the content is malformed (no leading delay, or a delay
        followed by something other than a separator), as browsers then do
        nothing.

    Examples
    --------
    >>> parse_refresh("0; URL='/new-page'")
    Refresh(delay=0, url='/new-page')
    >>> parse_refresh("30")
    Refresh(delay=30, url=None)
    >>> parse_refresh("url=/new-page") is None
    True
    """
    end = len(content)
    at = _skip(content, 0, _HTML_SPACE)
    digits_end = _skip(content, at, _DIGITS)
    if digits_end == at and content[at : at + 1] != ".":
        return None
    digits = content[at:digits_end].lstrip("0")
    # int() of a long run of digits is slow (and refused past 4300 digits): clamp first.
    delay = MAX_REFRESH_DELAY if len(digits) > 10 else min(int(digits or 0), MAX_REFRESH_DELAY)
    at = _skip(content, digits_end, _DIGITS + ".")
    if at < end:
        if content[at] not in ";," + _HTML_SPACE:
            return None
        at = _skip(content, at, _HTML_SPACE)
        if content[at : at + 1] in (";", ","):
            at += 1
        at = _skip(content, at, _HTML_SPACE)
    url = content[at:]
    prefix = _URL_PREFIX.match(url)
    if prefix is not None:
        url = url[prefix.end() :]
    if url[:1] in ("'", '"'):
        url = url[1:].partition(url[0])[0]
    url = url.strip(_HTML_SPACE)
    return Refresh(delay, url or None)


def _skip(text: str, at: int, chars: str) -> int:
    """The index of the first character at or after ``at`` not in ``chars``."""
    end = len(text)
    while at < end and text[at] in chars:
        at += 1
    return at


# -- parsing ---------------------------------------------------------------

_CONTROL_CHARS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


@lru_cache(maxsize=32)
def _parser(encoding: str | None) -> Any:
    try:
        return etree.HTMLParser(
            encoding=encoding,
            remove_comments=True,
            remove_pis=True,
            huge_tree=True,
            no_network=True,
            default_doctype=False,
        )
    except LookupError:
        return None


def _parse(body: bytes | str, encoding: str | None) -> Any:
    """Parse HTML into an lxml root element, or ``None`` if nothing usable."""
    if isinstance(body, bytes):
        parser = (_parser(encoding) if encoding else None) or _parser(None)
        wide = (encoding or "").lower().replace("-", "").replace("_", "")[:5] in ("utf16", "utf32")
        if not wide and b"\x00" in body:
            body = body.replace(b"\x00", b"")  # libxml2 stops at a NUL byte
        try:
            root = etree.fromstring(body, parser)
        except (etree.ParserError, etree.XMLSyntaxError, ValueError):
            root = None
        if root is not None:
            return root
        # Not decodable as declared: decode leniently and parse the text.
        codec = encoding if encoding and _codec_ok(encoding) else "utf-8"
        body = body.decode(codec, errors="replace")
    text = _CONTROL_CHARS.sub("", body)
    try:
        return etree.fromstring(text, _parser(None))
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


def _codec_ok(encoding: str | None) -> bool:
    if not encoding:
        return False
    try:
        "".encode(encoding)
    except LookupError:
        return False
    return True


def _collapse(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def _text_of(element: Any) -> str:
    if len(element) == 0:
        return _collapse(element.text)
    return _collapse("".join(element.itertext()))


def _first_text(root: Any, tag: str) -> str | None:
    for element in root.iter(tag):
        return _text_of(element)
    return None


def _read_head(root: Any, url: str, facts: PageFacts, normaliser: UrlNormaliser) -> None:
    """Base URL, meta robots, canonical and hreflang, in one pass."""
    robots: list[str] = []
    canonical_href: str | None = None
    alternates: list[tuple[str, str]] = []
    refresh: Refresh | None = None
    base_seen = False
    for element in root.iter("meta", "link", "base"):
        tag = element.tag
        if tag == "meta":
            name = (element.get("name") or "").strip().lower()
            if name in ("robots", "googlebot"):
                content = _collapse(element.get("content"))
                if content:
                    robots.append(content)
            elif refresh is None and "http-equiv" in element.attrib:
                refresh = _head_refresh(element, facts)
        elif tag == "link":
            rel = (element.get("rel") or "").lower().split()
            href = element.get("href")
            if href is None:
                continue
            if "canonical" in rel and canonical_href is None:
                canonical_href = href
            elif "alternate" in rel and element.get("hreflang"):
                alternates.append((element.get("hreflang", "").strip(), href))
        elif not base_seen and element.get("href") is not None:
            base_seen = True
            try:
                resolved = urljoin(url, element.get("href", "").strip())
            except ValueError:
                resolved = ""
            if resolved.startswith(("http://", "https://")):
                facts.base_url = resolved
    facts.meta_robots = ", ".join(robots) if robots else None
    # The canonical and hreflang targets resolve against the document base too.
    if canonical_href is not None:
        facts.canonical = normaliser.normalise(canonical_href, facts.base_url)
    for lang, href in alternates:
        target = normaliser.normalise(href, facts.base_url)
        if target is not None and lang:
            facts.hreflang.append(Hreflang(lang=lang.lower(), url=target))
    if refresh is not None and refresh.url is not None:
        target = normaliser.normalise(refresh.url, facts.base_url)
        # A refresh to the page itself (or its fragment) reloads it: not a redirect.
        if target is not None and target != normaliser.normalise(url):
            facts.refresh_url = target
            facts.refresh_delay = refresh.delay


def _head_refresh(element: Any, facts: PageFacts) -> Refresh | None:
    """The refresh of a ``<meta http-equiv>``, if it is a valid one in ``<head>``.

    Only a meta whose parent is ``<head>`` counts: one in ``<noscript>`` is
    for browsers without scripts (search engines render with them), and one
    the parser put in ``<body>`` is outside the head. The first refresh meta
    is recorded as written even when it is malformed; the first valid one
    is acted upon, as browsers do.
    """
    if (element.get("http-equiv") or "").strip().lower() != "refresh":
        return None
    parent = element.getparent()
    if parent is None or parent.tag != "head":
        return None
    content = element.get("content")
    if content is None:
        return None
    parsed = parse_refresh(content)
    if parsed is not None or facts.meta_refresh is None:
        facts.meta_refresh = content.strip()[:_MAX_REFRESH_CONTENT]
    return parsed


# -- links -----------------------------------------------------------------

# A region state: (positions found on the way down, inside a sectioning element).
_State = tuple[frozenset[str], bool]
_ROOT_STATE: Final[_State] = (frozenset(), False)


@lru_cache(maxsize=8192)
def _token_position(token: str, rules: PositionRules) -> str | None:
    """Position named by one class/id token, e.g. ``site-footer`` -> footer."""
    parts = [part for part in _CLASS_SPLIT.split(token.lower()) if part]
    if not parts or parts[0] in _STATE_PREFIXES:
        return None
    names = rules.names
    found = None
    for part in parts:
        position = names.get(part)
        if position == "breadcrumb":
            return position
        if position is not None and found is None:
            found = position
    return found


def _own_positions(element: Any, rules: PositionRules) -> tuple[set[str], set[str], bool]:
    """Regions an element declares: (anywhere, page-level only, is sectioning)."""
    tag = element.tag
    found: set[str] = set()
    page_scoped: set[str] = set()
    tag_position = _TAG_POSITIONS.get(tag)
    if tag_position is not None:
        (page_scoped if tag_position in _PAGE_SCOPED else found).add(tag_position)
    attrib = element.attrib
    role = ""
    if attrib:
        role = (attrib.get("role") or "").strip().lower()
        if role:
            role_position = _ROLE_POSITIONS.get(role)
            if role_position is not None:
                found.add(role_position)
        label = attrib.get("aria-label")
        if label and "breadcrumb" in label.lower():
            found.add("breadcrumb")
        itemtype = attrib.get("itemtype")
        if itemtype and "breadcrumblist" in itemtype.lower():
            found.add("breadcrumb")
        if tag not in _NO_CLASS_MATCH:
            for name in (attrib.get("class"), attrib.get("id")):
                if not name:
                    continue
                for token in name.split():
                    position = _token_position(token, rules)
                    if position is not None:
                        (page_scoped if position in _PAGE_SCOPED else found).add(position)
    sectioning = tag in _SECTIONING or role in ("main", "article")
    return found, page_scoped, sectioning


_MEANINGFUL_TAGS: Final = frozenset(_TAG_POSITIONS) | _SECTIONING
_MEANINGFUL_ATTRIBUTES: Final = frozenset({"role", "aria-label", "itemtype", "class", "id"})


def _descend(state: _State, element: Any, rules: PositionRules) -> _State:
    tag = element.tag
    # Fast path: most ancestors (<p>, <li>, <div> without class) say nothing.
    if tag not in _MEANINGFUL_TAGS and _MEANINGFUL_ATTRIBUTES.isdisjoint(element.keys()):
        return state
    if not isinstance(tag, str):
        return state
    positions, sectioned = state
    found, page_scoped, sectioning = _own_positions(element, rules)
    if page_scoped and not sectioned:
        found |= page_scoped
    if found and not found <= positions:
        positions = positions | found
    if sectioning:
        sectioned = True
    if positions is state[0] and sectioned == state[1]:
        return state
    return (positions, sectioned)


def _resolve(positions: frozenset[str], precedence: tuple[str, ...]) -> str:
    if not positions:
        return "content"
    if "breadcrumb" in positions:
        return "breadcrumb"
    for position in precedence:
        if position in positions:
            return position
    return "content"


def _links(
    root: Any,
    *,
    base: str,
    page_nofollow: bool,
    normaliser: UrlNormaliser,
    rules: PositionRules,
    is_internal: Callable[[str], bool] | None,
) -> list[Link]:
    memo: dict[Any, _State] = {}
    links: list[Link] = []
    precedence = rules.precedence
    # "/path" resolves against the origin only: joined by hand, the result is
    # the same string on every page, so the normaliser's memo serves it.
    scheme, _, rest = base.partition("://")
    origin = f"{scheme}://{rest.partition('/')[0].partition('?')[0].partition('#')[0]}"
    normalise = normaliser.normalise
    internal_of: dict[str, bool] = {}
    for element in root.iter("a", "area"):
        href = element.get("href")
        if href is None:
            continue
        # Region state, memoised per ancestor: template regions are shared
        # by dozens of links.
        chain = []
        node = element
        while node is not None and node not in memo:
            chain.append(node)
            node = node.getparent()
        state = _ROOT_STATE if node is None else memo[node]
        for ancestor in reversed(chain):
            state = _descend(state, ancestor, rules)
            memo[ancestor] = state
        position = _resolve(state[0], precedence)

        rel_value = element.get("rel")
        rel = rel_value.lower().split() if rel_value else []
        is_image = False
        if element.tag == "area":
            anchor = _collapse(element.get("alt"))
            is_image = True
        else:
            anchor = _text_of(element)
            if not anchor:
                for image in element.iter("img"):
                    anchor = _collapse(image.get("alt"))
                    is_image = True
                    break
        kind = _href_kind(href)
        if kind != HrefKind.HTTP:
            target = None
            followed = False
        else:
            if href[:1] == "/" and href[1:2] not in ("/", "\\"):
                target = normalise(origin + href)
            else:
                target = normalise(href, base)
            followed = not page_nofollow and not (rel and NOT_FOLLOWED_RELS.intersection(rel))
        internal = False
        if target is not None and is_internal is not None:
            internal = internal_of.get(target)  # type: ignore[assignment]
            if internal is None:
                internal = internal_of[target] = is_internal(target)
        links.append(
            Link(
                url=target,
                href=href,
                anchor=anchor,
                rel=rel,
                followed=followed,
                position=position,
                internal=internal,
                is_image=is_image,
                kind=kind,
            )
        )
    return links


def _href_kind(href: str) -> str:
    first = href[:1]
    if first in ("/", "#", "?", ".") or href.startswith(("http://", "https://")):
        return HrefKind.HTTP
    kind = href_kind(href)
    # An empty href is a link to the document itself.
    return HrefKind.HTTP if kind == HrefKind.EMPTY else kind


# -- text ------------------------------------------------------------------


def _main_text(root: Any) -> str:
    """Text of the main content: <main>, else the articles, else the body
    without navigation, header, footer and aside."""
    for main in root.iter("main"):
        return _joined_text(main)
    mains = root.xpath("//*[@role='main']")
    if mains:
        return _joined_text(mains[0])
    articles = [a for a in root.iter("article") if next(a.iterancestors("article"), None) is None]
    if articles:
        return " ".join(_joined_text(article) for article in articles)
    body = root.find("body")
    if body is None:
        body = root
    # The links are extracted already: dropping boilerplate in place is safe.
    etree.strip_elements(body, *_BOILERPLATE, with_tail=False)
    return _joined_text(body)


def _joined_text(element: Any) -> str:
    # Text nodes joined by a space: "<li>one</li><li>two</li>" is two words.
    return " ".join(element.itertext())


def _signature(title: str | None, h1: str | None, text: str, size: int) -> list[str]:
    """Top terms: title and h1 count three times, then the start of the main text."""
    if size <= 0:
        return []
    counts = Counter(_TERM.findall(text[:_SIGNATURE_TEXT_CHARS].lower()))
    for heading in (title, h1):
        if heading:
            for term in _TERM.findall(heading.lower()):
                counts[term] += 3
    for word in _STOPWORDS.intersection(counts):
        del counts[word]
    ranked = heapq.nsmallest(size, counts.items(), key=lambda item: (-item[1], item[0]))
    return [term for term, _ in ranked]
