"""Settings of the equity model, parsed and checked once.

:class:`EquityConfig` is the single place where ``EQUITY_*`` settings are read.
It accepts a Scrapy ``Settings`` object or any plain mapping (it only calls
``.get``), so the model, the tests and the benchmarks build it without Scrapy.
Values given on the command line (``-s EQUITY_DAMPING=0.9``) arrive as strings
and are parsed here; anything malformed raises :class:`ConfigError` with a
one-line message that names the setting.

See ``docs/equity.md`` for what each setting changes in the model.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from pipelines.storedb import POSITIONS

__all__ = [
    "POSITION_WEIGHT_PRESETS",
    "ConfigError",
    "EquityConfig",
    "SettingsLike",
]

#: Named position-weight presets (``EQUITY_POSITION_WEIGHTS``), in the order of
#: :data:`pipelines.storedb.POSITIONS`.
POSITION_WEIGHT_PRESETS: Final[dict[str, dict[str, float]]] = {
    # The reasonable-surfer idea: a link in the body is far more likely to be
    # followed (and is weighted more by search engines) than a footer link.
    "reasonable": {
        "content": 1.0,
        "nav": 0.4,
        "header": 0.4,
        "footer": 0.2,
        "aside": 0.5,
        "breadcrumb": 0.6,
    },
    # Classic PageRank: every link counts the same.
    "uniform": {name: 1.0 for name in POSITIONS},
}


class ConfigError(ValueError):
    """A setting has a value the model cannot use (the message names it)."""


class SettingsLike(Protocol):
    """What :meth:`EquityConfig.from_settings` needs: Scrapy ``Settings`` or a dict."""

    def get(self, name: str, default: Any = None) -> Any:  # pragma: no cover - protocol
        ...


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(name: str, value: Any, *, low: float, high: float, closed: bool = True) -> float:
    """Parse a float within ``[low, high]`` (or ``(low, high)`` when not ``closed``)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    inside = low <= number <= high if closed else low < number < high
    if not inside or math.isnan(number):
        bounds = f"[{low:g}, {high:g}]" if closed else f"({low:g}, {high:g})"
        raise ConfigError(f"{name} must be in {bounds}, got {value!r}")
    return number


def _integer(name: str, value: Any, *, low: int, high: int) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value!r}")
    return number


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _json_if_text(name: str, value: Any) -> Any:
    """Decode a JSON object/array given as text on the command line."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            message = f"{name} is not valid JSON: {exc.msg} at column {exc.colno}"
            raise ConfigError(message) from None
    return value


def _position_weights(value: Any) -> tuple[str, tuple[float, ...]]:
    name = "EQUITY_POSITION_WEIGHTS"
    value = _json_if_text(name, value)
    if isinstance(value, str):
        preset = value.strip().lower()
        if preset not in POSITION_WEIGHT_PRESETS:
            choices = ", ".join(sorted(POSITION_WEIGHT_PRESETS))
            raise ConfigError(f"{name} must be one of {choices} or a mapping, got {value!r}")
        weights = POSITION_WEIGHT_PRESETS[preset]
        return preset, tuple(weights[p] for p in POSITIONS)
    if isinstance(value, Mapping):
        unknown = sorted(set(map(str, value)) - set(POSITIONS))
        if unknown:
            raise ConfigError(
                f"{name} has unknown position(s) {', '.join(unknown)}; "
                f"positions are {', '.join(POSITIONS)}"
            )
        # A partial mapping overrides the reasonable preset position by position.
        merged = dict(POSITION_WEIGHT_PRESETS["reasonable"])
        for position, weight in value.items():
            merged[str(position)] = _number(f"{name}[{position}]", weight, low=0.0, high=1e6)
        if not any(w > 0 for w in merged.values()):
            raise ConfigError(f"{name} gives every position a weight of 0")
        return "custom", tuple(merged[p] for p in POSITIONS)
    raise ConfigError(f"{name} must be 'reasonable', 'uniform' or a mapping, got {value!r}")


def _sections(value: Any) -> tuple[int, tuple[tuple[str, str], ...]]:
    """``EQUITY_SECTIONS``: a path depth, or ordered ``name -> regex`` groups."""
    name = "EQUITY_SECTIONS"
    value = _json_if_text(name, value)
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return _integer(name, value, low=0, high=20), ()
    pairs: list[tuple[str, str]]
    if isinstance(value, Mapping):
        pairs = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, Sequence):
        pairs = []
        for item in value:
            if not (isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2):
                raise ConfigError(f"{name} groups must be [name, regex] pairs, got {item!r}")
            pairs.append((str(item[0]), item[1]))
    else:
        raise ConfigError(f"{name} must be a path depth or name -> regex groups, got {value!r}")
    if not pairs:
        raise ConfigError(f"{name} has no groups")
    groups: list[tuple[str, str]] = []
    for group, pattern in pairs:
        if not isinstance(pattern, str):
            raise ConfigError(f"{name}[{group}] must be a regular expression, got {pattern!r}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{name}[{group}] is not a valid regex: {exc}") from None
        groups.append((group, pattern))
    return 1, tuple(groups)


def _priority(value: Any) -> tuple[str | None, tuple[str, ...]]:
    """``EQUITY_PRIORITY``: a file of URLs/patterns, or the patterns themselves."""
    name = "EQUITY_PRIORITY"
    if _is_blank(value):
        return None, ()
    value = _json_if_text(name, value)
    if isinstance(value, (str, Path)):
        return str(value), ()
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return None, tuple(v for v in value if v.strip())
    raise ConfigError(f"{name} must be a file path or a list of URLs/patterns, got {value!r}")


@dataclass(frozen=True)
class EquityConfig:
    """Validated settings of the equity model.

    Build it with :meth:`from_settings`; the defaults below are the documented
    defaults of the ``EQUITY_*`` settings.

    Attributes
    ----------
    damping : float
        ``EQUITY_DAMPING``: the share of a page's equity its links pass on (d).
    weights_name : str
        ``reasonable``, ``uniform`` or ``custom``.
    position_weights : tuple of float
        ``EQUITY_POSITION_WEIGHTS``, one weight per position in
        :data:`pipelines.storedb.POSITIONS` order.
    backlink_mix : float
        ``EQUITY_BACKLINK_MIX`` (beta): the part of the source vector that comes
        from backlinks when the run has any; the rest is spread evenly.
    authority : str
        ``EQUITY_AUTHORITY``: ``metric`` weighs each referring domain by its
        vendor metric scaled to [0, 1]; ``count`` gives every domain one vote.
    unknown_authority : float or None
        ``EQUITY_UNKNOWN_AUTHORITY``: the authority of a referring domain whose
        exports carry no metric; ``None`` (the setting ``median``) uses the
        median of the known ones, or 0.5 when none is known.
    tolerance : float
        ``EQUITY_TOLERANCE``: absolute L1 bound on the error of the equity
        vector (and max-norm bound for reverse solves).
    max_iterations : int
        ``EQUITY_MAX_ITERATIONS``: safety cap on solver iterations.
    section_depth : int
        ``EQUITY_SECTIONS`` given as a number: sections are path prefixes of
        that many directory segments (0: one section per host).
    section_groups : tuple of (str, str)
        ``EQUITY_SECTIONS`` given as groups: ``(name, regex)`` pairs, first match
        wins, unmatched pages go to ``(other)``.
    max_sections : int
        ``EQUITY_MAX_SECTIONS``: path-prefix sections beyond this many (by held
        equity) are merged into ``(other)``.
    priority_file : str or None
        ``EQUITY_PRIORITY`` given as a path (also ``-a priority=FILE``).
    priority_patterns : tuple of str
        ``EQUITY_PRIORITY`` given as a list of URLs/patterns.
    priority_guess : bool
        ``EQUITY_PRIORITY_GUESS``: suggest priority pages when none are given.
    priority_limit : int
        ``EQUITY_PRIORITY_LIMIT``: at most this many priority targets get
        attribution and routes (each costs one reverse solve).
    routes : int
        ``EQUITY_ROUTES``: landing pages per priority target to trace routes from.
    whatif_rtol : float
        ``EQUITY_WHATIF_RTOL``: a what-if stops when the L1 error of its deltas
        is provably below ``max(tolerance, whatif_rtol * |c|_1)``, ``c`` being
        the first effect of the change (see ``docs/equity.md``).
    """

    damping: float = 0.85
    weights_name: str = "reasonable"
    position_weights: tuple[float, ...] = tuple(
        POSITION_WEIGHT_PRESETS["reasonable"][p] for p in POSITIONS
    )
    backlink_mix: float = 0.85
    authority: str = "metric"
    unknown_authority: float | None = None
    tolerance: float = 1e-10
    max_iterations: int = 10_000
    section_depth: int = 1
    section_groups: tuple[tuple[str, str], ...] = ()
    max_sections: int = 50
    priority_file: str | None = None
    priority_patterns: tuple[str, ...] = ()
    priority_guess: bool = True
    priority_limit: int = 20
    routes: int = 5
    whatif_rtol: float = 1e-4

    def __post_init__(self) -> None:
        # Cross-checks that hold however the object was built.
        if len(self.position_weights) != len(POSITIONS):
            raise ConfigError(f"position_weights needs {len(POSITIONS)} values")
        if not 0.0 < self.damping < 1.0:
            raise ConfigError(f"EQUITY_DAMPING must be in (0, 1), got {self.damping!r}")
        if min(self.position_weights) < 0 or max(self.position_weights) <= 0:
            raise ConfigError("EQUITY_POSITION_WEIGHTS must be >= 0 with at least one > 0")
        if not 0.0 <= self.backlink_mix <= 1.0:
            raise ConfigError(f"EQUITY_BACKLINK_MIX must be in [0, 1], got {self.backlink_mix!r}")
        if not self.tolerance > 0:
            raise ConfigError(f"EQUITY_TOLERANCE must be > 0, got {self.tolerance!r}")
        if self.authority not in ("metric", "count"):
            raise ConfigError(f"EQUITY_AUTHORITY must be metric or count, got {self.authority!r}")

    @classmethod
    def from_settings(cls, settings: SettingsLike | Mapping[str, Any]) -> EquityConfig:
        """Parse and validate the ``EQUITY_*`` settings.

        Parameters
        ----------
        settings : scrapy.settings.Settings or mapping
            Anything with ``.get(name, default)``; strings are parsed (command
            line values), missing or blank settings take their defaults.

        Returns
        -------
        EquityConfig

        Raises
        ------
        ConfigError
            A value is malformed or out of range (the message names the setting).
        """

        def get(name: str) -> Any:
            value = settings.get(name)
            return None if _is_blank(value) else value

        kwargs: dict[str, Any] = {}
        if (value := get("EQUITY_DAMPING")) is not None:
            kwargs["damping"] = _number("EQUITY_DAMPING", value, low=0.0, high=1.0, closed=False)
        if (value := get("EQUITY_POSITION_WEIGHTS")) is not None:
            kwargs["weights_name"], kwargs["position_weights"] = _position_weights(value)
        if (value := get("EQUITY_BACKLINK_MIX")) is not None:
            kwargs["backlink_mix"] = _number("EQUITY_BACKLINK_MIX", value, low=0.0, high=1.0)
        if (value := get("EQUITY_AUTHORITY")) is not None:
            authority = str(value).strip().lower()
            if authority not in ("metric", "count"):
                raise ConfigError(f"EQUITY_AUTHORITY must be metric or count, got {value!r}")
            kwargs["authority"] = authority
        if (value := get("EQUITY_UNKNOWN_AUTHORITY")) is not None:
            if isinstance(value, str) and value.strip().lower() == "median":
                kwargs["unknown_authority"] = None
            else:
                kwargs["unknown_authority"] = _number(
                    "EQUITY_UNKNOWN_AUTHORITY", value, low=0.0, high=1.0
                )
        if (value := get("EQUITY_TOLERANCE")) is not None:
            kwargs["tolerance"] = _number("EQUITY_TOLERANCE", value, low=1e-15, high=1e-2)
        if (value := get("EQUITY_MAX_ITERATIONS")) is not None:
            kwargs["max_iterations"] = _integer(
                "EQUITY_MAX_ITERATIONS", value, low=1, high=10_000_000
            )
        if (value := get("EQUITY_SECTIONS")) is not None:
            kwargs["section_depth"], kwargs["section_groups"] = _sections(value)
        if (value := get("EQUITY_MAX_SECTIONS")) is not None:
            kwargs["max_sections"] = _integer("EQUITY_MAX_SECTIONS", value, low=2, high=100_000)
        if (value := get("EQUITY_PRIORITY")) is not None:
            kwargs["priority_file"], kwargs["priority_patterns"] = _priority(value)
        if (value := get("EQUITY_PRIORITY_GUESS")) is not None:
            kwargs["priority_guess"] = _boolean("EQUITY_PRIORITY_GUESS", value)
        if (value := get("EQUITY_PRIORITY_LIMIT")) is not None:
            kwargs["priority_limit"] = _integer("EQUITY_PRIORITY_LIMIT", value, low=0, high=10_000)
        if (value := get("EQUITY_ROUTES")) is not None:
            kwargs["routes"] = _integer("EQUITY_ROUTES", value, low=0, high=1000)
        if (value := get("EQUITY_WHATIF_RTOL")) is not None:
            kwargs["whatif_rtol"] = _number("EQUITY_WHATIF_RTOL", value, low=0.0, high=0.1)
        return cls(**kwargs)

    def weight_of(self, position: str) -> float:
        """The weight of a link position by name (``content``, ``nav``, ...)."""
        try:
            return self.position_weights[POSITIONS.index(position)]
        except ValueError:
            raise ConfigError(
                f"unknown link position {position!r}; positions are {', '.join(POSITIONS)}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly values, e.g. to record the settings used with a run."""
        data = asdict(self)
        data["position_weights"] = dict(zip(POSITIONS, self.position_weights, strict=True))
        data["section_groups"] = [list(pair) for pair in self.section_groups]
        data["priority_patterns"] = list(self.priority_patterns)
        return data
