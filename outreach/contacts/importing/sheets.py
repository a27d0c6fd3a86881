"""Reading a spreadsheet as a header and a stream of rows: CSV (any delimiter, any European encoding) or XLSX.

The importer sees the same thing for both formats: `Sheet.header` and `Sheet.rows`, an iterator of
(row number, cells) that never holds the whole file in memory. Row numbers are what the user sees: the line
where a CSV record starts (the same as the spreadsheet row unless a cell spans lines), the row of an XLSX sheet.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO

from outreach.contacts.importing.encodings import codec_name, detect_encoding
from outreach.contacts.importing.limits import MAX_CELL, Limits
from outreach.contacts.importing.xlsx import BadWorkbook, Workbook
from outreach.errors import InputError, NotFoundError

DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_DETECT_BYTES = 64 * 1024 * 1024  # enough for any real contact list; beyond it the head decides
_ACCENTED_WORD = re.compile(r"[^\W\d_]*[^\x00-\x7f\W\d_][^\W\d_]*")
_XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
# A longer cell is no contact (Excel holds at most 32,767 characters in a cell): it is an unclosed quote
# swallowing the rest of the file. csv's limit is process-wide; outreach reads every CSV with this one.
csv.field_size_limit(MAX_CELL)
DEFAULT_LIMITS = Limits()


@dataclass
class Sheet:
    """An open spreadsheet: its header, its rows (streamed once) and how it was read."""

    path: Path
    format: str  # "csv" | "xlsx"
    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[str]]]
    size: int  # bytes (CSV) or rows (XLSX), for progress
    encoding: str | None = None
    delimiter: str | None = None
    sheet_name: str | None = None
    guessed_words: list[str] = field(default_factory=list)  # a legacy code page was guessed: words to check
    _position: Callable[[], int] | None = field(default=None, repr=False)

    def position(self) -> int:
        """How far reading has got, in the unit of `size`."""
        return self._position() if self._position else 0

    def describe(self) -> str:
        """How the file was read, for the import report ("CSV, cp1250, semicolon")."""
        if self.format == "xlsx":
            return f"XLSX, sheet {self.sheet_name!r}"
        delimiter = _DELIMITER_NAMES.get(self.delimiter or ",", repr(self.delimiter))
        return f"CSV, {self.encoding}, {delimiter}-separated"


@contextmanager
def open_sheet(path: Path, encoding: str | None = None, sheet: str | None = None,
               limits: Limits = DEFAULT_LIMITS) -> Iterator[Sheet]:
    """Open a CSV or XLSX file; InputError/NotFoundError naming the file for anything unreadable.

    The format comes from the content, not the name. `encoding` applies to CSV files and `sheet` (a name or a
    1-based number) to workbooks; each is ignored for the other format, since one import may mix both.
    """
    if not path.exists():
        raise NotFoundError(f"{path} does not exist", "Check the file name and the folder you are in.")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a spreadsheet", "Give the path of a .csv or .xlsx file.")
    with path.open("rb") as raw:
        head = raw.read(16)
        raw.seek(0)
        if not head.strip():
            raise InputError(f"{path} is empty", "Export the contact list again; the file has no content.")
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise InputError(f"{path} is an old Excel 97-2003 (.xls) workbook, which outreach cannot read",
                             "Open it in Excel or LibreOffice and save it as .xlsx or as CSV UTF-8.")
        kind = _not_a_sheet(path, head)
        if kind:
            raise InputError(f"{path} is {kind}, not a spreadsheet (whatever its name says)",
                             "Give the contact list itself: open it in Excel or LibreOffice and save it as .xlsx "
                             "or as CSV UTF-8. outreach cannot read contacts out of documents or images.")
        if head.startswith(b"PK\x03\x04"):
            yield _open_xlsx(path, sheet, limits)
            return
        if path.suffix.lower() in _XLSX_SUFFIXES:
            raise InputError(f"{path} is not a readable XLSX workbook (damaged, truncated or not Excel at all)",
                             "Open it in Excel or LibreOffice and save it again as .xlsx or as CSV UTF-8.")
        yield _open_csv(path, raw, encoding, limits)


_MAGIC = ((b"%PDF", "a PDF document"), (b"{\\rtf", "an RTF document"), (b"\x89PNG", "a PNG image"),
          (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip archive"),
          (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf", "a 7-Zip archive"),
          (b"SQLite format 3\x00", "an SQLite database"))
_ZIPPED = (("word/", "a Word document"), ("ppt/", "a PowerPoint presentation"))


def _not_a_sheet(path: Path, head: bytes) -> str | None:
    """What a file that cannot hold a contact list looks like ("a PDF document"), from its first bytes."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if not head.startswith(b"PK\x03\x04"):
        return None
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None  # a damaged workbook: the XLSX reader says so
    for prefix, kind in _ZIPPED:
        if any(name.startswith(prefix) for name in names):
            return kind
    workbook = any(name.startswith("xl/") for name in names) or "mimetype" in names
    return None if workbook else "a ZIP archive"


# --- CSV ------------------------------------------------------------------------------------------------------


def _open_csv(path: Path, raw: BinaryIO, encoding: str | None, limits: Limits) -> Sheet:
    data = raw.read(_DETECT_BYTES)
    raw.seek(0)
    if _looks_binary(data):
        raise InputError(f"{path} is not a text (CSV) file: it holds binary data",
                         "Export the list as CSV (UTF-8) or give the .xlsx workbook itself.")
    if encoding:
        try:
            codec = codec_name(encoding)
        except LookupError:
            raise InputError(f"Unknown encoding {encoding!r}",
                             "Use a name such as utf-8, cp1250, iso-8859-2, cp1252, cp1253, iso-8859-7, cp1257."
                             ) from None
    else:
        codec = detect_encoding(data)
    if codec == "utf-8":
        codec = "utf-8-sig"
    text = io.TextIOWrapper(raw, encoding=codec, errors="strict", newline="")
    lines = _LineCounter(text, path, codec, forced=bool(encoding))
    preview = _preview(path, data, codec, forced=bool(encoding))
    delimiter, skip_sep_line = _sniff(preview)
    guessed = [] if encoding or codec.startswith("utf") else _accented_words(preview)
    if skip_sep_line:
        lines.skip_line()
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    header_row, header, rows = find_header(_csv_rows(path, reader, lines, limits))
    if header is None:
        raise InputError(f"{path} has no rows", "The file holds only empty lines.")
    if len(header) > limits.columns:
        raise limits.too_many_columns(path, len(header), f"line {header_row} (the header)")
    return Sheet(path=path, format="csv", header=header, header_row=header_row,
                 rows=rows, size=max(len(data), path.stat().st_size),
                 encoding="utf-8" if codec == "utf-8-sig" else codecs.lookup(codec).name, delimiter=delimiter,
                 guessed_words=guessed, _position=lambda: raw.tell())


class _LineCounter:
    """Feeds lines to csv.reader and knows the line number where the current record starts."""

    def __init__(self, text: io.TextIOWrapper, path: Path, codec: str, forced: bool) -> None:
        self.text, self.path, self.codec, self.forced = text, path, codec, forced
        self.line = 0
        self.record_start = 1

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        try:
            line = next(self.text)
        except UnicodeDecodeError as error:
            hint = ("Check the --encoding value." if self.forced else
                    "Give the file's encoding with --encoding (utf-8, cp1250, iso-8859-2, cp1252, cp1253, cp1257).")
            raise InputError(f"{self.path}, near line {self.line + 1}: the bytes are not valid {self.codec} "
                             f"({error.reason})", hint) from None
        self.line += 1
        return line

    def skip_line(self) -> None:
        """Read past one line (a `sep=;` line Excel writes above the header)."""
        next(self)


def _csv_rows(path: Path, reader: Iterator[list[str]], lines: _LineCounter,
              limits: Limits) -> Iterator[tuple[int, list[str]]]:
    while True:
        start = lines.line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise limits.cell_too_long(path, f"line {start}") from None
            raise InputError(f"{path}, line {start}: the CSV cannot be read ({error})",
                             'A quote (") probably opens a value that never closes; fix that line.') from None
        if "".join(cells).strip():  # not a blank line (one join instead of a strip per cell)
            yield start, cells


Rows = Iterator[tuple[int, list[str]]]


def find_header(rows: Rows) -> tuple[int, list[str] | None, Rows]:
    """The header row and the rows after it. Title lines above a table ("Kontakty 2025", one filled cell) are
    skipped when one of the next rows has several filled cells: that one is the header."""
    head: list[tuple[int, list[str]]] = []
    for item in rows:
        head.append(item)
        if len(head) >= 10:
            break
    if not head:
        return 0, None, iter(())
    index = 0
    while (index < len(head) - 1 and _filled(head[index][1]) <= 1 and not _names_a_field(head[index][1])
           and any(_filled(cells) > 1 for _, cells in head[index:])):
        index += 1
    number, header = head[index]

    def rest() -> Rows:
        yield from head[index + 1:]
        yield from rows

    return number, header, rest()


def _names_a_field(cells: list[str]) -> bool:
    from outreach.contacts.importing.columns import guess_field

    return any(guess_field(cell) for cell in cells if cell.strip())


def _filled(cells: list[str]) -> int:
    return sum(1 for cell in cells if cell.strip())


def _accented_words(text: str, limit: int = 5) -> list[str]:
    words: dict[str, None] = {}
    for word in _ACCENTED_WORD.findall(text):
        words.setdefault(word, None)
        if len(words) >= limit:
            break
    return list(words)


def _looks_binary(data: bytes) -> bool:
    sample = data[:65536]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 13))
    return controls > max(4, len(sample) // 100)


def _preview(path: Path, data: bytes, codec: str, forced: bool) -> str:
    head = data[:65536]
    try:
        return codecs.getincrementaldecoder(codec)(errors="strict").decode(head, final=False)
    except UnicodeDecodeError as error:
        line = head[:error.start].count(b"\n") + 1
        hint = "Check the --encoding value." if forced else "Give the file's encoding with --encoding."
        raise InputError(f"{path}, line {line}: the bytes are not valid {codec} ({error.reason})", hint) from None


def _sniff(preview: str) -> tuple[str, bool]:
    """The delimiter (Excel's `sep=;` first line wins), and whether that line must be skipped."""
    first = preview.lstrip("\ufeff").split("\n", 1)[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        return first[4], True
    lines = [line for line in preview.splitlines()[:50] if line.strip()][:-1] or preview.splitlines()[:1]
    best: tuple[bool, float, int, int] | None = None
    chosen = ","
    for preference, delimiter in enumerate(reversed(DELIMITERS)):
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not counts:
            continue
        consistency = sum(1 for count in counts if count == counts[0]) / len(counts)
        candidate = (counts[0] > 1, consistency, counts[0], preference)
        if best is None or candidate > best:
            best, chosen = candidate, delimiter
    return chosen, False


# --- XLSX -----------------------------------------------------------------------------------------------------


def _open_xlsx(path: Path, sheet: str | None, limits: Limits) -> Sheet:
    """Stream a workbook's sheet (see `xlsx.py`): the zip's sizes and the sheet's used range are checked first."""
    try:
        workbook = Workbook(path, limits)
    except BadWorkbook as error:
        raise _damaged(path, error) from None
    names = [ref.name for ref in workbook.sheets]
    if sheet is None:
        chosen = workbook.sheets[0]
    elif sheet in names:
        chosen = workbook.sheets[names.index(sheet)]
    elif sheet.isdigit() and 1 <= int(sheet) <= len(names):
        chosen = workbook.sheets[int(sheet) - 1]
    else:
        workbook.close()
        raise InputError(f"{path} has no sheet {sheet!r}",
                         "Its sheets are: " + ", ".join(repr(name) for name in names) + " (or give a number).")
    try:
        declared = workbook.check_dimension(chosen)
        if workbook.fits_calamine(chosen, declared):
            stream: Iterator[tuple[int, list[str]]] = _calamine_rows(path, chosen.name, limits)
        else:
            stream = _guarded(path, workbook.rows(chosen))
        header_row, found, rows = find_header(stream)
    except BadWorkbook as error:
        workbook.close()
        raise _damaged(path, error) from None
    except InputError:
        workbook.close()
        raise
    if found is None:
        workbook.close()
        raise InputError(f"{path}, sheet {chosen.name!r} has no rows", "Pick the sheet with the contacts with --sheet.")
    counter = {"row": header_row}

    def counted() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, cells in rows:
                counter["row"] = number
                yield number, cells
        finally:
            workbook.close()

    return Sheet(path=path, format="xlsx", header=found, header_row=header_row, rows=counted(), size=declared[0],
                 sheet_name=chosen.name, _position=lambda: counter["row"])


def _calamine_rows(path: Path, name: str, limits: Limits) -> Iterator[tuple[int, list[str]]]:
    """The rows of a sheet that `Workbook.fits_calamine` found small enough to load whole with calamine."""
    try:
        from python_calamine import CalamineWorkbook

        worksheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name)
        values = worksheet.iter_rows()
    except BaseException as error:  # calamine raises its own types, and a Rust panic is a BaseException
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        raise _damaged(path, error) from None
    # Rows come from row 1, but columns from the first used one: pad so that column letters stay right.
    padding = [""] * (worksheet.start[1] if worksheet.start else 0)
    for number, row in enumerate(values, start=1):
        cells = padding + [cell_text(value) for value in row]
        while cells and not cells[-1]:
            cells.pop()
        if any(cell.strip() for cell in cells):
            if len(cells) > limits.columns:  # cannot happen below column Z; kept for a smaller limit
                raise limits.too_many_columns(path, len(cells), f"sheet {name!r}, row {number}")
            yield number, cells


def _guarded(path: Path, rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    """The rows, with a damaged part of the archive found while streaming turned into the usual message."""
    try:
        yield from rows
    except BadWorkbook as error:
        raise _damaged(path, error) from None


def _damaged(path: Path, error: BaseException) -> InputError:
    return InputError(f"{path}: not a readable XLSX workbook, damaged or truncated ({error})",
                      "Open it in Excel or LibreOffice and save it again as .xlsx or as CSV UTF-8.")


def cell_text(value: object) -> str:
    """An XLSX cell as the text a user sees: 12.0 → "12", dates in ISO-8601, empty → ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
