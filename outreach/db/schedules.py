"""The `schedules` table: sends asked for a later time, and who started each.

Starting a schedule is a compare-and-swap UPDATE from 'scheduled' to 'running': two `run-due` processes (cron and
`outreach serve`, say) can both see a schedule due, and only one of them gets to start it.
"""

from __future__ import annotations

from outreach.db.schema import Database
from outreach.models.schedules import Schedule, ScheduleStatus

_COLUMNS = ("id, campaign, due_at, local_time, timezone, request, status, created_at, started_at, finished_at, "
            "runner, note")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _schedule(row: tuple[object, ...]) -> Schedule:
    (id_, campaign, due_at, local_time, timezone, request, status, created_at, started_at, finished_at, runner,
     note) = row
    return Schedule(int(str(id_)), str(campaign), str(due_at), str(local_time), str(timezone), str(request),
                    ScheduleStatus(str(status)), str(created_at), _text(started_at), _text(finished_at),
                    _text(runner), str(note))


def insert_schedule(db: Database, campaign: str, due_at: str, local_time: str, timezone: str, request: str,
                    now: str) -> int:
    """Record a scheduled send; returns its id."""
    cursor = db.execute("INSERT INTO schedules (campaign, due_at, local_time, timezone, request, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [campaign, due_at, local_time, timezone, request, now])
    return int(cursor.lastrowid or 0)


def get_schedule(db: Database, schedule_id: int) -> Schedule | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM schedules WHERE id = ?", [schedule_id]).fetchone()
    return _schedule(row) if row else None


def list_schedules(db: Database, statuses: tuple[ScheduleStatus, ...] | None = None) -> list[Schedule]:
    """Schedules by due time (all, or those with one of `statuses`)."""
    if statuses:
        marks = ", ".join("?" for _ in statuses)
        rows = db.execute(f"SELECT {_COLUMNS} FROM schedules WHERE status IN ({marks}) ORDER BY due_at, id",
                          [str(status) for status in statuses]).fetchall()
    else:
        rows = db.execute(f"SELECT {_COLUMNS} FROM schedules ORDER BY due_at, id").fetchall()
    return [_schedule(row) for row in rows]


def due_schedules(db: Database, now: str) -> list[Schedule]:
    """Schedules waiting to start whose time has come, the earliest first."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM schedules WHERE status = 'scheduled' AND due_at <= ? "
                      "ORDER BY due_at, id", [now]).fetchall()
    return [_schedule(row) for row in rows]


def start_schedule(db: Database, schedule_id: int, runner: str, now: str) -> bool:
    """Mark a due schedule running for `runner`; False when another process started (or someone cancelled) it."""
    cursor = db.execute("UPDATE schedules SET status = 'running', started_at = ?, runner = ? "
                        "WHERE id = ? AND status = 'scheduled'", [now, runner, schedule_id])
    return cursor.rowcount == 1


def finish_schedule(db: Database, schedule_id: int, status: ScheduleStatus, note: str, now: str) -> None:
    """Record how a running schedule ended (done or failed) and what it did."""
    db.execute("UPDATE schedules SET status = ?, finished_at = ?, note = ? WHERE id = ? AND status = 'running'",
               [str(status), now, note, schedule_id])


def take_over_schedule(db: Database, schedule_id: int, runner: str, previous_runner: str) -> bool:
    """Move a running schedule whose process is gone to `runner`; False when someone else took it first."""
    cursor = db.execute("UPDATE schedules SET runner = ? WHERE id = ? AND status = 'running' AND runner = ?",
                        [runner, schedule_id, previous_runner])
    return cursor.rowcount == 1


def cancel_schedule(db: Database, schedule_id: int, now: str) -> bool:
    """Cancel a schedule that has not started; False when it is running, finished or unknown."""
    cursor = db.execute("UPDATE schedules SET status = 'cancelled', finished_at = ? "
                        "WHERE id = ? AND status = 'scheduled'", [now, schedule_id])
    return cursor.rowcount == 1
