"""Registration core: places, the waiting list (FIFO) and promotion, refusals as answers, capacity under
two writing processes on one database file."""

from __future__ import annotations

import dataclasses
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clock_support import FakeClock
from event_support import event_campaign

from outreach.campaigns.folder import load_campaign
from outreach.db.registrations import count_by_status, list_registrations
from outreach.db.schema import open_database
from outreach.errors import NotFoundError
from outreach.events.registration import Answer, cancel, decline, places_left, promote_waiting, register
from outreach.events.sessions import open_session
from outreach.models.sessions import Person, RegistrationStatus


def _person(n: int) -> Person:
    return Person(email=f"p{n}@gmina.example.org", name=f"Osoba {n}", language="pl")


@pytest.fixture
def session_id(settings, tmp_path, db, clock) -> int:
    campaign = load_campaign(event_campaign(settings, tmp_path, capacity=2), "training")
    return open_session(db, clock, campaign, "PL").row.id


def test_capacity_waiting_list_and_promotion_in_order(db, clock, session_id) -> None:
    from outreach.db.sessions import get_session_by_id

    row = get_session_by_id(db, session_id)
    assert row is not None and places_left(db, row) == 2
    answers = [register(db, clock, session_id, _person(n)).answer for n in range(5)]
    assert places_left(db, row) == 0
    assert answers == [Answer.REGISTERED, Answer.REGISTERED, Answer.WAITING, Answer.WAITING, Answer.WAITING]
    again = register(db, clock, session_id, _person(1))
    assert again.answer is Answer.ALREADY_REGISTERED and not again.changed
    assert register(db, clock, session_id, _person(3)).answer is Answer.ALREADY_WAITING
    counts = count_by_status(db, session_id)
    assert counts[RegistrationStatus.REGISTERED] == 2 and counts[RegistrationStatus.WAITING] == 3

    result = cancel(db, clock, session_id, _person(0).email)
    assert result.answer is Answer.CANCELLED
    assert result.promoted is not None and result.promoted.email == _person(2).email  # first in, first promoted
    # a waiting person who leaves frees no place: nobody is promoted
    assert cancel(db, clock, session_id, _person(4).email).promoted is None
    result = decline(db, clock, session_id, _person(1))
    assert result.answer is Answer.CANCELLED and result.promoted and result.promoted.email == _person(3).email
    registered = [r.email for r in list_registrations(db, session_id, [RegistrationStatus.REGISTERED])]
    assert registered == [_person(2).email, _person(3).email]
    assert cancel(db, clock, session_id, "nobody@example.org").answer is Answer.NOT_REGISTERED


def test_decline_without_place_and_coming_back(db, clock, session_id) -> None:
    assert decline(db, clock, session_id, _person(7)).answer is Answer.DECLINED
    assert decline(db, clock, session_id, _person(7)).answer is Answer.ALREADY_DECLINED
    back = register(db, clock, session_id, _person(7))
    assert back.answer is Answer.REGISTERED and back.registration and back.registration.name == "Osoba 7"
    assert count_by_status(db, session_id)[RegistrationStatus.DECLINED] == 0


def test_refusals_are_answers_not_errors(settings, tmp_path, db, session_id) -> None:
    late = FakeClock(datetime(2027, 3, 12, 8, 0, tzinfo=UTC))  # deadline 2027-03-11 23:59 Warsaw
    assert register(db, late, session_id, _person(1)).answer is Answer.DEADLINE_PASSED
    over = FakeClock(datetime(2027, 3, 19, tzinfo=UTC))
    assert register(db, over, session_id, _person(1)).answer is Answer.SESSION_OVER
    assert register(db, late, 9999, _person(1)).answer is Answer.UNKNOWN_SESSION
    from outreach.db.sessions import cancel_session

    cancel_session(db, "2027-01-01T00:00:00Z", session_id)
    early = FakeClock(datetime(2027, 1, 2, tzinfo=UTC))
    assert register(db, early, session_id, _person(1)).answer is Answer.SESSION_CANCELLED
    assert count_by_status(db, session_id)[RegistrationStatus.REGISTERED] == 0


def test_raised_capacity_promotes_the_waiting(settings, tmp_path, db, clock, session_id) -> None:
    for n in range(4):
        register(db, clock, session_id, _person(n))
    campaign = load_campaign(event_campaign(settings, tmp_path, capacity=3), "training")
    row = open_session(db, clock, campaign, "PL").row
    assert row.capacity == 3 and row.sequence == 0  # capacity is not on the calendar: SEQUENCE stays
    assert [r.email for r in promote_waiting(db, clock, session_id)] == [_person(2).email]


def test_unknown_session_code_suggests(settings, tmp_path, db, clock) -> None:
    campaign = load_campaign(event_campaign(settings, tmp_path), "training")
    with pytest.raises(NotFoundError, match="did you mean 'webinar'"):
        open_session(db, clock, campaign, "webinr")
    assert open_session(db, clock, campaign, "pl").session.code == "PL"


def _register_many(db_path: str, session_id: int, start: int, barrier: object) -> list[str]:
    db = open_database(db_path)
    clock = FakeClock()
    barrier.wait()  # type: ignore[attr-defined]
    answers = [register(db, clock, session_id, _person(n)).answer.value for n in range(start, start + 20)]
    db.close()
    return answers


def test_two_processes_never_exceed_capacity(db_path: Path, db, session_id) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            runs = [pool.apply_async(_register_many, (str(db_path), session_id, start, barrier))
                    for start in (0, 100)]
            answers = [answer for run in runs for answer in run.get(timeout=120)]
    assert answers.count("registered") == 2 and answers.count("waiting") == 38
    counts = count_by_status(db, session_id)
    assert counts[RegistrationStatus.REGISTERED] == 2 and counts[RegistrationStatus.WAITING] == 38


def test_erasure_keeps_the_counts_but_not_the_person(db, clock, session_id) -> None:
    from outreach.contacts.model import clean_fields, erase, insert_contact
    from outreach.db.registrations import record_attendance

    contact = insert_contact(db, clock, "p1@gmina.example.org", clean_fields({"name": "Osoba 1", "kind": "authority"}))
    person = dataclasses.replace(_person(1), contact_id=contact.id)
    register(db, clock, session_id, person)
    record_attendance(db, "2027-03-18T09:00:00Z", session_id, person.email, contact.id, 1, "sheet.xlsx")
    erase(db, clock, person.email)
    rows = db.execute("SELECT email, name, contact_id FROM registrations").fetchall()
    assert rows == [("erased-1", "", None)]
    assert db.execute("SELECT email, contact_id FROM attendance").fetchall() == [("erased-1", None)]
    assert count_by_status(db, session_id)[RegistrationStatus.REGISTERED] == 1
