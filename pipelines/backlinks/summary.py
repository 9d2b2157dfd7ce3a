"""Plain-text lines that say what an import did (for ``scrapy backlinks`` and the crawl log).

Pure: takes results, returns lines; printing or logging is the caller's business.
Imported text (URLs, anchors, reasons quoting cells) is shown with ``repr``-style
quoting where it comes from a file, so control characters cannot spoof output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipelines.backlinks.model import KIND_DOMAINS, KIND_LINKS, ImportReport
from pipelines.backlinks.parsing import reject_summary
from pipelines.backlinks.resolve import (
    LOOP,
    OUTCOMES,
    LostEquity,
    TargetResolution,
    summarise_outcomes,
)
from pipelines.backlinks.store import ImportResult

__all__ = ["describe_file", "describe_import", "describe_resolution"]

_OUTCOME_WORDS = {
    "page": "live page",
    "redirect": "through a redirect",
    "canonical": "to its canonical",
    "error": "error (lost equity)",
    "loop": "redirect loop (lost equity)",
    "blocked": "blocked by robots.txt",
    "not_html": "not HTML",
    "unknown": "never fetched (unknown)",
    "outside": "outside the crawl",
}


def _n(value: int) -> str:
    return f"{value:,}"


def _safe(text: str) -> str:
    """Printable text: control characters from a file shown as escapes."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def describe_file(report: ImportReport, *, details: int = 20) -> list[str]:
    """Lines for one imported file: format, counts, rejections, warnings.

    Parameters
    ----------
    report : ImportReport
    details : int
        Rejected rows listed by line (the rest are counted).
    """
    fmt = report.format
    name = Path(report.file).name if report.file else report.file
    lines = [
        f"{_safe(report.file)}: {fmt.label} [{fmt.vendor}/{fmt.variant}]; "
        f"{report.encoding or '?'}, {report.delimiter or '?'}-separated; "
        f"header on line {report.header_line}"
    ]
    if report.target_assumed:
        lines.append(
            f"  target assumed: {_safe(report.target_assumed)} (the export has no target "
            "column; set another with --target URL)"
        )
    counts = (
        f"  rows read {_n(report.rows_read)}, kept {_n(report.kept)}, "
        f"rejected {_n(report.rejected)}"
    )
    if fmt.kind == KIND_LINKS:
        counts += (
            f"; lost {_n(report.lost)}, nofollow {_n(report.nofollow)}, "
            f"referring domains {_n(len(report.referring_domains))}"
        )
    elif fmt.kind == KIND_DOMAINS:
        counts += f"; referring domains {_n(len(report.referring_domains))}, lost {_n(report.lost)}"
    lines.append(counts)
    if report.rejected:
        lines.append(f"  rejected: {reject_summary(report.reject_counts)}")
        for reject in report.rejects[:details]:
            lines.append(f"    {name}:{reject.line}: {_safe(reject.reason)}")
        hidden = report.rejected - min(details, len(report.rejects))
        if hidden > 0:
            lines.append(f"    ... and {_n(hidden)} more rejected row(s)")
    for warning in report.warnings:
        lines.append(f"  warning: {_safe(warning)}")
    return lines


def describe_import(result: ImportResult, *, details: int = 20) -> list[str]:
    """Lines for a whole import: each file, then the merge and the store."""
    lines: list[str] = []
    for report in result.reports:
        lines.extend(describe_file(report, details=details))
    lines.append(
        f"merged: {_n(result.merged)} backlink(s) from {_n(result.link_rows)} link row(s); "
        f"{_n(result.multi_vendor)} reported by more than one vendor"
    )
    if result.conflicts:
        parts = []
        if result.conflicts.get("followed"):
            parts.append(
                f"followed for {_n(result.conflicts['followed'])} "
                "(the most recent observation won; nofollow on a tie)"
            )
        if result.conflicts.get("lost"):
            parts.append(
                f"lost for {_n(result.conflicts['lost'])} "
                "(the most recent observation won; lost on a tie)"
            )
        lines.append("  vendors disagreed on " + "; ".join(parts))
    if result.domains:
        lines.append(f"  referring domains from domain exports: {_n(result.domains)}")
    if result.authority_filled:
        lines.append(
            f"  authority taken from the referring domain for {_n(result.authority_filled)} "
            "backlink(s) without a metric of their own"
        )
    lines.append(
        f"store: {_n(result.backlinks)} backlink(s) in the run "
        f"({_n(result.added)} added, {_n(result.updated)} merged into stored ones); "
        f"{_n(len(result.targets))} distinct target(s)"
    )
    return lines


def describe_resolution(
    resolutions: Sequence[TargetResolution], lost: Sequence[LostEquity], *, details: int = 20
) -> list[str]:
    """Lines for the targets against the crawl, and the lost-equity list."""
    if not resolutions:
        return ["targets vs the crawl: no backlink target"]
    counts = summarise_outcomes(resolutions)
    parts = [f"{_n(counts[o])} {_OUTCOME_WORDS[o]}" for o in OUTCOMES if counts.get(o)]
    lines = ["targets vs the crawl: " + ", ".join(parts)]
    if lost:
        lines.append("lost equity (redirect these targets to reclaim it):")
        for entry in lost[:details]:
            r = entry.resolution
            if r.outcome == LOOP:  # its status is the last hop's: 200 for a meta refresh
                status = _safe(r.note) if r.note else LOOP
            else:
                status = str(r.status) if r.status is not None else r.outcome
            where = _safe(entry.redirect_to) if entry.redirect_to else "no live ancestor found"
            lines.append(
                f"  {_safe(r.target_url)} [{status}] {entry.live_followed_domains} live followed "
                f"referring domain(s), {entry.links} link(s) -> redirect to {where}"
            )
        if len(lost) > details:
            lines.append(f"  ... and {_n(len(lost) - details)} more")
    return lines
