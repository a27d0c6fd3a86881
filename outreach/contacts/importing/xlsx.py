"""Reading an XLSX sheet as a stream of rows, with bounds checked before and while reading.

A workbook is a zip of XML parts. The sheet is parsed with expat as it is decompressed, a megabyte at a time, so
memory does not grow with the number of rows. Before that, the zip's declared sizes are checked (a zip bomb is
refused without inflating it) and so is the sheet's `<dimension ref="A1:XFD1048576"/>` (a used range larger than
the bounds is refused before a single row is read). While reading, a cell beyond the last allowed column is
refused at once: a sparse sheet costs only the cells it really has.

Only what an import needs is read: sheet names (`xl/workbook.xml` and its relationships), shared strings,
which styles are dates (`xl/styles.xml`) and the cells' values.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO
from xml.parsers import expat

from outreach.contacts.importing.limits import Limits
from outreach.errors import InputError

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CHUNK = 1024 * 1024
# Parts read whole into memory (names, shared strings, styles) are bounded more tightly than the streamed sheet.
_MAX_PART = 64 * 1024 * 1024
_MAX_SHEET = 2 * 1024 * 1024 * 1024
# Deflate cannot shrink real XML much beyond 100:1; a zip bomb's parts are 1000:1 and more.
_MAX_RATIO = 500
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')
_REF = re.compile(r"([A-Z]{1,3})(\d*)")
# calamine (Rust) reads a sheet ten times faster than the streaming reader but holds the whole used range (the
# span from the first to the last cell, gaps included, about 32 bytes a cell) and every cell it parsed. It is used
# when that is small: a sheet part of at most 64 MB whose cells all lie in columns A–Z and rows below 200,000
# (at most 5.2 million cells of range). Anything else is streamed.
_CALAMINE_PART = 64 * 1024 * 1024
_CALAMINE_CELLS = 26 * 200_000
_OUTSIDE_CALAMINE = re.compile(rb' r="(?:[A-Z]{2,3}\d|[A-Z](?:[2-9]\d{5}|\d{7}))')
_DATE_IDS = frozenset({*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)})
_DATE_CODE = re.compile(r"[dmyhs]", re.IGNORECASE)
_NOT_CODE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')


class BadWorkbook(Exception):
    """The archive or its XML cannot be read (the caller names the file and says how to save it again)."""


@dataclass(frozen=True)
class SheetRef:
    """A worksheet of the workbook: its name and the zip member that holds it."""

    name: str
    part: str


def column_number(letters: str) -> int:
    """0-based column of "A", "Z", "AA", … "XFD"."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


class Workbook:
    """An open XLSX archive whose declared sizes were checked; `rows()` streams one sheet."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path, self.limits = path, limits
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise BadWorkbook(str(error)) from None
        self._check_sizes()
        self.sheets = self._sheets()
        book = self._part("xl/workbook.xml")
        self.date1904 = b'date1904="1"' in book or b'date1904="true"' in book

    def close(self) -> None:
        """Close the archive."""
        self.zip.close()

    def _check_sizes(self) -> None:
        for info in self.zip.infolist():
            ratio = info.file_size / max(1, info.compress_size)
            if info.file_size > _MAX_SHEET or (info.file_size > _CHUNK and ratio > _MAX_RATIO):
                raise InputError(
                    f"{self.path}: the part {info.filename} would unpack to {info.file_size:,} bytes from "
                    f"{info.compress_size:,} ({ratio:,.0f} to 1; outreach unpacks at most {_MAX_SHEET:,} bytes a part "
                    f"and at most {_MAX_RATIO} to 1): this is no contact list (a zip bomb?)",
                    "Open the workbook in Excel or LibreOffice, check it, and save it as CSV UTF-8.")

    def _part(self, name: str, required: bool = True) -> bytes:
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            if required:
                raise BadWorkbook(f"no {name}") from None
            return b""
        if info.file_size > _MAX_PART:
            raise InputError(f"{self.path}: the part {name} would unpack to {info.file_size:,} bytes "
                             f"(outreach reads at most {_MAX_PART:,})",
                             "Save the workbook as CSV UTF-8 and import that file.")
        try:
            return self.zip.read(name)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
            raise BadWorkbook(str(error)) from None

    def _sheets(self) -> list[SheetRef]:
        targets: dict[str, str] = {}

        def relation(tag: str, attrs: dict[str, str]) -> None:
            if tag.endswith("Relationship") and attrs.get("Type", "").endswith("/worksheet"):
                target = attrs.get("Target", "")
                targets[attrs.get("Id", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"

        _parse(self._part("xl/_rels/workbook.xml.rels"), relation)
        sheets: list[SheetRef] = []

        def sheet(tag: str, attrs: dict[str, str]) -> None:
            if tag == f"{_MAIN} sheet":
                part = targets.get(attrs.get(f"{_REL} id", ""))
                if part:
                    sheets.append(SheetRef(attrs.get("name", ""), part))

        _parse(self._part("xl/workbook.xml"), sheet)
        if not sheets:
            raise BadWorkbook("no worksheet")
        return sheets

    def shared_strings(self) -> list[str]:
        """The workbook's shared strings (rich-text runs joined; phonetic hints left out), in order."""
        strings: list[str] = []
        parts: list[str] = []
        state = {"t": 0, "rph": 0}

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == f"{_MAIN} t":
                state["t"] += 1
            elif tag == f"{_MAIN} rPh":
                state["rph"] += 1

        def end(tag: str) -> None:
            if tag == f"{_MAIN} t":
                state["t"] -= 1
            elif tag == f"{_MAIN} rPh":
                state["rph"] -= 1
            elif tag == f"{_MAIN} si":
                strings.append("".join(parts))
                parts.clear()

        def text(data: str) -> None:
            if state["t"] and not state["rph"]:
                parts.append(data)

        data = self._part("xl/sharedStrings.xml", required=False)
        if data:
            _parse(data, start, end, text)
        return strings

    def date_styles(self) -> frozenset[int]:
        """The indexes of cell styles (`s="…"`) whose number format shows a date or a time."""
        custom: dict[int, str] = {}
        formats: list[int] = []
        in_xfs = {"on": False}

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == f"{_MAIN} numFmt":
                custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
            elif tag == f"{_MAIN} cellXfs":
                in_xfs["on"] = True
            elif tag == f"{_MAIN} xf" and in_xfs["on"]:
                formats.append(int(attrs.get("numFmtId", "0") or 0))

        def end(tag: str) -> None:
            if tag == f"{_MAIN} cellXfs":
                in_xfs["on"] = False

        data = self._part("xl/styles.xml", required=False)
        if data:
            _parse(data, start, end)

        def is_date(number: int) -> bool:
            if number in custom:
                return bool(_DATE_CODE.search(_NOT_CODE.sub("", custom[number])))
            return number in _DATE_IDS

        return frozenset(index for index, number in enumerate(formats) if is_date(number))

    def fits_calamine(self, sheet: SheetRef, declared: tuple[int, int]) -> bool:
        """Whether calamine may load this sheet whole (see `_CALAMINE_PART`): small, and no cell far out."""
        rows, columns = declared
        if rows * max(columns, 1) > _CALAMINE_CELLS or self.zip.getinfo(sheet.part).file_size > _CALAMINE_PART:
            return False
        try:
            data = self.zip.read(sheet.part)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
            raise BadWorkbook(str(error)) from None
        return _OUTSIDE_CALAMINE.search(data) is None

    def check_dimension(self, sheet: SheetRef) -> tuple[int, int]:
        """Refuse a sheet whose declared used range exceeds the bounds; its last row and column ((0, 0): none)."""
        head = b""
        with self._open(sheet.part) as stream:
            while b"<sheetData" not in head and len(head) < 4 * _CHUNK:
                chunk = stream.read(64 * 1024)
                if not chunk:
                    break
                head += chunk
        match = _DIMENSION.search(head)
        if not match:
            return 0, 0
        first_col, first_row, last_col, last_row = match.groups()
        last_col, last_row = (last_col or first_col), int((last_row or first_row or b"0").decode())
        columns = column_number(last_col.decode()) + 1 if last_col else 0
        if columns > self.limits.columns:
            raise self.limits.too_many_columns(self.path, columns, f"sheet {sheet.name!r}, whose used range ends "
                                               f"in column {last_col.decode()}")
        rows = last_row - int((first_row or b"1").decode())  # the first row of the used range is the header at best
        if rows > self.limits.rows:
            raise self.limits.too_many_rows(self.path, f"sheet {sheet.name!r}, whose used range ends at row "
                                            f"{last_row:,}")
        return last_row, columns

    def _open(self, part: str) -> IO[bytes]:
        try:
            return self.zip.open(part)
        except (KeyError, zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
            raise BadWorkbook(str(error)) from None

    def rows(self, sheet: SheetRef) -> Iterator[tuple[int, list[str]]]:
        """(row number, cell texts) of every row with a value, streamed; gaps between rows cost nothing."""
        reader = _SheetReader(self, sheet)
        with self._open(sheet.part) as stream:
            while True:
                try:
                    chunk = stream.read(_CHUNK)
                    reader.parser.Parse(chunk, not chunk)
                except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
                    raise BadWorkbook(str(error)) from None
                if reader.done:
                    yield from reader.done
                    reader.done = []
                if not chunk:
                    return


class _SheetReader:
    """expat callbacks that turn `<row><c r="B2" t="s"><v>3</v></c></row>` into (2, ["", text])."""

    def __init__(self, workbook: Workbook, sheet: SheetRef) -> None:
        self.strings = workbook.shared_strings()
        self.dates = workbook.date_styles()
        self.epoch = datetime(1904, 1, 1) if workbook.date1904 else datetime(1899, 12, 30)
        self.path, self.sheet, self.limits = workbook.path, sheet, workbook.limits
        self.done: list[tuple[int, list[str]]] = []
        self.cells: list[str] = []
        self.row = 0
        self.column = 0
        self.kind: str | None = None
        self.style = ""
        self.text: list[str] = []
        self.collect = False
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.buffer_size = 64 * 1024
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.data
        self.parser = parser

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = tag[len(_MAIN) + 1:] if tag.startswith(_MAIN) else tag
        if name == "c":
            ref = attrs.get("r")
            if ref:
                match = _REF.match(ref)
                self.column = column_number(match.group(1)) if match else len(self.cells)
            else:
                self.column = len(self.cells)
            if self.column >= self.limits.columns:
                raise self.limits.too_many_columns(self.path, self.column + 1,
                                                   f"sheet {self.sheet.name!r}, row {self.row}")
            self.kind, self.style = attrs.get("t"), attrs.get("s", "")
            self.text = []
        elif name in ("v", "t"):
            self.collect = True
        elif name == "row":
            number = attrs.get("r")
            self.row = int(number) if number and number.isdigit() else self.row + 1
            self.cells = []

    def data(self, text: str) -> None:
        if self.collect:
            self.text.append(text)

    def end(self, tag: str) -> None:
        name = tag[len(_MAIN) + 1:] if tag.startswith(_MAIN) else tag
        if name in ("v", "t"):
            self.collect = False
        elif name == "c":
            value = self.value("".join(self.text))
            if value:
                if len(value) > self.limits.cell:
                    raise self.limits.cell_too_long(self.path, f"sheet {self.sheet.name!r}, row {self.row}")
                cells = self.cells
                if self.column > len(cells):
                    cells.extend([""] * (self.column - len(cells)))
                if self.column == len(cells):
                    cells.append(value)
                else:
                    cells[self.column] = value
        elif name == "row":
            if self.cells and "".join(self.cells).strip():
                self.done.append((self.row, self.cells))
            self.cells = []

    def value(self, text: str) -> str:
        kind = self.kind
        if kind == "s":
            try:
                return self.strings[int(text)]
            except (ValueError, IndexError):
                raise BadWorkbook(f"row {self.row}: shared string {text!r} does not exist") from None
        if kind in ("inlineStr", "str", "e", "d") or not text:
            return text
        if kind == "b":
            return "true" if text.strip() in ("1", "true") else "false"
        from outreach.contacts.importing.sheets import cell_text

        try:
            number = float(text)
        except ValueError:
            return text
        if self.dates and self.style and int(self.style) in self.dates and 0 <= number < 2958466:
            moment = self.epoch + timedelta(days=number)
            moment = moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))
            return cell_text(moment.time() if number < 1 else moment)
        return cell_text(number)


def _parse(data: bytes, start: Callable[[str, dict[str, str]], None], end: Callable[[str], None] | None = None,
           text: Callable[[str], None] | None = None) -> None:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.buffer_text = True
        parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise BadWorkbook(str(error)) from None
