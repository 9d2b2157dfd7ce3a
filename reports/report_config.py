"""The report's settings (``REPORT_*``), parsed once into a frozen dataclass.

Pure: it reads any object with a ``get(name, default)`` method (Scrapy's
``Settings``, or a plain ``dict`` in tests), so the report can be configured
without importing Scrapy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

__all__ = ["ReportConfig", "ReportConfigError"]


class ReportConfigError(ValueError):
    """A ``REPORT_*`` setting has a value the report cannot use."""


class _SettingsLike(Protocol):
    def get(self, name: str, default: Any = None) -> Any: ...


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ReportConfigError(f"{name} must be true or false, got {value!r}")


def _as_count(name: str, value: Any, minimum: int) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ReportConfigError(f"{name} must be a whole number, got {value!r}") from None
    if isinstance(value, bool) or number < minimum:
        raise ReportConfigError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return number


@dataclass(frozen=True, slots=True)
class ReportConfig:
    """How the report is produced and how much of each table the HTML shows.

    The exports under ``data/`` always hold everything; these limits only
    keep the HTML light (a 100,000-page site stays under 5 MB).

    Attributes
    ----------
    enabled : bool
        ``REPORT_ENABLED``: write the report when a crawl ends (default on).
    dirname : str
        ``REPORT_DIR``: the report's folder inside the run folder (``report``).
    top_pages : int
        ``REPORT_TOP_PAGES``: rows of the pages table (500).
    top_rows : int
        ``REPORT_TOP_ROWS``: rows of the other tables: sections, backlink
        anchors, lost backlinks, landing pages, recommendations (50).
    findings_per_kind : int
        ``REPORT_FINDINGS_PER_KIND``: findings shown per kind, most severe first (20).
    finding_pages : int
        ``REPORT_FINDING_PAGES``: pages listed under one finding (10).
    sankey_nodes : int
        ``REPORT_SANKEY_NODES``: nodes per column of the budget diagram before
        the smallest merge into "other" (10).
    routes : int
        ``REPORT_ROUTES``: routes shown per priority page (3).
    contributors : int
        ``REPORT_CONTRIBUTORS``: contributing landing pages per priority page (5).
    top_fixes : int
        ``REPORT_TOP_FIXES``: fixes in the summary (3).
    profile_anchors : int
        ``REPORT_PROFILE_ANCHORS``: anchors shown on each side (internal,
        backlinks) of a priority page's anchor profile (10).
    """

    enabled: bool = True
    dirname: str = "report"
    top_pages: int = 500
    top_rows: int = 50
    findings_per_kind: int = 20
    finding_pages: int = 10
    sankey_nodes: int = 10
    routes: int = 3
    contributors: int = 5
    top_fixes: int = 3
    profile_anchors: int = 10

    @classmethod
    def from_settings(cls, settings: _SettingsLike) -> ReportConfig:
        """Parse and check the ``REPORT_*`` settings.

        Parameters
        ----------
        settings : Settings-like
            Anything with ``get(name, default)``; missing settings take the defaults.

        Returns
        -------
        ReportConfig

        Raises
        ------
        ReportConfigError
            A value of the wrong type or out of range, named in the message.
        """
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = _SETTING_NAMES[item.name]
            raw = settings.get(name, None)
            if raw is None:
                continue
            if item.name == "enabled":
                values[item.name] = _as_bool(name, raw)
            elif item.name == "dirname":
                text = str(raw).strip()
                if not text or "/" in text or "\\" in text or text in {".", ".."}:
                    raise ReportConfigError(f"{name} must be a plain folder name, got {raw!r}")
                values[item.name] = text
            else:
                minimum = 2 if item.name == "sankey_nodes" else 0
                values[item.name] = _as_count(name, raw, minimum)
        return cls(**values)


_SETTING_NAMES = {
    "enabled": "REPORT_ENABLED",
    "dirname": "REPORT_DIR",
    "top_pages": "REPORT_TOP_PAGES",
    "top_rows": "REPORT_TOP_ROWS",
    "findings_per_kind": "REPORT_FINDINGS_PER_KIND",
    "finding_pages": "REPORT_FINDING_PAGES",
    "sankey_nodes": "REPORT_SANKEY_NODES",
    "routes": "REPORT_ROUTES",
    "contributors": "REPORT_CONTRIBUTORS",
    "top_fixes": "REPORT_TOP_FIXES",
    "profile_anchors": "REPORT_PROFILE_ANCHORS",
}
