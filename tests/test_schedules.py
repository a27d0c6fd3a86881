"""Scheduled sends: `send --at`, `schedule list|cancel`, `run-due` at a controlled clock, started once, late with a
message, continued after a crash; `outreach serve`'s watcher runs them too."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from clock_support import FakeClock
from test_cli_send import CAMPAIGN, env, people  # noqa: F401 (fixtures)

from outreach.cli.sending import start_scheduled
from outreach.config import Settings
from outreach.db.schedules import get_schedule, start_schedule
from outreach.db.schema import open_database
from outreach.errors import InputError
from outreach.models.schedules import ScheduleStatus
from outreach.scheduling import DueWatcher, SendRequest, parse_at, run_due, schedule_send

NOW = datetime(2027, 2, 20, 12, 0, tzinfo=UTC)


def test_at_in_a_zone_becomes_utc() -> None:
    when = parse_at("2027-03-01 09:00", "Europe/Warsaw", None, NOW)
    assert when.utc == datetime(2027, 3, 1, 8, 0, tzinfo=UTC) and when.local == "2027-03-01 09:00"
    summer = parse_at("2027-07-01T09:00", None, "Europe/Dublin", NOW)  # OUTREACH_TIMEZONE; IST is UTC+1
    assert summer.utc == datetime(2027, 7, 1, 8, 0, tzinfo=UTC) and summer.zone == "Europe/Dublin"
    offset = parse_at("2027-03-01T09:00+02:00", None, None, NOW)
    assert offset.utc == datetime(2027, 3, 1, 7, 0, tzinfo=UTC) and offset.zone == "UTC+0200"


@pytest.mark.parametrize(("at", "tz", "message"), [
    ("2027-03-01 09:00", None, "has no time zone"),
    ("2027-02-20 12:30", "Europe/Athens", "is in the past: it is 2027-02-20 14:00 there now"),
    ("1 March 2027, 9am", "Europe/Warsaw", "is not a date and time"),
    ("2027-03-01 09:00", "Europe/Warshaw", "did you mean 'Europe/Warsaw'?"),
    ("2027-03-28 02:30", "Europe/Berlin", "the clocks skip that hour"),
])
def test_bad_at_is_refused_with_an_example(at, tz, message) -> None:
    with pytest.raises(InputError, match=message.replace("?", r"\?").replace("(", r"\(")) as error:
        parse_at(at, tz, None, NOW)
    assert "--at" in str(error.value) or "--tz" in str(error.value)
    assert error.value.hint and ("--tz" in error.value.hint or "Choose" in error.value.hint)


@pytest.fixture
def send_settings(env, smtpd, db_path) -> Settings:  # noqa: F811
    return Settings.from_env({**env, **smtpd.env(), "OUTREACH_DB": str(db_path)})


def test_run_due_at_a_controlled_clock_sends_once_and_late_ones_say_so(send_settings, people, smtpd,  # noqa: F811
                                                                        db_path) -> None:
    clock = FakeClock(NOW)
    db = open_database(db_path)
    said: list[str] = []

    def start(schedule, request):
        report = start_scheduled(send_settings, db, clock, schedule.campaign, request)
        return f"sent {report.sent}"

    first = schedule_send(db, clock, CAMPAIGN, parse_at("2027-02-20 14:00", "Europe/Warsaw", None, clock.now()),
                          SendRequest(countries=("PL", "GR")))
    assert run_due(db, clock, start, said.append).ran == [] and smtpd.messages == []
    clock.advance(59 * 60)  # 12:59 UTC: one minute early
    assert run_due(db, clock, start, said.append).ran == []
    clock.advance(60)
    result = run_due(db, clock, start, said.append)
    assert [(s.id, status, note) for s, status, note in result.ran] == [(first, ScheduleStatus.DONE, "sent 2")]
    assert sorted(m.rcpt_tos[0] for m in smtpd.messages) == ["anna.kowalska@gmina.example.org",
                                                             "maria@koinsep.example.org"]
    assert said[-1].startswith(f"Starting schedule #{first} (bsi-awareness), due at 2027-02-20 14:00")
    assert run_due(db, clock, start, said.append).ran == []  # never twice
    assert get_schedule(db, first).status is ScheduleStatus.DONE

    missed = schedule_send(db, clock, CAMPAIGN, parse_at("2027-02-20 15:00", "Europe/Dublin", None, clock.now()),
                           SendRequest(countries=("IE",)))
    clock.advance(5 * 3600)  # nothing ran for hours
    result = run_due(db, clock, start, said.append)
    assert [(s.id, status) for s, status, _ in result.ran] == [(missed, ScheduleStatus.DONE)]
    assert f"Schedule #{missed} (bsi-awareness) was due at 2027-02-20 15:00 Europe/Dublin — 3 h ago" in said[-1]
    assert smtpd.messages[-1].rcpt_tos == ["aoife@council.example.org"] and len(smtpd.messages) == 3
    db.close()


def test_a_schedule_is_started_by_one_runner_only_and_a_dead_runner_is_continued(send_settings, people, smtpd,  # noqa: F811
                                                                                  db_path) -> None:
    clock = FakeClock(NOW)
    db = open_database(db_path)
    number = schedule_send(db, clock, CAMPAIGN, parse_at("2027-02-20 13:30", "Europe/Paris", None, clock.now()),
                           SendRequest(countries=("FR",)))
    clock.advance(3600)
    assert start_schedule(db, number, "this-host:1", "2027-02-20T13:00:00Z")
    assert not start_schedule(db, number, "other:2", "2027-02-20T13:00:00Z")  # the second runner loses
    started = []
    result = run_due(db, clock, lambda s, r: started.append(s.id) or "ran", lambda text: None)
    assert result.ran == [] and started == []  # its runner is on another host: it may still be sending
    import socket

    db.execute("UPDATE schedules SET runner = ? WHERE id = ?", [f"{socket.gethostname()}:999999999", number])
    said: list[str] = []
    result = run_due(db, clock, lambda s, r: start_scheduled(send_settings, db, clock, s.campaign, r) and "ok",
                     said.append)
    assert [s.id for s, _, _ in result.ran] == [number] and "the process that started it" in said[0]
    assert [m.rcpt_tos for m in smtpd.messages] == [["lea@ville.example.org"]]
    db.close()


def test_a_failing_schedule_is_marked_failed_and_the_next_still_runs(db_path) -> None:
    from outreach.errors import ConfigError

    clock = FakeClock(NOW)
    db = open_database(db_path)
    when = parse_at("2027-02-20 13:30", "UTC", None, clock.now())
    bad, good = (schedule_send(db, clock, slug, when, SendRequest()) for slug in ("first", "second"))
    clock.advance(2 * 3600)

    def start(schedule, request):
        if schedule.campaign == "first":
            raise ConfigError("OUTREACH_SMTP_PASSWORD is wrong")
        return "fine"

    result = run_due(db, clock, start, lambda text: None)
    assert [(s.id, status, note) for s, status, note in result.ran] == [
        (bad, ScheduleStatus.FAILED, "OUTREACH_SMTP_PASSWORD is wrong"), (good, ScheduleStatus.DONE, "fine")]
    assert result.failed == 1
    db.close()


def test_cli_schedule_list_cancel_and_run_due(runner, env, smtpd, people, db_path) -> None:  # noqa: F811
    full = {**env, **smtpd.env()}
    made = runner("send", CAMPAIGN, "--at", "2099-03-01 09:00", "--tz", "Europe/Warsaw", "--country", "PL",
                  "--rate", "60/min", "--yes", env=full)
    assert made.exit_code == 0, made.output
    assert "Scheduled #1: bsi-awareness at 2099-03-01 09:00 Europe/Warsaw (2099-03-01 08:00:00 UTC)" in made.output
    assert smtpd.messages == []
    listed = runner("schedule", "list", "--json")
    [row] = json.loads(listed.stdout)
    assert (row["campaign"], row["status"], row["due_at"]) == (CAMPAIGN, "scheduled", "2099-03-01T08:00:00Z")
    assert row["request"]["countries"] == ["PL"] and row["request"]["rate"] == "60/min"
    assert runner("run-due", env=full).exit_code == 0 and smtpd.messages == []  # not due yet

    second = runner("send", CAMPAIGN, "--at", "2099-03-02T10:00+01:00", "--yes", env=full)
    assert second.exit_code == 0, second.output
    cancelled = runner("schedule", "cancel", "2")
    assert cancelled.exit_code == 0 and "Cancelled schedule #2" in cancelled.output
    again = runner("schedule", "cancel", "2")
    assert again.exit_code == 1 and "is cancelled" in again.output
    assert runner("schedule", "cancel", "7").exit_code == 1

    db = open_database(db_path)  # time passes: the first schedule's moment has come
    db.execute("UPDATE schedules SET due_at = '2026-01-01T08:00:00Z' WHERE id = 1")
    db.close()
    ran = runner("run-due", env=full)
    assert ran.exit_code == 0, ran.output
    assert "Schedule #1 (bsi-awareness) was due at 2099-03-01 09:00 Europe/Warsaw" in ran.output
    assert "Schedule #1 (bsi-awareness): done — sent 1" in ran.output
    assert [m.rcpt_tos for m in smtpd.messages] == [["anna.kowalska@gmina.example.org"]]
    assert runner("run-due", env=full).output.strip().endswith("No scheduled send is due.")
    table = runner("schedule", "list", "--all")
    assert "done" in table.stdout and "cancelled" in table.stdout and "--country PL --rate 60/min" in table.stdout


def test_cli_refuses_bad_schedules_with_an_example(runner, env, people) -> None:  # noqa: F811
    past = runner("send", CAMPAIGN, "--at", "2020-01-01 09:00", "--tz", "Europe/Rome", "--yes", env=env)
    assert past.exit_code == 1 and "is in the past" in past.output and '--at "2027-03-01 09:00"' in past.output
    no_zone = runner("send", CAMPAIGN, "--at", "2099-01-01 09:00", "--yes", env=env)
    assert no_zone.exit_code == 1 and "has no time zone" in no_zone.output
    both = runner("send", CAMPAIGN, "--at", "2099-01-01 09:00", "--tz", "UTC", "--dry-run", env=env)
    assert both.exit_code == 2 and "--at schedules a plain send" in both.output
    tz_only = runner("send", CAMPAIGN, "--tz", "UTC", env=env)
    assert tz_only.exit_code == 2
    unconfirmed = runner("send", CAMPAIGN, "--at", "2099-01-01 09:00", "--tz", "UTC", env=env)
    assert unconfirmed.exit_code == 1 and "--yes" in unconfirmed.output
    assert json.loads(runner("schedule", "list", "--json").stdout) == []


def test_the_serve_watcher_runs_due_sends_in_a_child_process(monkeypatch, env, smtpd, people, db_path,  # noqa: F811
                                                             tmp_path) -> None:
    for name, value in {**env, **smtpd.env()}.items():
        monkeypatch.setenv(name, value)
    clock = FakeClock(datetime.now(UTC) - timedelta(hours=1))
    db = open_database(db_path)
    schedule_send(db, clock, CAMPAIGN, parse_at((clock.now() + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M"),
                                                "UTC", None, clock.now()), SendRequest(countries=("CZ",)))
    db.close()
    watcher = DueWatcher(db_path, [sys.executable, "-m", "outreach", "--db", str(db_path), "run-due"],
                         interval=0.2)
    watcher.start()
    try:
        deadline = time.monotonic() + 60
        while not smtpd.messages and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        watcher.stop()
    assert [m.rcpt_tos for m in smtpd.messages] == [["jan@obec.example.org"]]
    db = open_database(db_path)
    assert get_schedule(db, 1).status is ScheduleStatus.DONE
    db.close()


def test_an_invitation_cannot_be_scheduled_for_after_its_sessions_began(runner, env, people) -> None:  # noqa: F811
    late = runner("send", "bsi-training", "--at", "2099-01-01 09:00", "--tz", "Europe/Warsaw", "--yes", env=env)
    assert late.exit_code == 1 and "Not sending invitations to a past or cancelled event" in late.output
    assert json.loads(runner("schedule", "list", "--json").stdout) == []
    forced = runner("send", "bsi-training", "--at", "2099-01-01 09:00", "--tz", "Europe/Warsaw", "--force", "--yes",
                    env=env)
    assert forced.exit_code == 0, forced.output
    [row] = json.loads(runner("schedule", "list", "--json").stdout)
    assert row["request"]["force"] is True
