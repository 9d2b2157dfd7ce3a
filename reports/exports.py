"""The report's machine-readable exports: file names, columns, and safe writers.

The names and columns here are a contract users script against; they are
documented in ``docs/exports.md`` and only ever change by adding columns at the
end. Every CSV goes through :class:`SafeCsvWriter`, which neutralises formula
injection: an untrusted cell such as ``=HYPERLINK(...)`` would otherwise run as
a formula when the file is opened in a spreadsheet.

Writers stream: they take iterables (or a database cursor) and never hold a
whole table in memory, and they write to a temporary file renamed into place,
so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Final, Literal

from pipelines.storedb import POSITIONS, CrawlStore
from reports.view import Finding, LinkRecommendation, RedirectRecommendation, ReportView

__all__ = [
    "BACKLINKS_COLUMNS",
    "EXPORT_SCHEMA_VERSION",
    "FLOWS_COLUMNS",
    "FORMULA_TRIGGERS",
    "LINKS_COLUMNS",
    "NOT_COMPUTED_NOTE",
    "PAGES_COLUMNS",
    "RECOMMENDATIONS_COLUMNS",
    "FlowRow",
    "SafeCsvWriter",
    "atomic_open",
    "links_fingerprint",
    "neutralise",
    "summary_document",
    "write_backlinks_csv",
    "write_csv",
    "write_findings_json",
    "write_flows_csv",
    "write_links_csv",
    "write_pages_csv",
    "write_recommendations_csv",
    "write_summary_json",
]

#: Bumped only when a JSON export changes incompatibly (never for added keys).
EXPORT_SCHEMA_VERSION: Final = 1

#: A text cell starting with one of these is prefixed with ``'`` in CSV exports.
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")

#: Separator of list values inside one CSV cell (flags, vendors, origins).
LIST_SEPARATOR: Final = "|"

PAGES_COLUMNS: Final = (
    "url",
    "equity",
    "score",
    "rank",
    "depth",
    "status",
    "inlinks",
    "referring_domains",
    "deposit",
    "leaked",
    "flags",
    "kind",
    "title",
)

LINKS_COLUMNS: Final = (
    "source",
    "ord",
    "target",
    "href",
    "anchor",
    "is_image",
    "rel",
    "followed",
    "position",
    "internal",
    "kind",
    "target_status",
)

BACKLINKS_COLUMNS: Final = (
    "source_url",
    "source_domain",
    "target",
    "target_status",
    "anchor",
    "followed",
    "nofollow",
    "ugc",
    "sponsored",
    "is_image",
    "lost",
    "lost_date",
    "first_seen",
    "last_seen",
    "metric_name",
    "metric_value",
    "authority",
    "vendors",
    "origins",
)

RECOMMENDATIONS_COLUMNS: Final = (
    "type",
    "id",
    "source",
    "target",
    "anchor",
    "gain",
    "target_equity_before",
    "target_equity_after",
    "target_rank_before",
    "target_rank_after",
    "relevance",
    "status",
    "referring_domains",
    "backlinks",
)

FLOWS_COLUMNS: Final = ("kind", "source", "target", "share")

FlowKind = Literal["deposit", "flow", "held", "leak"]


@dataclass(frozen=True, slots=True)
class FlowRow:
    """One line of ``flows.csv``: the authority budget by section.

    Attributes
    ----------
    kind : {"deposit", "flow", "held", "leak"}
        ``deposit``: authority entering ``target`` (a section) from outside
        (``source`` is ``""``). ``flow``: authority passed by links from
        section ``source`` to section ``target`` (``F(u->v)`` summed over the
        pair; ``source == target`` for links inside a section). ``held``:
        equity held by the pages of ``source`` (``target`` is ``""``).
        ``leak``: authority lost from ``source`` the way ``target`` names
        (one of ``nofollow``, ``external``, ``broken``, ``blocked``, ``dead_end``).
    source, target : str
        Section names (or ``""``/a leak kind, as above).
    share : float
        A share of all authority that entered the site.
    """

    kind: FlowKind
    source: str
    target: str
    share: float


# -- CSV ------------------------------------------------------------------------------


def neutralise(cell: object) -> object:
    """Make one CSV cell inert for spreadsheets.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading
    ``'``, which spreadsheets show as text instead of evaluating. Numbers are
    left alone (``-0.5`` is a number, not a formula); ``None`` becomes ``""``.
    """
    if isinstance(cell, str):
        return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return int(cell)
    if isinstance(cell, list | tuple):
        return neutralise(LIST_SEPARATOR.join(str(item) for item in cell))
    return cell


_TRIGGER_CHARS: Final = frozenset(FORMULA_TRIGGERS)
# Cells the csv module writes safely as they are (None is written as "").
_PLAIN_TYPES: Final = frozenset({int, float, type(None)})


class SafeCsvWriter:
    """A CSV writer that neutralises every cell (see :func:`neutralise`).

    Parameters
    ----------
    stream : text file
        Opened with ``newline=""``.
    columns : sequence of str
        The header, written at once; every row must have as many cells.
    """

    def __init__(self, stream: IO[str], columns: Sequence[str]) -> None:
        self._writer = csv.writer(stream)
        self._width = len(columns)
        self._writer.writerow(columns)
        self.rows = 0

    def _cells(self, row: Sequence[object]) -> list[object]:
        if len(row) != self._width:
            raise ValueError(f"CSV row has {len(row)} cells, the header {self._width}")
        self.rows += 1
        # Same rules as neutralise(), inlined for strings and numbers: this runs
        # once per cell of exports with tens of millions of rows.
        return [
            ("'" + cell if cell and cell[0] in _TRIGGER_CHARS else cell)
            if cell.__class__ is str
            else (cell if cell.__class__ in _PLAIN_TYPES else neutralise(cell))
            for cell in row
        ]

    def writerow(self, row: Sequence[object]) -> None:
        """Write one row (lists in a cell are joined with ``|``)."""
        self._writer.writerow(self._cells(row))

    def writerows(self, rows: Iterable[Sequence[object]]) -> None:
        """Write many rows, streaming."""
        self._writer.writerows(map(self._cells, rows))


@contextmanager
def atomic_open(path: Path, *, newline: str | None = None) -> Iterator[IO[str]]:
    """Open ``path`` for writing text through a temporary file renamed into place on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline=newline) as stream:
            yield stream
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a CSV export safely and atomically.

    Parameters
    ----------
    path : Path
        Destination (replaced when it exists).
    columns : sequence of str
        Header.
    rows : iterable of sequences
        Cells in column order; consumed once, streaming.

    Returns
    -------
    int
        Rows written (without the header).
    """
    with atomic_open(path, newline="") as stream:
        writer = SafeCsvWriter(stream, columns)
        writer.writerows(rows)
    return writer.rows


def write_pages_csv(path: Path, rows: Iterable[Sequence[object]]) -> int:
    """Write ``pages.csv``: one row per URL, cells in :data:`PAGES_COLUMNS` order."""
    return write_csv(path, PAGES_COLUMNS, rows)


def write_recommendations_csv(
    path: Path,
    links: Iterable[LinkRecommendation],
    redirects: Iterable[RedirectRecommendation],
) -> int:
    """Write ``recommendations.csv``: the links to add, then the redirects to add."""

    def rows() -> Iterator[tuple[object, ...]]:
        for r in links:
            yield (
                "link", r.id, r.source_url, r.target_url, r.anchor, r.gain,
                r.equity_before, r.equity_after, r.rank_before, r.rank_after,
                r.relevance, None, None, None,
            )  # fmt: skip
        for d in redirects:
            yield (
                "redirect", d.id, d.from_url, d.to_url, None, d.gain,
                None, None, None, None,
                None, d.status, d.referring_domains, d.backlinks,
            )  # fmt: skip

    return write_csv(path, RECOMMENDATIONS_COLUMNS, rows())


def write_flows_csv(path: Path, flows: Iterable[FlowRow]) -> int:
    """Write ``flows.csv``: the budget by section (see :class:`FlowRow`)."""
    return write_csv(path, FLOWS_COLUMNS, ((f.kind, f.source, f.target, f.share) for f in flows))


_BATCH = 10_000


def _cursor_rows(cursor: Any) -> Iterator[Sequence[object]]:
    while batch := cursor.fetchmany(_BATCH):
        yield from batch


def write_links_csv(store: CrawlStore, path: Path) -> int:
    """Write ``links.csv``: every link of every crawled page, streamed from the store.

    One row per ``<a href>``/``<area href>`` in page order, with the target's
    HTTP status when the crawl fetched it. Positions are written by name.
    """
    position = " ".join(f"WHEN {code} THEN '{name}'" for code, name in enumerate(POSITIONS))
    cursor = store.conn.execute(
        f"""
        SELECT s.url, l.ord, d.url, l.href, l.anchor, l.is_image, l.rel, l.followed,
               CASE l.position {position} ELSE '' END, l.internal, l.kind, p.status
        FROM links AS l
        JOIN urls AS s ON s.id = l.src_id
        LEFT JOIN urls AS d ON d.id = l.dst_id
        LEFT JOIN pages AS p ON p.url_id = l.dst_id
        ORDER BY l.src_id, l.ord
        """
    )
    return write_csv(path, LINKS_COLUMNS, _cursor_rows(cursor))


def _list_cell(text: object, *, pairs: bool = False) -> str:
    if not isinstance(text, str) or not text:
        return ""
    try:
        items = json.loads(text)
    except ValueError:
        return text
    if not isinstance(items, list):
        return str(items)
    if pairs:
        return LIST_SEPARATOR.join(
            ":".join(str(part) for part in item) if isinstance(item, list) else str(item)
            for item in items
        )
    return LIST_SEPARATOR.join(str(item) for item in items)


def write_backlinks_csv(store: CrawlStore, path: Path) -> int:
    """Write ``backlinks.csv``: the merged backlinks, streamed from the store.

    ``vendors`` lists the tools that reported each backlink, ``origins`` the
    ``file:line`` rows it was merged from, both ``|``-separated.
    """
    cursor = store.conn.execute(
        """
        SELECT b.source_url, b.source_domain, u.url, p.status, b.anchor, b.followed,
               b.nofollow, b.ugc, b.sponsored, b.is_image, b.lost, b.lost_date,
               b.first_seen, b.last_seen, b.metric_name, b.metric_value, b.authority,
               b.vendors, b.origins
        FROM backlinks AS b
        JOIN urls AS u ON u.id = b.target_id
        LEFT JOIN pages AS p ON p.url_id = b.target_id
        ORDER BY b.id
        """
    )

    def rows() -> Iterator[Sequence[object]]:
        for row in _cursor_rows(cursor):
            yield (*row[:17], _list_cell(row[17]), _list_cell(row[18], pairs=True))

    return write_csv(path, BACKLINKS_COLUMNS, rows())


# -- JSON -----------------------------------------------------------------------------


#: What summary.json and findings.json say when the gap analysis did not run.
NOT_COMPUTED_NOTE: Final = (
    "not computed: this report was built without the gap analysis and link "
    "recommendations, so an empty list here does not mean there is nothing to fix"
)


def write_findings_json(path: Path, findings: Iterable[Finding], *, computed: bool = True) -> int:
    """Write ``findings.json``: every finding with all its pages, streamed one by one.

    The document is ``{"schema_version": 1, "computed": true, "findings": [...]}``;
    each finding has the fields of :class:`reports.view.Finding`. With
    ``computed=False`` (no gap analysis ran) the list is empty and a ``note``
    says why.
    """
    count = 0
    head: dict[str, object] = {"schema_version": EXPORT_SCHEMA_VERSION, "computed": computed}
    if not computed:
        head["note"] = NOT_COMPUTED_NOTE
    with atomic_open(path) as stream:
        stream.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "findings": [')
        for finding in findings:
            stream.write(",\n" if count else "\n")
            stream.write(json.dumps(asdict(finding), ensure_ascii=False, allow_nan=False))
            count += 1
        stream.write("\n]}\n")
    return count


def summary_document(view: ReportView) -> dict[str, Any]:
    """The content of ``summary.json``: the headline numbers, the budget, the priority pages.

    It is also what the next run reads to compare itself with this one.
    """
    run, crawl, summary, budget = view.run, view.crawl, view.summary, view.budget
    return {
        "schema_version": EXPORT_SCHEMA_VERSION,
        "site": run.site,
        "run_id": run.run_id,
        "generated_at": run.generated_at.isoformat(),
        "crawl_started": run.crawl_started.isoformat(),
        "crawl_finished": run.crawl_finished.isoformat(),
        "version": run.version,
        "model": {
            "damping": run.damping,
            "weights": run.weights,
            "backlink_mix": run.backlink_mix,
        },
        "crawl": {
            "complete": crawl.complete,
            "finish_reason": crawl.finish_reason,
            "urls_seen": crawl.urls_seen,
            "pages_html": crawl.pages_html,
            "by_kind": {row.kind: row.count for row in crawl.by_kind},
            "known_not_crawled": crawl.known_not_crawled,
            "max_depth": crawl.max_depth,
        },
        "headline": {
            "priority_share": summary.priority_share,
            "home_share": summary.home_share,
            "leaked_share": summary.leaked_share,
            "priority_pages": summary.priority_pages,
            "priority_guessed": summary.priority_guessed,
            "pages_crawled": summary.pages_crawled,
            "backlinks": summary.backlinks,
            "referring_domains": summary.referring_domains,
            "vendors": list(summary.vendors),
        },
        "budget": {
            "held_share": budget.held_share,
            "priority_share": budget.priority_share,
            "baseline_share": budget.baseline_share,
            "leaks": {row.kind: row.share for row in budget.leaks},
            "section_rule": budget.section_rule,
            "sections": [asdict(row) for row in budget.sections],
            "sections_total": budget.sections_total,
        },
        "priority_pages": [
            {
                "url": p.url,
                "title": p.title,
                "equity": p.equity,
                "score": p.score,
                "rank": p.rank,
                "depth": p.depth,
                "inlinks": p.inlinks,
                "referring_domains": p.referring_domains,
            }
            for p in view.priority.pages
        ],
        "priority_pages_total": view.priority.total,
        "priority_source": view.priority.source,
        "top_fixes": [asdict(fix) for fix in summary.top_fixes],
        "findings": {
            "computed": view.findings.computed,
            "high": view.findings.high,
            "medium": view.findings.medium,
            "low": view.findings.low,
            **({} if view.findings.computed else {"note": NOT_COMPUTED_NOTE}),
        },
        "recommendations": {
            "computed": view.recommendations.computed,
            "links": view.recommendations.links_total,
            "redirects": view.recommendations.redirects_total,
            "set_gain": view.recommendations.set_gain,
            **({} if view.recommendations.computed else {"note": NOT_COMPUTED_NOTE}),
        },
    }


def write_summary_json(
    path: Path, view: ReportView, *, exports: dict[str, Any] | None = None
) -> None:
    """Write ``summary.json`` (see :func:`summary_document`).

    ``exports``, when given, is added under the key ``exports``: each export's
    row count, and where ``links.csv`` came from (see :func:`links_fingerprint`).
    """
    document = summary_document(view)
    if exports is not None:
        document["exports"] = exports
    with atomic_open(path) as stream:
        json.dump(document, stream, ensure_ascii=False, indent=2, allow_nan=False)
        stream.write("\n")


def links_fingerprint(store: CrawlStore) -> str:
    """What ``links.csv`` is made of, in a few cheap numbers.

    ``links.csv`` depends only on the crawl's ``links``, ``urls`` and ``pages``
    rows, which change only when a crawl runs (or resumes) into the store,
    never when backlinks are imported or the model is re-weighted. The link
    and page counts, the highest source id and the crawl's progress and end
    stamps change whenever they do, so a ``links.csv`` written for the same
    fingerprint can be reused instead of streaming every link again.
    """
    links, last_source = store.conn.execute("SELECT count(*), max(src_id) FROM links").fetchone()
    pages = store.conn.execute("SELECT count(*) FROM pages").fetchone()[0]
    facts = {
        "store": str(store.path.resolve()),
        "links": links,
        "last_source": last_source,
        "pages": pages,
        "finished_at": store.get_meta("finished_at"),
        "progress": store.get_meta("progress"),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:32]
