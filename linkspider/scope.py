"""The crawl scope: which URLs are internal, and which of those are crawled.

Pure functions over normalised URLs (see :mod:`linkspider.urlnorm`).

* ``host`` (default): the start URLs' hosts, port included, scheme ignored
  (``http://ex.com`` and ``https://ex.com`` are one site, ``ex.com:8080``
  another).
* ``domain``: every host under the start URLs' registrable domains
  (``www.ex.co.uk``, ``shop.ex.co.uk`` and ``ex.co.uk``), any port.
* ``subdomains:a,b``: the start hosts plus the listed ones; a bare label
  (``blog``) means ``blog.<registrable domain>``, a name with a dot is taken
  as a full host name. Ports are ignored.

``include``/``exclude`` are regular expressions searched in the normalised
URL; they decide what is crawled, not what is internal: a link to an excluded
internal URL is still an internal link.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from linkspider.urlnorm import host_of, registrable_domain

__all__ = ["SCOPE_MODES", "Scope", "ScopeError"]

SCOPE_MODES = ("host", "domain", "subdomains")


class ScopeError(ValueError):
    """A scope, include or exclude value that cannot be used (one-line message)."""


def _hostname(netloc: str) -> str:
    if netloc.startswith("["):
        return netloc.partition("]")[0] + "]"
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc


def _compile(name: str, pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ScopeError(f"{name}={pattern!r} is not a valid regular expression: {exc}") from None


@dataclass(frozen=True)
class Scope:
    """A parsed crawl scope.

    Use :meth:`parse` to build one from the spider arguments.
    """

    mode: str
    netlocs: frozenset[str]
    hostnames: frozenset[str]
    domains: frozenset[str]
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None

    @classmethod
    def parse(
        cls,
        spec: str,
        start_urls: Sequence[str],
        *,
        include: str | None = None,
        exclude: str | None = None,
    ) -> Scope:
        """Build a scope from the ``scope``/``include``/``exclude`` arguments.

        Parameters
        ----------
        spec : str
            ``host``, ``domain`` or ``subdomains:a,b``.
        start_urls : sequence of str
            Normalised start URLs (at least one).
        include, exclude : str, optional
            Regular expressions searched in normalised URLs.

        Returns
        -------
        Scope

        Raises
        ------
        ScopeError
            For an unknown mode, an empty subdomain list or a bad regex.
        """
        mode, _, rest = spec.strip().partition(":")
        mode = mode.strip().lower()
        if mode not in SCOPE_MODES:
            raise ScopeError(
                f"unknown scope {spec!r}: use host, domain or subdomains:a,b "
                "(e.g. -a scope=subdomains:www,blog)"
            )
        if mode != "subdomains" and rest:
            raise ScopeError(f"scope={spec!r}: only subdomains takes a list (subdomains:a,b)")
        netlocs = frozenset(host_of(url) for url in start_urls)
        hostnames = frozenset(_hostname(netloc) for netloc in netlocs)
        domains = frozenset(registrable_domain(hostname) for hostname in hostnames)
        if mode == "subdomains":
            names = [name.strip().lower() for name in rest.split(",") if name.strip()]
            if not names:
                raise ScopeError(
                    f"scope={spec!r} lists no subdomains: use e.g. subdomains:www,blog"
                )
            extra: set[str] = set()
            for name in names:
                if "." in name:
                    extra.add(name.rstrip("."))
                else:
                    extra.update(f"{name}.{domain}" for domain in domains)
            hostnames = hostnames | frozenset(extra)
        return cls(
            mode=mode,
            netlocs=netlocs,
            hostnames=hostnames,
            domains=domains,
            include=_compile("include", include),
            exclude=_compile("exclude", exclude),
        )

    def contains(self, url: str) -> bool:
        """Whether a normalised URL is inside the scope (an internal URL)."""
        netloc = host_of(url)
        if self.mode == "host":
            return netloc in self.netlocs
        hostname = _hostname(netloc)
        if self.mode == "subdomains":
            return hostname in self.hostnames
        return registrable_domain(hostname) in self.domains

    def same_site(self, url: str) -> bool:
        """Whether a URL is on the registrable domain of a start URL (the same site).

        A start URL that redirects to such a host (``example.com`` ->
        ``www.example.com``) has its target host adopted (:meth:`with_host`);
        any other host is another site.
        """
        return registrable_domain(_hostname(host_of(url))) in self.domains

    def with_host(self, url: str) -> Scope:
        """This scope with the host (and port) of ``url`` added.

        Parameters
        ----------
        url : str
            A normalised URL on the same site (see :meth:`same_site`).

        Returns
        -------
        Scope
            A new scope; ``domain`` mode is unchanged (it has every host of
            the domain already).
        """
        netloc = host_of(url)
        return replace(
            self,
            netlocs=self.netlocs | {netloc},
            hostnames=self.hostnames | {_hostname(netloc)},
        )

    def excluded(self, url: str) -> str | None:
        """Why an internal URL is not crawled by include/exclude, or ``None``."""
        if self.include is not None and self.include.search(url) is None:
            return f"does not match include={self.include.pattern!r}"
        if self.exclude is not None and self.exclude.search(url) is not None:
            return f"matches exclude={self.exclude.pattern!r}"
        return None

    def describe(self) -> dict[str, Any]:
        """The scope as plain data, for the run's metadata."""
        return {
            "mode": self.mode,
            "hosts": sorted(self.netlocs if self.mode == "host" else self.hostnames),
            "domains": sorted(self.domains) if self.mode == "domain" else [],
            "include": self.include.pattern if self.include else None,
            "exclude": self.exclude.pattern if self.exclude else None,
        }
