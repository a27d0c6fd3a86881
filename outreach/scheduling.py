"""Scheduled sends: `outreach send SLUG --at "2027-03-01 09:00" --tz Europe/Warsaw` records one; `outreach run-due`
(from cron or a systemd timer) or `outreach serve` starts those whose time has come.

A schedule is started at most once: starting is a compare-and-swap in the database (db.schedules.start_schedule),
so cron and a running `serve` can both look without both sending. One missed while nothing ran is started late,
saying so. A run whose process died (a reboot in the middle) is continued by the next `run-due` on the same host —
the send itself is exactly-once per recipient, so continuing never mails anyone twice.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from outreach.clock import Clock, isoformat, parse_isoformat, utcnow_iso
from outreach.db.schedules import (
    due_schedules,
    finish_schedule,
    insert_schedule,
    list_schedules,
    start_schedule,
    take_over_schedule,
)
from outreach.db.schema import Database
from outreach.errors import InputError, OutreachError
from outreach.models.schedules import Schedule, ScheduleStatus
from outreach.suggest import did_you_mean

EXAMPLE = 'outreach send SLUG --at "2027-03-01 09:00" --tz Europe/Warsaw'
LATE_AFTER = timedelta(minutes=1)  # a schedule started later than this after its time says it is late
_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class SendRequest:
    """What a scheduled send will do: the `send` options that choose recipients and pace, kept as JSON."""

    countries: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    limit: int | None = None
    rate: str | None = None
    domain_rate: str | None = None
    workers: int | None = None
    force: bool = False  # invitations even to sessions that will have started (send --force)

    def to_json(self) -> str:
        return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()},
                          ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SendRequest:
        data: dict[str, Any] = json.loads(text or "{}")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
                                  if k in cls.__dataclass_fields__}
        return cls(**values)

    def describe(self) -> str:
        """The options as they would be typed, e.g. `--country PL --rate 30/min` ("" for none)."""
        parts = [f"--{option} {value}" for name, option in (("countries", "country"), ("kinds", "kind"),
                                                            ("languages", "language"), ("tags", "tag"))
                 for value in getattr(self, name)]
        parts += [f"--{name.replace('_', '-')} {value}" for name in ("limit", "rate", "domain_rate", "workers")
                  if (value := getattr(self, name)) is not None]
        return " ".join(parts + (["--force"] if self.force else []))


@dataclass(frozen=True)
class When:
    """A moment asked for with --at: UTC, plus the local time and zone as the person wrote them."""

    utc: datetime
    local: str
    zone: str

    def describe(self) -> str:
        return f"{self.local} {self.zone} ({isoformat(self.utc).replace('T', ' ').replace('Z', ' UTC')})"


def parse_at(text: str, tz: str | None, default_tz: str | None, now: datetime) -> When:
    """`--at` (and `--tz`, else OUTREACH_TIMEZONE) as a moment in the future; InputError with an example if not."""
    text = text.strip()
    moment = _parse_local(text)
    if moment.tzinfo is not None:  # an explicit offset: 2027-03-01T09:00+01:00
        zone = tz or moment.strftime("UTC%z")
        utc = moment.astimezone(UTC)
    else:
        name = tz or default_tz
        if not name:
            raise InputError(f"--at {text!r} has no time zone",
                             f"Add --tz with an IANA zone (or set OUTREACH_TIMEZONE), e.g. {EXAMPLE}")
        zone, utc = name, _in_zone(moment, _zone(name, "--tz" if tz else "OUTREACH_TIMEZONE"), text)
    if utc <= now:
        local_now = now.astimezone(utc.tzinfo if moment.tzinfo else ZoneInfo(zone))
        raise InputError(f"--at {text!r} ({zone}) is in the past: it is {local_now:%Y-%m-%d %H:%M} there now",
                         f"Give a time to come, e.g. {EXAMPLE}; or send now without --at.")
    local = moment.replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")
    return When(utc, local, zone)


def _parse_local(text: str) -> datetime:
    for pattern in _FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--at {text!r} is not a date and time",
                         f'Write it as "YYYY-MM-DD HH:MM" in the zone given with --tz, e.g. {EXAMPLE}') from None


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{where} {name!r} is not a time zone{did_you_mean(name, available_timezones())}",
                         f"Use an IANA zone such as Europe/Warsaw, Europe/Dublin or Europe/Athens: {EXAMPLE}"
                         ) from None


def _in_zone(moment: datetime, zone: ZoneInfo, text: str) -> datetime:
    """The local time in `zone` as UTC; a time the clocks skip (spring forward) does not exist and is refused."""
    local = moment.replace(tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != moment:
        raise InputError(f"--at {text!r} does not exist in {zone.key}: the clocks skip that hour",
                         "Choose a time outside the daylight-saving change.")
    return utc


def schedule_send(db: Database, clock: Clock, campaign: str, when: When, request: SendRequest) -> int:
    """Record a scheduled send; returns its id."""
    with db.atomic():
        return insert_schedule(db, campaign, isoformat(when.utc), when.local, when.zone, request.to_json(),
                               utcnow_iso(clock))


def runner_id() -> str:
    """This process, as written in `schedules.runner`: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _runner_gone(runner: str | None) -> bool:
    """Whether the process that started a schedule is certainly gone (it ran on this host and has exited)."""
    from outreach.delivery.locks import pid_alive

    host, _, pid = (runner or "").rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))


Starter = Callable[[Schedule, SendRequest], str]


@dataclass
class DueRun:
    """What one `run-due` did: (schedule, how it ended, note) per schedule it ran."""

    ran: list[tuple[Schedule, ScheduleStatus, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(status is ScheduleStatus.FAILED for _, status, _ in self.ran)


def run_due(db: Database, clock: Clock, start: Starter, say: Callable[[str], None],
            runner: str | None = None) -> DueRun:
    """Start every schedule whose time has come (and continue any whose process died), one after another.

    `start(schedule, request)` runs the send and returns a one-line summary; an OutreachError it raises marks the
    schedule failed with the message (the next schedules still run). Anything else marks it failed and propagates.
    """
    me = runner or runner_id()
    run = DueRun()
    for schedule in _interrupted(db, me):
        say(f"Continuing schedule #{schedule.id} ({schedule.campaign}): the process that started it at "
            f"{schedule.started_at} is gone.")
        run.ran.append(_run(db, clock, schedule, start))
    while True:
        due = due_schedules(db, utcnow_iso(clock))
        if not due:
            return run
        schedule = due[0]
        with db.atomic():
            started = start_schedule(db, schedule.id, me, utcnow_iso(clock))
        if not started:  # another run-due took it (or it was cancelled) between the two statements
            continue
        late = clock.now() - parse_isoformat(schedule.due_at)
        if late > LATE_AFTER:
            say(f"Schedule #{schedule.id} ({schedule.campaign}) was due at {schedule.local_time} {schedule.timezone}"
                f" — {_duration(late)} ago, while nothing ran due sends; starting it now, late.")
        else:
            say(f"Starting schedule #{schedule.id} ({schedule.campaign}), due at {schedule.local_time} "
                f"{schedule.timezone}.")
        run.ran.append(_run(db, clock, schedule, start))


def _interrupted(db: Database, me: str) -> list[Schedule]:
    taken = []
    for schedule in list_schedules(db, (ScheduleStatus.RUNNING,)):
        if schedule.runner and _runner_gone(schedule.runner):
            with db.atomic():
                if take_over_schedule(db, schedule.id, me, schedule.runner):
                    taken.append(schedule)
    return taken


def _run(db: Database, clock: Clock, schedule: Schedule, start: Starter) -> tuple[Schedule, ScheduleStatus, str]:
    try:
        note = start(schedule, SendRequest.from_json(schedule.request))
    except OutreachError as error:
        note = error.message
        status = ScheduleStatus.FAILED
    except BaseException as error:  # a bug or Ctrl-C: record it, then let it go on
        with db.atomic():
            finish_schedule(db, schedule.id, ScheduleStatus.FAILED, f"stopped: {error!r}", utcnow_iso(clock))
        raise
    else:
        status = ScheduleStatus.DONE
    with db.atomic():
        finish_schedule(db, schedule.id, status, note, utcnow_iso(clock))
    return schedule, status, note


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


class DueWatcher:
    """While `outreach serve` runs: at start and then every `interval` seconds when a schedule is due, run
    `outreach run-due` as a child process (`command`), so a long send never holds up the pages and a crash in it
    is the child's alone. Its output goes to the server's log."""

    def __init__(self, db_path: Path, command: list[str], interval: float = 30.0, clock: Clock | None = None) -> None:
        import threading

        from outreach.clock import SystemClock

        self.db_path, self.command, self.interval = db_path, command, interval
        self.clock = clock or SystemClock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="outreach-run-due", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        import subprocess

        from outreach.db.schema import open_database

        first = True
        while not self._stop.is_set():
            try:
                db = open_database(self.db_path)
            except (OutreachError, sqlite3.Error):  # busy, damaged or gone for now: the child would say why
                wanted = first
            else:
                try:
                    wanted = first or bool(due_schedules(db, utcnow_iso(self.clock))) or any(
                        _runner_gone(s.runner) for s in list_schedules(db, (ScheduleStatus.RUNNING,)))
                except sqlite3.Error:  # a write holding the file longer than the busy timeout: look again later
                    wanted = False
                finally:
                    db.close()
            first = False
            if wanted:
                subprocess.run(self.command, check=False)
            self._stop.wait(self.interval)
