"""Crawler-trap defence: decide, per URL about to be scheduled, whether it
looks like a trap. Pure code; the spider records the verdicts in the store.

Three kinds of trap are recognised:

* **repeating path segments** (``/a/b/a/b/a/b/``: relative links resolved
  against the wrong base): a segment that occurs ``segment_repeats`` times;
* **ever-growing query strings** (``?sort=a&sort=a&sort=a``, filters that
  append parameters): more than ``max_query_params`` parameters, or one
  parameter name ``segment_repeats`` times;
* **pattern explosions** (infinite calendars, faceted navigation): URLs are
  reduced to a *shape* (digit runs -> ``#``, query values -> ``*``). A shape
  that looks like a date (``/#/#``, ``#-#-#``, ``?month=*``...) admits at most
  ``calendar_cap`` distinct URLs; a shape with a query string at most
  ``pattern_cap``. Paths that differ only by numbers (``/product/123``) are
  not capped: numeric ids are how many real sites name their pages.

The per-shape counters are plain ints keyed by the shape; they are part of
the spider's persisted state so a resumed crawl keeps its caps.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Final

__all__ = ["TrapGuard", "TrapRules", "TrapVerdict", "url_shape"]

_DIGITS: Final = re.compile(r"\d+")
_DATE_PATH: Final = re.compile(r"/#(?:/#){1,2}(?:/|$)|#-#(?:-#)?")
_DATE_PARAMS: Final = frozenset(
    {"date", "day", "month", "year", "week", "cal", "calendar", "from", "to", "start", "end"}
)


@dataclass(frozen=True)
class TrapRules:
    """Limits of the trap defence (``LINKSPIDER_TRAP_*`` settings).

    Parameters
    ----------
    segment_repeats : int
        A path segment or query parameter name occurring this many times is
        a trap (0 disables the check).
    max_query_params : int
        More query parameters than this is a trap (0 disables).
    pattern_cap : int
        Distinct URLs allowed per shape with a query string (0 disables).
    calendar_cap : int
        Distinct URLs allowed per date-like shape (0 disables).
    """

    segment_repeats: int = 3
    max_query_params: int = 12
    pattern_cap: int = 10_000
    calendar_cap: int = 100


@dataclass(frozen=True, slots=True)
class TrapVerdict:
    """Why a URL is suspected to be a trap: the pattern and a reason in words."""

    pattern: str
    reason: str


def url_shape(url: str) -> tuple[str, bool]:
    """Reduce a URL to its shape.

    Parameters
    ----------
    url : str
        A normalised URL.

    Returns
    -------
    (shape, is_date_like) : tuple
        ``https://ex.com/cal/2024/05?view=month`` gives
        ``("https://ex.com/cal/#/#?view=*", True)``.
    """
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    netloc, slash, path = rest.partition("/")
    # The host keeps its digits (an IP or a port is not a pattern).
    path_only = _DIGITS.sub("#", slash + path)
    path_shape = f"{scheme}://{netloc}{path_only}"
    date_like = _DATE_PATH.search(path_only) is not None
    if not query:
        return path_shape, date_like
    names = [pair.partition("=")[0] for pair in query.split("&")]
    if not date_like:
        date_like = any(name.lower() in _DATE_PARAMS for name in names)
    return path_shape + "?" + "&".join(f"{name}=*" for name in names), date_like


class TrapGuard:
    """Stateful trap checker.

    Parameters
    ----------
    rules : TrapRules
    counts : dict, optional
        Per-shape counters to continue from (a resumed crawl); the guard
        updates this dict in place.
    """

    def __init__(self, rules: TrapRules, counts: dict[str, int] | None = None) -> None:
        self.rules = rules
        self.counts: dict[str, int] = counts if counts is not None else {}

    def check(self, url: str) -> TrapVerdict | None:
        """Return a verdict if ``url`` looks like a trap, else count it and return ``None``.

        Call once per distinct URL the crawl is about to schedule.
        """
        rules = self.rules
        base, _, query = url.partition("?")
        path = base.partition("://")[2].partition("/")[2]
        if rules.segment_repeats:
            segments = Counter(segment for segment in path.split("/") if segment)
            if segments:
                segment, times = segments.most_common(1)[0]
                if times >= rules.segment_repeats:
                    return TrapVerdict(
                        pattern=f"repeated path segment /{segment}/",
                        reason=f"path segment {segment!r} occurs {times} times",
                    )
        if query:
            names = [pair.partition("=")[0] for pair in query.split("&")]
            if rules.max_query_params and len(names) > rules.max_query_params:
                return TrapVerdict(
                    pattern=f"more than {rules.max_query_params} query parameters",
                    reason=f"{len(names)} query parameters",
                )
            if rules.segment_repeats:
                name, times = Counter(names).most_common(1)[0]
                if times >= rules.segment_repeats:
                    return TrapVerdict(
                        pattern=f"repeated query parameter {name}=",
                        reason=f"query parameter {name!r} occurs {times} times",
                    )
        shape, date_like = url_shape(url)
        if shape == url or not (date_like or query):
            return None  # a one-off URL, or numeric ids in a path: not a pattern
        cap = rules.calendar_cap if date_like else rules.pattern_cap
        if not cap:
            return None
        seen = self.counts.get(shape, 0)
        if seen >= cap:
            kind = "calendar-like pattern" if date_like else "pattern"
            return TrapVerdict(pattern=shape, reason=f"{kind} already has {cap} URLs")
        self.counts[shape] = seen + 1
        return None
