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

Speed: the file is decoded a megabyte at a time and cut into blocks of whole
lines; a block whose lines all have one of the two common shapes (no quote at
all, or every field quoted) is split into rows with a few ``str`` methods on
the whole block (:func:`_split_block`), which is what makes reading a
million-row export take seconds. Any other block goes line by line.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import numpy as np

from pipelines.backlinks.model import UnreadableExportError

__all__ = [
    "DELIMITERS",
    "EXPORT_SUFFIXES",
    "MAX_RECORD_LINES",
    "BacklinkFile",
    "CleanLines",
    "expand_backlink_paths",
    "fallback_warning",
    "line_splitter",
    "read_backlinks",
]

#: Delimiters we sniff for, in order of preference on a tie.
DELIMITERS: Final = ("\t", ";", ",")
#: File suffixes taken from a folder.
EXPORT_SUFFIXES: Final = (".csv", ".tsv")
#: Physical lines one quoted field may span before we call its quote broken.
MAX_RECORD_LINES: Final = 50
_SAMPLE_BYTES: Final = 65536
_SNIFF_ROWS: Final = 60
_FIELD_LIMIT: Final = 1 << 20  # 1 MiB: no export has a longer cell
_READ_BUFFER: Final = 1 << 20
_BLOCK_CHARS: Final = 1 << 16  # a block of lines split at once (see _split_block)
_RUN_CHARS: Final = 1 << 21  # a run of clean blocks given at once (clean_runs)
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


def exports_in_folder(folder: Path) -> list[Path]:
    """The backlink exports in a folder: its ``.csv`` and ``.tsv`` files, sorted by name.

    Parameters
    ----------
    folder : Path
        An existing folder.

    Returns
    -------
    list of Path
        The exports; hidden files (editor and OS litter) are left out.
    """
    return sorted(
        child
        for child in folder.iterdir()
        if child.is_file()
        and not child.name.startswith(".")
        and child.suffix.lower() in EXPORT_SUFFIXES
    )


def expand_backlink_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Expand the paths a user gave into export files.

    Parameters
    ----------
    paths : iterable of str or Path
        Files, folders (see :func:`exports_in_folder`) or comma-separated lists of either.

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
                found = exports_in_folder(path)
                if not found:
                    raise UnreadableExportError(f"{path}: folder holds no .csv or .tsv file")
                out.extend(found)
            else:
                out.append(path)
    return list(dict.fromkeys(out))


class _Window(io.RawIOBase):
    """Bytes ``[start, end)`` of an open file (``end`` ``None``: to its end), read with
    ``os.pread`` so that several windows on one file do not share a position."""

    def __init__(self, fd: int, start: int, end: int | None) -> None:
        super().__init__()
        self._fd = fd
        self._pos = start
        self._end = end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        if self._end is not None:
            size = min(size, self._end - self._pos)
        if size <= 0:
            return 0
        data = os.pread(self._fd, size, self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def fallback_warning(name: str, count: int, first: int) -> str:
    """The warning for lines of a UTF-8 file that were read as Windows-1252."""
    return f"{name}: {count} line(s) not valid UTF-8, read as Windows-1252 (first: line {first})"


@dataclass(frozen=True)
class CleanLines:
    """A run of whole lines that Arrow reads exactly as ``str.split`` would.

    Attributes
    ----------
    text : str
        The lines, each with its line end (``\\n`` or ``\\r\\n``); none is blank.
    first_line : int
        The line number of the first.
    lines : int
        How many there are.
    """

    text: str
    first_line: int
    lines: int


def _find_aligned(fd: int, newline: bytes, position: int, origin: int) -> int | None:
    """Offset of the first ``newline`` at or after ``position`` that starts a code unit
    (its distance from ``origin`` is a multiple of its length), or ``None``."""
    unit = len(newline)
    while True:
        block = os.pread(fd, _READ_BUFFER, position)
        if len(block) < unit:
            return None
        index = block.find(newline)
        while index >= 0 and (position + index - origin) % unit:
            index = block.find(newline, index + 1)
        if index >= 0:
            return position + index
        position += len(block) - len(block) % unit


def line_splitter(delimiter: str) -> Callable[[str], list[str] | None]:
    """``line -> cells`` for the lines ``str.split`` reads exactly as :mod:`csv` does.

    Two shapes cover nearly every export line: no quote at all (Semrush,
    Majestic), or every field quoted (Ahrefs "for Excel"). For the second, the
    line is split on ``"<delimiter>"`` and accepted only when its quotes are
    exactly the two around each field, so no field holds a quote, an escaped
    quote or the start of a multi-line field. Anything else (``None``) goes to
    :mod:`csv`. A blank line gives ``[]``, as :mod:`csv` does.
    """
    between = f'"{delimiter}"'

    def split_line(line: str) -> list[str] | None:
        body = line.rstrip("\r\n")
        if "\x00" in body or "\r" in body:
            return None
        if '"' not in body:
            return body.split(delimiter) if body else []
        if len(body) < 2 or body[0] != '"' or body[-1] != '"':
            return None
        cells = body[1:-1].split(between)
        return cells if body.count('"') == 2 * len(cells) else None

    return split_line


def _block_splitter(delimiter: str) -> Callable[[str], list[list[str]] | None]:
    """``block -> rows`` for a block of whole lines each of which
    :func:`line_splitter` reads, with the same cells; ``None`` otherwise.

    The block is checked as a whole (``in`` is a ``memchr``; a ``count`` costs
    more, so there is one at most): it passes only when every line has the
    same shape and line end, so that splitting the block at its line ends
    gives its lines.

    * No quote in the block: lines end all in ``\n`` (and no ``\r``) or all
      in ``\r\n`` (no other ``\r`` or ``\n`` between them); no NUL. A blank
      line is the empty row.
    * Every field quoted: each line is ``"``, the cells joined by
      ``"<delimiter>"``, then ``"`` and its line end, with no other ``\r`` or
      ``\n``; no NUL; and the block holds exactly two quotes per cell (a cell
      holding a quote would add some: each line has at least that many).
    """
    between = f'"{delimiter}"'

    def split_block(block: str) -> list[list[str]] | None:
        if block[-1] != "\n" or "\x00" in block:
            return None
        crlf = block[-2:] == "\r\n"
        end = "\r\n" if crlf else "\n"
        if '"' not in block:
            if not crlf:
                if "\r" in block:
                    return None
                return [body.split(delimiter) if body else [] for body in block[:-1].split("\n")]
            bodies = block[:-2].split("\r\n")
            inner = "".join(bodies)
            if "\n" in inner or "\r" in inner:
                return None
            return [body.split(delimiter) if body else [] for body in bodies]
        if block[0] != '"' or block[-1 - len(end)] != '"':
            return None
        bodies = block[1 : -1 - len(end)].split(f'"{end}"')
        inner = "".join(bodies)
        if "\n" in inner or "\r" in inner:
            return None
        rows = [body.split(between) for body in bodies]
        if block.count('"') != 2 * sum(map(len, rows)):
            return None
        return rows

    return split_block


def clean_lines(delimiter: str) -> Callable[[str], int]:
    """``block -> lines``: how many lines a block has when a CSV reader given only
    its text reads exactly the rows :func:`_block_splitter` gives, else 0.

    The shapes of :func:`_block_splitter`, counted instead of split, and no
    blank line (a CSV reader skips it, where a blank line is a line number
    here): every line ends alike; a block without quotes has no other ``\r``;
    in a quoted block each line starts and ends with a quote, and the quotes
    are exactly two per cell (cells: the ``"<delimiter>"`` between them, plus
    one per line).

    A block of a few thousand characters or more is checked on its UTF-8
    bytes with NumPy (:func:`_plain_lines_in_bytes`: the same rules, about
    three times faster than a dozen string scans); a shorter one with string
    methods (:func:`_plain_lines_in_text`).
    """
    in_text = _plain_lines_in_text(delimiter)
    delimiter_byte = ord(delimiter)

    def lines_of(block: str) -> int:
        if len(block) < _NUMPY_CHECK_CHARS:
            return in_text(block)
        found = _plain_lines_in_bytes(block, delimiter_byte)
        return in_text(block) if found is None else found

    return lines_of


#: The shortest block :func:`clean_lines` checks with NumPy (below it, the fixed
#: cost of twenty array operations is more than the string scans).
_NUMPY_CHECK_CHARS: Final = 4096


def _plain_lines_in_text(delimiter: str) -> Callable[[str], int]:
    """:func:`clean_lines`' rules with string methods."""
    between = f'"{delimiter}"'
    starts_badly, ends_badly = f'"{delimiter}', f'{delimiter}"'

    def lines_of(block: str) -> int:
        # A leading U+FEFF is taken for a byte-order mark by Arrow: not a plain run.
        if block[-1] != "\n" or block[0] in "\r\n\ufeff" or "\x00" in block:
            return 0
        lines = block.count("\n")
        crlf = block[-2] == "\r"
        end = "\r\n" if crlf else "\n"
        if '"' not in block:
            if crlf:  # every "\r" ends a line, before its "\n"
                ok = block.count("\r\n") == lines == block.count("\r") and "\n\r" not in block
            else:
                ok = "\r" not in block and "\n\n" not in block
            return lines if ok else 0
        # Each line "..."<end>: its end inside one of the lines - 1 '"<end>"' (or last).
        # A line that starts '"<delimiter>' or ends '<delimiter>"' is left out: with
        # the quote around it, a cell's own '<delimiter>"' would count as a separator
        # (the splitter counts within each line, its outer quotes left out).
        if (
            block[0] != '"'
            or block[-1 - len(end)] != '"'
            or block.count(f'"{end}"') != lines - 1
            or (crlf and block.count("\r") != lines)
            or (not crlf and "\r" in block)
            or block.startswith(starts_badly)
            or f"\n{starts_badly}" in block
            or f"{ends_badly}{end}" in block
            or block.startswith(f'"{end}')  # a line of one quote (the count above
            or f'\n"{end}' in block  # misses it when it is first or last)
            or block.count('"') != 2 * (block.count(between) + lines)
        ):
            return 0
        return lines

    return lines_of


def _plain_lines_in_bytes(block: str, delimiter: int) -> int | None:
    """:func:`clean_lines`' rules on the block's UTF-8 bytes.

    Every character the rules name is ASCII, and no other character's UTF-8
    bytes are: a pattern is in the bytes where it is in the text. A few array
    operations go over the whole block; the patterns with a line break are
    looked for around the line breaks only. ``None`` when two ``"<delimiter>"``
    overlap (``"<d>"<d>"``): ``str.count`` counts such runs apart, so the text
    check decides them.
    """
    if block[-1] != "\n" or block[0] in "\r\n\ufeff":
        return 0
    data = np.frombuffer(block.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    if not data.all():  # a NUL
        return 0
    ends = np.flatnonzero(data == _LF)  # the last is the block's last byte
    lines = len(ends)
    crs = int(np.count_nonzero(data == _CR))
    crlf = block[-2] == "\r"
    inner = ends[:-1]  # the line breaks another line follows
    quote = data == _QUOTE
    quotes = int(np.count_nonzero(quote))
    if not quotes:
        if crlf:  # every "\r" ends a line, before its "\n"; no "\n\r"
            ok = crs == lines and bool((data[ends - 1] == _CR).all())
            return lines if ok and _CR not in data[inner + 1] else 0
        return lines if crs == 0 and _LF not in data[inner + 1] else 0  # no "\n\n"
    # A quoted block: each line '"' ... '"' <end>. `before` is where each line's
    # end starts (its "\r" or its "\n"); the block starts with a line of two
    # characters at least ('"<end>' is refused first).
    width = 2 if crlf else 1
    before = ends - 1 if crlf else ends
    if (
        data[0] != _QUOTE
        or crs != (lines if crlf else 0)
        or (crlf and not (data[before] == _CR).all())
        or (data[1] == _CR and data[2] == _LF if crlf else data[1] == _LF)  # '"<end>' first
        or data[1] == delimiter  # '"<delimiter>' first
        or not (data[before - 1] == _QUOTE).all()  # each line ends '"<end>'
        or not (data[inner + 1] == _QUOTE).all()  # ... and the next starts '"'
        or delimiter in data[before - 2]  # '<delimiter>"<end>'
        or delimiter in data[inner + 2]  # '\n"<delimiter>'
        or bool((np.diff(ends) == 1 + width).any())  # '\n"<end>': a line of one quote
    ):
        return 0
    between = quote[:-2] & (data[1:-1] == delimiter) & quote[2:]
    if (between[:-2] & between[2:]).any():
        return None
    return lines if quotes == 2 * (int(np.count_nonzero(between)) + lines) else 0


_LF, _CR, _QUOTE = ord("\n"), ord("\r"), ord('"')


def _block_lines(block: str, universal: bool) -> list[str]:
    """The lines of a block, with their line ends: ends are ``\n`` (as a binary
    file's lines), or ``\n``, ``\r\n`` and a lone ``\r`` (``universal``, as
    a text file opened with ``newline=""``)."""
    if universal and block.count("\r") != block.count("\r\n"):
        return list(io.StringIO(block, newline=""))
    parts = block.split("\n")
    last = parts.pop()
    lines = [part + "\n" for part in parts]
    if last:
        lines.append(last)
    return lines


class _Lines:
    """The lines of a file or region, decoded a block at a time.

    Iterate for single lines; :meth:`rows` splits a whole block at once when
    no single line is pending.
    """

    def __init__(
        self,
        blocks: Iterator[str] | None,
        lines: Iterator[str] | None = None,
        *,
        universal: bool = False,
    ) -> None:
        self._blocks = blocks
        self._lines = lines
        self._pending: deque[str] = deque()
        self._universal = universal
        #: Lines taken from the blocks so far.
        self.count = 0

    def rows(self, split_block: Callable[[str], list[list[str]] | None]) -> list[list[str]] | None:
        """The rows of the next block when it splits (see :func:`_block_splitter`);
        otherwise ``None`` and its lines are next."""
        if self._pending or self._blocks is None:
            return None
        block = next(self._blocks, None)
        if block is None:
            return None
        rows = split_block(block)
        if rows is None:
            lines = _block_lines(block, self._universal)
            self.count += len(lines)
            self._pending.extend(lines)
        else:
            self.count += len(rows)
        return rows

    def clean_run(self, lines_of: Callable[[str], int], size: int) -> tuple[str, int] | None:
        """The next blocks, joined, while :func:`clean_lines` takes them (up to
        about ``size`` characters), with their number of lines; ``None`` when the
        next block is not one (its lines are next) or there is none."""
        if self._pending or self._blocks is None:
            return None
        parts: list[str] = []
        lines = taken = 0
        while taken < size:
            block = next(self._blocks, None)
            if block is None:
                break
            count = lines_of(block)
            if not count:
                found = _block_lines(block, self._universal)
                self._pending.extend(found)
                self.count += len(found)
                break
            parts.append(block)
            lines += count
            taken += len(block)
            # Counted as taken: reading on numbers the lines it decodes from this count.
            self.count += count
        if not parts:
            return None
        return "".join(parts), lines

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        pending = self._pending
        if pending:
            return pending.popleft()
        if self._blocks is None:
            assert self._lines is not None
            return next(self._lines)
        for block in self._blocks:
            lines = _block_lines(block, self._universal)
            self.count += len(lines)
            pending.extend(lines)
            return pending.popleft()
        raise StopIteration


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
    data_start : int
        Byte offset of the text (after the byte-order mark).
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

    A *region* (``region=(start, end)``, byte offsets of line starts) reads
    only the records that start in ``[start, end)``, so that several
    processes can read one large file: lines are numbered from the region's
    first line, ``skip`` lines at its start are passed over (the previous
    region's last record used them), and a record that starts before ``end``
    but runs past it is read to its end. After iteration, :attr:`region_lines`
    is the number of physical lines in the region and :attr:`overrun` the
    number of lines after it that such a record took.
    """

    #: Split plain lines with ``str.split`` (see :func:`line_splitter`); the
    #: tests turn it off to check that both ways give the same rows.
    fast: bool = True
    #: Give runs of plain lines as :class:`CleanLines`
    #: instead of their rows, from the next block on (the import's workers set it
    #: once the header is read: :class:`~pipelines.backlinks.columnar.RunRows`).
    clean_runs: bool = False

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        region: tuple[int, int | None] | None = None,
        skip: int = 0,
    ) -> None:
        self.path = Path(path)
        self.name = name or str(path)
        self.line_num = 0
        self.bad_lines: list[tuple[int, str, str]] = []
        self.warnings: list[str] = []
        self._decoded_lines = 0  # lines _decode gave (bare "\r" files)
        self._source: _Lines | None = None
        self.overrun = 0
        self._fallback_lines = 0
        self._first_fallback = 0
        self._region = region
        self._skip = skip
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
        self.data_start = skip
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
        #: Bytes per line in the first 64 KiB (to estimate a file's rows from its size).
        self.sample_bytes_per_line = max(1, len(body) // max(1, text.count("\n")))
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

    @property
    def first_fallback_line(self) -> int:
        """The first of them (0 when none)."""
        return self._first_fallback

    @property
    def region_lines(self) -> int:
        """Physical lines read from the file or region (all of them, after iteration)."""
        source = self._source.count if self._source is not None else 0
        return self._decoded_lines + source

    @property
    def splittable(self) -> bool:
        """Whether the file can be read in regions (its lines end in ``\\n``)."""
        return not self._cr_only

    def regions(self, size: int) -> list[tuple[int, int | None]]:
        """Cut the file into regions of about ``size`` bytes, at line starts.

        Returns
        -------
        list of (int, int or None)
            ``(start, end)`` byte offsets for ``region=``; the first starts at
            0 (the file's start), the last ends at ``None`` (its end). One
            region when the file is small or its lines end in a bare ``\r``.
        """
        fd = self._raw.fileno()
        total = os.fstat(fd).st_size
        if self._cr_only or total - self.data_start <= size:
            return [(0, None)]
        newline = {"utf-16-le": b"\n\x00", "utf-16-be": b"\x00\n"}.get(self.encoding, b"\n")
        unit = len(newline)  # the newline's code unit: 2 bytes in UTF-16, else 1
        starts = [0]
        position = self.data_start + size
        while position < total:
            position += (position - self.data_start) % unit
            found = _find_aligned(fd, newline, position, self.data_start)
            if found is None or found + unit >= total:
                break
            starts.append(found + unit)
            position = found + unit + size
        ends: list[int | None] = [*starts[1:], None]
        return list(zip(starts, ends, strict=True))

    # -- lines -----------------------------------------------------------

    def _window(self, start: int, end: int | None) -> IO[bytes]:
        """The bytes ``[start, end)`` of the file, buffered."""
        return io.BufferedReader(_Window(self._raw.fileno(), start, end), _READ_BUFFER)

    def _decode(self, stream: IO[bytes], *, region: bool = True) -> Iterator[str]:
        """Lines of ``stream``; for the region's own lines (not those after it),
        counted in :attr:`region_lines`, with the cp1252 fallbacks."""
        if self.encoding.startswith("utf-16") or self._cr_only:
            text = io.TextIOWrapper(stream, encoding=self.encoding, errors="replace", newline="")
            if not region:
                yield from text
                return
            for line in text:
                self._decoded_lines += 1
                yield line
            return
        if self.encoding == "cp1252":
            for raw in stream:
                self._decoded_lines += region
                yield raw.decode("cp1252", "replace")
            return
        for line_no, raw in enumerate(stream, 1):
            self._decoded_lines += region
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                if region:
                    self._fallback_lines += 1
                    self._first_fallback = self._first_fallback or line_no
                yield raw.decode("cp1252", "replace")
        if region and self._fallback_lines and self._region is None:
            self.warnings.append(
                fallback_warning(self.name, self._fallback_lines, self._first_fallback)
            )

    def _blocks(self, stream: IO[bytes]) -> Iterator[str]:
        """Blocks of whole lines of ``stream`` (the last may lack its line end), of
        about :data:`_BLOCK_CHARS` each: the lines :meth:`_decode` gives, decoded a
        megabyte at a time (with the cp1252 fallbacks)."""
        universal = self.encoding.startswith("utf-16")
        read = stream.read  # lines are counted by _Lines as it takes them
        if universal:
            decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
            text = ""
            while raw := read(_READ_BUFFER):
                text += decoder.decode(raw)
                cut = text.rfind("\n") + 1
                if cut:
                    yield from self._cut(text, cut)
                    text = text[cut:]
            text += decoder.decode(b"", final=True)
            if text:
                yield from self._cut(text, len(text))
            return
        data = b""
        while raw := read(_READ_BUFFER):
            data += raw
            cut = data.rfind(b"\n") + 1
            if cut:
                yield from self._cut(self._text(data[:cut]))
                data = data[cut:]
        if data:
            yield from self._cut(self._text(data))
        if self._fallback_lines and self._region is None:
            self.warnings.append(
                fallback_warning(self.name, self._fallback_lines, self._first_fallback)
            )

    def _text(self, data: bytes) -> str:
        """Whole lines of a UTF-8 or cp1252 file as text: a line that is not
        valid UTF-8 is read as cp1252 (counted)."""
        if self.encoding == "cp1252":
            return data.decode("cp1252", "replace")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        lines = data.split(b"\n")
        last = lines.pop()
        parts = []
        for number, raw in enumerate(lines, self.region_lines + 1):
            try:
                parts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                self._fallback_lines += 1
                self._first_fallback = self._first_fallback or number
                parts.append(raw.decode("cp1252", "replace"))
        if last:
            try:
                parts.append(last.decode("utf-8"))
            except UnicodeDecodeError:
                self._fallback_lines += 1
                self._first_fallback = self._first_fallback or self.region_lines + len(lines) + 1
                parts.append(last.decode("cp1252", "replace"))
            return "\n".join(parts)
        return "\n".join(parts) + "\n"

    @staticmethod
    def _cut(text: str, size: int | None = None) -> Iterator[str]:
        """``text[:size]`` (whole lines, but maybe the last) in blocks of whole lines."""
        start = 0
        size = len(text) if size is None else size
        while start < size:
            end = text.find("\n", start + _BLOCK_CHARS, size) + 1 or size
            yield text[start:end]
            start = end

    def _lines(self) -> _Lines:
        """The lines of the file, or of the region; counted in :attr:`region_lines`."""
        universal = self.encoding.startswith("utf-16")
        if self._cr_only:
            start = self._region[0] if self._region is not None else 0
            return _Lines(None, self._decode(self._window(max(start, self.data_start), None)))
        if self._region is None:
            stream: IO[bytes] = self._raw
        else:
            start, end = self._region
            stream = self._window(max(start, self.data_start), end)
        self._source = _Lines(self._blocks(stream), universal=universal)
        return self._source

    def _overflow(self) -> Iterator[str]:
        """The lines after the region (they belong to the next region)."""
        end = self._region[1] if self._region is not None else None
        if end is None:
            return iter(())
        return self._decode(self._window(end, None), region=False)

    # -- rows ------------------------------------------------------------

    def __iter__(self) -> Iterator[list[str]]:
        region = self._lines()
        overflow: Iterator[str] | None = None
        replay: deque[str] = deque()  # lines to read again after a broken record
        consumed: list[str] = []  # the physical lines of the record being read
        limit = MAX_RECORD_LINES
        split_line = line_splitter(self.delimiter) if self.fast else None
        split_block = _block_splitter(self.delimiter) if self.fast else None
        lines_of = clean_lines(self.delimiter)
        # Lines after the region are read only to finish a record that started in
        # it: they are counted where they are (the tail of `consumed`, then of
        # `replay` when that record is broken and its lines are read again).
        taken_after = consumed_after = replayed_after = 0
        for skipped in range(self._skip):
            if next(region, None) is None:
                # The record that took these lines runs past this region too.
                self.overrun = self._skip - skipped
                return

        def feed() -> Iterator[str]:
            nonlocal overflow, taken_after, consumed_after, replayed_after
            while True:
                if replay:
                    if len(replay) <= replayed_after:
                        replayed_after -= 1
                        consumed_after += 1
                    text = replay.popleft()
                else:
                    found = next(region, None)
                    if found is None:
                        if not consumed:
                            return
                        if overflow is None:
                            overflow = self._overflow()
                        found = next(overflow, None)
                        if found is None:
                            return
                        taken_after += 1
                        consumed_after += 1
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
        start = self._skip + 1  # physical line where the next record starts
        try:
            while True:
                if replay and len(replay) <= replayed_after:
                    return  # the next record starts after the region: the next one reads it
                if split_line is not None and split_block is not None and not replay:
                    # The common line is one whole record that str.split reads as csv
                    # would; most blocks of lines are made of nothing else.
                    while True:
                        if self.clean_runs:
                            run = region.clean_run(lines_of, _RUN_CHARS)
                            if run is not None:
                                self.line_num = start
                                yield CleanLines(run[0], start, run[1])  # type: ignore[misc]
                                start += run[1]
                                continue
                        rows = region.rows(split_block)
                        if rows is not None:
                            for cells in rows:
                                self.line_num = start
                                start += 1
                                if cells:
                                    yield cells
                            continue
                        text = next(region, None)
                        if text is None:
                            return
                        fast = split_line(text)
                        if fast is None:
                            replay.append(text)  # csv reads it (feed takes replayed lines first)
                            break
                        self.line_num = start
                        start += 1
                        if fast:
                            yield fast
                try:
                    cells = next(reader)
                except StopIteration:
                    if not replay or len(replay) <= replayed_after:
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
                        consumed_after = 0
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
                        consumed_after = 0
                        self.line_num = start
                        start += taken
                        yield cells
                        continue
                    bad.append(
                        (start, "quotes", "unbalanced quotes: the row's quoted field never closes")
                    )
                # Reject the record's first line and read the others again as rows
                # (a record never starts after the region, so lines after it are in
                # consumed[1:]).
                replay.extendleft(reversed(consumed[1 : limit + 1]))
                replayed_after += consumed_after
                consumed_after = 0
                consumed.clear()
                start += 1
        finally:
            self.overrun = taken_after - replayed_after

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
