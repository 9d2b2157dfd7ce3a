"""Settings of the gap analysis and the link recommendations (``GAPS_*``).

:class:`GapsConfig` is the one place where ``GAPS_*`` settings are read. It
accepts Scrapy ``Settings`` or any mapping (it only calls ``.get``); values from
the command line arrive as strings and are parsed here. A malformed value
raises :class:`reports.config.ConfigError` with one line naming the setting, the
same error the equity model's settings raise.

What each setting changes is in ``docs/gaps.md``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal

from reports.config import ConfigError, SettingsLike

__all__ = ["DEFAULT_VAGUE_ANCHORS", "GapsConfig", "Severity", "normalise_anchor"]

Severity = Literal["high", "medium", "low"]

#: Anchors that say nothing about their target, in English, French, German,
#: Spanish and Dutch (compared after :func:`normalise_anchor`).
DEFAULT_VAGUE_ANCHORS: Final[tuple[str, ...]] = (
    # English
    "click here", "click", "here", "read more", "more", "learn more", "this", "link",
    "this page", "this link", "more info", "more information", "find out more", "see more",
    "continue reading", "details", "go", "website", "view more", "see here",
    # French
    "cliquez ici", "cliquer ici", "ici", "lire la suite", "en savoir plus", "plus",
    "voir plus", "lien", "ce lien", "suite",
    # German
    "hier klicken", "hier", "klicken sie hier", "mehr", "weiterlesen", "mehr erfahren",
    "mehr lesen", "mehr infos", "dieser link", "link hier",
    # Spanish
    "haga clic aquí", "haz clic aquí", "clic aquí", "aquí", "leer más", "más",
    "más información", "saber más", "ver más", "este enlace", "enlace",
    # Dutch
    "klik hier", "lees meer", "meer", "meer lezen", "meer informatie", "meer info",
    "hier klikken", "deze link", "lees verder", "bekijk meer",
)  # fmt: skip

# Characters stripped from both ends of an anchor before comparing it: arrows,
# ellipses, quotes and the punctuation sites put around "read more".
_ANCHOR_TRIM: Final = " \t\n.,;:!?…»«›‹>→<←-–—()[]{}\"'“”‘’*·|/+"


def normalise_anchor(text: str | None) -> str:
    """An anchor as it is compared: case-folded, spaces collapsed, decorations trimmed.

    ``"Read more »"`` and ``"READ  MORE…"`` both give ``"read more"``.
    """
    if not text:
        return ""
    return " ".join(text.casefold().split()).strip(_ANCHOR_TRIM).strip()


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _count(low: int, high: int) -> Callable[[str, Any], int]:
    def parse(name: str, value: Any) -> int:
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(str(value).strip()) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
        if not low <= number <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value!r}")
        return number

    return parse


def _fraction(low: float, high: float) -> Callable[[str, Any], float]:
    def parse(name: str, value: Any) -> float:
        try:
            if isinstance(value, bool):
                raise TypeError
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
        if math.isnan(number) or not low <= number <= high:
            raise ConfigError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
        return number

    return parse


def _anchors(name: str, value: Any) -> tuple[str, ...]:
    """A list of anchors: a JSON array, a comma-separated string, or a sequence."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{name} is not valid JSON: {exc.msg}") from None
        else:
            value = text.split(",")
    if isinstance(value, Mapping) or not hasattr(value, "__iter__"):
        raise ConfigError(f"{name} must be a list of anchors, got {value!r}")
    anchors = []
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(f"{name} must hold text anchors, got {item!r}")
        if normalised := normalise_anchor(item):
            anchors.append(normalised)
    return tuple(dict.fromkeys(anchors))


@dataclass(frozen=True)
class GapsConfig:
    """Validated ``GAPS_*`` settings (defaults are the documented defaults).

    Attributes
    ----------
    depth_threshold : int
        ``GAPS_DEPTH_THRESHOLD``: a priority page deeper than this many clicks
        is *buried*.
    starved_percentile : float
        ``GAPS_STARVED_PERCENTILE``: a priority page whose equity or unique
        internal inlinks fall in this bottom fraction of all pages is *starved*.
    stranded_ratio : float
        ``GAPS_STRANDED_RATIO``: a landing page is *stranded* when the part of
        the authority entering it that reaches priority pages is below this
        ratio times the average page's part (the mean over pages that are not
        priority pages).
    landing_min_share : float
        ``GAPS_LANDING_MIN_SHARE``: the share of all backlink authority a page
        must receive to count as a landing page.
    pooling_share : float
        ``GAPS_POOLING_SHARE``: a page receiving at least this share of all
        backlink authority is a pooling hub.
    pooling_hubs : int
        ``GAPS_POOLING_HUBS``: at most this many pooling pages are reported.
    high_share, medium_share : float
        ``GAPS_HIGH_SHARE``, ``GAPS_MEDIUM_SHARE``: a leak or loss of at least
        this share of all authority is high / medium severity.
    top_leakers : int
        ``GAPS_TOP_LEAKERS``: pages reported for their external links.
    vague_anchors : tuple of str
        ``GAPS_VAGUE_ANCHORS`` (replaces the default list) plus
        ``GAPS_VAGUE_ANCHORS_EXTRA`` (added to it), normalised.
    max_findings : int
        ``GAPS_MAX_FINDINGS``: findings kept per kind (the most severe; the
        report says how many exist).
    finding_pages : int
        ``GAPS_FINDING_PAGES``: pages listed in one finding.
    links : int
        ``GAPS_LINKS``: K, the size of the recommended set of links.
    candidates : int
        ``GAPS_CANDIDATES``: candidate sources per priority page whose gain is
        confirmed with an exact what-if.
    targets : int
        ``GAPS_TARGETS``: priority pages links are recommended for.
    links_per_target, links_per_source : int
        ``GAPS_LINKS_PER_TARGET``, ``GAPS_LINKS_PER_SOURCE``: caps within the set.
    max_outlinks : int
        ``GAPS_MAX_OUTLINKS``: pages with more links than this are not asked
        to carry another one.
    min_relevance : float
        ``GAPS_MIN_RELEVANCE``: topical relevance (cosine, 0-1) below which a
        source is never recommended.
    relevance_weight : float
        ``GAPS_RELEVANCE_WEIGHT``: exponent of relevance in the ranking score
        ``gain * relevance ** weight`` (0 ranks by gain alone).
    redirects : int
        ``GAPS_REDIRECTS``: lost-equity URLs whose redirect is simulated.
    """

    depth_threshold: int = 3
    starved_percentile: float = 0.25
    stranded_ratio: float = 1.0
    landing_min_share: float = 0.01
    pooling_share: float = 0.2
    pooling_hubs: int = 5
    high_share: float = 0.01
    medium_share: float = 0.001
    top_leakers: int = 10
    vague_anchors: tuple[str, ...] = DEFAULT_VAGUE_ANCHORS
    max_findings: int = 500
    finding_pages: int = 200
    links: int = 20
    candidates: int = 5
    targets: int = 20
    links_per_target: int = 3
    links_per_source: int = 2
    max_outlinks: int = 150
    min_relevance: float = 0.05
    relevance_weight: float = 1.0
    redirects: int = 50
    _vague_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.medium_share > self.high_share:
            raise ConfigError(
                f"GAPS_MEDIUM_SHARE ({self.medium_share:g}) must not exceed "
                f"GAPS_HIGH_SHARE ({self.high_share:g})"
            )
        # Normalise however the object was built, so lookups compare like with like.
        normalised = tuple(dict.fromkeys(normalise_anchor(a) for a in self.vague_anchors))
        object.__setattr__(self, "vague_anchors", tuple(a for a in normalised if a))
        object.__setattr__(self, "_vague_set", frozenset(self.vague_anchors))

    @classmethod
    def from_settings(cls, settings: SettingsLike | Mapping[str, Any]) -> GapsConfig:
        """Parse and validate the ``GAPS_*`` settings.

        Parameters
        ----------
        settings : scrapy.settings.Settings or mapping
            Missing or blank settings take their defaults.

        Returns
        -------
        GapsConfig

        Raises
        ------
        ConfigError
            A value is malformed or out of range (the message names the setting).
        """
        kwargs: dict[str, Any] = {}
        for item in fields(cls):
            parser = _PARSERS.get(item.name) if item.init else None
            if parser is None:
                continue
            name = "GAPS_" + item.name.upper()
            value = settings.get(name)
            if not _is_blank(value):
                kwargs[item.name] = parser(name, value)
        extra = settings.get("GAPS_VAGUE_ANCHORS_EXTRA")
        if not _is_blank(extra):
            base = kwargs.get("vague_anchors", DEFAULT_VAGUE_ANCHORS)
            kwargs["vague_anchors"] = (*base, *_anchors("GAPS_VAGUE_ANCHORS_EXTRA", extra))
        return cls(**kwargs)

    def is_vague(self, anchor: str | None) -> bool:
        """Whether an anchor (as written) is vague; an empty anchor is not (see image links)."""
        return normalise_anchor(anchor) in self._vague_set

    def severity(self, share: float) -> Severity:
        """``high``/``medium``/``low`` for an amount of authority at stake."""
        if share >= self.high_share:
            return "high"
        if share >= self.medium_share:
            return "medium"
        return "low"


_PARSERS: Final[dict[str, Callable[[str, Any], Any]]] = {
    "depth_threshold": _count(0, 1000),
    "starved_percentile": _fraction(0.0, 1.0),
    "stranded_ratio": _fraction(0.0, 1.0),
    "landing_min_share": _fraction(0.0, 1.0),
    "pooling_share": _fraction(0.0, 1.0),
    "pooling_hubs": _count(0, 1000),
    "high_share": _fraction(0.0, 1.0),
    "medium_share": _fraction(0.0, 1.0),
    "top_leakers": _count(0, 100_000),
    "vague_anchors": _anchors,
    "max_findings": _count(1, 10_000_000),
    "finding_pages": _count(1, 10_000_000),
    "links": _count(0, 10_000),
    "candidates": _count(1, 1000),
    "targets": _count(0, 10_000),
    "links_per_target": _count(1, 10_000),
    "links_per_source": _count(1, 10_000),
    "max_outlinks": _count(1, 1_000_000),
    "min_relevance": _fraction(0.0, 1.0),
    "relevance_weight": _fraction(0.0, 10.0),
    "redirects": _count(0, 100_000),
}
