"""Compare a run with the previous run of the same site, from the previous run's exports.

A run's ``summary.json``, ``findings.json`` and ``pages.csv`` (see
``docs/exports.md``) carry everything needed, so comparing needs neither the
previous store nor the previous model. Live-page sets are compared as arrays of
64-bit URL hashes, never as sets of strings, so a million-page site costs a few
megabytes.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from reports.view import Comparison, FindingRef, PriorityDelta, PriorityPage, Summary

__all__ = [
    "PreviousRun",
    "ReportDataError",
    "compare_runs",
    "find_previous_report",
    "live_urls_from_pages_csv",
    "load_previous",
]


class ReportDataError(Exception):
    """A previous report's exports are missing or unreadable (the message names the file)."""


@dataclass(frozen=True, slots=True)
class PreviousRun:
    """What the comparison needs from the previous run's exports."""

    report_dir: Path
    site: str
    run_id: str
    crawl_finished: datetime
    priority_share: float
    home_share: float
    leaked_share: float
    pages_crawled: int
    priority: dict[str, tuple[str, float, int | None]]
    findings: dict[str, FindingRef]
    findings_computed: bool = True


def find_previous_report(
    run_dir: Path, *, site: str, report_dirname: str = "report"
) -> Path | None:
    """The report folder of the latest earlier run of ``site`` next to ``run_dir``.

    Runs live in ``runs/<site>/<timestamp>/``; sibling folders whose name sorts
    before ``run_dir``'s and whose ``summary.json`` names the same site are
    candidates.

    Returns
    -------
    Path or None
        ``<sibling>/<report_dirname>``, or ``None`` for the site's first run.
    """
    run_dir = Path(run_dir).resolve()
    parent = run_dir.parent
    if not parent.is_dir():
        return None
    earlier = sorted(
        (p for p in parent.iterdir() if p.is_dir() and p.name < run_dir.name), reverse=True
    )
    for candidate in earlier:
        summary = candidate / report_dirname / "data" / "summary.json"
        if not summary.is_file():
            continue
        try:
            document = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(document, dict) and document.get("site") == site:
            return candidate / report_dirname
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportDataError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportDataError(f"{path}: cannot be read ({exc})") from None
    except ValueError as exc:
        raise ReportDataError(f"{path}: not valid JSON ({exc})") from None


def load_previous(report_dir: Path) -> PreviousRun:
    """Read the previous run's ``summary.json`` and ``findings.json``.

    Raises
    ------
    ReportDataError
        A file is missing, not JSON, or lacks a field; the message names it.
    """
    data = Path(report_dir) / "data"
    summary_path = data / "summary.json"
    summary = _read_json(summary_path)
    try:
        headline = summary["headline"]
        priority = {
            p["url"]: (
                str(p.get("title") or ""),
                float(p["equity"]),
                None if p["rank"] is None else int(p["rank"]),
            )
            for p in summary["priority_pages"]
        }
        site = str(summary["site"])
        run_id = str(summary["run_id"])
        crawl_finished = datetime.fromisoformat(summary["crawl_finished"])
        priority_share = float(headline["priority_share"])
        home_share = float(headline["home_share"])
        leaked_share = float(headline["leaked_share"])
        pages_crawled = int(headline["pages_crawled"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportDataError(f"{summary_path}: missing or invalid field {exc}") from None
    findings_path = data / "findings.json"
    findings: dict[str, FindingRef] = {}
    # A report built without the gap analysis says so ("computed": false).
    findings_computed = findings_path.is_file()
    if findings_path.is_file():
        document = _read_json(findings_path)
        try:
            findings_computed = document.get("computed", True) is not False
            for item in document["findings"]:
                findings[str(item["id"])] = FindingRef(
                    str(item["id"]), str(item["title"]), item["severity"]
                )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ReportDataError(f"{findings_path}: missing or invalid field {exc}") from None
    return PreviousRun(
        report_dir=Path(report_dir),
        site=site,
        run_id=run_id,
        crawl_finished=crawl_finished,
        priority_share=priority_share,
        home_share=home_share,
        leaked_share=leaked_share,
        pages_crawled=pages_crawled,
        priority=priority,
        findings=findings,
        findings_computed=findings_computed,
    )


def live_urls_from_pages_csv(path: Path) -> Iterator[str]:
    """The live pages (``kind`` html, ``status`` 200) of a run's ``pages.csv``, streamed.

    Raises
    ------
    ReportDataError
        The file is missing or lacks the ``url``, ``status`` or ``kind`` column.
    """
    try:
        stream = Path(path).open(encoding="utf-8", newline="")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise ReportDataError(f"{path}: cannot be read ({exc})") from None
    with stream:
        reader = csv.DictReader(stream)
        missing = {"url", "status", "kind"} - set(reader.fieldnames or ())
        if missing:
            raise ReportDataError(f"{path}: no column {', '.join(sorted(missing))}")
        for row in reader:
            if row["kind"] == "html" and row["status"] == "200":
                yield row["url"]


def _hash(url: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest(), "little", signed=True
    )


def _hashes(urls: Iterable[str]) -> np.ndarray:
    return np.unique(np.fromiter((_hash(url) for url in urls), dtype=np.int64))


def _contains(sorted_hashes: np.ndarray, value: int) -> bool:
    index = int(np.searchsorted(sorted_hashes, value))
    return index < sorted_hashes.size and int(sorted_hashes[index]) == value


def _only_in(
    urls: Callable[[], Iterable[str]], other: np.ndarray, own: np.ndarray, limit: int
) -> tuple[list[str], int]:
    """URLs of ``urls`` whose hash is not in ``other``: the first ``limit`` and how many."""
    missing = np.setdiff1d(own, other, assume_unique=True)
    sample: list[str] = []
    if missing.size and limit:
        for url in urls():
            if _contains(missing, _hash(url)):
                sample.append(url)
                if len(sample) >= limit:
                    break
    return sample, int(missing.size)


def compare_runs(
    previous: PreviousRun,
    *,
    summary: Summary,
    priority: Iterable[PriorityPage],
    findings: Iterable[FindingRef],
    current_live_urls: Callable[[], Iterable[str]],
    previous_live_urls: Callable[[], Iterable[str]],
    limit: int = 20,
    findings_computed: bool = True,
) -> Comparison:
    """Build the view's comparison of this run with ``previous``.

    Parameters
    ----------
    previous : PreviousRun
        From :func:`load_previous`.
    summary : Summary
        This run's headline.
    priority : iterable of PriorityPage
        This run's priority pages (all of them).
    findings : iterable of FindingRef
        This run's findings (all of them); matched to the previous ones by id.
    current_live_urls, previous_live_urls : callables
        Each returns a fresh iterable of the run's live pages (200 HTML); each
        is iterated at most twice (hashing, then collecting a sample).
    limit : int
        Most findings and pages listed in each of fixed/new/gained/lost.
    findings_computed : bool
        Whether this run's findings were computed. When this run's or the
        previous run's were not, no finding is called fixed or new.

    Returns
    -------
    Comparison
    """
    compared = findings_computed and previous.findings_computed
    current_findings = {f.id: f for f in findings} if compared else {}
    fixed = [f for fid, f in previous.findings.items() if compared and fid not in current_findings]
    new = [f for fid, f in current_findings.items() if fid not in previous.findings]
    order = {"high": 0, "medium": 1, "low": 2}
    fixed.sort(key=lambda f: order.get(f.severity, 3))
    new.sort(key=lambda f: order.get(f.severity, 3))

    deltas: list[PriorityDelta] = []
    seen: set[str] = set()
    for page in priority:
        seen.add(page.url)
        before = previous.priority.get(page.url)
        deltas.append(
            PriorityDelta(
                url=page.url,
                title=page.title,
                before=None if before is None else before[1],
                after=page.equity,
                rank_before=None if before is None else before[2],
                rank_after=page.rank,
            )
        )
    for url, (title, equity, rank) in previous.priority.items():
        if url not in seen:
            deltas.append(PriorityDelta(url, title, equity, None, rank, None))

    now = _hashes(current_live_urls())
    then = _hashes(previous_live_urls())
    gained, gained_total = _only_in(current_live_urls, then, now, limit)
    lost, lost_total = _only_in(previous_live_urls, now, then, limit)
    return Comparison(
        previous_run=previous.run_id,
        previous_date=previous.crawl_finished,
        priority_share=(previous.priority_share, summary.priority_share),
        home_share=(previous.home_share, summary.home_share),
        leaked_share=(previous.leaked_share, summary.leaked_share),
        pages=(previous.pages_crawled, summary.pages_crawled),
        priority=deltas,
        fixed=fixed[:limit],
        fixed_total=len(fixed),
        new=new[:limit],
        new_total=len(new),
        pages_gained=gained,
        pages_gained_total=gained_total,
        pages_lost=lost,
        pages_lost_total=lost_total,
        findings_compared=compared,
    )
