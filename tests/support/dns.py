"""A resolver for crawl subprocesses: some real host names answer on 127.0.0.1.

Tests of behaviour that depends on host names (``example.com`` redirecting to
``www.example.com``, a redirect to another registrable domain) need several
names for one local test server. Run the crawl with::

    -s TWISTED_DNS_RESOLVER=tests.support.dns.LoopbackResolver
    -s LOOPBACK_HOSTS=example.com,www.example.com

and those names resolve to 127.0.0.1 without any network; every other name
goes to the system resolver as usual. The request still carries its own
``Host`` header, so the test server can answer per name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from twisted.internet.base import ReactorBase

__all__ = ["LoopbackResolver"]


class LoopbackResolver(CachingThreadedResolver):
    """Scrapy's resolver, with the names of ``LOOPBACK_HOSTS`` on 127.0.0.1."""

    def __init__(
        self, reactor: ReactorBase, cache_size: int, timeout: float, names: frozenset[str]
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.names = names

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: ReactorBase) -> LoopbackResolver:
        settings = crawler.settings
        names = frozenset(name.strip().lower() for name in settings.getlist("LOOPBACK_HOSTS"))
        cache = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache, settings.getfloat("DNS_TIMEOUT"), names)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:  # noqa: N802 (Twisted's name)
        if name.lower() in self.names:
            return defer.succeed("127.0.0.1")
        return super().getHostByName(name, timeout)
