"""Commands of the tracking part: bounces, unsubscribes by mail, reports.

`contacts history` lives with the contacts commands (cli/contacts.py), `db merge` and `db backup` in cli/db.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from outreach.cli._common import App, err, one_of, out, print_json, print_table, state

if TYPE_CHECKING:
    from rich.text import Text

    from outreach.tracking.events import InboundReport
    from outreach.tracking.reports import Reach, Report

bounces_app = App(help="Bounces and spam complaints: read them from mailboxes and apply them to contacts.")
unsubscribes_app = App(help="Unsubscribe requests sent by mail to the List-Unsubscribe mailto: address.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
PathsArgument = Annotated[list[Path], typer.Argument(help="mbox files, Maildir folders or .eml files.",
                                                     show_default=False)]


# --- bounces and unsubscribes ----------------------------------------------------------------------------------


@bounces_app.command("import")
def bounces_import(paths: PathsArgument, json_output: JsonOption = False) -> None:
    """Read bounces, complaints (ARF) and auto-replies from mailbox files; apply what matches a contact.

    Hard bounces make the contact `bounced`, complaints `complained` (both suppressed); soft bounces are counted.
    Importing the same mailbox again changes nothing. Exit code 4 when some messages could not be read.
    """
    from outreach.clock import SystemClock
    from outreach.tracking.events import Mode, import_paths

    app_state = state()
    result = import_paths(app_state.db, SystemClock(), app_state.settings, paths, mode=Mode.BOUNCES)
    _show_inbound(result, json_output)


@bounces_app.command("fetch")
def bounces_fetch(json_output: JsonOption = False) -> None:
    """Read the new messages of the bounce mailbox over IMAP (TLS), apply them, then move or flag them as done.

    Settings: OUTREACH_IMAP_HOST, _PORT, _USER, _PASSWORD, _FOLDER and _DONE_FOLDER (without it, messages are
    flagged as seen).
    """
    from outreach.clock import SystemClock
    from outreach.tracking.events import Mode, fetch_mailbox

    app_state = state()
    result = fetch_mailbox(app_state.db, SystemClock(), app_state.settings, mode=Mode.BOUNCES)
    _show_inbound(result, json_output)


@unsubscribes_app.command("import")
def unsubscribes_import(paths: PathsArgument, json_output: JsonOption = False) -> None:
    """Unsubscribe the senders of mails to the unsubscribe address (or the contact named by a token in them).

    Bounces and auto-replies that land in that mailbox are recognised; bounces are applied, auto-replies ignored.
    """
    from outreach.clock import SystemClock
    from outreach.tracking.events import Mode, import_paths

    app_state = state()
    result = import_paths(app_state.db, SystemClock(), app_state.settings, paths, mode=Mode.UNSUBSCRIBES)
    _show_inbound(result, json_output)


def _show_inbound(result: InboundReport, json_output: bool) -> None:
    from rich.markup import escape

    from outreach.errors import ExitCode
    from outreach.tracking.events import Outcome

    if json_output:
        print_json(result.as_dict())
    else:
        console = out()
        counts = result.counts()
        console.print(f"{len(result.results)} messages: {counts['matched']} matched, {counts['ignored']} ignored, "
                      f"{counts['unmatched']} not matched, {counts['review']} for review (not applied), "
                      f"{counts['problem']} with problems.")
        titles = {Outcome.MATCHED: "Matched", Outcome.REVIEW: "For review: not applied, no proof it answers our mail",
                  Outcome.IGNORED: "Ignored", Outcome.UNMATCHED: "Not matched", Outcome.PROBLEM: "Problems"}
        for outcome, title in titles.items():
            rows = result.of(outcome)
            if not rows:
                continue
            print_table(["message", "address", "what", "campaign", "why"],
                        [[r.source, r.email or "", r.action, r.campaign or "",
                          r.reason + (f" — warning: {r.warning}" if r.warning else "")] for r in rows],
                        title=title, wide=True)
        warnings = [r for r in result.results if r.warning and r.outcome != Outcome.PROBLEM]
        for r in warnings:
            err().print(f"[yellow]Warning:[/] {escape(r.source)}: {escape(r.warning or '')}")
    if result.of(Outcome.PROBLEM):
        raise typer.Exit(int(ExitCode.PARTIAL))


# --- reports ---------------------------------------------------------------------------------------------------


def report(
    target: Annotated[str | None, typer.Argument(
        help="A campaign slug (default: every campaign); `reach` for the people and organisations per country "
             "and audience with a delivered message; `kpi` for the KPI pack (needs --from and --to).",
        show_default=False)] = None,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="Break down by country, kind, language (comma-separated or repeated).")] = None,
    since: Annotated[str | None, typer.Option("--since", "--from", help="First day, YYYY-MM-DD (sending date).")]
    = None,
    until: Annotated[str | None, typer.Option("--until", "--to", help="Last day, YYYY-MM-DD (inclusive).")] = None,
    output_format: Annotated[str, typer.Option(
        "--format", help="table | csv | json | html (one standalone file for the Commission report) | xlsx "
                         "(`report kpi` only).")] = "table",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file instead of stdout.")] = None,
    clicks: Annotated[bool, typer.Option("--clicks", help="Clicks on tracked links per link × country × language "
                                         "instead (counts 1–4 shown as <5; table, csv or json).")] = False,
    country: Annotated[list[str] | None, typer.Option(
        "--country", help="`report kpi` only: these countries (codes or names, comma-separated or repeated).")]
    = None,
    campaign: Annotated[list[str] | None, typer.Option(
        "--campaign", help="`report kpi` only: the messages of these campaigns (comma-separated or repeated).")]
    = None,
) -> None:
    """Targeted, sent, delivered, failed, unknown, pending, bounces, complaints, unsubscribes, rates over sent;
    `report reach` for reach, `report kpi` for the KPI pack. What each figure means: docs/tracking.md."""
    if clicks:
        from outreach.cli.clicks import show_clicks

        show_clicks(target, by, since, until, output_format, output)
        return
    from outreach.clock import SystemClock
    from outreach.errors import InputError
    from outreach.tracking.reports import build_reach, build_report, parse_by, parse_day

    output_format = one_of(output_format, ("table", "csv", "json", "html", "xlsx"), "--format")  # else exit 2
    if target == "kpi":
        from outreach.cli.kpi import kpi_report

        kpi_report(parse_day(since, "--from"), parse_day(until, "--to"), country, campaign, by, output_format, output)
        return
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if country or campaign:
        raise InputError("--country and --campaign apply to `report kpi` only",
                         "Give a campaign as `outreach report SLUG`, or ask for the KPI pack: outreach report kpi …")
    if output_format == "xlsx":
        raise InputError("--format xlsx is for `report kpi` only", "Use csv, json, html or table here.")
    dimensions = parse_by(by)
    db, clock = state().db, SystemClock()
    if target == "reach":
        if dimensions:
            raise InputError("--by does not apply to `report reach`", "It is always per country and audience.")
        reach = build_reach(db, clock, since=first, until=last)
        if output_format == "html":
            _emit(_html(build_report(db, clock, since=first, until=last), reach), output)
        elif output_format == "json":
            from outreach.tracking.reports import reach_document

            _emit_json(reach_document(reach), output)
        elif output_format == "csv":
            from outreach.tracking.reports import reach_csv

            _emit(reach_csv(reach), output)
        else:
            _emit_table(_reach_table(reach), output)
        return
    result = build_report(db, clock, campaign=target, by=dimensions, since=first, until=last)
    if output_format == "html":
        _emit(_html(result, build_reach(db, clock, since=first, until=last)), output)
    elif output_format == "json":
        from outreach.tracking.reports import report_document

        _emit_json(report_document(result), output)
    elif output_format == "csv":
        from outreach.tracking.reports import report_csv

        _emit(report_csv(result), output)
    else:
        _emit_table(_report_table(result), output)


def _html(result: Report, reach: Reach) -> str:
    from outreach.tracking.report_html import render_html

    return render_html(result, reach)


def _emit(text: str, output: Path | None) -> None:
    import sys

    if output is None:
        sys.stdout.write(text)
        return
    from outreach.errors import InputError

    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(f"Cannot write {output} ({error.strerror})", "Check the folder and its permissions.") \
            from None
    err().print(f"Wrote {output}")


def _emit_json(document: Any, output: Path | None) -> None:
    import json

    if output is None:
        print_json(document)
    else:
        _emit(json.dumps(document, ensure_ascii=False, indent=2) + "\n", output)


Table = tuple[str, list[str], list[list["str | Text"]], list["str | None"]]  # title, columns, rows, row styles


def _emit_table(table: Table, output: Path | None) -> None:
    title, columns, rows, styles = table
    if output is None:
        print_table(columns, rows, title=title, styles=styles, wide=True)
        return
    import io

    from rich.console import Console
    from rich.table import Table as RichTable

    rich_table = RichTable(*columns, title=title, title_justify="left", box=None, pad_edge=False)
    for row in rows:
        rich_table.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=240, no_color=True).print(rich_table)
    _emit(buffer.getvalue(), output)


def _report_table(result: Report) -> Table:
    from outreach.tracking.reports import METRICS, RATES, TOTAL

    period = f"{result.since or 'start'} … {result.until or 'today'}"
    rows: list[list[str | Text]] = []
    for row in result.rows:
        rates = row.counts.rates()
        rows.append([row.campaign or TOTAL, *[row.group[d] or TOTAL for d in result.by],
                     *[str(getattr(row.counts, m)) for m in METRICS],
                     *["–" if rates[r] is None else f"{rates[r]:.1%}" for r in RATES]])
    # Every rate is over sent (docs/tracking.md, "What the figures mean").
    return (f"Deliveries, {period}", ["campaign", *result.by, *METRICS, "delivered %", "bounce %", "complaint %",
                                      "unsub. %"], rows, ["bold" if row.is_total else None for row in result.rows])


def _reach_table(reach: Reach) -> Table:
    from outreach.tracking.reports import AUDIENCES, REACH_COLUMNS, TOTAL

    period = f"{reach.since or 'start'} … {reach.until or 'today'}"
    entries = [*[(code, values, reach.organisations.get(code, {})) for code, values in reach.countries.items()],
               (TOTAL, reach.totals, reach.organisation_totals)]
    rows: list[list[str | Text]] = [
        [code, *[str(values[k]) for k in REACH_COLUMNS], *[str(orgs.get(k, 0)) for k in (*AUDIENCES, "total")]]
        for code, values, orgs in entries]
    return (f"People and organisations reached (at least one message delivered), {period}",
            ["country", "authorities", "suppliers", "others", "total", "campaigns", "authority orgs",
             "supplier orgs", "other orgs", "total orgs"], rows,
            ["bold" if code == TOTAL else None for code, _, _ in entries])
