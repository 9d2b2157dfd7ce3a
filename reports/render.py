"""Render a :class:`~reports.view.ReportView` to one self-contained HTML page.

One jinja2 :class:`~jinja2.Environment` with ``autoescape=True`` and a
``PackageLoader`` (templates, CSS and JS are package data, so they ship in the
Scrapyd egg). Safety rules the templates follow, checked by
``tests/unit/test_report_safety.py``:

* every value from the view is escaped (no ``|safe`` on data);
* links are only made for http(s) URLs (the ``http_url`` test) and carry
  ``rel="noopener noreferrer nofollow"``; other URLs are shown as text;
* the page carries a Content-Security-Policy that forbids every fetch
  (``default-src 'none'``) and allows only the report's own inline style and
  script, by their SHA-256 hashes: a hash works from ``file://`` (a nonce
  would need a server to vary it), and no injected script or handler can run;
* no inline event handlers, no ``style`` attributes (the policy would block
  them), nothing loaded from elsewhere: no CDN, no web font, no image.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from reports.charts import (
    HBarLayout,
    HistogramLayout,
    SankeyLayout,
    hbar_layout,
    histogram_layout,
    sankey_layout,
)
from reports.view import Distribution, Fact, ReportView

__all__ = [
    "Assets",
    "content_security_policy",
    "environment",
    "format_share",
    "is_http_url",
    "load_assets",
    "render",
]

#: Export files the report may link to (relative links into ``data/``).
EXPORT_FILES = frozenset(
    {
        "pages.csv",
        "links.csv",
        "backlinks.csv",
        "findings.json",
        "recommendations.csv",
        "flows.csv",
        "summary.json",
    }
)


# -- filters and tests --------------------------------------------------------------


def is_http_url(value: object) -> bool:
    """Whether ``value`` may become a link: an absolute http(s) URL with a host.

    Anything with whitespace or control characters is refused too: browsers
    drop such characters from URLs, which is how ``java\\tscript:`` sneaks past
    naive checks (normalised URLs never contain them).
    """
    if not isinstance(value, str) or not value:
        return False
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


def format_share(value: float | None, *, signed: bool = False) -> str:
    """A share (0-1) as a percentage with enough digits to tell small ones apart.

    ``0.2345 -> "23.5%"``, ``0.012 -> "1.2%"``, ``0.00042 -> "0.042%"``; with
    ``signed``, a leading ``+`` for gains.
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    percent = value * 100
    magnitude = abs(percent)
    if magnitude == 0:
        text = "0%"
    elif magnitude >= 10:
        text = f"{percent:.1f}%"
    elif magnitude >= 1:
        text = f"{percent:.2f}%"
    else:
        # Two significant digits, however small.
        digits = min(8, 1 - math.floor(math.log10(magnitude)))
        text = f"{percent:.{digits}f}%"
    if signed and value > 0:
        text = "+" + text
    return text.replace("-", "−")


def _points(value: float | None) -> str:
    """A change in share as percentage points, signed: ``+0.42 pts``."""
    if value is None:
        return "–"
    return format_share(value, signed=True).replace("%", " pts")


def _num(value: int | float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _probability(value: float | None) -> str:
    return format_share(value)


def _fact(fact: Fact) -> str:
    value = fact.value
    if isinstance(value, str):
        return value
    if fact.unit == "share":
        return format_share(value)
    if fact.unit == "probability":
        return _probability(value)
    if fact.unit == "score":
        return _score(value)
    return _num(value)


def _datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%-d %b %Y, %H:%M UTC")


def _iso(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _short_url(url: str, site: str = "") -> str:
    """The path (and query) when ``url`` is on the report's site, else the URL without scheme."""
    try:
        parts = urlsplit(url)
        site_host = urlsplit(site).hostname if site else None
    except ValueError:
        return url
    if parts.hostname and parts.hostname == site_host:
        text = parts.path or "/"
        return text + ("?" + parts.query if parts.query else "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return url.split("://", 1)[1]
    return url


_ID_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def _anchor_id(value: str) -> str:
    """An element id built from a finding or recommendation id (letters, digits, dashes)."""
    slug = _ID_UNSAFE.sub("-", str(value).lower()).strip("-")
    return "x-" + (slug or "item")


def _ratio(value: float | None, maximum: float | None) -> float:
    """``value / maximum`` as 0-100, for bar lengths."""
    if not value or not maximum or maximum <= 0:
        return 0.0
    return round(max(0.0, min(100.0, 100.0 * value / maximum)), 1)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    word = singular if count == 1 else (plural or singular + "s")
    return f"{_num(count)} {word}"


def _export(name: str) -> str:
    """The relative link to an export; refuses names outside the export contract."""
    if name not in EXPORT_FILES:
        raise ValueError(f"{name!r} is not one of the report's exports")
    return "data/" + name


# -- assets and policy ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assets:
    """The report's own CSS and JS (package data, trusted) and their CSP hashes."""

    css: Markup
    js: Markup
    css_hash: str
    js_hash: str


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


@cache
def load_assets() -> Assets:
    """Read ``reports/static/report.css`` and ``report.js`` and hash them for the CSP.

    They are our own package files, not data: marking them as markup is what
    lets them be inlined verbatim (escaping would break the CSS and JS), and
    the check below makes sure neither can close its element early.
    """
    static = resources.files("reports").joinpath("static")
    css = static.joinpath("report.css").read_text(encoding="utf-8")
    js = static.joinpath("report.js").read_text(encoding="utf-8")
    for name, text, closing in (("report.css", css, "</style"), ("report.js", js, "</script")):
        if closing in text.lower() or "<!--" in text:
            raise RuntimeError(f"reports/static/{name} must not contain {closing!r} or '<!--'")
    return Assets(Markup(css), Markup(js), _sha256(css), _sha256(js))


def content_security_policy(assets: Assets) -> str:
    """The page's policy: nothing fetched, only our own inline style and script run.

    ``default-src 'none'`` covers every fetch directive (connect, img, font,
    frame, media, object...). ``frame-ancestors`` is left out on purpose:
    browsers ignore it in a ``<meta>`` and log a console error.
    """
    return "; ".join(
        [
            "default-src 'none'",
            f"style-src '{assets.css_hash}'",
            f"script-src '{assets.js_hash}'",
            "base-uri 'none'",
            "form-action 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )


# -- environment --------------------------------------------------------------------


@cache
def environment() -> Environment:
    """The one jinja2 environment of the report (built once, reused)."""
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        share=format_share,
        points=_points,
        num=_num,
        score=_score,
        probability=_probability,
        fact=_fact,
        datetime=_datetime,
        iso=_iso,
        duration=_duration,
        short_url=_short_url,
        anchor_id=_anchor_id,
        ratio=_ratio,
        plural=_plural,
        export=_export,
    )
    env.tests["http_url"] = is_http_url
    return env


# -- render ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Charts:
    sankey: SankeyLayout
    leaks: HBarLayout
    histograms: list[tuple[Distribution, HistogramLayout]]


def _charts(view: ReportView) -> _Charts:
    leaks = hbar_layout(
        [("leak", row.kind.replace("_", " "), row.share) for row in view.budget.leaks],
        width=460,
        label_width=96,
        value_width=64,
    )
    histograms = [(dist, histogram_layout(dist.bins)) for dist in view.pages.distributions]
    return _Charts(sankey_layout(view.budget.sankey), leaks, histograms)


def render(view: ReportView) -> str:
    """Render the report to HTML.

    Parameters
    ----------
    view : ReportView
        The whole report's content.

    Returns
    -------
    str
        One HTML document with its CSS and JS inlined; it fetches nothing.
    """
    assets = load_assets()
    template = environment().get_template("report.html.j2")
    context: dict[str, Any] = {
        "view": view,
        "charts": _charts(view),
        "assets": assets,
        "csp": content_security_policy(assets),
        "max_page_equity": max((row.equity for row in view.pages.rows), default=0.0),
        "max_priority_equity": max((p.equity for p in view.priority.pages), default=0.0),
        "page_flags": sorted({flag for row in view.pages.rows for flag in row.flags}),
    }
    return template.render(context)
