"""Open a backlink export: decode it, sniff its delimiter, split it into rows.

:func:`read_backlinks` only reads; :func:`pipelines.backlinks.parsing.parse_backlinks`
gives the rows meaning. The file is streamed: memory does not grow with its size.

Decoding: a BOM says UTF-16 LE/BE or UTF-8; otherwise UTF-8, and a line that is
not valid UTF-8 is read as cp1252 (Windows "ANSI", what Excel writes) with a
warning; a file whose first 64 KiB are not UTF-8 is read as cp1252 throughout.
UTF-16 without a BOM is recognised by its zero bytes.

Rows: ``csv`` does the splitting, fed one physical line at a time so that a
broken quote costs its own line only. A record that spans several lines is
kept when its quoted field closes within :data:`MAX_RECORD_LINES` lines and
it has the file's usual number of cells; otherwise its first line is reported
as a row with unbalanced quotes and the following lines are read again as rows
of their own. Each row's first physical line is in :attr:`BacklinkFile.line_num`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Final

from pipelines.backlinks.model import UnreadableExportError

__all__ = [
    "DELIMITERS",
    "EXPORT_SUFFIXES",
    "MAX_RECORD_LINES",
    "BacklinkFile",
    "expand_backlink_paths",
    "read_backlinks",
]

#: Delimiters we sniff for, in order of preference on a tie.
DELIMITERS: Final = ("\t", ";", ",")
#: File suffixes taken from a folder.
EXPORT_SUFFIXES: Final = (".csv", ".tsv", ".txt")
#: Physical lines one quoted field may span before we call its quote broken.
MAX_RECORD_LINES: Final = 50
_SAMPLE_BYTES: Final = 65536
_SNIFF_ROWS: Final = 60
_FIELD_LIMIT: Final = 1 << 20  # 1 MiB: no export has a longer cell
_DELIMITER_NAMES: Final = {"\t": "tab", ";": "semicolon", ",": "comma"}
# An unclosed quote is closed by feeding csv this "line": the record ends there.
_CLOSE_QUOTE: Final = '"\n'

_SIGNATURES: Final = (
    (b"PK\x03\x04", "a ZIP archive, probably an Excel workbook (.xlsx): save it as CSV"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls): save it as CSV"),
    (b"\x1f\x8b", "gzip-compressed: decompress it first"),
    (b"%PDF", "a PDF document, not a CSV export"),
    (b"SQLite format 3\x00", "an SQLite database, not a CSV export"),
)


def expand_backlink_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Expand the paths a user gave into export files.

    Parameters
    ----------
    paths : iterable of str or Path
        Files, folders (every ``.csv``, ``.tsv`` and ``.txt`` file in them,
        sorted by name) or comma-separated lists of either.

    Returns
    -------
    list of Path
        Distinct files, in the order given. Missing paths are kept so that
        :func:`read_backlinks` reports them with a clear message.
    """
    out: list[Path] = []
    for item in paths:
        for part in str(item).split(",") if isinstance(item, str) else [str(item)]:
            if not part.strip():
                continue
            path = Path(part.strip()).expanduser()
            if path.is_dir():
                found = sorted(
                    p for p in path.iterdir() if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES
                )
                if not found:
                    raise UnreadableExportError(f"{path}: folder holds no .csv, .tsv or .txt file")
                out.extend(found)
            else:
                out.append(path)
    return list(dict.fromkeys(out))


def _sniff_encoding(sample: bytes, name: str) -> tuple[str, int, list[str]]:
    """Return ``(encoding, bytes to skip, warnings)`` for a file's first bytes."""
    if sample.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2, []
    if sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2, []
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8", 3, []
    for magic, what in _SIGNATURES:
        if sample.startswith(magic):
            raise UnreadableExportError(f"{name}: is {what}")
    if b"\x00" in sample:
        head = sample[:4096]
        zeros_odd = head[1::2].count(0)
        zeros_even = head[0::2].count(0)
        half = len(head) // 2
        if half and zeros_odd > 0.9 * half and zeros_even == 0:
            return "utf-16-le", 0, []
        if half and zeros_even > 0.9 * half and zeros_odd == 0:
            return "utf-16-be", 0, []
        raise UnreadableExportError(f"{name}: is a binary file, not a CSV export")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        line = sample.count(b"\n", 0, exc.start) + 1
        return (
            "cp1252",
            0,
            [f"{name}: not UTF-8 (line {line}): read as Windows-1252 (cp1252)"],
        )
    return "utf-8", 0, []


def _modal_width(lines: list[str], delimiter: str) -> tuple[int, int]:
    """``(rows sharing the most common width, that width)`` for one delimiter."""
    widths: Counter[int] = Counter()
    try:
        for row in csv.reader(lines, delimiter=delimiter):
            if len(row) > 1:
                widths[len(row)] += 1
    except csv.Error:
        pass
    if not widths:
        return 0, 1
    width, count = max(widths.items(), key=lambda item: (item[1], item[0]))
    return count, width


def _sniff_delimiter(text: str) -> tuple[str, int]:
    """Pick the delimiter under which most sample rows share one width."""
    lines = text.splitlines(keepends=True)[:_SNIFF_ROWS]
    best = (",", 1)
    best_score = (0, 0, 0)
    for rank, delimiter in enumerate(reversed(DELIMITERS)):
        count, width = _modal_width(lines, delimiter)
        score = (count, width, rank)
        if count and score > best_score:
            best, best_score = (delimiter, width), score
    return best


class BacklinkFile:
    """An open export: iterate it for rows (lists of cells).

    Use :func:`read_backlinks` to open one. Attributes are set on opening:

    Attributes
    ----------
    path : Path
    name : str
        The file name used in messages.
    encoding : str
        ``utf-8``, ``utf-16-le``, ``utf-16-be`` or ``cp1252``.
    bom : bool
        Whether the file started with a byte-order mark.
    delimiter : str
        ``\\t``, ``;`` or ``,``.
    width : int
        The most common number of cells per row in the first lines.
    warnings : list of str
        Decoding notes (cp1252 fallback), one line each.
    line_num : int
        Physical line (from 1) where the last row yielded starts.
    bad_lines : list of (int, str, str)
        ``(line, code, reason)`` of lines that could not be split into a row;
        the parser reports them as rejected rows.
    """

    def __init__(self, path: str | Path, *, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or str(path)
        self.line_num = 0
        self.bad_lines: list[tuple[int, str, str]] = []
        self.warnings: list[str] = []
        self._fallback_lines = 0
        try:
            self._raw: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError:
            raise UnreadableExportError(f"{self.name}: no such file") from None
        except IsADirectoryError:
            raise UnreadableExportError(f"{self.name}: is a folder, not a file") from None
        except PermissionError:
            raise UnreadableExportError(
                f"{self.name}: cannot be read (permission denied)"
            ) from None
        except OSError as exc:
            raise UnreadableExportError(f"{self.name}: cannot be read ({exc.strerror})") from None
        try:
            self._open()
        except BaseException:
            self._raw.close()
            raise

    def _open(self) -> None:
        sample = self._raw.read(_SAMPLE_BYTES)
        if not sample.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
            raise UnreadableExportError(f"{self.name}: is empty")
        encoding, skip, warnings = _sniff_encoding(sample, self.name)
        self.encoding = encoding
        self.bom = skip > 0
        self.warnings.extend(warnings)
        body = sample[skip:]
        if encoding.startswith("utf-16"):
            body = body[: len(body) - len(body) % 2]
            text = body.decode(encoding, errors="replace")
        else:
            text = body.decode(encoding if encoding != "utf-8" else "utf-8", errors="replace")
        # Drop the last, possibly cut, line of the sample before sniffing.
        if len(sample) == _SAMPLE_BYTES and "\n" in text:
            text = text[: text.rindex("\n") + 1]
        if not text.strip():
            raise UnreadableExportError(f"{self.name}: is empty")
        self.delimiter, self.width = _sniff_delimiter(text)
        self._raw.seek(skip)
        # Lines end in "\n" for nearly every export; a file using bare "\r"
        # (old Mac) needs the text layer's universal newlines instead.
        self._cr_only = "\n" not in text and "\r" in text

    @property
    def delimiter_name(self) -> str:
        """``tab``, ``semicolon`` or ``comma``."""
        return _DELIMITER_NAMES[self.delimiter]

    @property
    def fallback_lines(self) -> int:
        """Lines read as cp1252 because they were not valid UTF-8."""
        return self._fallback_lines

    # -- lines -----------------------------------------------------------

    def _lines(self) -> Iterator[str]:
        if self.encoding.startswith("utf-16") or self._cr_only:
            text = io.TextIOWrapper(self._raw, encoding=self.encoding, errors="replace", newline="")
            yield from text
            return
        if self.encoding == "cp1252":
            for raw in self._raw:
                yield raw.decode("cp1252", "replace")
            return
        first_fallback = 0
        for line_no, raw in enumerate(self._raw, 1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self._fallback_lines += 1
                first_fallback = first_fallback or line_no
                yield raw.decode("cp1252", "replace")
        if self._fallback_lines:
            self.warnings.append(
                f"{self.name}: {self._fallback_lines} line(s) not valid UTF-8, read as "
                f"Windows-1252 (first: line {first_fallback})"
            )

    # -- rows ------------------------------------------------------------

    def __iter__(self) -> Iterator[list[str]]:
        lines = self._lines()
        replay: deque[str] = deque()  # lines to read again after a broken record
        consumed: list[str] = []  # the physical lines of the record being read
        limit = MAX_RECORD_LINES

        def feed() -> Iterator[str]:
            while True:
                if replay:
                    text = replay.popleft()
                else:
                    found = next(lines, None)
                    if found is None:
                        return
                    text = found
                consumed.append(text)
                if len(consumed) > limit:
                    yield _CLOSE_QUOTE
                    continue
                yield text

        delimiter = self.delimiter
        reader = csv.reader(feed(), delimiter=delimiter)
        width = self.width
        bad = self.bad_lines
        start = 1  # physical line where the next record starts
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                if not replay:
                    return
                # The file ended inside a broken quote: read the lines it swallowed again.
                reader = csv.reader(feed(), delimiter=delimiter)
                continue
            except csv.Error as exc:
                if not consumed:
                    return
                bad.append((start, "csv", f"unreadable row ({exc})"))
            else:
                taken = len(consumed)
                if taken == 1:
                    consumed.clear()
                    self.line_num = start
                    start += 1
                    if cells:
                        yield cells
                    continue
                # A record over several lines: a quoted field with line breaks, or a
                # quote that never closes. Keep it when it closed in time with the
                # file's usual width.
                if taken <= limit and (len(cells) == width or width <= 1):
                    consumed.clear()
                    self.line_num = start
                    start += taken
                    yield cells
                    continue
                bad.append(
                    (start, "quotes", "unbalanced quotes: the row's quoted field never closes")
                )
            # Reject the record's first line and read the others again as rows.
            replay.extendleft(reversed(consumed[1 : limit + 1]))
            consumed.clear()
            start += 1

    # -- lifecycle -------------------------------------------------------

    def close(self) -> None:
        """Close the file."""
        self._raw.close()

    def __enter__(self) -> BacklinkFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_backlinks(path: str | Path, *, name: str | None = None) -> BacklinkFile:
    """Open a backlink export for reading.

    Parameters
    ----------
    path : str or Path
        The file.
    name : str, optional
        How to name the file in messages (default: the path as given).

    Returns
    -------
    BacklinkFile
        Iterable of rows; a context manager that closes the file.

    Raises
    ------
    UnreadableExportError
        Missing, a folder, unreadable, empty, binary, or a spreadsheet.
    """
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    return BacklinkFile(path, name=name)
