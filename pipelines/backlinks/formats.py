"""The export formats we know, and how a header is matched to one.

A format is recognised by its *signature*: a set of column names that must
all be in the header (compared after :func:`normalise_header`: stripped,
lower-cased, inner whitespace collapsed, a BOM dropped). When several match,
the one with the largest signature wins (the most specific). Columns are
always mapped by name, never by position.

What we know about each format, and how sure we are, is in
``docs/backlinks.md``; ``certainty`` records it per format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from pipelines.backlinks.model import (
    KIND_DOMAINS,
    KIND_LINKS,
    KIND_TARGET_PAGES,
    ExportFormat,
)

__all__ = [
    "COLUMN_FIELDS",
    "FORMATS",
    "GENERIC",
    "custom_format",
    "detect_format",
    "generic_format",
    "normalise_header",
    "parse_column_map",
]


def normalise_header(cell: str) -> str:
    """A header cell as we compare it: ``" Traffic "`` -> ``"traffic"``."""
    return " ".join(cell.replace("\ufeff", "").split()).lower()


def _fmt(  # noqa: PLR0917 - a table of formats reads best positionally
    key: str,
    vendor: str,
    variant: str,
    label: str,
    kind: str,
    required: Sequence[str],
    columns: Mapping[str, Sequence[str]],
    *,
    flags: str = "none",
    metrics: Sequence[tuple[str, str]] = (),
    certainty: str = "parser",
    closed: bool = False,
) -> ExportFormat:
    return ExportFormat(
        key=key,
        vendor=vendor,
        variant=variant,
        label=label,
        kind=kind,
        required=frozenset(required),
        columns=tuple((name, tuple(aliases)) for name, aliases in columns.items()),
        flags=flags,
        metrics=tuple(metrics),
        certainty=certainty,
        closed=closed,
    )


AHREFS_BACKLINKS = _fmt(
    "ahrefs-backlinks",
    "ahrefs",
    "current",
    "Ahrefs backlinks (current format)",
    KIND_LINKS,
    ("referring page url", "target url", "domain rating", "ur", "nofollow", "lost"),
    {
        "source": ("referring page url",),
        "target": ("target url",),
        "anchor": ("anchor",),
        "type": ("type",),
        "nofollow": ("nofollow",),
        "ugc": ("ugc",),
        "sponsored": ("sponsored",),
        "lost_date": ("lost",),
        "first_seen": ("first seen",),
        "last_seen": ("last seen",),
        "DR": ("domain rating",),
        "UR": ("ur",),
    },
    flags="bool",
    metrics=(("DR", "DR"), ("UR", "UR")),
    certainty="file",
)
AHREFS_LEGACY = _fmt(
    "ahrefs-backlinks-legacy",
    "ahrefs",
    "legacy",
    "Ahrefs backlinks (legacy format, before 2023)",
    KIND_LINKS,
    ("referring page url", "link url"),
    {
        "source": ("referring page url",),
        "target": ("link url",),
        "anchor": ("anchor text", "anchor"),
        "type": ("type", "link type"),
        "status": ("backlink status", "status"),
        "lost_date": ("day lost", "lost"),
        "first_seen": ("first seen", "first crawled"),
        "last_seen": ("last check", "last seen", "last crawled"),
        "DR": ("domain rating",),
        "UR": ("url rating", "url rating (ur)"),
    },
    flags="ahrefs_legacy",
    metrics=(("DR", "DR"), ("UR", "UR")),
)
AHREFS_DOMAINS = _fmt(
    "ahrefs-referring-domains",
    "ahrefs",
    "referring-domains",
    "Ahrefs referring domains",
    KIND_DOMAINS,
    ("domain", "dr", "dofollow ref. domains"),
    {
        "domain": ("domain",),
        "links": ("links to target",),
        "first_seen": ("first seen",),
        "lost_date": ("lost",),
        "DR": ("dr",),
    },
    metrics=(("DR", "DR"),),
)
SEMRUSH_BACKLINKS = _fmt(
    "semrush-backlinks",
    "semrush",
    "current",
    "Semrush backlinks (current format)",
    KIND_LINKS,
    ("page ascore", "source url", "target url", "nofollow", "lost link"),
    {
        "source": ("source url",),
        "target": ("target url",),
        "anchor": ("anchor",),
        "nofollow": ("nofollow",),
        "ugc": ("ugc",),
        "sponsored": ("sponsored",),
        "image": ("image",),
        "lost": ("lost link",),
        "first_seen": ("first seen",),
        "last_seen": ("last seen",),
        "AS": ("page ascore",),
    },
    flags="bool",
    metrics=(("AS", "AS"),),
    certainty="file",
)
SEMRUSH_OLDER = _fmt(
    "semrush-backlinks-older",
    "semrush",
    "older",
    "Semrush backlinks (older format: page score, no UGC/sponsored)",
    KIND_LINKS,
    ("page score", "page trust score", "source url", "target url"),
    {
        "source": ("source url",),
        "target": ("target url",),
        "anchor": ("anchor",),
        "nofollow": ("nofollow",),
        "image": ("image",),
        "lost": ("lost link",),
        "first_seen": ("first seen",),
        "last_seen": ("last seen",),
        "PS": ("page score",),
    },
    flags="bool",
    metrics=(("PS", "PS"),),
)
SEMRUSH_DOMAINS = _fmt(
    "semrush-referring-domains",
    "semrush",
    "referring-domains",
    "Semrush referring domains",
    KIND_DOMAINS,
    ("domain ascore", "domain"),
    {
        "domain": ("domain",),
        "links": ("backlinks",),
        "first_seen": ("first seen",),
        "last_seen": ("last seen",),
        "AS": ("domain ascore",),
    },
    metrics=(("AS", "AS"),),
    certainty="guess",
)
SEMRUSH_INDEXED_PAGES = _fmt(
    "semrush-indexed-pages",
    "semrush",
    "indexed-pages",
    "Semrush indexed pages (backlinks per page of the site)",
    KIND_TARGET_PAGES,
    ("source url", "response code", "backlinks", "domains"),
    {"target": ("source url",), "links": ("backlinks",), "domains": ("domains",)},
    certainty="file",
)
MOZ_INBOUND = _fmt(
    "moz-inbound-links",
    "moz",
    "open-site-explorer",
    "Moz inbound links (Open Site Explorer)",
    KIND_LINKS,
    ("url", "target url", "anchor text", "page authority", "domain authority", "link equity"),
    {
        "source": ("url",),
        "target": ("target url",),
        "anchor": ("anchor text",),
        "link_equity": ("link equity",),
        "no_link_equity": ("no link equity",),
        "only_nofollow": ("only rel=nofollow",),
        "DA": ("domain authority",),
        "PA": ("page authority",),
    },
    flags="moz",
    metrics=(("DA", "DA"), ("PA", "PA")),
)
MOZ_FOLLOWABLE = _fmt(
    "moz-inbound-links-followable",
    "moz",
    "open-site-explorer-followable",
    "Moz inbound links (older Open Site Explorer, 'Followable' column)",
    KIND_LINKS,
    ("url", "target url", "anchor text", "followable"),
    {
        "source": ("url",),
        "target": ("target url",),
        "anchor": ("anchor text",),
        "followable": ("followable",),
        "DA": ("domain authority",),
        "PA": ("page authority",),
    },
    flags="moz_followable",
    metrics=(("DA", "DA"), ("PA", "PA")),
)
MOZ_LINK_EXPLORER = _fmt(
    "moz-link-explorer",
    "moz",
    "link-explorer",
    "Moz Link Explorer inbound links",
    KIND_LINKS,
    ("source url", "target url", "domain authority", "page authority"),
    {
        "source": ("source url",),
        "target": ("target url",),
        "anchor": ("anchor text", "anchor"),
        "rel": ("link type", "rel", "link attributes"),
        "first_seen": ("first seen", "date first seen"),
        "last_seen": ("last seen", "date last seen"),
        "lost_date": ("date lost", "lost date"),
        "DA": ("domain authority",),
        "PA": ("page authority",),
    },
    flags="rel",
    metrics=(("DA", "DA"), ("PA", "PA")),
    certainty="guess",
)
MAJESTIC = _fmt(
    "majestic-backlinks",
    "majestic",
    "download",
    "Majestic download backlinks",
    KIND_LINKS,
    ("target url", "source url", "flagnofollow", "sourcetrustflow"),
    {
        "source": ("source url",),
        "target": ("target url",),
        "anchor": ("anchor text",),
        "flag_nofollow": ("flagnofollow",),
        "flag_image": ("flagimagelink",),
        "flag_deleted": ("flagdeleted",),
        "lost_date": ("datelost",),
        "first_seen": ("source first found date", "firstindexeddate"),
        "last_seen": ("source crawl date", "lastseendate"),
        "TF": ("sourcetrustflow",),
        "CF": ("sourcecitationflow",),
    },
    flags="set",
    metrics=(("TF", "TF"), ("CF", "CF")),
)
MAJESTIC_SPACED = _fmt(
    "majestic-backlinks-spaced",
    "majestic",
    "site-explorer",
    "Majestic Site Explorer backlinks (spaced column names)",
    KIND_LINKS,
    ("target url", "source url", "source trust flow"),
    {
        "source": ("source url",),
        "target": ("target url",),
        "anchor": ("anchor text",),
        "flag_nofollow": ("flag no follow", "nofollow", "no follow", "flagnofollow"),
        "flag_image": ("flag image link", "image link", "flagimagelink"),
        "flag_deleted": ("flag deleted", "deleted", "flagdeleted"),
        "lost_date": ("date lost", "link lost date"),
        "first_seen": ("link first indexed date", "first indexed date", "first seen"),
        "last_seen": ("last seen date", "last seen", "source crawl date", "last crawled date"),
        "TF": ("source trust flow",),
        "CF": ("source citation flow",),
    },
    flags="set",
    metrics=(("TF", "TF"), ("CF", "CF")),
    certainty="guess",
)
GSC_LINKS = _fmt(
    "gsc-linking-pages",
    "gsc",
    "linking-pages",
    "Google Search Console links (Latest links / More sample links)",
    KIND_LINKS,
    ("linking page",),
    {"source": ("linking page",), "last_seen": ("last crawled",)},
    certainty="file",
    closed=True,
)
GSC_TOP_SITES = _fmt(
    "gsc-top-linking-sites",
    "gsc",
    "top-linking-sites",
    "Google Search Console top linking sites",
    KIND_DOMAINS,
    ("site", "linking pages", "target pages"),
    {
        "domain": ("site",),
        "linking_pages": ("linking pages",),
        "target_pages": ("target pages",),
    },
)
GSC_TOP_TARGETS = _fmt(
    "gsc-top-target-pages",
    "gsc",
    "top-target-pages",
    "Google Search Console top target pages",
    KIND_TARGET_PAGES,
    ("target page", "incoming links", "linking sites"),
    {
        "target": ("target page",),
        "links": ("incoming links",),
        "domains": ("linking sites",),
    },
)
SCREAMING_FROG_2025 = _fmt(
    "screamingfrog-inlinks",
    "screamingfrog",
    "2020s",
    "Screaming Frog bulk export (All Inlinks / All Outlinks)",
    KIND_LINKS,
    ("type", "source", "destination", "anchor", "status code", "follow", "rel"),
    {
        "type": ("type",),
        "source": ("source",),
        "target": ("destination",),
        "anchor": ("anchor",),
        "alt": ("alt text",),
        "follow": ("follow",),
        "rel": ("rel",),
    },
    flags="screamingfrog",
    certainty="file",
)
SCREAMING_FROG_2017 = _fmt(
    "screamingfrog-inlinks-2017",
    "screamingfrog",
    "2017",
    "Screaming Frog All Inlinks (2017 layout)",
    KIND_LINKS,
    ("type", "source", "destination", "alt text", "anchor", "follow"),
    {
        "type": ("type",),
        "source": ("source",),
        "target": ("destination",),
        "anchor": ("anchor",),
        "alt": ("alt text",),
        "follow": ("follow",),
    },
    flags="screamingfrog",
    certainty="file",
)

#: Every format we recognise by its header.
FORMATS: Final = (
    AHREFS_BACKLINKS,
    AHREFS_LEGACY,
    AHREFS_DOMAINS,
    SEMRUSH_BACKLINKS,
    SEMRUSH_OLDER,
    SEMRUSH_DOMAINS,
    SEMRUSH_INDEXED_PAGES,
    MOZ_INBOUND,
    MOZ_FOLLOWABLE,
    MOZ_LINK_EXPLORER,
    MAJESTIC,
    MAJESTIC_SPACED,
    GSC_LINKS,
    GSC_TOP_SITES,
    GSC_TOP_TARGETS,
    SCREAMING_FROG_2025,
    SCREAMING_FROG_2017,
)

_GENERIC_SOURCE: Final = (
    "source url",
    "source",
    "referring page url",
    "referring page",
    "referring url",
    "linking page",
    "linking url",
    "from url",
    "from",
    "backlink url",
    "backlink",
    "url from",
    "source page",
)
_GENERIC_TARGET: Final = (
    "target url",
    "target",
    "destination url",
    "destination",
    "link url",
    "to url",
    "to",
    "url to",
    "target page",
    "landing page",
)
_GENERIC_ANCHOR: Final = ("anchor text", "anchor")
_GENERIC_OPTIONAL: Final = {
    "rel": ("rel", "link rel", "link type", "link attributes"),
    "nofollow": ("nofollow", "no follow"),
    "first_seen": ("first seen", "first found", "date found"),
    "last_seen": ("last seen", "last crawled", "last checked"),
    "lost_date": ("lost", "date lost", "lost date"),
}

#: The generic mapping: anything with recognisable source and target columns.
GENERIC: Final = _fmt(
    "generic",
    "generic",
    "generic",
    "generic export (source/target/anchor columns recognised by name)",
    KIND_LINKS,
    (),
    {
        "source": _GENERIC_SOURCE,
        "target": _GENERIC_TARGET,
        "anchor": _GENERIC_ANCHOR,
        **_GENERIC_OPTIONAL,
    },
    flags="generic",
    certainty="guess",
)

# Columns that never tell a format apart: row numbers (Ahrefs, Google Sheets), blanks.
_IGNORED_COLUMNS: Final = frozenset({"#", ""})

#: Fields a ``--columns`` map may name.
COLUMN_FIELDS: Final = ("source", "target", "anchor", "rel", "nofollow", "first_seen", "last_seen")


def detect_format(header: Sequence[str]) -> ExportFormat | None:
    """The known format whose signature the header carries, or ``None``.

    Parameters
    ----------
    header : sequence of str
        A candidate header row, as read (normalised here).

    Returns
    -------
    ExportFormat or None
        The most specific match (largest signature); the generic mapping is
        not tried here (see :func:`generic_format`).
    """
    names = {normalise_header(cell) for cell in header}
    best: ExportFormat | None = None
    for fmt in FORMATS:
        if not fmt.required <= names:
            continue
        if fmt.closed and not names - _IGNORED_COLUMNS <= {
            alias for _, aliases in fmt.columns for alias in aliases
        }:
            continue
        if best is None or len(fmt.required) > len(best.required):
            best = fmt
    return best


def generic_format(header: Sequence[str]) -> ExportFormat | None:
    """The generic mapping when the header has a source and a target column."""
    names = {normalise_header(cell) for cell in header}
    if names & set(_GENERIC_SOURCE) and names & set(_GENERIC_TARGET):
        return GENERIC
    return None


def custom_format(columns: Mapping[str, str]) -> ExportFormat:
    """A format from a user's column map (``--columns source=...,target=...``).

    Parameters
    ----------
    columns : mapping
        Field (one of :data:`COLUMN_FIELDS`) to the column's name in the header.

    Raises
    ------
    ValueError
        For an unknown field or a map without ``source``.
    """
    unknown = sorted(set(columns) - set(COLUMN_FIELDS))
    if unknown:
        raise ValueError(
            f"unknown column field(s) {', '.join(unknown)}: use {', '.join(COLUMN_FIELDS)}"
        )
    if "source" not in columns:
        raise ValueError("a column map needs at least source=<column name>")
    mapped = {name: (normalise_header(header),) for name, header in columns.items()}
    return _fmt(
        "custom",
        "custom",
        "column-map",
        "column map given by the user",
        KIND_LINKS,
        tuple(aliases[0] for aliases in mapped.values()),
        mapped,
        flags="generic",
        certainty="user",
    )


def parse_column_map(text: str) -> dict[str, str]:
    """Read ``source=Backlink URL,target=Page,anchor=Text`` into a column map.

    Raises
    ------
    ValueError
        For a part without ``=``, an empty name, an unknown field or no ``source``.
    """
    columns: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        field_name, sep, header = part.partition("=")
        field_name, header = field_name.strip().lower(), header.strip()
        if not sep or not field_name or not header:
            raise ValueError(f"bad column map part {part.strip()!r}: write field=column name")
        columns[field_name] = header
    custom_format(columns)  # validates the fields
    return columns
