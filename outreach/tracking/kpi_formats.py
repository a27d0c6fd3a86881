"""The KPI pack as data: one JSON document, one long CSV table, one XLSX workbook (a sheet per table).

CSV is one "long" table of `table,key,column,value` lines rather than a zip of files or stacked sections: it is
one stream (stdout or one file), its header never changes when a table gains a column, every spreadsheet opens
it, and a pivot table (rows: key, columns: column, filter: table) gives each table back. Dates are ISO days.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from outreach.tracking.definitions import DEFINITIONS
from outreach.tracking.kpi import Cell, CellType, KpiPack, KpiTable

TOTAL_KEY = "(all)"
CSV_HEADER = ("table", "key", "column", "value")


def definition_names(pack: KpiPack) -> tuple[str, ...]:
    """The definitions the pack's tables use, each once, in the order of `DEFINITIONS` (the period first)."""
    used = {"period", *(name for table in pack.tables for name in table.definitions)}
    return tuple(name for name in DEFINITIONS if name in used)


def _json_cell(value: Cell) -> str | int | None:
    return value.isoformat() if isinstance(value, date) else value


def kpi_document(pack: KpiPack) -> dict[str, Any]:
    """The pack as one JSON document: period, filters, each table (columns, rows as objects, total), definitions."""
    def record(table: KpiTable, row: list[Cell]) -> dict[str, str | int | None]:
        return {column.key: _json_cell(cell) for column, cell in zip(table.columns, row, strict=True)}

    return {
        "period": {"from": pack.date_from.isoformat(), "to": pack.date_to.isoformat()},
        "filters": {"countries": list(pack.countries), "campaigns": list(pack.campaigns)},
        "generated_at": pack.generated_at, "empty": pack.empty,
        "tables": {table.key: {
            "title": table.title, "note": table.note, "definitions": list(table.definitions),
            "columns": [{"key": c.key, "label": c.label, "type": c.type.value} for c in table.columns],
            "rows": [record(table, row) for row in table.rows],
            "total": record(table, table.total) if table.total is not None else None,
        } for table in pack.tables},
        "definitions": {name: DEFINITIONS[name].text for name in definition_names(pack)},
    }


def kpi_csv(pack: KpiPack) -> str:
    """The pack as one long table: a `pack` part (period, filters), every cell of every table, the definitions."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for name, value in (("from", pack.date_from.isoformat()), ("to", pack.date_to.isoformat()),
                        ("countries", " ".join(pack.countries)), ("campaigns", " ".join(pack.campaigns)),
                        ("generated_at", pack.generated_at), ("empty", str(pack.empty).lower())):
        writer.writerow(("pack", "", name, value))
    for table in pack.tables:
        rows = [*table.rows, *([table.total] if table.total is not None else [])]
        for index, row in enumerate(rows):
            n = table.key_columns
            key = TOTAL_KEY if index == len(table.rows) else "/".join(str(cell) for cell in row[:n])
            for column, cell in zip(table.columns[n:], row[n:], strict=True):
                writer.writerow((table.key, key, column.key, "" if cell is None else _json_cell(cell)))
    for name in definition_names(pack):
        writer.writerow(("definitions", name, DEFINITIONS[name].label, DEFINITIONS[name].text))
    return out.getvalue()


def kpi_xlsx(pack: KpiPack) -> bytes:
    """The pack as an XLSX workbook: an `About` sheet (period, filters, definitions), then one sheet per table
    with typed cells (numbers as numbers, dates as dates), a bold header row frozen in place, and the total last."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    about = book.active
    assert about is not None  # a new workbook has one sheet
    about.title = "About"
    bold = Font(bold=True)
    about.append(["Item", "Value"])
    for label, value in (("Period from", pack.date_from), ("Period to", pack.date_to),
                         ("Countries", ", ".join(pack.countries) or "all"),
                         ("Campaigns", ", ".join(pack.campaigns) or "all"), ("Generated (UTC)", pack.generated_at),
                         ("Nothing in the period", "yes: every figure is zero" if pack.empty else "no")):
        about.append([label, value])
    about.append([])
    for name in definition_names(pack):
        about.append([DEFINITIONS[name].label, DEFINITIONS[name].text])
    _finish(about, [22, 110], bold)
    for table in pack.tables:
        sheet = book.create_sheet(table.key.capitalize())
        sheet.append([column.label for column in table.columns])
        for row in table.rows:
            sheet.append(list(row))
        if table.total is not None:
            sheet.append(list(table.total))
            for cell in sheet[sheet.max_row]:
                cell.font = bold
        for index, column in enumerate(table.columns, start=1):
            if column.type == CellType.DATE:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = "yyyy-mm-dd"
        _finish(sheet, [max(12, min(40, len(c.label) + 2)) for c in table.columns], bold)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _finish(sheet: Any, widths: list[int], bold: Any) -> None:
    """Bold, frozen header row and readable column widths."""
    from openpyxl.utils import get_column_letter

    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
