"""URLs from exports, normalised exactly as the crawl normalises links.

:class:`ExportUrls` wraps :class:`linkspider.urlnorm.UrlNormaliser` with what a
million-row export needs:

* a fast path for URLs that are already in normal form (the common case for
  vendor exports): a lower-case ``http(s)://host/path?query`` with only safe
  characters, no port, no dot segment, no empty or tracking parameter is
  returned as it is, which is what the normaliser would return (a property
  test checks the two agree; the import's row loop makes the same test
  inline, and another property test checks it);
* memos for targets and hosts, which repeat on most rows;
* URLs written without a scheme (``www.example.com/page``) read as ``http://``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from linkspider.urlnorm import UrlNormaliser, host_of, registrable_domain

__all__ = ["ExportUrls", "Site"]

# Already normal: lower-case scheme and host, then a path and a query made of
# characters the normaliser keeps as they are (no port, fragment or "%").
_NORMAL: Final = re.compile(
    r"https?://([a-z0-9.\-]*[a-z0-9\-])"
    r"(/[A-Za-z0-9\-._~/:@!$&'()*+,;=]*)?"
    r"(?:\?([A-Za-z0-9\-._~/:@!$&'()*+,;=?]+))?"
)
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_MEMO_LIMIT: Final = 200_000


class ExportUrls:
    """Normalise the URLs of one import, with memos.

    Parameters
    ----------
    normaliser : UrlNormaliser, optional
        The crawl's normaliser (same tracking parameters); a default one otherwise.
    """

    def __init__(self, normaliser: UrlNormaliser | None = None) -> None:
        self.normaliser = normaliser or UrlNormaliser()
        params = self.normaliser.tracking_params
        self._tracking_exact = frozenset(p.lower() for p in params if not p.endswith("*"))
        self._tracking_prefixes = tuple(p[:-1].lower() for p in params if p.endswith("*"))
        self._targets: dict[str, tuple[str, str] | None] = {}
        #: Host -> registrable domain, as :meth:`domain` memoises it.
        self.domains: dict[str, str] = {}
        #: ``fullmatch`` of a URL in normal form but for its path (no ``/.``;
        #: ``/`` when missing) and its query (:meth:`query_is_normal`): groups
        #: host, path, query. The import's row loop tests URLs with it inline.
        self.normal = _NORMAL.fullmatch

    def url(self, raw: str) -> tuple[str, str] | None:
        """Normalise one URL.

        Parameters
        ----------
        raw : str
            The cell as written.

        Returns
        -------
        tuple of (str, str) or None
            ``(url, host)``, or ``None`` when it is not an http(s) URL.
        """
        match = _NORMAL.fullmatch(raw)
        if match is not None:
            path, query = match.group(2, 3)
            if path is None:
                if query is None:
                    return raw + "/", match.group(1)
            elif "/." not in path and (query is None or self.query_is_normal(query)):
                return raw, match.group(1)
        text = raw.strip()
        if text and not text.startswith("//") and _SCHEME.match(text) is None:
            first = text.partition("/")[0]
            if "." in first and " " not in first:
                text = "http://" + text  # "www.example.com/page": a URL without its scheme
        url = self.normaliser.normalise(text)
        if url is None:
            return None
        return url, host_of(url)

    def query_is_normal(self, query: str) -> bool:
        """No empty parameter and no tracking parameter: the normaliser keeps it as it is."""
        if query[0] == "&" or query[-1] == "&" or "&&" in query:
            return False
        exact, prefixes = self._tracking_exact, self._tracking_prefixes
        for pair in query.split("&"):
            name = pair.partition("=")[0].lower()
            if name in exact or (prefixes and name.startswith(prefixes)):
                return False
        return True

    def target(self, raw: str) -> tuple[str, str] | None:
        """:meth:`url`, memoised: targets repeat on most rows."""
        try:
            return self._targets[raw]
        except KeyError:
            if len(self._targets) > _MEMO_LIMIT:
                self._targets.clear()
            found = self._targets[raw] = self.url(raw)
            return found

    def domain(self, host: str) -> str:
        """Registrable domain of a host (Public Suffix List), memoised."""
        try:
            return self.domains[host]
        except KeyError:
            if len(self.domains) > _MEMO_LIMIT:
                self.domains.clear()
            found = self.domains[host] = registrable_domain(host)
            return found


@dataclass(frozen=True)
class Site:
    """The site the backlinks point at.

    Parameters
    ----------
    hosts : frozenset of str
        Hosts of the crawl (its start URLs and the hosts it fetched). A row
        whose *source* is on one of them is an internal link, not a backlink.
    domains : frozenset of str
        Registrable domains of those hosts. A row whose *target* is outside
        them is not about this site and is rejected.
    home : str or None
        The site's home page: the target assumed for exports without a
        target column when the user gives none.
    """

    hosts: frozenset[str]
    domains: frozenset[str]
    home: str | None = None

    @classmethod
    def from_urls(
        cls,
        urls: Iterable[str],
        *,
        extra_hosts: Iterable[str] = (),
        normaliser: UrlNormaliser | None = None,
    ) -> Site | None:
        """The site of some start URLs (the first gives the home page).

        Returns ``None`` when no usable URL or host is given.
        """
        norm = normaliser or UrlNormaliser()
        hosts: list[str] = []
        home = None
        for raw in urls:
            url = norm.normalise(raw)
            if url is None:
                continue
            host = host_of(url)
            hosts.append(host)
            if home is None:
                home = f"{url.partition('://')[0]}://{host}/"
        hosts.extend(extra_hosts)
        if not hosts:
            return None
        return cls(
            hosts=frozenset(hosts),
            domains=frozenset(registrable_domain(h) for h in hosts),
            home=home,
        )

    def describe(self) -> str:
        """One line for messages: ``example.com (hosts: www.example.com)``."""
        return f"{', '.join(sorted(self.domains))} (hosts: {', '.join(sorted(self.hosts))})"
