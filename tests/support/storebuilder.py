"""Build crawl stores for tests from a compact description.

A store is what a crawl plus a backlink import leave behind; building one
directly lets unit tests state exact graphs (a chain, a redirect loop, a
nofollow-only page) without a crawl::

    site = StoreBuilder("https://site.test")
    site.page("/", "/a", "/b@nav", "https://other.test/", "/c!", title="Home")
    site.page("/a", "/")
    site.redirect("/old", "/a")
    site.meta_refresh("/moved", "/b")  # an instant meta refresh: a hop
    site.page("/later", "/a", refresh="/b", refresh_delay=5)  # a delayed one
    site.error("/gone", 404)
    site.backlink("https://blog.test/post", "/a", authority=0.7)
    path = site.build(tmp_path)          # the store file, ready for load_graph

Link specs are strings ``TARGET[@POSITION][!]``: a path (joined to the base
URL) or an absolute URL, an optional position (``content`` by default; one of
:data:`pipelines.storedb.POSITIONS`), and ``!`` for rel=nofollow. Use
:class:`Link` for anchors or ``rel`` values. A link is internal when its host
is the base URL's host (or one of ``hosts``).

A crawl run with ``LINKSPIDER_TRACKING_PARAMS`` set is
``StoreBuilder(tracking_params=("ref",))``: its URLs are normalised with
that list, and the list is recorded in ``meta`` as the crawl records it.

Only what the equity model and the report read is written: ``urls``,
``pages``, ``links``, ``edges``, ``redirects``, ``backlinks``,
``known_urls`` and ``meta``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from linkspider.urlnorm import UrlNormaliser, registrable_domain
from pipelines.storedb import (
    EDGE_FLAG_FOLLOWED,
    EDGE_FLAG_INTERNAL,
    POSITION_CODES,
    CrawlStore,
    pack_edges,
)

__all__ = ["Link", "StoreBuilder"]


@dataclass(frozen=True)
class Link:
    """One ``<a href>`` on a page."""

    target: str
    position: str = "content"
    followed: bool = True
    anchor: str = ""
    rel: str = ""

    @classmethod
    def parse(cls, spec: str | Link) -> Link:
        """Read ``TARGET[@POSITION][!]`` (or pass a :class:`Link` through)."""
        if isinstance(spec, Link):
            return spec
        followed = not spec.endswith("!")
        spec = spec.rstrip("!")
        position = "content"
        if "@" in spec and spec.rsplit("@", 1)[1] in POSITION_CODES:
            spec, position = spec.rsplit("@", 1)
        return cls(spec, position, followed, rel="" if followed else "nofollow")


@dataclass
class _Page:
    kind: str
    status: int | None
    links: list[Link] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    redirect_to: str | None = None
    redirect_set: bool = False
    refresh_delay: int | None = None  # an instant meta refresh hop (redirect_to set)


@dataclass
class _Backlink:
    source_url: str
    target: str
    authority: float | None
    followed: bool
    lost: bool
    metric_name: str | None
    vendors: tuple[str, ...]


class StoreBuilder:
    """Describe a crawled site, then :meth:`build` its store.

    Parameters
    ----------
    base : str
        The site's base URL; paths in specs are joined to it.
    hosts : iterable of str
        Other hosts that count as internal.
    tracking_params : tuple of str, optional
        The crawl's ``LINKSPIDER_TRACKING_PARAMS`` (recorded in ``meta``);
        default: the default list, not recorded (a run from before it was).
    """

    def __init__(
        self,
        base: str = "https://site.test",
        *,
        hosts: tuple[str, ...] = (),
        tracking_params: tuple[str, ...] | None = None,
    ) -> None:
        self.base = base
        self.hosts = {urlsplit(base).hostname or "", *hosts}
        self._pages: dict[str, _Page] = {}
        self._backlinks: list[_Backlink] = []
        self._start: list[str] = []
        self._meta: dict[str, Any] = {}
        self._known: list[tuple[str, str]] = []
        if tracking_params is None:
            self._normaliser = UrlNormaliser()
        else:
            self._normaliser = UrlNormaliser(tracking_params=tracking_params)
            self._meta["tracking_params"] = list(tracking_params)

    # -- describing ----------------------------------------------------------

    def url(self, target: str) -> str:
        """The normalised absolute URL of a path or URL."""
        url = self._normaliser.normalise(urljoin(self.base, target))
        if url is None:
            raise ValueError(f"not an http(s) URL: {target!r}")
        return url

    def _add(self, path: str, page: _Page) -> StoreBuilder:
        url = self.url(path)
        if url in self._pages:
            raise ValueError(f"{url} is described twice")
        self._pages[url] = page
        return self

    def page(self, path: str, *links: str | Link, status: int = 200, **facts: Any) -> StoreBuilder:
        """A crawled HTML page and its links, in page order.

        ``facts`` are page columns: ``title``, ``h1``, ``noindex``, ``nofollow``
        (meta robots), ``canonical`` (a path or URL), ``depth``, ``in_sitemap``,
        ``word_count``, ``refresh`` (a path or URL) and ``refresh_delay`` (a
        delayed meta refresh)...
        """
        return self._add(path, _Page("html", status, [Link.parse(s) for s in links], facts))

    def redirect(self, path: str, to: str | None, status: int = 301) -> StoreBuilder:
        """A redirect hop; ``to=None`` for a redirect without a usable Location."""
        page = _Page("redirect", status, redirect_to=to, redirect_set=True)
        return self._add(path, page)

    def meta_refresh(self, path: str, to: str, delay: int = 0, status: int = 200) -> StoreBuilder:
        """An HTML page whose instant meta refresh is a redirect hop to ``to``."""
        page = _Page("redirect", status, redirect_to=to, redirect_set=True, refresh_delay=delay)
        page.facts["content_type"] = "text/html; charset=utf-8"
        page.facts["meta_refresh"] = f"{delay}; url={to}"
        return self._add(path, page)

    def error(self, path: str, status: int = 404) -> StoreBuilder:
        """A URL that answered with an error status."""
        return self._add(path, _Page("error", status))

    def failed(self, path: str) -> StoreBuilder:
        """A URL whose fetch failed (DNS, timeout...)."""
        return self._add(path, _Page("failed", None, facts={"error": "timeout"}))

    def blocked(self, path: str) -> StoreBuilder:
        """A URL disallowed by robots.txt."""
        return self._add(path, _Page("blocked", None))

    def other(
        self, path: str, content_type: str = "application/pdf", status: int = 200
    ) -> StoreBuilder:
        """A non-HTML answer (PDF, image...)."""
        return self._add(path, _Page("other", status, facts={"content_type": content_type}))

    def cutoff(self, path: str, kind: str = "skipped", status: int | None = None) -> StoreBuilder:
        """A URL the crawl did not see through: ``oversize``, ``trap`` or ``skipped``."""
        if kind not in ("oversize", "trap", "skipped"):
            raise ValueError(kind)
        return self._add(path, _Page(kind, status))

    def start(self, *paths: str) -> StoreBuilder:
        """Start URLs (default: the first page described)."""
        self._start.extend(self.url(p) for p in paths)
        return self

    def known(self, path: str, source: str = "sitemap") -> StoreBuilder:
        """A URL known from outside the link graph (sitemap, list...)."""
        self._known.append((self.url(path), source))
        return self

    def meta(self, **values: Any) -> StoreBuilder:
        """Extra ``meta`` values (``complete=True``...)."""
        self._meta.update(values)
        return self

    def backlink(
        self,
        source_url: str,
        target: str,
        *,
        authority: float | None = None,
        followed: bool = True,
        lost: bool = False,
        metric_name: str | None = None,
        vendors: tuple[str, ...] = ("ahrefs",),
    ) -> StoreBuilder:
        """A merged backlink row (as the importer writes it)."""
        self._backlinks.append(
            _Backlink(source_url, target, authority, followed, lost, metric_name, vendors)
        )
        return self

    # -- writing -------------------------------------------------------------

    def _internal(self, url: str) -> bool:
        return (urlsplit(url).hostname or "") in self.hosts

    def build(self, where: str | Path) -> Path:
        """Write the store into ``where`` (a run folder or a ``.sqlite`` path).

        Returns
        -------
        Path
            The store file.
        """
        with CrawlStore(where, create=True) as store:
            store.begin()
            # Intern in description order so URL ids (and node order) are predictable.
            order: list[str] = []
            for url, page in self._pages.items():
                order.append(url)
                order.extend(self.url(link.target) for link in page.links)
                if page.redirect_to is not None:
                    order.append(self.url(page.redirect_to))
                if canonical := page.facts.get("canonical"):
                    order.append(self.url(canonical))
                if refresh := page.facts.get("refresh"):
                    order.append(self.url(refresh))
            order.extend(self.url(b.target) for b in self._backlinks)
            order.extend(url for url, _ in self._known)
            ids = store.intern(order)
            for url, page in self._pages.items():
                self._write_page(store, ids, url, page)
            start = self._start or list(self._pages)[:1]
            store.set_meta("start_urls", start)
            for url in start:
                store.conn.execute(
                    "INSERT OR IGNORE INTO known_urls(url_id, source) VALUES (?, 'start')",
                    (ids[url],),
                )
            for url, source in self._known:
                store.conn.execute(
                    "INSERT OR IGNORE INTO known_urls(url_id, source) VALUES (?, ?)",
                    (ids[url], source),
                )
            for key, value in self._meta.items():
                store.set_meta(key, value)
            for b in self._backlinks:
                host = urlsplit(b.source_url).hostname or ""
                store.conn.execute(
                    "INSERT INTO backlinks(source_url, source_host, source_domain, target_id, "
                    "followed, nofollow, lost, metric_name, authority, vendors, origins) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        b.source_url,
                        host,
                        registrable_domain(host),
                        ids[self.url(b.target)],
                        int(b.followed),
                        int(not b.followed),
                        int(b.lost),
                        b.metric_name,
                        b.authority,
                        json.dumps(list(b.vendors)),
                        json.dumps([]),
                    ),
                )
            store.commit()
            return store.path

    def _write_page(self, store: CrawlStore, ids: dict[str, int], url: str, page: _Page) -> None:
        facts = dict(page.facts)
        canonical = facts.pop("canonical", None)
        refresh = facts.pop("refresh", None)
        if page.refresh_delay is not None and page.redirect_to is not None:
            refresh, facts["refresh_delay"] = page.redirect_to, page.refresh_delay
        columns = {
            "url_id": ids[url],
            "kind": page.kind,
            "status": page.status,
            "content_type": facts.pop(
                "content_type", "text/html; charset=utf-8" if page.kind == "html" else None
            ),
            "noindex": int(bool(facts.pop("noindex", False))),
            "nofollow": int(bool(facts.pop("nofollow", False))),
            "canonical_id": ids[self.url(canonical)] if canonical else None,
            "refresh_id": ids[self.url(refresh)] if refresh else None,
            "n_links": len(page.links) if page.kind == "html" else None,
            **facts,
        }
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        store.conn.execute(f"INSERT INTO pages({names}) VALUES ({marks})", list(columns.values()))
        if page.redirect_set:
            dst = ids[self.url(page.redirect_to)] if page.redirect_to is not None else None
            kind = "http" if page.refresh_delay is None else "meta_refresh"
            store.conn.execute(
                "INSERT INTO redirects(src_id, dst_id, status, kind, delay) VALUES (?, ?, ?, ?, ?)",
                (ids[url], dst, page.status, kind, page.refresh_delay),
            )
        if not page.links:
            return
        dst_ids: list[int] = []
        flags: list[int] = []
        for ord_, link in enumerate(page.links):
            target = self.url(link.target)
            internal = self._internal(target)
            flag = POSITION_CODES[link.position]
            flag |= EDGE_FLAG_FOLLOWED if link.followed else 0
            flag |= EDGE_FLAG_INTERNAL if internal else 0
            dst_ids.append(ids[target])
            flags.append(flag)
            store.conn.execute(
                "INSERT INTO links(src_id, ord, dst_id, href, anchor, rel, followed, position, "
                "internal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ids[url],
                    ord_,
                    ids[target],
                    link.target,
                    link.anchor,
                    link.rel or None,
                    int(link.followed),
                    POSITION_CODES[link.position],
                    int(internal),
                ),
            )
        store.conn.execute(
            "INSERT INTO edges(src_id, packed) VALUES (?, ?)",
            (ids[url], pack_edges(dst_ids, flags)),
        )
