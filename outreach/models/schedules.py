"""Row types of the `schedules` table: a send asked for a later time."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ScheduleStatus(StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Schedule:
    """A scheduled send. `due_at` is stored UTC; `local_time` and `timezone` are what the person asked for;
    `request` is the send's filters and pace as JSON (see `outreach.scheduling.SendRequest`)."""

    id: int
    campaign: str
    due_at: str
    local_time: str
    timezone: str
    request: str
    status: ScheduleStatus
    created_at: str
    started_at: str | None
    finished_at: str | None
    runner: str | None
    note: str
