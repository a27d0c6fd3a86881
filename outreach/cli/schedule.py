"""`outreach schedule list|cancel` and `outreach run-due`: scheduled sends (made with `outreach send --at`)."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli._common import App, err, print_json, print_table, state
from outreach.errors import ExitCode

app = App(help="Scheduled sends (made with `outreach send SLUG --at …`): list them, cancel one.")


@app.command("list")
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="Also the finished and cancelled ones.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """The scheduled sends, the earliest first: waiting and running (with --all, every one)."""
    from dataclasses import asdict

    from outreach.db.schedules import list_schedules
    from outreach.models.schedules import ScheduleStatus
    from outreach.scheduling import SendRequest

    statuses = None if all_ else (ScheduleStatus.SCHEDULED, ScheduleStatus.RUNNING)
    schedules = list_schedules(state().db, statuses)
    if json_output:
        print_json([{**asdict(s), "status": str(s.status), "request": SendRequest.from_json(s.request).__dict__}
                    for s in schedules])
        return
    print_table(["id", "campaign", "when", "zone", "utc", "status", "options", "note"],
                [[str(s.id), s.campaign, s.local_time, s.timezone, s.due_at, str(s.status),
                  SendRequest.from_json(s.request).describe(), s.note] for s in schedules])
    if not schedules:
        err().print("No scheduled sends" + ("." if all_ else " waiting (--all shows finished ones)."))


@app.command("cancel")
def cancel(schedule_id: Annotated[int, typer.Argument(metavar="ID", help="The schedule's number "
                                                      "(outreach schedule list).")]) -> None:
    """Cancel a scheduled send that has not started."""
    from outreach.clock import SystemClock, utcnow_iso
    from outreach.db.schedules import cancel_schedule, get_schedule
    from outreach.errors import InputError, NotFoundError

    db = state().db
    schedule = get_schedule(db, schedule_id)
    if schedule is None:
        raise NotFoundError(f"No schedule #{schedule_id}", "See them with: outreach schedule list --all")
    with db.atomic():
        cancelled = cancel_schedule(db, schedule_id, utcnow_iso(SystemClock()))
    if not cancelled:
        hint = (f"It is sending now; stop that process (Ctrl-C) — the send resumes with: outreach send "
                f"{schedule.campaign}" if schedule.status == "running" else "Only waiting schedules can be cancelled.")
        raise InputError(f"Schedule #{schedule_id} ({schedule.campaign}) is {schedule.status}", hint)
    err().print(f"Cancelled schedule #{schedule_id}: {schedule.campaign} at {schedule.local_time} "
                f"{schedule.timezone}.")


def run_due() -> None:
    """Start the scheduled sends whose time has come (for cron or a systemd timer; `outreach serve` does it too)."""
    from outreach.cli.sending import start_scheduled
    from outreach.clock import SystemClock
    from outreach.models.schedules import Schedule
    from outreach.scheduling import SendRequest
    from outreach.scheduling import run_due as run

    app_state = state()
    settings, db, clock = app_state.settings, app_state.db, SystemClock()

    def start(schedule: Schedule, request: SendRequest) -> str:
        report = start_scheduled(settings, db, clock, schedule.campaign, request)
        return (f"sent {report.sent}, failed {report.failed_count}, unknown {len(report.unknown)}, "
                f"remaining {report.remaining}" + (" (interrupted)" if report.interrupted else ""))

    result = run(db, clock, start, err().print)
    for schedule, status, note in result.ran:
        err().print(f"Schedule #{schedule.id} ({schedule.campaign}): {status} — {note}")
    if not result.ran:
        err().print("No scheduled send is due.")
    if result.failed:
        raise typer.Exit(int(ExitCode.ERROR))
