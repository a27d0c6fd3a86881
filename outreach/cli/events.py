"""`outreach event list|show|attendees|remind|update|cancel` and `outreach event attendance import`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from outreach.cli._common import App, err, out, print_json, print_table, state

if TYPE_CHECKING:
    from collections.abc import Callable

    from outreach.campaigns.folder import Campaign
    from outreach.clock import Clock
    from outreach.config import Settings
    from outreach.db.schema import Database
    from outreach.delivery.transport import Transport
    from outreach.events.lifecycle import SessionOutcome

    Step = Callable[[Settings, Database, Clock, Campaign, Transport], list[SessionOutcome]]

event_app = App(help="Events: the sessions of an invitation, who registered, reminders, changes, attendance.")
attendance_app = App(help="Who came to a session.")

Slug = Annotated[str, typer.Argument(help="The campaign (folder name under campaigns/).")]
RetryUnknown = Annotated[bool, typer.Option("--retry-unknown", help="Send again the mails an interrupted run left "
                                                                 "unknown (a person may get a second copy).")]
SessionOpt = Annotated[str | None, typer.Option("--session", help="Only this session: its code in campaign.toml "
                                                                  "([events.HR] → HR).")]


event_app.add_typer(attendance_app, name="attendance")


@event_app.command("list")
def list_(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the campaigns that have event sessions, with their dates and answers."""
    from outreach.campaigns.folder import list_campaigns
    from outreach.events.overview import summaries

    app_state = state()
    db = app_state.existing_db()
    rows: list[dict[str, Any]] = []
    for campaign in list_campaigns(app_state.settings):
        if campaign.event:
            found = summaries(db, campaign)
            rows.append({"slug": campaign.slug, "name": campaign.name, "sessions": len(found),
                         "first": found[0].starts, "last": found[-1].starts,
                         "registered": sum(s.registered for s in found), "waiting": sum(s.waiting for s in found),
                         "attended": sum(s.attended for s in found)})
    if json_output:
        print_json(rows)
    elif rows:
        print_table(["slug", "sessions", "first", "last", "registered", "waiting", "attended"],
                    [[r["slug"], str(r["sessions"]), r["first"], r["last"], str(r["registered"]), str(r["waiting"]),
                      str(r["attended"])] for r in rows])
    else:
        err().print("No campaign has event sessions. Add [events.<CODE>] tables to a campaign.toml (docs/events.md).")


@event_app.command("show")
def show(slug: Slug, json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show the sessions of a campaign: when, where, capacity, deadline, answers, calendar SEQUENCE."""
    from outreach.campaigns.folder import load_campaign
    from outreach.events.overview import summaries

    app_state = state()
    campaign = load_campaign(app_state.settings, slug)
    found = summaries(app_state.existing_db(), campaign)
    if json_output:
        print_json({"slug": slug, "name": campaign.name, "sessions": [s.as_dict() for s in found]})
        return
    if not found:
        err().print(f"Campaign {slug!r} has no event sessions. Add [events.<CODE>] tables to {campaign.toml_path}.")
        return
    print_table(["session", "starts", "zone", "place", "capacity", "deadline", "status", "registered", "waiting",
                 "declined", "attended", "seq"],
                [[s.code, s.starts, s.timezone, s.place, str(s.capacity or "-"), s.deadline or "-", s.status,
                  str(s.registered), str(s.waiting), str(s.declined), str(s.attended), str(s.sequence)]
                 for s in found], title=campaign.name, wide=True)


@event_app.command("attendees")
def attendees(
    slug: Slug, session: SessionOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print CSV (for a sign-in sheet).")] = False,
) -> None:
    """List who registered, who waits (in order), who declined, and who came."""
    from outreach.campaigns.folder import load_campaign
    from outreach.events.attendance import attendees as list_attendees

    if json_output and csv_output:
        raise typer.BadParameter("choose one of --json and --csv", param_hint="--csv")
    app_state = state()
    campaign = load_campaign(app_state.settings, slug)
    rows = list_attendees(app_state.db, campaign, session)
    columns = ["session", "email", "name", "organisation", "language", "status", "source", "answered_at",
               "attended"]
    values = [[r.session, r.email, r.name, r.organisation, r.language, r.status, r.source, r.answered_at,
               "yes" if r.attended else ""] for r in rows]
    if json_output:
        print_json([dict(zip(columns, [*v[:-1], r.attended], strict=True)) for v, r in zip(values, rows, strict=True)])
    elif csv_output:
        import csv
        import sys

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(values)
    elif rows:
        print_table(columns, values, wide=True)
    else:
        err().print(f"Nobody has answered for {slug!r}" + (f" session {session}" if session else "") + " yet.")


@event_app.command("remind")
def remind(
    slug: Slug, session: SessionOpt = None,
    before: Annotated[str, typer.Option("--before", help="Remind this long before the start: 2d (days) or 12h "
                                                         "(hours).")] = "2d",
    retry_unknown: RetryUnknown = False,
) -> None:
    """Remind those holding a place, once each, when the session starts within --before."""
    from outreach.errors import InputError
    from outreach.events import lifecycle

    try:
        lifecycle.parse_before(before)
    except InputError as error:
        raise typer.BadParameter(f"{before!r} is not a time span; write e.g. 2d (two days) or 12h (twelve hours).",
                                 param_hint="--before") from error
    _run(lambda settings, db, clock, campaign, transport: lifecycle.remind(
        settings, db, clock, campaign, before, session, transport, retry_unknown), slug, "reminders")


@event_app.command("update")
def update(slug: Slug, session: SessionOpt = None, retry_unknown: RetryUnknown = False) -> None:
    """Mail a session's change (edit campaign.toml first) to those registered, with a calendar file that replaces
    the entry (same UID, higher SEQUENCE); a raised capacity moves people up from the waiting list."""
    from outreach.events import lifecycle

    _run(lambda settings, db, clock, campaign, transport: lifecycle.update(
        settings, db, clock, campaign, session, transport, retry_unknown), slug, "updates")


@event_app.command("cancel")
def cancel(slug: Slug, session: SessionOpt = None,
           yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
           retry_unknown: RetryUnknown = False) -> None:
    """Cancel sessions and tell everyone registered or waiting (METHOD:CANCEL removes the calendar entry)."""
    import sys

    from outreach.events import lifecycle

    if not yes:
        if not sys.stdin.isatty():
            from outreach.errors import InputError

            raise InputError("Not cancelling without a confirmation, and there is no terminal to ask in",
                             f"Run: outreach event cancel {slug}" + (f" --session {session}" if session else "")
                             + " --yes")
        what = f"session {session} of {slug!r}" if session else f"every session of {slug!r}"
        typer.confirm(f"Cancel {what} and mail everyone registered?", abort=True, err=True)
    _run(lambda settings, db, clock, campaign, transport: lifecycle.cancel(
        settings, db, clock, campaign, session, transport, retry_unknown), slug, "cancellations")


@attendance_app.command("import")
def attendance_import(
    slug: Slug,
    sheet: Annotated[Path, typer.Argument(help="The sign-in sheet: .xlsx or .csv with an email column.")],
    session: SessionOpt = None,
) -> None:
    """Record who came from a sign-in sheet; people neither registered nor in the contacts are listed, not added."""
    from outreach.campaigns.folder import load_campaign
    from outreach.events.attendance import import_attendance

    app_state = state()
    campaign = load_campaign(app_state.settings, slug)
    report = import_attendance(app_state.db, _clock(), campaign, session, sheet)
    console = err()
    for _, problem in report.invalid:
        console.print(f"Skipped {problem}", markup=False)
    if report.walk_ins:
        console.print(f"{len(report.walk_ins)} came without registering (contacts): "
                      + ", ".join(email for _, email in report.walk_ins), markup=False)
    if report.unknown:
        console.print(f"Not recorded — neither registered nor in the contacts ({len(report.unknown)}):")
        for row, email, name in report.unknown:
            console.print(f"  {sheet}:{row}: {email} {name}".rstrip(), markup=False)
    console.print(f"Session {report.session}: {report.recorded} attendances recorded, {report.already} were already.")


def _clock() -> Clock:
    from outreach.clock import SystemClock

    return SystemClock()


def _run(step: Step, slug: str, what: str) -> None:
    """Load the campaign, open the transport, run the lifecycle step and print what it did per session."""
    from outreach.campaigns.folder import load_campaign
    from outreach.clock import SystemClock
    from outreach.delivery.transport import open_transport
    from outreach.errors import ExitCode

    app_state = state()
    settings = app_state.settings
    campaign = load_campaign(settings, slug)
    transport = open_transport(settings)
    try:
        outcomes = step(settings, app_state.db, SystemClock(), campaign, transport)
    finally:
        transport.close()
    partial = False
    for outcome in outcomes:
        partial |= _print_outcome(outcome, what)
    if partial:
        raise typer.Exit(int(ExitCode.PARTIAL))


def _print_outcome(outcome: SessionOutcome, what: str) -> bool:
    console, mails = err(), outcome.mails
    line = f"Session {outcome.code}: "
    if outcome.note:
        line += outcome.note + ". "
    if mails.sent or mails.already or mails.failed or mails.unknown or not outcome.note:
        line += (f"{len(mails.sent)} {what} sent, {len(mails.already)} already sent before, "
                 f"{len(mails.failed)} failed, {len(mails.unknown)} unknown.")
    out().print(line.strip(), markup=False)
    for email in outcome.promoted:
        console.print(f"  moved up from the waiting list: {email}", markup=False)
    for email, reply in mails.failed:
        console.print(f"  failed: {email}: {reply}", markup=False)
    for email in mails.unknown:
        console.print(f"  unknown (a run stopped while sending it; not sent again — --retry-unknown to send it): "
                      f"{email}", markup=False)
    return bool(mails.failed or mails.unknown)


@event_app.command("report")
def report(
    slug: Annotated[str | None, typer.Argument(help="One campaign (default: every campaign with sessions).",
                                               show_default=False)] = None,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="Break down by country, kind, language (comma-separated or repeated; default: all three).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
) -> None:
    """Invited → registered → attended per campaign and country × kind × language, with rates."""
    from outreach.tracking.event_figures import (
        DIMENSIONS,
        build_event_report,
        event_report_csv,
        event_report_document,
    )

    chosen = tuple(d.strip() for item in by or [] for d in item.split(",") if d.strip()) or DIMENSIONS
    for dimension in chosen:
        if dimension not in DIMENSIONS:
            from outreach.suggest import did_you_mean

            raise typer.BadParameter(f"{dimension!r} is not a breakdown{did_you_mean(dimension, DIMENSIONS)}; "
                                     "use country, kind or language.", param_hint="--by")
    db = state().existing_db()
    if db is None:
        err().print("No database yet: nothing was sent, nobody registered.")
        return
    result = build_event_report(db, campaign=slug, by=chosen)
    if json_output:
        print_json(event_report_document(result))
    elif csv_output:
        out().print(event_report_csv(result), end="", markup=False)
    elif result.rows:
        from outreach.tracking.event_figures import table_rows

        print_table(["campaign", *result.by, "invited", "registered", "waiting", "declined", "attended"],
                    table_rows(result), title="Events: invited → registered → attended")
    else:
        err().print("No event figures yet: no invitation was sent and nobody registered.")
