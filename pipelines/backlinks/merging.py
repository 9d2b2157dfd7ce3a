"""Merge the same link reported by several exports into one backlink.

The key is (normalised source URL, normalised target URL). When two records
share it, :func:`merge_records` combines them by these rules (also in
``docs/backlinks.md``):

* **Richest record first.** Each record scores one point per thing it says:
  an anchor, a rel, a lost status, a first-seen date, a last-seen date, a
  metric. The higher score is the *primary* record (a tie goes to the later
  last-seen date, then to the record read first). The anchor (and whether the
  link is an image) comes from the primary, or from the other when the
  primary's anchor is empty.
* **followed / nofollow / ugc / sponsored: the most recent observation wins.**
  Among records that report a rel, the one observed last (last-seen, else
  first-seen) gives all four; on a tie, the not-followed record wins (we do
  not credit equity a vendor says does not flow). A record that does not
  report a rel (Search Console) never overrides one that does.
* **lost: the most recent observation wins.** Among records that report a
  lost status, the one observed last (the later of last-seen and the lost
  date) gives ``lost`` and ``lost_date``; on a tie, lost wins (a link one
  vendor saw disappear that day is reported for reclaiming).
* **Dates:** first-seen is the earliest, last-seen the latest of all records.
* **Metric:** the best-ranked metric name in
  :data:`~pipelines.backlinks.values.METRIC_PREFERENCE` (domain-level DR and
  DA before page-level ones); a tie goes to the primary record.
* **vendors** is the sorted union; **origins** keeps every (file, line), once.
* When records that both report a rel disagree on ``followed``, or both
  report a lost status and disagree on ``lost``, the merged record lists the
  field in ``conflicts``, so the disagreement stays visible.

The rules are idempotent (merging a record with itself changes nothing), so
importing the same file twice does not change the result.

:class:`BacklinkMerger` holds one record per key while an import runs,
keyed target first (targets are few), so the key costs no extra objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from pipelines.backlinks.model import (
    Backlink,
    MergedBacklink,
    ReferringDomain,
    TargetPage,
)
from pipelines.backlinks.values import METRIC_PREFERENCE

__all__ = [
    "BacklinkMerger",
    "MergedDomain",
    "merge_backlinks",
    "merge_domains",
    "merge_records",
    "richness",
]

LinkRecord = Backlink | MergedBacklink
_METRIC_RANK: Final = {name: rank for rank, name in enumerate(METRIC_PREFERENCE)}
_NO_METRIC: Final = len(METRIC_PREFERENCE)


def richness(record: LinkRecord) -> int:
    """How many things a record says (anchor, rel, lost, dates, metric)."""
    return (
        bool(record.anchor)
        + record.rel_reported
        + record.lost_reported
        + (record.first_seen is not None)
        + (record.last_seen is not None)
        + (record.metric_value is not None)
    )


def _metric_rank(record: LinkRecord | MergedDomain | ReferringDomain) -> int:
    if record.metric_value is None or record.metric_name is None:
        return _NO_METRIC
    return _METRIC_RANK.get(record.metric_name, _NO_METRIC - 1)


def _earliest(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _latest(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def merge_records(held: LinkRecord, new: LinkRecord) -> MergedBacklink:
    """Merge two records about the same link (see the module's rules).

    Parameters
    ----------
    held : Backlink or MergedBacklink
        The record already held (read earlier).
    new : Backlink or MergedBacklink
        The newcomer.

    Returns
    -------
    MergedBacklink
    """
    rich_held, rich_new = richness(held), richness(new)
    if rich_new > rich_held or (
        rich_new == rich_held and (new.last_seen or "") > (held.last_seen or "")
    ):
        primary, other = new, held
    else:
        primary, other = held, new
    worded = primary if primary.anchor or not other.anchor else other
    conflicts = set(held.conflicts).union(new.conflicts)

    # followed and the rel flags: the latest observation among those that report one.
    if held.rel_reported and new.rel_reported:
        if held.followed != new.followed:
            conflicts.add("followed")
        seen_held, seen_new = held.rel_seen or "", new.rel_seen or ""
        if seen_new != seen_held:
            rel = new if seen_new > seen_held else held
        elif held.followed != new.followed:
            rel = held if not held.followed else new
        else:
            rel = primary
    else:
        rel = new if new.rel_reported else held

    # lost: the latest observation among those that report it; lost wins a tie.
    if held.lost_reported and new.lost_reported:
        if held.lost != new.lost:
            conflicts.add("lost")
        seen_held, seen_new = held.lost_seen or "", new.lost_seen or ""
        if seen_new != seen_held:
            gone = new if seen_new > seen_held else held
        elif held.lost != new.lost:
            gone = held if held.lost else new
        else:
            gone = primary
    else:
        gone = new if new.lost_reported else held

    measured = other if _metric_rank(other) < _metric_rank(primary) else primary
    held_origins, new_origins = held.origins, new.origins
    if len(new_origins) == 1 and new_origins[0] not in held_origins:
        origins = held_origins + new_origins
    else:
        origins = held_origins + tuple(o for o in new_origins if o not in held_origins)
    held_vendors, new_vendors = held.vendors, new.vendors
    vendors = (
        held_vendors
        if held_vendors == new_vendors
        else tuple(sorted(set(held_vendors).union(new_vendors)))
    )
    return MergedBacklink(
        held.source_url,
        held.source_host,
        held.source_domain,
        held.target_url,
        worded.anchor,
        rel.followed,
        rel.nofollow,
        rel.ugc,
        rel.sponsored,
        worded.is_image,
        rel.rel_reported,
        gone.lost,
        gone.lost_date,
        gone.lost_reported,
        _earliest(held.first_seen, new.first_seen),
        _latest(held.last_seen, new.last_seen),
        measured.metric_name,
        measured.metric_value,
        measured.authority,
        vendors,
        origins,
        tuple(sorted(conflicts)) if conflicts else (),
        rel.rel_seen,
        gone.lost_seen,
    )


@dataclass(slots=True)
class MergedDomain:
    """A referring domain as one or more domain-level exports described it."""

    domain: str
    metric_name: str | None
    metric_value: float | None
    authority: float | None
    links: int | None
    linking_pages: int | None
    target_pages: int | None
    first_seen: str | None
    last_seen: str | None
    lost: bool | None
    lost_date: str | None
    vendors: tuple[str, ...]
    origins: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, row: ReferringDomain) -> MergedDomain:
        """A single row as a merged domain."""
        return cls(
            row.domain,
            row.metric_name,
            row.metric_value,
            row.authority,
            row.links,
            row.linking_pages,
            row.target_pages,
            row.first_seen,
            row.last_seen,
            row.lost,
            row.lost_date,
            (row.vendor,),
            ((row.file, row.line),),
        )


def _most(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def merge_domains(held: MergedDomain, new: MergedDomain) -> MergedDomain:
    """Merge two descriptions of one referring domain.

    The best-ranked metric wins (as for links); counts keep the largest
    value any export gave (exports are samples: the larger saw more); dates
    as for links; ``lost`` from the later observation, lost winning a tie.
    """
    measured = new if _metric_rank(new) < _metric_rank(held) else held
    if held.lost is None or new.lost is None:
        gone = held if new.lost is None else new
    else:
        seen_held = max(held.last_seen or "", held.lost_date or "")
        seen_new = max(new.last_seen or "", new.lost_date or "")
        if seen_held != seen_new:
            gone = new if seen_new > seen_held else held
        else:
            gone = held if held.lost else new
    seen_origins = set(held.origins)
    return MergedDomain(
        domain=held.domain,
        metric_name=measured.metric_name,
        metric_value=measured.metric_value,
        authority=measured.authority,
        links=_most(held.links, new.links),
        linking_pages=_most(held.linking_pages, new.linking_pages),
        target_pages=_most(held.target_pages, new.target_pages),
        first_seen=_earliest(held.first_seen, new.first_seen),
        last_seen=_latest(held.last_seen, new.last_seen),
        lost=gone.lost,
        lost_date=gone.lost_date,
        vendors=tuple(sorted(set(held.vendors) | set(new.vendors))),
        origins=held.origins + tuple(o for o in new.origins if o not in seen_origins),
    )


@dataclass
class BacklinkMerger:
    """Collect records from any number of exports, merging as they come.

    Attributes
    ----------
    rows : int
        Link records added.
    domains : dict
        Referring domain -> :class:`MergedDomain`.
    target_pages : dict
        ``(target URL, vendor)`` -> :class:`TargetPage` (the largest counts seen).
    """

    rows: int = 0
    domains: dict[str, MergedDomain] = field(default_factory=dict)
    target_pages: dict[tuple[str, str], TargetPage] = field(default_factory=dict)
    _by_target: dict[str, dict[str, LinkRecord]] = field(default_factory=dict)
    _count: int = 0

    def add(self, record: LinkRecord) -> None:
        """Add one link record, merging it with the one held for its key."""
        self.rows += 1
        inner = self._by_target.get(record.target_url)
        if inner is None:
            inner = self._by_target[record.target_url] = {}
        held = inner.get(record.source_url)
        if held is None:
            inner[record.source_url] = record
            self._count += 1
        else:
            inner[record.source_url] = merge_records(held, record)

    def add_domain(self, row: ReferringDomain) -> None:
        """Add one referring-domain row."""
        merged = MergedDomain.of(row)
        held = self.domains.get(row.domain)
        self.domains[row.domain] = merged if held is None else merge_domains(held, merged)

    def add_target_page(self, row: TargetPage) -> None:
        """Add one target-page row (per vendor, the largest counts win)."""
        key = (row.target_url, row.vendor)
        held = self.target_pages.get(key)
        if held is None:
            self.target_pages[key] = row
        else:
            self.target_pages[key] = TargetPage(
                row.target_url,
                _most(held.links, row.links),
                _most(held.domains, row.domains),
                row.vendor,
                held.file,
                held.line,
            )

    def add_all(self, records: Iterable[Backlink | ReferringDomain | TargetPage]) -> None:
        """Add records of any kind (what a ``ParsedExport`` yields).

        The loop is :meth:`add` inlined: it runs once per row of every export.
        """
        by_target = self._by_target
        rows = count = 0
        try:
            for record in records:
                if type(record) is Backlink:
                    rows += 1
                    inner = by_target.get(record.target_url)
                    if inner is None:
                        inner = by_target[record.target_url] = {}
                    held = inner.get(record.source_url)
                    if held is None:
                        inner[record.source_url] = record
                        count += 1
                    else:
                        inner[record.source_url] = merge_records(held, record)
                elif isinstance(record, ReferringDomain):
                    self.add_domain(record)
                elif isinstance(record, TargetPage):
                    self.add_target_page(record)
                else:
                    self.add(record)
        finally:
            self.rows += rows
            self._count += count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[LinkRecord]:
        for inner in self._by_target.values():
            yield from inner.values()

    def get(self, source_url: str, target_url: str) -> LinkRecord | None:
        """The record held for a key, or ``None``."""
        inner = self._by_target.get(target_url)
        return None if inner is None else inner.get(source_url)

    def targets(self) -> list[str]:
        """The distinct target URLs, in the order first met."""
        return list(self._by_target)

    def sorted_by_source(self) -> list[LinkRecord]:
        """All records sorted by (source URL, target URL): the store's index order."""
        records = list(self)
        records.sort(key=_sort_key)
        return records


def _sort_key(record: LinkRecord) -> tuple[str, str]:
    return record.source_url, record.target_url


def merge_backlinks(records: Iterable[LinkRecord]) -> list[LinkRecord]:
    """Merge link records in memory (see the module's rules).

    Parameters
    ----------
    records : iterable of Backlink or MergedBacklink

    Returns
    -------
    list
        One record per (source URL, target URL), in the order keys were first met
        grouped by target; a key seen once keeps its :class:`Backlink`.
    """
    merger = BacklinkMerger()
    for record in records:
        merger.add(record)
    return list(merger)
