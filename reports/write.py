"""Put a rendered report on disk: ``index.html`` and the exports under ``data/``.

The last of the report's four steps (model, view, render, write). It writes
each file atomically (a temporary file renamed into place), the exports first
and the HTML last, so the page never links to an export that is not there yet.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.storedb import CrawlStore
from reports.exports import (
    FlowRow,
    atomic_open,
    links_fingerprint,
    write_backlinks_csv,
    write_findings_json,
    write_flows_csv,
    write_links_csv,
    write_pages_csv,
    write_recommendations_csv,
    write_summary_json,
)
from reports.render import render
from reports.view import Finding, LinkRecommendation, RedirectRecommendation, ReportView

__all__ = [
    "DATA_DIRNAME",
    "HTML_FILENAME",
    "ExportData",
    "ReportFiles",
    "write_html",
    "write_report",
]

HTML_FILENAME = "index.html"
DATA_DIRNAME = "data"


@dataclass(frozen=True, slots=True)
class ExportData:
    """The full data behind the exports that the view only shows the top of.

    Every field is consumed once, streaming; ``None`` skips that export.

    Attributes
    ----------
    pages : iterable of sequences, optional
        ``pages.csv`` rows, cells in :data:`reports.exports.PAGES_COLUMNS` order.
    findings : iterable of Finding, optional
        Every finding with all its pages, for ``findings.json``.
    links, redirects : iterables, optional
        Every recommendation, for ``recommendations.csv``.
    flows : iterable of FlowRow, optional
        The budget by section, for ``flows.csv``.
    """

    pages: Iterable[Sequence[object]] | None = None
    findings: Iterable[Finding] | None = None
    links: Iterable[LinkRecommendation] | None = None
    redirects: Iterable[RedirectRecommendation] | None = None
    flows: Iterable[FlowRow] | None = None


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """What was written: the HTML page and each export with its row count.

    ``seconds`` holds the time of each step that produced them (``exports``,
    ``render``; :func:`reports.pipeline.generate_report` adds the model's).
    """

    html: Path
    html_bytes: int
    exports: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def write_html(out_dir: Path, html: str) -> Path:
    """Write ``index.html`` into ``out_dir`` (created if missing) and return its path."""
    path = out_dir / HTML_FILENAME
    with atomic_open(path) as stream:
        stream.write(html)
    return path


def _earlier_links_csv(data_dirs: Sequence[Path], fingerprint: str) -> tuple[Path, int] | None:
    """A ``links.csv`` an earlier report wrote from the same crawl data, with its row count."""
    for data_dir in data_dirs:
        try:
            summary = json.loads((data_dir / "summary.json").read_text(encoding="utf-8"))
            entry = summary["exports"]["links.csv"]
            if entry["source"] == fingerprint and (data_dir / "links.csv").is_file():
                return data_dir / "links.csv", int(entry["rows"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def _reuse_links_csv(earlier: Path, target: Path) -> None:
    """Put ``earlier`` at ``target``: a hard link when possible (instant), else a copy."""
    if earlier.resolve() == target.resolve():
        return
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        os.link(earlier, temporary)
    except OSError:
        shutil.copyfile(earlier, temporary)
    os.replace(temporary, target)


def write_report(
    view: ReportView,
    out_dir: str | Path,
    *,
    store: CrawlStore | None = None,
    data: ExportData | None = None,
    reuse: Sequence[Path] = (),
) -> ReportFiles:
    """Render the report and write it with its exports.

    Parameters
    ----------
    view : ReportView
        The report's content.
    out_dir : str or Path
        The report folder (``RUN_DIR/report`` by default); created if missing.
    store : CrawlStore, optional
        The run's store: ``links.csv`` and ``backlinks.csv`` are streamed from it.
    data : ExportData, optional
        The full data for ``pages.csv``, ``findings.json``,
        ``recommendations.csv`` and ``flows.csv``.
    reuse : sequence of Path
        Other reports' ``data/`` folders (and this one's, always) whose
        ``links.csv`` may be reused when their ``summary.json`` records the
        same crawl data (:func:`reports.exports.links_fingerprint`): re-weighting
        a large site then does not stream millions of links again.

    Returns
    -------
    ReportFiles
        Paths and row counts (``summary.json`` counts as 1).

    Notes
    -----
    When the view says findings or recommendations were not computed
    (``view.findings.computed`` is ``False``), ``findings.json`` and
    ``recommendations.csv`` are still written, empty, so the contract's files
    are always there; ``findings.json`` and ``summary.json`` carry the note.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    data_dir = out / DATA_DIRNAME
    data_dir.mkdir(parents=True, exist_ok=True)
    data = data or ExportData()
    counts: dict[str, int] = {}
    if data.pages is not None:
        counts["pages.csv"] = write_pages_csv(data_dir / "pages.csv", data.pages)
    exports: dict[str, Any] | None = None
    if store is not None:
        fingerprint = links_fingerprint(store)
        earlier = _earlier_links_csv([data_dir, *reuse], fingerprint)
        if earlier is not None:
            _reuse_links_csv(earlier[0], data_dir / "links.csv")
            counts["links.csv"] = earlier[1]
        else:
            counts["links.csv"] = write_links_csv(store, data_dir / "links.csv")
        counts["backlinks.csv"] = write_backlinks_csv(store, data_dir / "backlinks.csv")
        exports = {"links.csv": {"rows": counts["links.csv"], "source": fingerprint}}
    if data.findings is not None or not view.findings.computed:
        counts["findings.json"] = write_findings_json(
            data_dir / "findings.json", data.findings or (), computed=view.findings.computed
        )
    if data.links is not None or data.redirects is not None or not view.recommendations.computed:
        counts["recommendations.csv"] = write_recommendations_csv(
            data_dir / "recommendations.csv", data.links or (), data.redirects or ()
        )
    if data.flows is not None:
        counts["flows.csv"] = write_flows_csv(data_dir / "flows.csv", data.flows)
    if exports is not None:
        exports.update(
            {name: {"rows": rows} for name, rows in counts.items() if name not in exports}
        )
    write_summary_json(data_dir / "summary.json", view, exports=exports)
    counts["summary.json"] = 1
    exported = time.perf_counter()
    html = render(view)
    path = write_html(out, html)
    seconds = {"exports": exported - started, "render": time.perf_counter() - exported}
    return ReportFiles(
        html=path, html_bytes=len(html.encode("utf-8")), exports=counts, seconds=seconds
    )
