"""Opening exports: decoding, delimiters, preambles, broken quotes, bad files."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.backlinks.model import UnreadableExportError
from pipelines.backlinks.reading import (
    MAX_RECORD_LINES,
    BacklinkFile,
    _block_lines,
    _block_splitter,
    expand_backlink_paths,
    line_splitter,
    read_backlinks,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "backlinks"


def rows_with_lines(path: Path) -> list[tuple[int, list[str]]]:
    with read_backlinks(path) as handle:
        return [(handle.line_num, row) for row in handle]


def test_utf16_tab_quoted_fields_with_tabs_quotes_and_line_breaks() -> None:
    path = FIXTURES / "ahrefs_backlinks_for_excel_utf16.csv"
    with read_backlinks(path) as handle:
        assert (handle.encoding, handle.bom, handle.delimiter_name) == ("utf-16-le", True, "tab")
        rows = [(handle.line_num, row) for row in handle]
    assert [line for line, _ in rows] == [1, 2, 3, 4]  # the two-line title is one row
    header = rows[0][1]
    assert len(header) == 37 and header[1] == "Referring page URL"
    first = rows[1][1]
    assert first[header.index("Left context")] == "tabs\tinside"
    assert first[header.index("Right context")] == 'quoted "right" context'
    assert rows[2][1][header.index("Anchor")] == "Bouilloire inox 🍵"
    assert rows[3][1][0] == "Multi-line title\nsecond line"
    assert all(len(row) == 37 for _, row in rows)


def test_utf8_bom_is_dropped_from_the_first_cell() -> None:
    with read_backlinks(FIXTURES / "screamingfrog_all_outlinks.csv") as handle:
        header = next(iter(handle))
        assert handle.encoding == "utf-8" and handle.bom
    assert header[0] == "Type"


def test_cp1252_file_is_read_with_a_warning() -> None:
    with read_backlinks(FIXTURES / "semrush_backlinks_cp1252.csv") as handle:
        rows = list(handle)
        assert handle.encoding == "cp1252"
        assert handle.warnings == [
            f"{FIXTURES / 'semrush_backlinks_cp1252.csv'}: not UTF-8 (line 2): "
            "read as Windows-1252 (cp1252)"
        ]
    assert rows[1][4] == "Théières à 20 €"
    assert rows[2][4] == "l’atelier du thé"


def test_a_cp1252_line_far_into_a_utf8_file_is_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    good = (
        "Source URL,Target URL,Anchor\n"
        + "https://a.example.org/é,https://www.example.com/,ok\n" * 3000
    )
    path.write_bytes(
        good.encode("utf-8")
        + "https://b.example.org/,https://www.example.com/,café\n".encode("cp1252")
    )
    with read_backlinks(path) as handle:
        rows = list(handle)
        assert handle.encoding == "utf-8"
        assert handle.fallback_lines == 1
        assert "first: line 3002" in handle.warnings[0]
    assert rows[1][0] == "https://a.example.org/é"
    assert rows[-1][2] == "café"


def test_utf16_without_bom_and_big_endian(tmp_path: Path) -> None:
    text = "Source URL\tTarget URL\nhttps://a.example.org/\thttps://www.example.com/\n"
    (tmp_path / "le.tsv").write_bytes(text.encode("utf-16-le"))
    (tmp_path / "be.tsv").write_bytes(b"\xfe\xff" + text.encode("utf-16-be"))
    for name, encoding in (("le.tsv", "utf-16-le"), ("be.tsv", "utf-16-be")):
        with read_backlinks(tmp_path / name) as handle:
            assert handle.encoding == encoding
            assert list(handle)[1] == ["https://a.example.org/", "https://www.example.com/"]


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [
        ("semrush_referring_domains_semicolon.csv", "semicolon"),
        ("ahrefs_backlinks_legacy_utf16.tsv", "tab"),
        ("moz_inbound_links_preamble.csv", "comma"),
        ("gsc_more_sample_links.csv", "comma"),
    ],
)
def test_delimiter_is_sniffed(name: str, delimiter: str) -> None:
    with read_backlinks(FIXTURES / name) as handle:
        assert handle.delimiter_name == delimiter


def test_crlf_without_final_newline_and_old_mac_line_endings(tmp_path: Path) -> None:
    rows = rows_with_lines(FIXTURES / "gsc_latest_links_crlf.csv")
    assert rows[0] == (1, ["Linking page", "Last crawled"])
    assert rows[-1] == (5, ["http://日本語.example.jp/記事/1", "Sep 15, 2025"])
    (tmp_path / "mac.csv").write_bytes(
        b"Linking page\rhttps://a.example.org/\rhttps://b.example.org/\r"
    )
    assert rows_with_lines(tmp_path / "mac.csv") == [
        (1, ["Linking page"]),
        (2, ["https://a.example.org/"]),
        (3, ["https://b.example.org/"]),
    ]


def test_broken_quote_costs_its_own_line_only() -> None:
    path = FIXTURES / "majestic_backlinks_broken_row.csv"
    with read_backlinks(path) as handle:
        rows = [(handle.line_num, row[1]) for row in handle]
        bad = handle.bad_lines
    assert bad == [(4, "quotes", "unbalanced quotes: the row's quoted field never closes")]
    assert [line for line, _ in rows] == [1, 2, 3, 5, 6, 7]
    assert rows[-1] == (7, "https://deals.example.org/roundup")


def test_a_quote_open_for_more_than_the_limit_is_closed_and_the_rest_read_again(
    tmp_path: Path,
) -> None:
    lines = [
        "Source URL,Target URL,Anchor",
        'https://a.example.org/,https://www.example.com/,"open',
    ]
    lines += [f"https://s{i}.example.org/,https://www.example.com/,row {i}" for i in range(80)]
    (tmp_path / "long.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with read_backlinks(tmp_path / "long.csv") as handle:
        rows = [(handle.line_num, row) for row in handle]
        assert [line for line, *_ in handle.bad_lines] == [2]
    assert len(rows) == 81  # the header and all 80 good rows
    assert rows[1] == (3, ["https://s0.example.org/", "https://www.example.com/", "row 0"])
    assert rows[-1][0] == 82
    assert MAX_RECORD_LINES < 80


def test_quoted_line_breaks_within_the_usual_width_are_kept(tmp_path: Path) -> None:
    text = 'Source URL,Target URL,Anchor\nhttps://a.example.org/,https://www.example.com/,"two\nlines"\nhttps://b.example.org/,https://www.example.com/,x\n'
    (tmp_path / "ml.csv").write_text(text, encoding="utf-8")
    assert rows_with_lines(tmp_path / "ml.csv")[1:] == [
        (2, ["https://a.example.org/", "https://www.example.com/", "two\nlines"]),
        (4, ["https://b.example.org/", "https://www.example.com/", "x"]),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\xef\xbb\xbf\r\n\r\n", "is empty"),
        (b"\xff\xfe\r\x00\n\x00", "is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "Excel workbook (.xlsx): save it as CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "Excel 97-2003 workbook"),
        (gzip.compress(b"Source URL,Target URL\n"), "gzip-compressed"),
        (b"\x00\x01\x02binary\x00\xff\x10" * 20, "is a binary file"),
    ],
)
def test_unreadable_files_get_one_clear_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableExportError) as caught:
        read_backlinks(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(UnreadableExportError, match=r"nope\.csv: no such file"):
        read_backlinks(tmp_path / "nope.csv")
    with pytest.raises(UnreadableExportError, match="is a folder"):
        read_backlinks(tmp_path)


def test_expand_paths_folders_and_comma_lists(tmp_path: Path) -> None:
    (tmp_path / "b.tsv").write_text("x")
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "notes.md").write_text("x")
    other = tmp_path / "other.csv"
    assert expand_backlink_paths([str(tmp_path)]) == [tmp_path / "a.csv", tmp_path / "b.tsv"]
    assert expand_backlink_paths([f"{other}, {tmp_path / 'a.csv'}", tmp_path / "a.csv"]) == [
        other,
        tmp_path / "a.csv",
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnreadableExportError, match=r"holds no \.csv"):
        expand_backlink_paths([empty])


_CELL_TEXT = st.text(alphabet=["a", "é", '"', ",", "\t", ";", " ", "\r", "\n", "🍵"], max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(_CELL_TEXT, min_size=1, max_size=5), min_size=1, max_size=12),
    delimiter=st.sampled_from(["\t", ",", ";"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    noise=st.lists(st.tuples(st.integers(0, 20), _CELL_TEXT), max_size=3),
    encoding=st.sampled_from(["utf-8", "utf-16"]),
)
def test_plain_lines_split_fast_give_what_csv_gives(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    rows: list[list[str]],
    delimiter: str,
    quoting: int,
    noise: list[tuple[int, str]],
    encoding: str,
) -> None:
    # Well-formed rows, with stray text (broken quotes, bare line breaks) spliced in.
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, quoting=quoting, lineterminator="\r\n").writerows(
        [["Source URL", "Target URL", "Anchor"], *rows]
    )
    lines = text.getvalue().splitlines(keepends=True)
    for position, extra in noise:
        lines.insert(min(position, len(lines)), extra + "\n")
    path = tmp_path_factory.mktemp("fast") / "export.csv"
    path.write_bytes("".join(lines).encode(encoding))

    def read(fast: bool) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str, str]]]:
        with read_backlinks(path) as handle:
            handle.fast = fast
            return [(handle.line_num, row) for row in handle], handle.bad_lines

    assert read(fast=True) == read(fast=False)


_BLOCK_PIECES = ['"', '""', '"\t"', '","', "\t", ",", ";", "a", "é", "\r", "\n", "\r\n", "\x00"]


@settings(max_examples=600, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.text(alphabet=["a", "é", "\t", ",", " "], max_size=4), min_size=1, max_size=4),
        min_size=1,
        max_size=8,
    ),
    delimiter=st.sampled_from(["\t", ",", ";"]),
    quoted=st.booleans(),
    end=st.sampled_from(["\n", "\r\n"]),
    noise=st.lists(
        st.tuples(st.integers(0, 400), st.lists(st.sampled_from(_BLOCK_PIECES), max_size=3)),
        max_size=2,
    ),
    universal=st.booleans(),
)
def test_a_block_splits_into_the_rows_its_lines_split_into(
    *,
    rows: list[list[str]],
    delimiter: str,
    quoted: bool,
    end: str,
    noise: list[tuple[int, list[str]]],
    universal: bool,
) -> None:
    # Clean blocks of either shape, with stray quotes, line ends and NULs spliced in.
    if quoted:
        text = "".join('"' + f'"{delimiter}"'.join(row) + '"' + end for row in rows)
    else:
        text = "".join(delimiter.join(c.replace(delimiter, "") for c in row) + end for row in rows)
    for position, pieces in noise:
        at = min(position, len(text))
        text = text[:at] + "".join(pieces) + text[at:]
    split_line = line_splitter(delimiter)
    lines = _block_lines(text, universal)
    assert "".join(lines) == text
    by_line = [split_line(line) for line in lines]
    got = _block_splitter(delimiter)(text)
    if got is not None:
        assert got == by_line
    if not noise:
        assert got == by_line  # a clean block always splits at once


def test_blocks_read_a_large_file_as_lines_do(tmp_path: Path) -> None:
    # Over a megabyte (several reads and many blocks), clean stretches between
    # odd lines: a multi-line record, a broken quote, blank lines, a NUL, a
    # cp1252 line, a bare "\r" (a line end in UTF-16 files, read as text).
    rows = []
    for number in range(12_000):
        rows.append(
            f'"https://a.example.org/{number}"\t"https://www.example.com/"\t"anchor {number}"\r\n'
        )
        if number % 2000 == 7:
            rows.append('"https://b.example.org/"\t"https://www.example.com/"\t"two\r\nlines"\r\n')
        if number % 3000 == 11:
            rows.append('"https://c.example.org/"\t"never closed\r\n\r\n')
        if number % 4000 == 3999:  # not in the first 64 KiB: that would be a binary file
            rows.append('"https://d.example.org/"\t"x\x00"\t"a\rb"\r\n')
    text = '"Source URL"\t"Target URL"\t"Anchor"\r\n' + "".join(rows)
    for encoding, data in [
        ("utf-8", text.encode("utf-8") + "café\tx\ty\r\n".encode("cp1252") + text.encode()),
        ("utf-16", text.encode("utf-16")),
    ]:
        path = tmp_path / f"export-{encoding}.csv"
        path.write_bytes(data)
        assert len(data) > 1 << 20

        def read(fast: bool, path: Path = path) -> tuple[Any, ...]:
            with read_backlinks(path) as handle:
                handle.fast = fast
                rows = [(handle.line_num, row) for row in handle]
                return rows, handle.bad_lines, handle.region_lines, handle.warnings

        fast, slow = read(fast=True), read(fast=False)
        assert fast == slow
        assert fast[2] == data.count(b"\n") if encoding == "utf-8" else fast[2] > 12_000
        assert len(fast[0]) > 12_000


def read_in_regions(
    path: Path, size: int
) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str, str]]]:
    """Read a file region by region as the parallel import does, lines made absolute."""
    with read_backlinks(path) as whole:
        regions = whole.regions(size)
    rows: list[tuple[int, list[str]]] = []
    bad: list[tuple[int, str, str]] = []
    offset = skip = 0
    for region in regions:
        with BacklinkFile(path, region=region, skip=skip) as part:
            rows += [(offset + part.line_num, row) for row in part]
            bad += [(offset + line, code, why) for line, code, why in part.bad_lines]
            offset += part.region_lines
            skip = part.overrun
    return rows, bad


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(_CELL_TEXT, min_size=1, max_size=4), min_size=1, max_size=30),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    noise=st.lists(st.tuples(st.integers(0, 40), _CELL_TEXT), max_size=4),
    encoding=st.sampled_from(
        [("utf-8", b""), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")]
    ),
    size=st.integers(1, 120),
)
def test_reading_in_regions_gives_the_rows_of_reading_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    rows: list[list[str]],
    quoting: int,
    noise: list[tuple[int, str]],
    encoding: tuple[str, bytes],
    size: int,
) -> None:
    text = io.StringIO()
    csv.writer(text, quoting=quoting, lineterminator="\r\n").writerows(
        [["Source URL", "Target URL", "Anchor"], *rows]
    )
    lines = text.getvalue().splitlines(keepends=True)
    for position, extra in noise:
        lines.insert(min(position, len(lines)), extra + "\n")
    path = tmp_path_factory.mktemp("regions") / "export.csv"
    codec, bom = encoding
    path.write_bytes(bom + "".join(lines).encode(codec))
    with read_backlinks(path) as handle:
        expected = [(handle.line_num, row) for row in handle], handle.bad_lines
    assert read_in_regions(path, size) == expected


def test_a_record_across_a_region_boundary_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    rows = [f'https://a.example.org/{i},https://www.example.com/,"two\nlines"\n' for i in range(40)]
    path.write_text("Source URL,Target URL,Anchor\n" + "".join(rows) + 'x,"never closed\n' * 3)
    with read_backlinks(path) as handle:
        expected = [(handle.line_num, row) for row in handle], handle.bad_lines
        assert len(handle.regions(50)) > 10
    assert read_in_regions(path, 50) == expected
