"""Priority pages: the pages whose equity the user cares about most.

They come from a file (``-a priority=FILE`` / ``EQUITY_PRIORITY``) or a list of
patterns, one entry per line:

* an absolute URL: that page (resolved like a link, so an old URL that
  redirects names the page it lands on); it is normalised with the run's own
  tracking parameters (``LINKSPIDER_TRACKING_PARAMS`` as the crawl recorded
  it), so it names the page the crawl stored whatever query string it was
  copied with;
* ``re:REGEX``: every page whose URL matches (``re.search``);
* a URL with ``*`` wildcards: every page whose whole URL matches the glob;
* blank lines and lines starting with ``#`` are ignored; `` #`` starts a comment.

Each entry is one **target**: a page, or a group of pages whose total equity is
attributed as a whole. When no priority is given, :func:`guess_priority`
suggests targets from commerce-like URL templates (``/products/*``,
``/pricing``...), and every guessed target says so and why.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from linkspider.urlnorm import UrlNormaliser
from reports.config import EquityConfig
from reports.graph import SiteGraph

__all__ = [
    "PriorityEntry",
    "PriorityError",
    "PriorityTarget",
    "guess_priority",
    "match_priority",
    "parse_priority",
    "priority_targets",
    "read_priority_file",
]


_DEFAULT_NORMALISER: Final = UrlNormaliser()


class PriorityError(ValueError):
    """A priority file or pattern cannot be used (the message says where and why)."""


@dataclass(frozen=True)
class PriorityEntry:
    """One line of a priority list.

    Attributes
    ----------
    text : str
        The entry as written.
    kind : str
        ``url``, ``regex`` or ``glob``.
    pattern : str
        The normalised URL, or the regular expression to search URLs with.
    origin : str
        ``file:line`` (or the setting name) for messages.
    """

    text: str
    kind: str
    pattern: str
    origin: str


@dataclass(frozen=True, eq=False)
class PriorityTarget:
    """A page or group of pages to attribute and route to.

    Attributes
    ----------
    label : str
        What the report calls it (the URL, pattern or guessed template).
    kind : str
        ``url``, ``regex``, ``glob`` or ``guessed``.
    nodes : ndarray of int32
        Its pages (node indices, ascending); empty when nothing matched.
    reason : str
        How it was chosen or resolved, in words (e.g. "redirects to ...",
        "guessed: URL template /products/* looks like product pages").
    origin : str or None
        Where it was given (``file:line``), ``None`` when guessed.
    """

    label: str
    kind: str
    nodes: np.ndarray
    reason: str
    origin: str | None = None

    @property
    def guessed(self) -> bool:
        """Whether the target was suggested rather than given."""
        return self.kind == "guessed"

    @property
    def found(self) -> bool:
        """Whether at least one crawled page belongs to it."""
        return bool(self.nodes.size)


def _glob_to_regex(glob: str) -> str:
    return "^" + ".*".join(re.escape(part) for part in glob.split("*")) + "$"


def parse_priority(
    lines: Iterable[str],
    *,
    origin: str = "priority",
    normaliser: UrlNormaliser | None = None,
) -> list[PriorityEntry]:
    """Parse priority entries (see the module docstring for the syntax).

    Parameters
    ----------
    lines : iterable of str
        The lines of a file, or patterns given directly.
    origin : str
        Name used in messages (``file`` for ``file:line``).
    normaliser : UrlNormaliser, optional
        Normalises URL entries: the run's (:attr:`SiteGraph.normaliser
        <reports.graph.SiteGraph.normaliser>`), so they compare equal to the
        URLs the crawl stored. Default: the default tracking parameters.
        Patterns are not normalised; they match the stored URLs as they are.

    Returns
    -------
    list of PriorityEntry

    Raises
    ------
    PriorityError
        An entry is neither an absolute http(s) URL nor a valid pattern.
    """
    normaliser = normaliser or _DEFAULT_NORMALISER
    entries: list[PriorityEntry] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.split(" #", 1)[0].strip().lstrip("\ufeff")
        where = f"{origin}:{number}"
        if not text or text.startswith("#"):
            continue
        if text.startswith("re:"):
            pattern = text[3:].strip()
            try:
                re.compile(pattern)
            except re.error as exc:
                message = f"{where}: invalid regular expression {pattern!r}: {exc}"
                raise PriorityError(message) from None
            entries.append(PriorityEntry(text, "regex", pattern, where))
        elif "*" in text:
            if not re.match(r"^https?://", text, re.IGNORECASE):
                raise PriorityError(f"{where}: a wildcard pattern must start with http(s)://")
            entries.append(PriorityEntry(text, "glob", _glob_to_regex(text), where))
        else:
            is_http = re.match(r"^https?://", text, re.IGNORECASE)
            url = normaliser.normalise(text) if is_http else None
            if url is None:
                raise PriorityError(
                    f"{where}: {text[:80]!r} is not an absolute http(s) URL "
                    "(write patterns as re:REGEX or with * wildcards)"
                )
            entries.append(PriorityEntry(text, "url", url, where))
    return entries


def read_priority_file(
    path: str | Path, *, normaliser: UrlNormaliser | None = None
) -> list[PriorityEntry]:
    """Read and parse a priority file (UTF-8, one entry per line).

    Parameters
    ----------
    path : str or Path
    normaliser : UrlNormaliser, optional
        Normalises URL entries (see :func:`parse_priority`).

    Returns
    -------
    list of PriorityEntry

    Raises
    ------
    PriorityError
        The file cannot be read, or an entry is malformed (names file and line).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PriorityError(f"priority file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PriorityError(f"priority file {path} cannot be read: {exc}") from None
    return parse_priority(text.splitlines(), origin=str(path), normaliser=normaliser)


def match_priority(graph: SiteGraph, entries: Sequence[PriorityEntry]) -> list[PriorityTarget]:
    """Turn entries into targets on a graph.

    A URL resolves like a link (through redirects and canonicals), normalised
    with the graph's own normaliser (the run's tracking parameters); a URL that
    resolves to no page gives a target with no nodes and a reason. Patterns
    match node URLs. Parse the entries with ``normaliser=graph.normaliser``
    so that a target's label is the URL the crawl stored.
    """
    targets: list[PriorityTarget] = []
    for entry in entries:
        if entry.kind == "url":
            found = graph.resolve(entry.pattern)
            if found.node is not None:
                nodes = np.asarray([found.node], dtype=np.int32)
                if found.final_url == entry.pattern:
                    reason = "given"
                else:
                    reason = f"given; resolves to {found.final_url}"
            else:
                nodes = np.zeros(0, np.int32)
                reason = (
                    "not in the crawl"
                    if found.outcome == "unknown"
                    else f"resolves to no page: {found.outcome}"
                    + (f" ({found.final_url})" if found.final_url != entry.pattern else "")
                )
            targets.append(PriorityTarget(entry.pattern, "url", nodes, reason, entry.origin))
        else:
            regex = re.compile(entry.pattern)
            nodes = np.asarray(
                [i for i, url in enumerate(graph.urls) if regex.search(url)], dtype=np.int32
            )
            reason = f"given; matches {nodes.size} page(s)"
            targets.append(PriorityTarget(entry.text, entry.kind, nodes, reason, entry.origin))
    return targets


# fmt: off
#: Path words that suggest a page that sells or converts.
COMMERCE_WORDS: Final = frozenset([
    "product", "products", "p", "item", "items", "shop", "store", "buy", "pricing", "price",
    "prices", "plan", "plans", "service", "services", "solution", "solutions", "demo", "trial",
    "quote", "quotes", "booking", "book", "order", "collection", "collections", "category",
    "categories", "catalog", "catalogue", "deal", "deals", "offer", "offers", "sale", "sales",
    "course", "courses", "tour", "tours", "hotel", "hotels", "room", "rooms", "listing",
    "listings", "property", "properties", "menu", "reservation", "reservations", "subscribe",
    "signup", "sign-up", "register", "contact", "features",
])
#: Path words of pages that are never ranking targets.
EXCLUDED_WORDS: Final = frozenset([
    "cart", "basket", "checkout", "account", "login", "logout", "signin", "sign-in", "search",
    "tag", "tags", "feed", "wp-admin", "admin", "privacy", "terms", "cookie", "cookies", "legal",
])
# fmt: on
_SPLIT: Final = re.compile(r"[/\-_.]+")


def _template(url: str) -> tuple[str, list[str]]:
    """``(template, directory words)``: ``https://h/products/x`` -> ``https://h/products/*``."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    path = path.split("?", 1)[0]
    segments = [s for s in path.split("/") if s]
    prefix = f"{scheme}://{host}/"
    if len(segments) >= 2:
        directory = segments[:-1]
        return prefix + "/".join(directory) + "/*", directory
    return prefix + path, segments


def guess_priority(graph: SiteGraph, *, limit: int = 20) -> list[PriorityTarget]:
    """Suggest priority targets from commerce-like URL templates.

    Pages are grouped by URL template (the path with its last segment replaced
    by ``*``; a top-level page is its own template). A template qualifies when a
    word of its directory (or of a top-level page's path) is a commerce word and
    none is excluded (cart, login...). Noindex pages are left out. Targets are
    ordered by number of pages (the catalogue first), then label.

    Returns
    -------
    list of PriorityTarget
        Labelled ``guessed``, each with the word that made it qualify.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    words_of: dict[str, str] = {}
    for node, url in enumerate(graph.urls):
        if graph.noindex[node] or "?" in url:
            continue
        template, directory = _template(url)
        if template not in words_of:
            words = {w.lower() for segment in directory for w in _SPLIT.split(segment) if w}
            words |= {segment.lower() for segment in directory}
            if words & EXCLUDED_WORDS:
                words_of[template] = ""
            else:
                hits = sorted(words & COMMERCE_WORDS)
                words_of[template] = hits[0] if hits else ""
        if words_of[template]:
            groups[template].append(node)
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    return [
        PriorityTarget(
            template,
            "guessed",
            np.asarray(nodes, dtype=np.int32),
            f"guessed: URL template {template} looks commercial "
            f"(word {words_of[template]!r}); give a priority file to choose",
        )
        for template, nodes in ranked
    ]


def priority_targets(
    graph: SiteGraph,
    config: EquityConfig,
    priority: Sequence[str] | Sequence[PriorityTarget] | str | Path | None = None,
) -> list[PriorityTarget]:
    """The priority targets of a run.

    Parameters
    ----------
    graph : SiteGraph
    config : EquityConfig
        ``priority_file``, ``priority_patterns``, ``priority_guess`` and
        ``priority_limit`` are used when ``priority`` is not given; without a
        file or patterns, the file recorded by the crawl (meta ``priority_file``)
        is used if it still exists.
    priority : optional
        Ready targets, a list of entries (URLs/patterns), or a file path.
        An empty list means "no priority pages" (nothing is guessed).

    Returns
    -------
    list of PriorityTarget

    Notes
    -----
    URL entries are normalised with ``graph.normaliser``: the tracking
    parameters the crawl used, not the default list.
    """
    norm = graph.normaliser
    if priority is None:
        if config.priority_file:
            return match_priority(graph, read_priority_file(config.priority_file, normaliser=norm))
        recorded = graph.meta.get("priority_file")
        if isinstance(recorded, str) and recorded and Path(recorded).is_file():
            # The file given to the crawl (-a priority=FILE), when it is still there.
            return match_priority(graph, read_priority_file(recorded, normaliser=norm))
        if config.priority_patterns:
            entries = parse_priority(
                config.priority_patterns, origin="EQUITY_PRIORITY", normaliser=norm
            )
            return match_priority(graph, entries)
        if config.priority_guess:
            return guess_priority(graph, limit=config.priority_limit)
        return []
    if isinstance(priority, (str, Path)):
        return match_priority(graph, read_priority_file(priority, normaliser=norm))
    items = list(priority)
    if all(isinstance(item, PriorityTarget) for item in items):
        return [item for item in items if isinstance(item, PriorityTarget)]
    if all(isinstance(item, str) for item in items):
        entries = parse_priority([str(i) for i in items], origin="priority", normaliser=norm)
        return match_priority(graph, entries)
    raise TypeError("priority must be targets, URL/pattern strings or a file path")
