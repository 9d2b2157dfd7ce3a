"""Runs of plain lines staged by columns give exactly what the row loop gives.

A worker stages a region of an export (:func:`pipelines.backlinks.staging.stage_region`)
either with the row loop alone (``staging.COLUMNAR`` off) or with runs of plain
lines read by Arrow and decided by columns (:mod:`pipelines.backlinks.columnar`),
the rows the columns cannot decide going back to the row loop. Every test here
writes a nasty export, stages every region of it both ways and compares all a
region gives: the stage table row by row, its keys, targets and files, the
report (counts, rejections with their lines and reasons, warnings), the value
problems and the reader's line counts. Each test also checks that the columns
did decide rows, so that it cannot pass with the columnar path never taken.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import multiprocessing
import random
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from linkspider.urlnorm import UrlNormaliser
from pipelines.backlinks import ImportResult, Site, columnar, import_backlinks, reading, staging
from pipelines.backlinks import store as store_module
from pipelines.backlinks.formats import SEMRUSH_BACKLINKS
from pipelines.backlinks.model import ExportFormat
from pipelines.backlinks.reading import read_backlinks
from pipelines.backlinks.staging import RegionResult, RegionTask, stage_region
from pipelines.backlinks.store import open_exports
from pipelines.storedb import CrawlStore
from tests.support.backlink_exports import AHREFS_HEADER, SEMRUSH_HEADER

SITE = Site.from_urls(
    ["https://www.example.com/"], extra_hosts=["shop.example.com", "www.example.co.uk"]
)
assert SITE is not None
TRACKING = UrlNormaliser().tracking_params

SEMRUSH_OLDER_HEADER = (
    "Page score", "Page trust score", "Source title", "Source url", "Target url", "Anchor",
    "External links", "Internal links", "Nofollow", "Text", "Frame", "Form", "Image",
    "Sitewide", "First seen", "Last seen", "New link", "Lost link",
)  # fmt: skip


# -- writing exports -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Shape:
    """How an export is written."""

    header: tuple[str, ...]
    delimiter: str = ","
    quote_all: bool = False
    line_end: str = "\n"
    encoding: str = "utf-8"
    bom: bytes = b""
    trailing_delimiter: bool = False


AHREFS_EXCEL = Shape(
    AHREFS_HEADER,
    delimiter="\t",
    quote_all=True,
    line_end="\r\n",
    encoding="utf-16-le",
    bom=codecs.BOM_UTF16_LE,
)
AHREFS_EXCEL_BE = dataclasses.replace(AHREFS_EXCEL, encoding="utf-16-be", bom=codecs.BOM_UTF16_BE)
AHREFS_UTF8 = Shape(AHREFS_HEADER, quote_all=True)
SEMRUSH = Shape(SEMRUSH_HEADER)
SEMRUSH_SEMICOLON_CRLF = Shape(SEMRUSH_HEADER, delimiter=";", line_end="\r\n")
SEMRUSH_TRAILING = Shape(SEMRUSH_HEADER, trailing_delimiter=True)
SEMRUSH_OLDER = Shape(SEMRUSH_OLDER_HEADER, line_end="\r\n", bom=codecs.BOM_UTF8)

#: A row: cells by column name (the others empty), or a raw line written as it is
#: (bytes: not even encoded, for invalid UTF-8).
Row = dict[str, str] | str | bytes


def line_of(shape: Shape, cells: Sequence[str]) -> str:
    """One line as the vendor writes it: every cell quoted, or those that need it
    (quotes doubled in quoted cells)."""
    special = (shape.delimiter, '"', "\r", "\n")
    body = shape.delimiter.join(
        '"' + cell.replace('"', '""') + '"'
        if shape.quote_all or any(c in cell for c in special)
        else cell
        for cell in cells
    )
    if shape.trailing_delimiter:
        body += shape.delimiter
    return body + shape.line_end


def cells_of(shape: Shape, row: dict[str, str]) -> list[str]:
    """A row's cells in the header's order (the columns it does not name empty)."""
    unknown = set(row) - set(shape.header)
    assert not unknown, unknown
    return [row.get(name, "") for name in shape.header]


def write_export(path: Path, shape: Shape, rows: Sequence[Row]) -> Path:
    """Write the header and ``rows`` in ``shape``."""
    out = io.BytesIO()
    out.write(shape.bom)
    out.write(line_of(shape, shape.header).encode(shape.encoding))
    for row in rows:
        if isinstance(row, bytes):
            out.write(row)
        elif isinstance(row, str):
            out.write(row.encode(shape.encoding, "surrogatepass"))
        else:
            out.write(line_of(shape, cells_of(shape, row)).encode(shape.encoding))
    path.write_bytes(out.getvalue())
    return path


# -- staging both ways -----------------------------------------------------------


class DecidedCount:
    """Rows the columns decided (wraps ``ColumnarRows._decide``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows = 0
        self.runs = 0
        decide = columnar.ColumnarRows._decide

        def counting(rows: columnar.ColumnarRows, table: Any, lines: np.ndarray) -> np.ndarray:
            ok = decide(rows, table, lines)
            self.runs += 1
            self.rows += int(np.count_nonzero(ok))
            return ok

        monkeypatch.setattr(columnar.ColumnarRows, "_decide", counting)


def snapshot(found: RegionResult) -> dict[str, Any]:
    """Everything a region's staging gives, in comparable form."""
    stage = found.stage
    conn = sqlite3.connect(stage.path)
    try:
        cursor = conn.execute("SELECT * FROM s ORDER BY rowid")
        rows = cursor.fetchall()
        columns = [description[0] for description in cursor.description]
        files = conn.execute("SELECT * FROM f ORDER BY file_idx").fetchall()
        count = conn.execute("SELECT count(*), max(rowid) FROM s").fetchone()
    finally:
        conn.close()
    report = found.report
    return {
        "columns": columns,
        "report": {
            "file": report.file,
            "format": report.format.key,
            "header": report.header,
            "header_line": report.header_line,
            "rows_read": report.rows_read,
            "kept": report.kept,
            "rejected": report.rejected,
            "reject_counts": dict(report.reject_counts),
            "rejects": [(r.file, r.line, r.code, r.reason) for r in report.rejects],
            "lost": report.lost,
            "nofollow": report.nofollow,
            "referring_domains": sorted(report.referring_domains),
            "target_assumed": report.target_assumed,
            "warnings": report.warnings,
        },
        "problems": found.problems,
        "lines": (found.region_lines, found.overrun, found.fallback_lines, found.first_fallback),
        "s": rows,
        "f": files,
        "count": count,
        "rows": stage.rows,
        "keys": stage.keys,
        "targets": stage.targets,
        "files": stage.files,
        "others": stage.others,
    }


def stage_file(
    path: Path,
    work: Path,
    *,
    on: bool,
    region_bytes: int | None,
    monkeypatch: pytest.MonkeyPatch,
    site: Site | None = SITE,
    reject_details: int = 1000,
    fmt: ExportFormat | None = None,
    tracking: tuple[str, ...] = TRACKING,
) -> list[dict[str, Any]]:
    """Stage every region of ``path`` in order, as the store's workers do.

    Part 0 finds the header itself; later parts get the format and header as
    :func:`pipelines.backlinks.store._import_in_parallel` gives them, and skip
    the lines the previous region's last record took. With ``fmt`` (a format
    no header is recognised as), every part is given it, the first starting
    after the header line.
    """
    monkeypatch.setattr(staging, "COLUMNAR", on)
    monkeypatch.setattr(staging, "_URLS", {})  # a fresh worker: no memo from another pass
    given = fmt
    if given is None:
        ((handle, parsed),) = open_exports([path], site=site)
        fmt, header = parsed.format, tuple(parsed.header)
    else:
        handle = read_backlinks(path, name=str(path))
        header = tuple(next(iter(handle)))
    try:
        regions = handle.regions(region_bytes) if region_bytes else [(0, None)]
    finally:
        handle.close()
    first_part = 0
    if given is not None:  # no part reads the header: each is given it
        first_part = 1
        regions[0] = (path.read_bytes().index(b"\n") + 1, regions[0][1])
    work.mkdir(exist_ok=True)
    found = []
    skip = 0
    for part, region in enumerate(regions, first_part):
        task = RegionTask(
            path=str(path),
            file=str(path),
            part=part,
            region=region,
            skip=skip,
            fmt=fmt,
            header=header,
            site=site,
            target=None,
            columns=None,
            tracking_params=tracking,
            reject_details=reject_details,
            stage_path=str(work / f"{'on' if on else 'off'}-{part}.sqlite"),
        )
        result = stage_region(task)
        found.append(snapshot(result))
        skip = result.overrun
    return found


def assert_same_both_ways(
    path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    region_bytes: int | None = None,
    min_decided: int = 1,
    **options: Any,
) -> tuple[list[dict[str, Any]], DecidedCount]:
    """Stage ``path`` with the row loop alone, then with columns; assert the same."""
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    off = stage_file(
        path, work, on=False, region_bytes=region_bytes,
        monkeypatch=monkeypatch, **options,
    )  # fmt: skip
    decided = DecidedCount(monkeypatch)
    on = stage_file(
        path, work, on=True, region_bytes=region_bytes,
        monkeypatch=monkeypatch, **options,
    )  # fmt: skip
    assert len(on) == len(off)
    for part, (got, expected) in enumerate(zip(on, off, strict=True)):
        assert got.keys() == expected.keys()
        for name in expected:  # the report first: the clearest when it differs
            assert got[name] == expected[name], f"region {part}: {name} differs"
    assert decided.rows >= min_decided, "the columns decided too few rows"
    return off, decided


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks and runs of a few lines: many runs, and their ends everywhere."""
    monkeypatch.setattr(reading, "_BLOCK_CHARS", 300)
    monkeypatch.setattr(reading, "_RUN_CHARS", 700)


# -- cells that reach every branch of ColumnarRows._decide ------------------------

#: Source URLs: in normal form (the columns decide them) and every way out of it.
SOURCES_NORMAL = (
    "https://src.example.org/p/1",
    "http://src.example.org/",
    "https://a-b.example.org/x/y.html",
    "https://src.example.org/p?a=1&b=2",
    "https://src.example.org/p?q=tea?x",
    "https://src.example.org/~me/a:b@c!$&'()*+;=",
    "https://blog.example.com/on-the-site-domain-but-not-a-site-host",
    "https://xn--bcher-kva.example/p",
)
SOURCES_OTHER = (
    "https://SRC.Example.org/p",  # upper-case host
    "HTTPS://src.example.org/p",  # upper-case scheme
    "https://src.example.org:8443/p",  # port
    "http://src.example.org:80/p",  # default port
    "https://src.example.org/p#frag",  # fragment
    "https://src.example.org/a/./b",  # dot segments
    "https://src.example.org/a/../b",
    "https://src.example.org/.well-known/x",
    "https://src.example.org",  # no path
    "https://src.example.org?x=1",
    "https://src.example.org/p?utm_source=news&b=1",  # tracking parameters
    "https://src.example.org/p?UTM_Medium=x",
    "https://src.example.org/p?gclid=abc",
    "https://src.example.org/p?a=&&b",  # empty parameters
    "https://src.example.org/p?&a=1",
    "https://src.example.org/p?a=1&",
    "https://src.example.org/p?",  # empty query
    "https://src.example.org/p%7Eq%2fr",  # percent escapes
    "https://src.example.org/p%zz",
    "https://src.example.org/caf\u00e9",  # raw non-ASCII
    "https://b\u00fccher.example/p",
    "https://src.example.org/\U0001f375/\u8336",
    "www.schemeless.example.org/p",  # no scheme
    "schemeless.example.org/p",
    "//protocol-relative.example.org/p",
    " https://src.example.org/padded ",
    "https://src.example.org/sp ace",
    "",
    "   ",
    "not a url",
    "ftp://src.example.org/p",
    "javascript:void(0)",
    "https://",
    "https://src.example.org./p",
)
SOURCES_INTERNAL = (
    "https://www.example.com/p",  # on a site host: an internal link
    "https://shop.example.com/x?y=1",
    "https://www.example.co.uk/p",
    "HTTPS://WWW.EXAMPLE.COM/p",
    "https://www.example.com",
)
TARGETS = (
    "https://www.example.com/",
    "https://www.example.com/kettles/",
    "https://www.example.com/blog/tea?page=2",
    "https://www.example.com/p?utm_source=x&id=3",
    "https://WWW.EXAMPLE.COM/A#x",
    "http://www.example.com",
    "https://shop.example.com/cart",  # the site's other hosts
    "https://www.example.co.uk/uk",
    "https://blog.example.com/p",  # the site's registrable domain
    "https://other.example.net/",  # outside the site
    "www.example.com/schemeless",
    "not a url",
    "",
    "https://www.example.com/caf\u00e9",
)
BOOLS = (
    "true", "false", "TRUE", "FALSE", "True", "False", "Yes", "No", "yes", "no", "1", "0", "",
    " true", "false ", "maybe", "y", "n", "on", "off", "x", "-", "tRuE",
)  # fmt: skip
TYPES = ("image", "Image", "IMAGE", "text", "", " image", "img", "iMage", "Text")
DATES = (
    "", "2024-01-02", "2024-01-02 10:11:12", "2024-01-02T10:11:12Z", "2024-13-45",
    "2024-13-45 10:00", "Sep 15, 2026", "15 Sep 2026", "2024/01/02", "garbage", "  ",
    "2024-02-30", "2024-01-02x", " 2024-01-02", "2024-01-02\u3000", "2024.01.02",
    "\uff12\uff10\uff12\uff14-01-02", "2024-1-2", "Sept 31, 2026", "2024-01-0x",
)  # fmt: skip
METRICS_OUT_OF_RANGE = ("-5", "150", "1,234", "1.234,5", "1e3", "nan", "inf")
#: Metric cells in range, none, unreadable or out of range.
METRICS = (
    "12", "12.5", "12,5", "", "n/a", "-", "0", "100", "99.9", " 12 ", "12%", "abc", "1 2",
    "0,999", "N/A", "--", "none", "+7", *METRICS_OUT_OF_RANGE,
)  # fmt: skip
ANCHORS = (
    "kettles", "", "  ", "\u3000tea\u3000", "\x85pot\x85", "\xa0cup\xa0", "\x1ctea\x1f",
    "\u2028line\u2029", "\u200bzero-width\u200b", "\U0001f375 tea \u8336", "\u8336\u58f6",
    'the "best" kettle', "tea, pot", "tea;pot", "tea\tpot", "two\nlines", "cr\rinside",
    "caf\u00e9 \u00e9", "\ufefffeff",
)  # fmt: skip


def weighted_source(rng: random.Random, number: int) -> str:
    """Mostly URLs in normal form (so that runs form), the rest from every branch."""
    draw = rng.random()
    if draw < 0.6:
        return f"https://s{number % 37}.example.org/p/{number}"
    if draw < 0.7:
        return rng.choice(SOURCES_NORMAL)
    if draw < 0.95:
        return rng.choice(SOURCES_OTHER)
    return rng.choice(SOURCES_INTERNAL)


def often(rng: random.Random, usual: str, pool: Sequence[str], rate: float) -> str:
    """``usual``, or at ``rate`` an item of ``pool``."""
    return rng.choice(pool) if rng.random() < rate else usual


@dataclasses.dataclass(frozen=True)
class Fields:
    """The columns of a format the generator fills (by header name)."""

    title: str
    source: str
    target: str
    anchor: str
    flags: tuple[str, ...]  # yes/no columns
    type: str | None
    lost_date: str | None
    lost: str | None
    seen: tuple[str, str]
    metrics: tuple[str, ...]  # preferred first
    alt: str | None = None


#: A layout no vendor writes yet that the columns would read: an image flag and a
#: type, a lost flag and a lost date, two metrics, and an alt text for empty anchors.
RICH_HEADER = (*SEMRUSH_HEADER, "Alt text", "Type", "Lost date", "Domain rating")
RICH_FORMAT = dataclasses.replace(
    SEMRUSH_BACKLINKS,
    key="test-rich",
    columns=(
        *SEMRUSH_BACKLINKS.columns,
        ("alt", ("alt text",)),
        ("type", ("type",)),
        ("lost_date", ("lost date",)),
        ("DR", ("domain rating",)),
    ),
    metrics=(("DR", "DR"), *SEMRUSH_BACKLINKS.metrics),
)
RICH = Shape(RICH_HEADER, delimiter=";")
FIELDS = {
    RICH_HEADER: Fields(
        "Source title", "Source url", "Target url", "Anchor",
        ("Nofollow", "Sponsored", "Ugc", "Image"), "Type", "Lost date", "Lost link",
        ("First seen", "Last seen"), ("Domain rating", "Page ascore"), alt="Alt text",
    ),
    AHREFS_HEADER: Fields(
        "Referring page title", "Referring page URL", "Target URL", "Anchor",
        ("Nofollow", "UGC", "Sponsored"), "Type", "Lost", None, ("First seen", "Last seen"),
        ("Domain rating", "UR"),
    ),
    SEMRUSH_HEADER: Fields(
        "Source title", "Source url", "Target url", "Anchor",
        ("Nofollow", "Sponsored", "Ugc", "Image"), None, None, "Lost link",
        ("First seen", "Last seen"), ("Page ascore",),
    ),
    SEMRUSH_OLDER_HEADER: Fields(
        "Source title", "Source url", "Target url", "Anchor", ("Nofollow", "Image"), None, None,
        "Lost link", ("First seen", "Last seen"), ("Page score",),
    ),
}  # fmt: skip


def fields_of(shape: Shape) -> Fields:
    """The fields of the format whose columns ``shape`` has (in any order)."""
    for header, fields in FIELDS.items():
        if set(header) <= set(shape.header):
            return fields
    raise AssertionError(shape.header)


def random_cells(rng: random.Random, shape: Shape, number: int) -> dict[str, str]:
    """One row's cells: mostly plain values, any of them possibly a nasty one."""
    fields = fields_of(shape)
    row = {name: "" for name in shape.header}
    row[fields.title] = "Title " + "x" * rng.randrange(40)
    row[fields.source] = weighted_source(rng, number)
    row[fields.target] = often(
        rng, "https://www.example.com/" + rng.choice(["", "kettles/", "teapots/"]), TARGETS, 0.1
    )
    row[fields.anchor] = often(rng, rng.choice(["kettle", "teapot", ""]), ANCHORS, 0.2)
    if fields.alt is not None:
        row[fields.alt] = often(rng, rng.choice(["alt", ""]), ANCHORS, 0.3)
    for name in fields.flags:
        row[name] = often(rng, rng.choice(["true", "false", "false"]), BOOLS, 0.04)
    if fields.type is not None:
        row[fields.type] = often(rng, rng.choice(["text", "text", "image"]), TYPES, 0.1)
    if fields.lost_date is not None:
        row[fields.lost_date] = often(rng, rng.choice(["", "", "2026-03-03"]), DATES, 0.1)
    if fields.lost is not None:
        row[fields.lost] = often(rng, rng.choice(["false", "false", "true"]), BOOLS, 0.04)
    for name in fields.seen:
        usual = f"2025-0{rng.randrange(1, 10)}-1{rng.randrange(10)}" + rng.choice(["", " 10:11:12"])
        row[name] = often(rng, usual, DATES, 0.06)
    for name in fields.metrics:
        row[name] = often(rng, str(rng.randrange(101)), METRICS, 0.15)
    # Other columns: text, numbers, and now and then what looks like a flag or date.
    for name in shape.header:
        if not row[name] and rng.random() < 0.3:
            row[name] = rng.choice(["1", "x y", "0", "\u8336", "2024-01-01", "false"])
    return row


def structural_lines(shape: Shape, cells: Sequence[str]) -> list[Row]:
    """Lines that are not plain rows (broken, ragged, of another shape...), from a row's cells."""
    cells = list(cells)
    end, delimiter = shape.line_end, shape.delimiter
    other_end = "\r\n" if end == "\n" else "\n"
    plain = dataclasses.replace(shape, quote_all=False, trailing_delimiter=False)
    lines: list[Row] = [
        end,  # a blank line
        other_end,  # a blank line with the other line end
        line_of(shape, cells)[: -len(end)] + other_end,  # a row with the other line end
        line_of(shape, cells[:3]),  # too few cells
        line_of(shape, [*cells, "extra"]),  # too many
        line_of(shape, [*cells, "", ""]),  # blank extra cells: not ragged
        line_of(shape, [*cells, " "]),
        line_of(shape, [*cells[:-1], cells[-1] + delimiter]),
        f'"unbalanced{delimiter}quote{end}',  # a quote that never closes
        f'{cells[0]}{delimiter}"open{end}',
        line_of(shape, [*cells[:4], "half\nway", *cells[5:]]),  # a quoted field over two lines
        line_of(shape, cells).replace(delimiter, "\r", 1),  # a lone CR
        line_of(plain, cells),  # no quote in a quoted file, or none where one is needed
        '"' + line_of(plain, cells)[: -len(end)] + '"' + end,  # quoted at its ends only
        line_of(shape, [cells[0], 'say ""hi""', *cells[2:]]),  # escaped quotes
        line_of(shape, [f"a{delimiter}b", *cells[1:]]),  # a quoted delimiter
        line_of(shape, shape.header),  # the header again
        line_of(shape, ["" for _ in cells]),  # every cell empty
        delimiter * (len(cells) - 1) + end,
    ]
    if shape.encoding.startswith("utf-16"):
        lines.append(line_of(shape, [cells[0], "nul\x00byte", *cells[2:]]))
    else:  # a line that is not UTF-8 (read as cp1252)
        lines.append(line_of(shape, [*cells[:-1], "th\u00e9 \u20ac"]).encode("cp1252", "replace"))
    return lines


def structural_line(rng: random.Random, shape: Shape, number: int) -> Row:
    """One of :func:`structural_lines`, at random."""
    return rng.choice(structural_lines(shape, cells_of(shape, random_cells(rng, shape, number))))


def random_rows(
    rng: random.Random, shape: Shape, count: int, *, structural: float = 0.03
) -> list[Row]:
    """Rows of :func:`random_cells`, and at ``structural`` a :func:`structural_line`."""
    rows: list[Row] = []
    for number in range(count):
        if rng.random() < structural:
            rows.append(structural_line(rng, shape, number))
        else:
            rows.append(random_cells(rng, shape, number))
    return rows


def plain_row(shape: Shape, number: int) -> dict[str, str]:
    """A row the columns decide."""
    fields = fields_of(shape)
    row = {
        fields.title: f"Page {number}",
        fields.source: f"https://plain{number % 11}.example.org/p/{number}",
        fields.target: "https://www.example.com/" + ("", "kettles/", "teapots/")[number % 3],
        fields.anchor: ("kettle", "teapot", "")[number % 3],
        fields.seen[0]: "2025-01-02",
        fields.seen[1]: "2026-02-03 10:11:12",
    }
    for name in fields.flags:
        row[name] = ("false", "true", "false")[number % 3]
    if fields.type is not None:
        row[fields.type] = ("text", "image")[number % 2]
    if fields.lost is not None:
        row[fields.lost] = ("false", "true")[number % 2]
    for name in fields.metrics:
        row[name] = str(number % 101)
    if fields.lost_date is not None and fields.lost is not None:
        row[fields.lost_date] = ("", "2026-03-04")[number % 3 == 0]
    return row


def every_branch_rows(shape: Shape) -> list[Row]:
    """Each nasty cell in its column, and each nasty line, between plain rows."""
    fields = fields_of(shape)
    variants: list[dict[str, str]] = []
    variants += [{fields.source: url} for url in SOURCES_NORMAL + SOURCES_OTHER + SOURCES_INTERNAL]
    variants += [{fields.target: url} for url in TARGETS]
    variants += [{name: cell} for name in fields.flags for cell in BOOLS]
    if fields.type is not None:
        variants += [{fields.type: cell} for cell in TYPES]
        if "Image" in fields.flags:  # the image flag, not the type, says
            variants += [{"Image": flag, fields.type: kind} for flag in BOOLS[:2] for kind in TYPES]
        # An odd flag with an image type: the row loop reads both its own ways.
        variants += [{fields.flags[0]: " true", fields.type: " image"}]
    if fields.lost_date is not None:
        variants += [{fields.lost_date: cell} for cell in DATES]
    if fields.lost is not None:
        variants += [{fields.lost: cell} for cell in BOOLS]
    variants += [{name: cell} for name in fields.seen for cell in DATES]
    variants += [{name: cell} for name in fields.metrics for cell in METRICS]
    first = fields.metrics[0]
    for empty in ("", "n/a", "-", "abc"):  # the preferred metric missing or unreadable
        variants += [{first: empty, **{name: "33" for name in fields.metrics[1:]}}]
        variants += [{first: empty, **{name: "" for name in fields.metrics[1:]}}]
    variants += [{fields.anchor: cell} for cell in ANCHORS]
    if fields.alt is not None:
        variants += [
            {fields.anchor: anchor, fields.alt: cell}
            for anchor in ("", " ", "a")
            for cell in ANCHORS
        ]
    variants += [{fields.anchor: "", fields.title: "\u8336 \U0001f375 title"}]
    rows: list[Row] = []
    for number, variant in enumerate(variants):
        rows += [plain_row(shape, 3 * number), plain_row(shape, 3 * number + 1) | variant]
        rows.append(plain_row(shape, 3 * number + 2))
    # Lines that are not plain rows, one by one between plain rows, then all together.
    lines = structural_lines(shape, cells_of(shape, plain_row(shape, 0)))
    for number, line in enumerate(lines):
        rows += [plain_row(shape, 5000 + number), line]
    rows += lines + [plain_row(shape, 6000 + number) for number in range(20)]
    return rows


# -- the same both ways ------------------------------------------------------------

SHAPES = {
    "ahrefs-excel-utf16-tab": AHREFS_EXCEL,
    "ahrefs-excel-utf16be": AHREFS_EXCEL_BE,
    "ahrefs-utf8-comma": AHREFS_UTF8,
    "semrush-utf8-comma-lf": SEMRUSH,
    "semrush-semicolon-crlf": SEMRUSH_SEMICOLON_CRLF,
    "semrush-trailing-delimiter": SEMRUSH_TRAILING,
    "semrush-older-bom-crlf": SEMRUSH_OLDER,
}


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_every_branch_of_the_columns_gives_what_the_row_loop_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None, shape: Shape
) -> None:
    """Each vendor's layout and encoding, each nasty cell and line in a run of its own."""
    path = write_export(tmp_path / "export.csv", shape, every_branch_rows(shape))
    (found,), decided = assert_same_both_ways(path, tmp_path, monkeypatch, min_decided=500)
    kept, reject_counts = found["report"]["kept"], found["report"]["reject_counts"]
    # The file holds what it should: rows of every kind, kept and rejected.
    assert kept > 500
    assert {"ragged", "source_url", "source_missing", "internal", "target_url"} <= set(
        reject_counts
    )
    assert {"target_outside", "value", "quotes"} <= set(reject_counts)
    assert found["problems"]  # unreadable dates and metrics, kept with a warning
    if not shape.encoding.startswith("utf-16"):  # a UTF-8 file with a cp1252 line
        assert found["lines"][2] == 2  # its two lines: one alone, one among the others
    # Kept rows went back to the row loop too (URLs to normalise, odd values).
    assert kept - decided.rows > 50, (kept, decided.rows)


@pytest.mark.parametrize("seed", range(12))
def test_random_exports_give_the_same_in_every_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Nasty rows and lines at random, files cut into regions, blocks and runs of any size."""
    rng = random.Random(seed)
    shape = list(SHAPES.values())[seed % len(SHAPES)]
    if seed >= len(SHAPES):  # the columns in another order, with some the formats do not use
        header = [*shape.header, "Extra column", "Another"]
        rng.shuffle(header)
        shape = dataclasses.replace(shape, header=tuple(header))
    structural = rng.choice([0.01, 0.04, 0.12])
    sizes = [(150, 200), (300, 700), (1000, 5000), (4000, 4000)]
    block, run = rng.choice(sizes if structural < 0.1 else sizes[:2])  # else no block is clean
    monkeypatch.setattr(reading, "_BLOCK_CHARS", block)
    monkeypatch.setattr(reading, "_RUN_CHARS", run)
    rows = random_rows(rng, shape, 500, structural=structural)
    path = write_export(tmp_path / "export.csv", shape, rows)
    region_bytes = rng.choice([None, 2500, 9000])
    found, _ = assert_same_both_ways(
        path,
        tmp_path,
        monkeypatch,
        region_bytes=region_bytes,
        reject_details=rng.choice([1000, 3]),  # the rejects listed: the first ones
        min_decided=50,
    )
    if region_bytes:
        assert len(found) > 3


@pytest.mark.parametrize(
    "sizes",
    [
        (64, 64, 150, 7),  # a block per line, a run per block
        (200, 1000, 500, 23),
        (1000, 200, 500, 23),  # a run per block
        (reading._BLOCK_CHARS, reading._RUN_CHARS, 2400, 1200),
    ],
    ids=["line-blocks", "small", "run-under-block", "defaults"],
)
@pytest.mark.parametrize("shape", [AHREFS_EXCEL, SEMRUSH], ids=["ahrefs-excel", "semrush"])
def test_runs_and_blocks_cut_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: Shape, sizes: tuple[int, ...]
) -> None:
    """Long runs of plain rows with a nasty row or line now and then: the ends of
    blocks, runs and regions fall everywhere (with the real sizes, past the first
    block of 64 K characters)."""
    block, run, count, every = sizes  # characters, characters, rows, rows between nasty ones
    monkeypatch.setattr(reading, "_BLOCK_CHARS", block)
    monkeypatch.setattr(reading, "_RUN_CHARS", run)
    rng = random.Random(block * 7 + run)
    rows: list[Row] = []
    for number in range(count):
        if number % every == every - 1:
            rows.append(structural_line(rng, shape, number))
        elif number % every == every // 2 and every < 100:
            rows.append(random_cells(rng, shape, number))
        else:
            rows.append(plain_row(shape, number))
    path = write_export(tmp_path / "export.csv", shape, rows)
    size = path.stat().st_size
    for region_bytes in (None, size // 5):
        found, decided = assert_same_both_ways(
            path, tmp_path, monkeypatch, region_bytes=region_bytes, min_decided=count // 3
        )
        assert decided.runs >= (1 if block == reading._BLOCK_CHARS else 5)
        assert len(found) == (1 if region_bytes is None else 5)


def pick(pool: Sequence[str], number: int) -> str:
    """An item of ``pool`` for row ``number``, spread over it."""
    return pool[number * 7 % len(pool)]


def test_without_a_site_and_with_other_tracking_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None
) -> None:
    """No site: no source is internal and every target is kept; custom tracking
    parameters (an exact name and a prefix) decide which queries are in normal form."""
    rows: list[Row] = []
    queries = ("?ref=a", "?REF=a&b=1", "?src_x=1", "?b=1&src_=2", "?utm_source=x", "?gclid=1")
    for number in range(300):
        row = plain_row(SEMRUSH, number)
        if number % 3 == 1:
            row["Source url"] = pick(SOURCES_INTERNAL + SOURCES_OTHER, number)
            row["Target url"] = pick(TARGETS, number)
        if number % 5 == 2:
            row["Source url"] += queries[number % len(queries)]
        rows.append(row)
    path = write_export(tmp_path / "export.csv", SEMRUSH, rows)
    (found,), _ = assert_same_both_ways(
        path, tmp_path, monkeypatch, site=None, tracking=("ref", "src_*"), min_decided=150
    )
    counts = found["report"]["reject_counts"]
    assert "internal" not in counts and "target_outside" not in counts
    assert any(row[1] == "www.example.com" for row in found["s"])  # kept: no site here
    # utm_source and gclid are not tracking parameters here: kept in the source URLs.
    assert any("utm_source=x" in row[0] for row in found["s"])
    plain = [row[0] for row in found["s"] if row[0].startswith("https://plain")]
    assert any(url.endswith("?b=1") for url in plain)
    assert not any("ref=" in url.lower() or "src_" in url for url in plain)


def stored(store: CrawlStore) -> dict[str, list[str]]:
    """Every table and view of a store, its rows sorted (as text), times left out."""
    conn = store.conn
    names = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%'"
        )
    ]
    found = {}
    for name in names:
        rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()  # our own names
        if name == "backlink_imports":
            rows = [row[:1] + row[2:] for row in rows]  # imported_at
        found[name] = sorted(map(repr, rows))
    return found


def import_summary(result: ImportResult) -> dict[str, Any]:
    """What an import says, its times left out."""
    summary = {
        field.name: getattr(result, field.name)
        for field in dataclasses.fields(result)
        if field.name not in ("reports", "read_seconds", "seconds", "timings")
    }
    summary["reports"] = [
        {
            field.name: getattr(report, field.name)
            for field in dataclasses.fields(report)
            if field.name != "format"
        }
        | {"format": report.format.key}
        for report in result.reports
    ]
    return summary


def test_import_with_workers_stores_what_the_row_loop_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None
) -> None:
    """The whole import, its exports cut into small regions read by forked workers
    (which see this test's settings): the store is the same with the columns off."""
    shapes = {"ahrefs.csv": AHREFS_EXCEL, "semrush.csv": SEMRUSH, "older.csv": SEMRUSH_OLDER}
    files = [
        write_export(tmp_path / name, shape, random_rows(random.Random(name), shape, 400))
        for name, shape in shapes.items()
    ]
    monkeypatch.setattr(store_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(store_module, "REGION_BYTES", 8192)
    monkeypatch.setattr(
        store_module, "_worker_context", lambda: multiprocessing.get_context("fork")
    )
    # The workers count the rows the columns decide in a file (their memory is their own).
    tally = tmp_path / "decided.txt"
    decide = columnar.ColumnarRows._decide

    def counting(rows: columnar.ColumnarRows, table: Any, lines: np.ndarray) -> np.ndarray:
        ok = decide(rows, table, lines)
        with tally.open("a") as out:
            out.write(f"{np.count_nonzero(ok)}\n")
        return ok

    monkeypatch.setattr(columnar.ColumnarRows, "_decide", counting)
    found = {}
    for on in (False, True):
        monkeypatch.setattr(staging, "COLUMNAR", on)
        with CrawlStore(tmp_path / f"run-{on}", create=True) as store:
            result = import_backlinks(store, files, site=SITE, workers=2)
            found[on] = (stored(store), import_summary(result))
    decided = sum(int(line) for line in tally.read_text().split())
    assert decided > 300
    (store_on, result_on), (store_off, result_off) = found[True], found[False]
    assert result_on == result_off
    assert store_on.keys() == store_off.keys()
    for name in store_off:
        assert store_on[name] == store_off[name], name
    # The exports were cut into regions, and what they hold went in.
    assert all(path.stat().st_size > 5 * 8192 for path in files)
    assert len(store_off["backlinks"]) > 500
    assert result_off["multi_vendor"] > 10
    assert all(report["rejected"] for report in result_off["reports"])


def test_a_richer_layout_the_columns_can_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None
) -> None:
    """Branches no vendor's layout reaches today: an alt text for an empty anchor,
    an image flag next to a type, a lost flag next to a lost date, and a metric
    that falls through to the second (the regions are given the format)."""
    rows = every_branch_rows(RICH) + random_rows(random.Random(5), RICH, 300)
    path = write_export(tmp_path / "export.csv", RICH, rows)
    for region_bytes in (None, 20_000):
        found, _ = assert_same_both_ways(
            path, tmp_path, monkeypatch, region_bytes=region_bytes, fmt=RICH_FORMAT, min_decided=500
        )
        staged = [row for part in found for row in part["s"]]
        assert {"alt", "DR", "AS", "2026-03-04"} <= {cell for row in staged for cell in row}


def test_a_nul_byte_past_the_sample_of_a_utf8_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NUL after the first 64 KiB (before them the file is called binary)."""
    rows: list[Row] = [plain_row(SEMRUSH, number) for number in range(1500)]
    rows[900] = line_of(SEMRUSH, cells_of(SEMRUSH, plain_row(SEMRUSH, 900))).replace(",", "\x00", 3)
    rows[1100] = plain_row(SEMRUSH, 1100) | {"Anchor": "nul\x00inside"}
    path = write_export(tmp_path / "export.csv", SEMRUSH, rows)
    assert path.read_bytes().index(b"\x00") > 65536
    (found,), _ = assert_same_both_ways(path, tmp_path, monkeypatch, min_decided=500)
    assert found["report"]["reject_counts"] == {"ragged": 1}


# -- divergences found (and fixed) -----------------------------------------------------


@pytest.mark.parametrize("cell", METRICS_OUT_OF_RANGE)
def test_a_metric_outside_its_range_is_a_problem_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None, cell: str
) -> None:
    rows: list[Row] = [plain_row(AHREFS_EXCEL, number) for number in range(30)]
    rows[20] = plain_row(AHREFS_EXCEL, 20) | {"Domain rating": cell, "UR": "33"}
    path = write_export(tmp_path / "export.csv", AHREFS_EXCEL, rows)
    (found,), _ = assert_same_both_ways(path, tmp_path, monkeypatch)
    # The row loop keeps the row with the next metric, and warns.
    name, value, line = (
        found["columns"].index(column) for column in ("metric_name", "metric_value", "line")
    )
    assert ("UR", 33.0) in {(row[name], row[value]) for row in found["s"] if row[line] == 22}
    assert "Domain rating" in found["problems"]


@pytest.mark.parametrize(
    ("shape", "cells"),
    [
        (AHREFS_EXCEL, {"Referring page title": '\t"Best kettles'}),
        (AHREFS_EXCEL, {"Links in group": '3 "\t'}),
        (AHREFS_UTF8, {"Referring page title": ',"Best kettles'}),
        (AHREFS_UTF8, {"Links in group": '3 ",'}),
    ],
    ids=["excel-title", "excel-last-cell", "utf8-title", "utf8-last-cell"],
)
def test_a_row_given_back_from_a_run_is_split_as_the_reader_splits_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    small_blocks: None,
    shape: Shape,
    cells: dict[str, str],
) -> None:
    rows: list[Row] = [plain_row(shape, number) for number in range(30)]
    # A source to normalise (its fragment): the columns give the row back.
    rows[20] = plain_row(shape, 20) | cells | {"Referring page URL": "https://a.example.org/#x"}
    path = write_export(tmp_path / "export.csv", shape, rows)
    (found,), _ = assert_same_both_ways(path, tmp_path, monkeypatch)
    assert found["report"]["rejected"] == 0  # nothing rejected: the row is kept


@pytest.mark.parametrize("region_bytes", [None, 5000])
def test_the_first_line_read_as_cp1252_after_a_run_over_a_read_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, region_bytes: int | None
) -> None:
    monkeypatch.setattr(reading, "_BLOCK_CHARS", 300)
    monkeypatch.setattr(reading, "_RUN_CHARS", 3000)
    monkeypatch.setattr(reading, "_READ_BUFFER", 1024)  # 1 MiB: runs cross them too
    cp1252 = line_of(SEMRUSH, cells_of(SEMRUSH, plain_row(SEMRUSH, 0) | {"Anchor": "th\u00e9"}))
    rows: list[Row] = [plain_row(SEMRUSH, number) for number in range(1000)]
    rows[700] = rows[850] = cp1252.encode("cp1252")  # past the first 64 KiB: UTF-8 file
    path = write_export(tmp_path / "export.csv", SEMRUSH, rows)
    found, _ = assert_same_both_ways(path, tmp_path, monkeypatch, region_bytes=region_bytes)
    assert sum(part["lines"][2] for part in found) == 2  # fallback_lines: the two


# -- which blocks are plain -------------------------------------------------------------


def _arrow_cells(text: str, width: int, delimiter: str) -> list[list[str]] | None:
    """The rows Arrow's CSV reader gives a block (as ColumnarRows reads a run)."""
    names = [f"c{i}" for i in range(width)]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(text.encode("utf-8", "surrogatepass")),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None  # a row of another width: the whole run goes back to the row loop
    return [[row[name] for name in names] for row in table.to_pylist()]


@pytest.mark.parametrize(
    ("block", "delimiter"),
    [
        ('"\n"a","5"\n', ","),  # a first line of one quote
        ('"a","5""\n"\n', ","),  # a last line of one quote (a cell ending '"' + line break)
        ('"a"\t"b"\r\n"\r\n', "\t"),
        ("\ufeff1,a\n2,b\n", ","),  # a leading U+FEFF: Arrow drops it as a byte-order mark
        ('\ufeff"1","a"\n', ","),
    ],
)
def test_blocks_a_csv_reader_would_read_otherwise_are_not_plain(block: str, delimiter: str) -> None:
    assert reading.clean_lines(delimiter)(block) == 0
    assert reading._plain_lines_in_bytes(block, ord(delimiter)) == 0


def test_the_check_on_bytes_decides_every_block_as_the_check_on_text() -> None:
    # clean_lines checks long blocks on their UTF-8 bytes with NumPy, short ones with
    # string methods: both must take and refuse the same blocks, whatever they hold
    # (non-ASCII text, a lone surrogate, NUL, U+FEFF, stray line ends).
    rng = random.Random(23)
    alphabet = ["a", '"', ",", "\n", "\r", "\t", ";", "\ufeff", "\x00", "é", "字", "\ud800"]
    decided = plain = 0
    for _ in range(40_000):
        text, delimiter, _ = _random_block(rng, alphabet, rows=5, soup=5, stray_ends=True)
        on_bytes = reading._plain_lines_in_bytes(text, ord(delimiter))
        if on_bytes is None:  # overlapping '"<d>"': left to the text check
            continue
        decided += 1
        on_text = reading._plain_lines_in_text(delimiter)(text)
        assert on_bytes == on_text, repr(text)
        plain += bool(on_text)
    assert decided > 39_000
    assert plain > 2_000


def test_every_line_of_a_plain_block_is_read_alike_by_the_splitter_and_arrow() -> None:
    # Random blocks of what a CSV writer writes, and of quote/delimiter/line-end soup:
    # a block taken as plain must have every line read by the splitter, with the cells
    # Arrow reads (the columns stage a run's rows from Arrow's cells, and give the rows
    # they cannot decide back split by the splitter).
    rng = random.Random(11)
    alphabet = ["a", "b", '"', ",", "\n", "\r", " ", "\t", ";", "\ufeff"]
    plain = 0
    for _ in range(40_000):
        text, delimiter, width = _random_block(rng, alphabet, rows=4, soup=4, stray_ends=False)
        lines = reading.clean_lines(delimiter)(text)
        if not lines:
            continue
        plain += 1
        bodies = text.split("\n")[:-1]
        assert len(bodies) == lines, repr(text)
        split = reading.line_splitter(delimiter)
        expected = [split(body + "\n") for body in bodies]
        assert None not in expected, repr(text)
        read = _arrow_cells(text, width, delimiter)
        if read is not None:
            assert read == expected, repr(text)
    assert plain > 5_000  # the check passed enough blocks to mean something


def _random_block(
    rng: random.Random, alphabet: Sequence[str], *, rows: int, soup: int, stray_ends: bool
) -> tuple[str, str, int]:
    """A random block and its delimiter and width: half the time what a CSV writer
    writes of random cells, else a soup of the alphabet's first ``soup`` characters
    and the delimiter, each line ended alike (or, with ``stray_ends``, now and then
    by a bare newline)."""
    delimiter = rng.choice([",", "\t", ";"])
    width = rng.randint(1, 3)
    end = rng.choice(["\n", "\r\n"])
    if rng.random() < 0.5:
        buffer = io.StringIO()
        writer = csv_writer(buffer, delimiter, rng.choice([True, False]), end)
        for _ in range(rng.randint(1, rows)):
            writer.writerow(
                ["".join(rng.choices(alphabet, k=rng.randint(0, 4))) for _ in range(width)]
            )
        return buffer.getvalue(), delimiter, width
    characters = [*alphabet[:soup], delimiter]
    ends = [end, end, "\n"] if stray_ends else [end]
    text = "".join(
        "".join(rng.choices(characters, k=rng.randint(0, 6))) + rng.choice(ends)
        for _ in range(rng.randint(1, rows))
    )
    return text, delimiter, width


def csv_writer(buffer: io.StringIO, delimiter: str, quote_all: bool, end: str) -> Any:
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    return csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=end)


def test_the_whitespace_arrow_trims_is_what_str_strip_strips() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1))
    assert "".join(c for c in every if c.isspace()) == columnar.WHITESPACE
