"""The backlink importer's data: records, formats, reports and errors.

Plain dataclasses, no I/O. A :class:`Backlink` is one row of one export,
normalised; a :class:`MergedBacklink` is what several rows about the same
link (same normalised source and target) become once merged. Referring-domain
and target-page exports carry aggregates, not links: they become
:class:`ReferringDomain` and :class:`TargetPage` records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "KIND_DOMAINS",
    "KIND_LINKS",
    "KIND_TARGET_PAGES",
    "Backlink",
    "BacklinkError",
    "ExportFormat",
    "ImportReport",
    "MergedBacklink",
    "MissingTargetError",
    "ReferringDomain",
    "Reject",
    "TargetPage",
    "UnreadableExportError",
    "UnrecognisedExportError",
]

#: What an export holds: one row per link, per referring domain, or per target page.
KIND_LINKS: Final = "links"
KIND_DOMAINS: Final = "domains"
KIND_TARGET_PAGES: Final = "target_pages"


class BacklinkError(Exception):
    """A user-facing problem with a backlink export; ``str()`` is one clear line."""


class UnreadableExportError(BacklinkError):
    """Missing, empty, binary, a spreadsheet saved by mistake, or undecodable."""


class UnrecognisedExportError(BacklinkError):
    """No known format matches the file's header.

    Parameters
    ----------
    file : str
        The file name.
    header : list of str
        The header row we saw (the first non-empty row).
    known : list of str
        Labels of the formats we know.
    """

    def __init__(self, file: str, header: list[str], known: list[str]) -> None:
        self.file = file
        self.header = header
        self.known = known
        shown = ", ".join(repr(cell) for cell in header[:40])
        if len(header) > 40:
            shown += f", ... ({len(header)} columns)"
        super().__init__(
            f"{file}: unrecognised export; header seen: [{shown}]; known formats: "
            f"{'; '.join(known)}; map its columns with --columns source=...,target=...,anchor=..."
        )


class MissingTargetError(BacklinkError):
    """An export without a target column, and no target URL to assume."""


@dataclass(slots=True)
class Backlink:
    """One link read from one export row, normalised.

    ``rel_reported`` / ``lost_reported`` say whether the export states the
    link's rel and lost status at all (Search Console's exports do not): when
    they are false, ``followed=True`` and ``lost=False`` are assumptions, and
    merging never lets an assumption override a vendor's statement.

    Dates are ISO ``YYYY-MM-DD`` strings. ``authority`` is ``metric_value``
    scaled to [0, 1] (all supported metrics are on a 0-100 scale).
    """

    source_url: str
    source_host: str
    source_domain: str
    target_url: str
    anchor: str
    followed: bool
    nofollow: bool
    ugc: bool
    sponsored: bool
    is_image: bool
    rel_reported: bool
    lost: bool
    lost_date: str | None
    lost_reported: bool
    first_seen: str | None
    last_seen: str | None
    metric_name: str | None
    metric_value: float | None
    authority: float | None
    vendor: str
    file: str
    line: int

    @property
    def vendors(self) -> tuple[str, ...]:
        """The vendors that reported the link (one, for a single row)."""
        return (self.vendor,)

    @property
    def origins(self) -> tuple[tuple[str, int], ...]:
        """``(file, line)`` of the rows behind the link."""
        return ((self.file, self.line),)

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Fields the vendors disagreed on (none for a single row)."""
        return ()

    @property
    def rel_seen(self) -> str | None:
        """When the rel was observed: the last-seen date (else first-seen)."""
        if not self.rel_reported:
            return None
        return self.last_seen or self.first_seen

    @property
    def lost_seen(self) -> str | None:
        """When the lost status was observed: the later of last-seen and the lost date."""
        if not self.lost_reported:
            return None
        return max(self.last_seen or "", self.lost_date or "") or self.first_seen


@dataclass(slots=True)
class MergedBacklink:
    """One link as several rows (vendors, files) described it, merged.

    The fields mean what they mean on :class:`Backlink`; ``vendors`` is sorted,
    ``origins`` keeps the order the rows were read in, and ``conflicts`` names
    the fields (``followed``, ``lost``) on which the vendors disagreed, settled
    by the rules in :mod:`pipelines.backlinks.merging`. ``rel_seen`` and
    ``lost_seen`` are the dates of the observations ``followed`` and ``lost``
    come from (what later merges compare against).
    """

    source_url: str
    source_host: str
    source_domain: str
    target_url: str
    anchor: str
    followed: bool
    nofollow: bool
    ugc: bool
    sponsored: bool
    is_image: bool
    rel_reported: bool
    lost: bool
    lost_date: str | None
    lost_reported: bool
    first_seen: str | None
    last_seen: str | None
    metric_name: str | None
    metric_value: float | None
    authority: float | None
    vendors: tuple[str, ...]
    origins: tuple[tuple[str, int], ...]
    conflicts: tuple[str, ...] = ()
    rel_seen: str | None = None
    lost_seen: str | None = None


@dataclass(slots=True)
class ReferringDomain:
    """One row of a referring-domains export (Ahrefs, Semrush, Search Console)."""

    domain: str
    metric_name: str | None
    metric_value: float | None
    authority: float | None
    links: int | None  # links from this domain to the site
    linking_pages: int | None
    target_pages: int | None
    first_seen: str | None
    last_seen: str | None
    lost: bool | None  # None when the export does not say
    lost_date: str | None
    vendor: str
    file: str
    line: int


@dataclass(slots=True)
class TargetPage:
    """One row of a top-target-pages export: a page of the site and its counts."""

    target_url: str
    links: int | None
    domains: int | None
    vendor: str
    file: str
    line: int


@dataclass(frozen=True)
class ExportFormat:
    """A vendor's export format, recognised by the column names of its header.

    Parameters
    ----------
    key : str
        Stable identifier, e.g. ``ahrefs-backlinks``.
    vendor, variant : str
        Who produced it and which of their layouts it is.
    label : str
        Human name used in messages.
    kind : str
        :data:`KIND_LINKS`, :data:`KIND_DOMAINS` or :data:`KIND_TARGET_PAGES`.
    required : frozenset of str
        Normalised header names that must all be present (the signature).
    columns : tuple of (field, aliases)
        For each field we read, the header names it may have, best first.
    flags : str
        How the export writes rel and lost status (see ``parsing``).
    metrics : tuple of (field, metric name)
        Authority metrics the export may carry, preferred first.
    certainty : str
        ``file`` (seen in a real export), ``parser`` (agreed by other
        importers) or ``guess``.
    closed : bool
        The header may hold no other column (for signatures too small to be
        specific on their own, such as Search Console's ``Linking page``).
    """

    key: str
    vendor: str
    variant: str
    label: str
    kind: str
    required: frozenset[str]
    columns: tuple[tuple[str, tuple[str, ...]], ...]
    flags: str = "none"
    metrics: tuple[tuple[str, str], ...] = ()
    certainty: str = "parser"
    closed: bool = False

    def aliases(self, name: str) -> tuple[str, ...]:
        """Header names accepted for field ``name`` (empty when not read)."""
        for field_name, names in self.columns:
            if field_name == name:
                return names
        return ()


@dataclass(frozen=True, slots=True)
class Reject:
    """A row kept out of the import, and why."""

    file: str
    line: int
    #: ragged | quotes | csv | source_url | source_missing | target_url |
    #: target_outside | internal | value | not_link | domain
    code: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What reading one file found: filled in as its rows are consumed."""

    file: str
    format: ExportFormat
    header: list[str]
    header_line: int
    encoding: str = ""
    delimiter: str = ""
    rows_read: int = 0
    kept: int = 0
    rejected: int = 0
    reject_counts: Counter[str] = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)
    lost: int = 0
    nofollow: int = 0
    referring_domains: set[str] = field(default_factory=set)
    target_assumed: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def rejects_not_shown(self) -> int:
        """Rejected rows counted but not kept in :attr:`rejects` (over the limit)."""
        return self.rejected - len(self.rejects)
