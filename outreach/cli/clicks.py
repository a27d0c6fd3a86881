"""`outreach report --clicks`: clicks on tracked links per link × country × language, small counts suppressed.

Kept apart from `outreach.cli.tracking`'s report so that the deliveries report and the click counts can change
independently; it reuses that module's output helpers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text


def show_clicks(campaign: str | None, by: list[str] | None, since: str | None, until: str | None,
                output_format: str, output: Path | None) -> None:
    """Print (or write) the click report in table, csv or json form."""
    from outreach.cli._common import one_of, state
    from outreach.cli.tracking import _emit, _emit_json, _emit_table
    from outreach.tracking.clicks import COLUMNS, build_click_report, click_csv, click_document, click_rows
    from outreach.tracking.reports import parse_day

    output_format = one_of(output_format, ("table", "csv", "json"), "--format")  # html is the KPI pack's
    if by:
        from outreach.errors import InputError

        raise InputError("--by does not apply to `report --clicks`", "It is always per link, country and language.")
    report = build_click_report(state().db, campaign, parse_day(since, "--since"), parse_day(until, "--until"))
    if output_format == "json":
        _emit_json(click_document(report), output)
    elif output_format == "csv":
        _emit(click_csv(report), output)
    else:
        period = f"{report.since or 'start'} … {report.until or 'today'}"
        rows: list[list[str | Text]] = [[str(cell) for cell in row] for row in click_rows(report)]
        title = f"Clicks on tracked links, {period} (1–4 shown as <5; scanner hits counted apart)"
        _emit_table((title, list(COLUMNS), rows, [None] * len(rows)), output)
        if not rows:
            from outreach.cli._common import err

            err().print("No clicks counted in this period (campaigns track clicks with track_clicks = true).")
