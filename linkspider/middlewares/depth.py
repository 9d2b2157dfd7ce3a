"""Request depth that does not count redirect hops as clicks.

Scrapy's ``DepthMiddleware`` gives every request the depth of the response
it came from plus one. The site spider follows redirects itself (to record
every hop), so the request for a ``Location`` would be one level too deep and
lose its place in the breadth-first order. Requests marked with the
``linkspider_hop`` meta key keep the depth of the redirecting response.

This is the depth of the request that fetched a page (``crawl_depth`` in the
store); the exact click depth is computed over the whole graph at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.spidermiddlewares.depth import DepthMiddleware

if TYPE_CHECKING:
    from scrapy.http import Request, Response

__all__ = ["HOP_META_KEY", "ClickDepthMiddleware"]

#: Request meta key marking the next hop of a redirect chain.
HOP_META_KEY = "linkspider_hop"


class ClickDepthMiddleware(DepthMiddleware):
    """``DepthMiddleware`` for which a redirect hop is not a level."""

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        if response is not None and request.meta.get(HOP_META_KEY):
            depth = response.meta.get("depth", 0)
            request.meta["depth"] = depth
            if self.prio:
                request.priority -= depth * self.prio
            return request
        return super().get_processed_request(request, response)
