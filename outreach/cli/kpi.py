"""`outreach report kpi`: the KPI pack for the Commission (the `report` command hands it over here).

Parses the filters, calls `tracking.kpi.build_kpi` and writes the format asked for; the formats themselves live
in `tracking.kpi_formats` and `tracking.kpi_html`.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.cli._common import err, print_table, state

if TYPE_CHECKING:
    from outreach.tracking.kpi import KpiPack


def kpi_report(first: date | None, last: date | None, countries: list[str] | None, campaigns: list[str] | None,
               by: list[str] | None, output_format: str, output: Path | None) -> None:
    """Build the pack for the period and write it as table, csv, json, html or xlsx."""
    from outreach.clock import SystemClock
    from outreach.errors import ExitCode, InputError
    from outreach.tracking.kpi import build_kpi, check_campaigns, check_period, parse_countries

    if by:
        raise InputError("--by does not apply to `report kpi`", "The pack has its own tables (docs/tracking.md).",
                         exit_code=ExitCode.USAGE)
    first, last = check_period(first, last)
    country_codes = parse_countries(countries)
    db = state().db
    pack = build_kpi(db, SystemClock(), first, last, countries=country_codes, campaigns=check_campaigns(db, campaigns))
    if pack.empty:
        err().print(f"Note: nothing was sent and no one signed up, unsubscribed or bounced from {first} to {last}; "
                    "every figure of the period is zero.", highlight=False)
    _write(pack, output_format, output)


def _write(pack: KpiPack, output_format: str, output: Path | None) -> None:
    from outreach.cli.tracking import _emit, _emit_json

    if output_format == "html":
        from outreach.tracking.kpi_html import render_kpi_html

        _emit(render_kpi_html(pack), output)
    elif output_format == "json":
        from outreach.tracking.kpi_formats import kpi_document

        _emit_json(kpi_document(pack), output)
    elif output_format == "csv":
        from outreach.tracking.kpi_formats import kpi_csv

        _emit(kpi_csv(pack), output)
    elif output_format == "xlsx":
        _write_xlsx(pack, output)
    else:
        _print_tables(pack)


def _write_xlsx(pack: KpiPack, output: Path | None) -> None:
    from outreach.errors import ExitCode, InputError
    from outreach.tracking.kpi_formats import kpi_xlsx

    if output is None and sys.stdout.isatty():
        raise InputError("An XLSX workbook cannot be shown on the terminal",
                         "Give a file: --output kpi-2027-h1.xlsx", exit_code=ExitCode.USAGE)
    data = kpi_xlsx(pack)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as error:
        raise InputError(f"Cannot write {output} ({error.strerror})", "Check the folder and its permissions.") \
            from None
    err().print(f"Wrote {output}")


def _print_tables(pack: KpiPack) -> None:
    for table in pack.tables:
        rows = [*table.rows, *([table.total] if table.total is not None else [])]
        print_table([c.key for c in table.columns], [["" if cell is None else str(cell) for cell in row]
                                                     for row in rows], title=table.title, wide=True)
