"""Tie backlink targets to the crawl: what does each target URL land on?

:func:`resolve_targets` reads the store (``urls``, ``pages``, ``redirects``)
and says, for each target, one of:

``page``
    a crawled HTML page that answered 2xx (the equity lands there);
``redirect``
    redirects (3xx or instant HTML meta refreshes, followed hop by hop)
    ending on such a page;
``canonical``
    a page whose ``rel=canonical`` names another URL that resolves to a live
    page (after redirects, if any): the equity lands on the canonical page;
``error``
    the target (or the end of its redirects) answered 4xx/5xx, or no answer,
    or a redirect without a usable ``Location``: **lost equity**, to reclaim
    with a redirect;
``loop``
    redirects that come back on themselves (or more than ``max_hops``):
    lost equity too;
``blocked``
    robots.txt kept the crawl from it;
``not_html``
    a file that is not HTML (a PDF, an image): not a page of the link graph;
``unknown``
    on a crawled host, but the crawl never fetched it (never linked, or cut by
    a limit or a trap guard);
``outside``
    on a host the crawl did not cover (another subdomain, or a redirect away).

A canonical that points at a URL that does not resolve to a live page is
ignored (search engines ignore it too): the target stays ``page``, with a note.

Pure with respect to the crawl: reads only, writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from linkspider.urlnorm import host_of
from pipelines.storedb import CrawlStore

__all__ = [
    "LIVE",
    "LOST_EQUITY",
    "OUTCOMES",
    "LostEquity",
    "TargetResolution",
    "lost_equity",
    "resolve_targets",
    "summarise_outcomes",
]

PAGE: Final = "page"
REDIRECT: Final = "redirect"
CANONICAL: Final = "canonical"
ERROR: Final = "error"
LOOP: Final = "loop"
BLOCKED: Final = "blocked"
NOT_HTML: Final = "not_html"
UNKNOWN: Final = "unknown"
OUTSIDE: Final = "outside"
#: Every outcome, in report order.
OUTCOMES: Final = (PAGE, REDIRECT, CANONICAL, ERROR, LOOP, BLOCKED, NOT_HTML, UNKNOWN, OUTSIDE)
#: Outcomes whose equity reaches a live page.
LIVE: Final = frozenset({PAGE, REDIRECT, CANONICAL})
#: Outcomes whose equity is lost (reclaim them with a redirect).
LOST_EQUITY: Final = frozenset({ERROR, LOOP})
_CHUNK: Final = 900


@dataclass(frozen=True)
class TargetResolution:
    """Where one backlink target lands.

    Attributes
    ----------
    target_id : int
        ``urls.id`` of the target.
    target_url : str
    outcome : str
        One of :data:`OUTCOMES`.
    final_id : int or None
        The page the equity lands on (live outcomes), or the URL that failed
        (``error``); ``None`` otherwise.
    final_url : str or None
    status : int or None
        HTTP status of the last URL reached.
    hops : tuple of (str, int or None, str)
        Each step taken: ``(url, status, "redirect" | "meta refresh" |
        "canonical")``; a ``"meta refresh"`` hop is an HTML page (its status
        is usually 200) whose instant meta refresh sends browsers on.
    note : str
        Why, in words, when the outcome needs it.
    """

    target_id: int
    target_url: str
    outcome: str
    final_id: int | None
    final_url: str | None
    status: int | None
    hops: tuple[tuple[str, int | None, str], ...] = ()
    note: str = ""

    @property
    def lost_equity(self) -> bool:
        """Whether links to this target lose their equity (error or loop)."""
        return self.outcome in LOST_EQUITY


class _Crawl:
    """Cached point lookups into the store's crawl tables."""

    def __init__(self, store: CrawlStore) -> None:
        self.conn = store.conn
        self._pages: dict[int, tuple[str, int | None, int | None] | None] = {}
        self._redirects: dict[int, tuple[int | None, int, str] | None] = {}
        # A store written before redirects.kind has only 3xx hops.
        self._hop_kind = "kind" if store.has_column("redirects", "kind") else "'http'"
        self._urls: dict[int, str] = {}
        self.hosts = {
            row[0]
            for row in self.conn.execute(
                "SELECT DISTINCT substr(rest, 1, instr(rest || '/', '/') - 1) FROM ("
                "  SELECT substr(u.url, instr(u.url, '://') + 3) AS rest FROM pages p"
                "  JOIN urls u ON u.id = p.url_id)"
            )
        }

    def preload(self, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            for url_id in chunk:
                self._pages.setdefault(url_id, None)
                self._redirects.setdefault(url_id, None)
            for url_id, kind, status, canonical in self.conn.execute(
                f"SELECT url_id, kind, status, canonical_id FROM pages WHERE url_id IN ({marks})",
                chunk,
            ):
                self._pages[url_id] = (kind, status, canonical)
            for src, dst, status, kind in self.conn.execute(
                f"SELECT src_id, dst_id, status, {self._hop_kind} FROM redirects"
                f" WHERE src_id IN ({marks})",
                chunk,
            ):
                self._redirects[src] = (dst, status, kind)
            for url_id, url in self.conn.execute(
                f"SELECT id, url FROM urls WHERE id IN ({marks})", chunk
            ):
                self._urls[url_id] = url

    def page(self, url_id: int) -> tuple[str, int | None, int | None] | None:
        if url_id not in self._pages:
            row = self.conn.execute(
                "SELECT kind, status, canonical_id FROM pages WHERE url_id = ?", (url_id,)
            ).fetchone()
            self._pages[url_id] = None if row is None else (row[0], row[1], row[2])
        return self._pages[url_id]

    def redirect(self, url_id: int) -> tuple[int | None, int, str] | None:
        """``(destination, status, kind)`` of the hop from ``url_id``, if any.

        ``kind`` is ``http`` (3xx) or ``meta_refresh`` (an instant one).
        """
        if url_id not in self._redirects:
            row = self.conn.execute(
                f"SELECT dst_id, status, {self._hop_kind} FROM redirects WHERE src_id = ?",
                (url_id,),
            ).fetchone()
            self._redirects[url_id] = None if row is None else (row[0], row[1], row[2])
        return self._redirects[url_id]

    def url(self, url_id: int) -> str:
        url = self._urls.get(url_id)
        if url is None:
            row = self.conn.execute("SELECT url FROM urls WHERE id = ?", (url_id,)).fetchone()
            url = self._urls[url_id] = "" if row is None else row[0]
        return url

    def id_of(self, url: str) -> int | None:
        row = self.conn.execute("SELECT id FROM urls WHERE url = ?", (url,)).fetchone()
        return None if row is None else int(row[0])


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _walk(
    crawl: _Crawl, target_id: int, max_hops: int, seen: set[int] | None = None
) -> TargetResolution:
    target_url = crawl.url(target_id)
    seen = set(seen or ()) | {target_id}
    hops: list[tuple[str, int | None, str]] = []
    current = target_id
    redirected = False

    def done(
        outcome: str, final: int | None, status: int | None, note: str = ""
    ) -> TargetResolution:
        return TargetResolution(
            target_id,
            target_url,
            outcome,
            final,
            crawl.url(final) if final is not None else None,
            status,
            tuple(hops),
            note,
        )

    for _ in range(max_hops + 1):
        hop = crawl.redirect(current)
        if hop is not None:
            destination, hop_status, hop_kind = hop
            # An instant meta refresh is a hop too, but from a page that
            # answered 2xx: "a 200 redirect" would read as a contradiction.
            label = "meta refresh" if hop_kind == "meta_refresh" else "redirect"
            hops.append((crawl.url(current), hop_status, label))
            if destination is None:
                return done(ERROR, current, hop_status, f"{label} without a usable Location")
            if destination in seen:
                return done(
                    LOOP, None, hop_status, f"{label} loop back to {crawl.url(destination)}"
                )
            seen.add(destination)
            current = destination
            redirected = True
            continue
        page = crawl.page(current)
        if page is None:
            if host_of(crawl.url(current)) not in crawl.hosts:
                note = "redirects off the crawled hosts" if redirected else ""
                return done(OUTSIDE, None, None, note)
            return done(UNKNOWN, None, None, "never fetched by the crawl")
        kind, status, canonical = page
        if kind == "html" and _ok(status):
            if canonical is not None and canonical != current and canonical not in seen:
                via = _walk(crawl, canonical, max_hops - len(hops), seen)
                if via.outcome in LIVE:
                    hops.append((crawl.url(current), status, "canonical"))
                    hops.extend(via.hops)
                    return done(CANONICAL, via.final_id, via.status)
                return done(
                    REDIRECT if redirected else PAGE,
                    current,
                    status,
                    f"canonical {crawl.url(canonical)} ignored: it resolves to {via.outcome}",
                )
            return done(REDIRECT if redirected else PAGE, current, status)
        if kind in ("error", "failed") or (status is not None and status >= 400):
            return done(ERROR, current, status, "no answer" if status is None else "")
        if kind == "redirect":
            return done(ERROR, current, status, "redirect with no destination recorded")
        if kind == "blocked":
            return done(BLOCKED, current, status, "disallowed by robots.txt")
        if kind in ("html", "other") and _ok(status):
            return done(NOT_HTML, current, status)
        return done(UNKNOWN, None, status, f"not fetched ({kind})")
    return done(LOOP, None, None, f"more than {max_hops} redirects")


def resolve_targets(
    store: CrawlStore, target_ids: Iterable[int] | None = None, *, max_hops: int = 20
) -> list[TargetResolution]:
    """Resolve backlink targets against the crawl.

    Parameters
    ----------
    store : CrawlStore
    target_ids : iterable of int, optional
        ``urls.id`` values; by default every target in ``backlinks`` (and in
        ``backlink_target_pages`` when that table exists).
    max_hops : int
        Redirect and canonical steps followed before calling it a loop.

    Returns
    -------
    list of TargetResolution
        In ``target_id`` order. Empty when there are no targets.
    """
    if target_ids is None:
        tables = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_master")}
        query = "SELECT DISTINCT target_id FROM backlinks"
        if "backlink_target_pages" in tables:
            query += " UNION SELECT target_id FROM backlink_target_pages"
        ids = sorted(row[0] for row in store.conn.execute(query))
    else:
        ids = sorted(set(target_ids))
    if not ids:
        return []
    crawl = _Crawl(store)
    crawl.preload(ids)
    return [_walk(crawl, target_id, max_hops) for target_id in ids]


def summarise_outcomes(resolutions: Iterable[TargetResolution]) -> Counter[str]:
    """Targets per outcome."""
    return Counter(r.outcome for r in resolutions)


@dataclass(frozen=True)
class LostEquity:
    """A target whose backlinks lose their equity, and where to redirect it.

    Attributes
    ----------
    resolution : TargetResolution
    links, referring_domains, live_followed_domains : int
        What points at it (``live_followed_domains``: domains with a live,
        followed link, the ones that carry equity).
    redirect_to : str or None
        Suggested destination: the nearest ancestor path (``/a/b/c`` ->
        ``/a/b/``, ``/a/``, ``/``) that resolves to a live page; ``None``
        when there is none.
    """

    resolution: TargetResolution
    links: int
    referring_domains: int
    live_followed_domains: int
    redirect_to: str | None


def _ancestors(url: str) -> list[str]:
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    base = f"{parts.scheme}://{parts.netloc}"
    out = []
    for keep in range(len(segments) - 1, -1, -1):
        path = "/" + "/".join(segments[:keep])
        out.append(base + (path if path.endswith("/") else path + "/"))
        if keep:
            out.append(base + path)
    return out


def lost_equity(
    store: CrawlStore, resolutions: Sequence[TargetResolution] | None = None
) -> list[LostEquity]:
    """Targets whose backlinks point at errors or loops, most referring domains first.

    Parameters
    ----------
    store : CrawlStore
    resolutions : sequence of TargetResolution, optional
        From :func:`resolve_targets` (computed when not given).

    Returns
    -------
    list of LostEquity
    """
    if resolutions is None:
        resolutions = resolve_targets(store)
    lost = [r for r in resolutions if r.lost_equity]
    if not lost:
        return []
    counts = {
        row[0]: row[1:]
        for row in store.conn.execute(
            "SELECT target_id, sum(links), count(DISTINCT source_domain), "
            "count(DISTINCT CASE WHEN followed AND NOT lost THEN source_domain END) "
            "FROM backlinks GROUP BY target_id"
        )
    }
    crawl = _Crawl(store)
    out = []
    for resolution in lost:
        links, domains, live = counts.get(resolution.target_id, (0, 0, 0))
        redirect_to = None
        for candidate in _ancestors(resolution.target_url):
            candidate_id = crawl.id_of(candidate)
            if candidate_id is None or candidate_id == resolution.target_id:
                continue
            via = _walk(crawl, candidate_id, 20)
            if via.outcome in LIVE:
                redirect_to = via.final_url
                break
        out.append(LostEquity(resolution, int(links or 0), int(domains), int(live), redirect_to))
    out.sort(
        key=lambda e: (-e.live_followed_domains, -e.referring_domains, e.resolution.target_url)
    )
    return out
