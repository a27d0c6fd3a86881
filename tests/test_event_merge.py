"""`outreach db merge` brings another expert's sessions, registrations and attendance in, once."""

from __future__ import annotations

from pathlib import Path

from clock_support import FakeClock
from event_support import event_campaign

from outreach.campaigns.folder import load_campaign
from outreach.contacts.model import clean_fields, erase, insert_contact
from outreach.db.registrations import list_registrations, record_attendance
from outreach.db.schema import open_database
from outreach.db.sessions import cancel_session
from outreach.events.registration import register
from outreach.events.sessions import open_session
from outreach.models.sessions import Person
from outreach.tracking.merge import merge_database

JAN, CLAIRE = "jan.kowalski@gmina.example.org", "claire.martin@ministere.example"


def test_merge_brings_event_answers_once(db, settings, tmp_path: Path) -> None:
    campaign = load_campaign(event_campaign(settings, tmp_path, capacity=5), "training")
    here, there = FakeClock(), FakeClock()
    other_path = tmp_path / "expert-pl.db"
    other = open_database(other_path)
    insert_contact(other, there, CLAIRE, clean_fields({"name": "Claire Martin", "kind": "authority"}))
    there_jan = insert_contact(other, there, JAN, clean_fields({"name": "Jan Kowalski", "kind": "authority"}))
    theirs = open_session(other, there, campaign, "PL").row.id
    register(other, there, theirs, Person(JAN, "Jan Kowalski", contact_id=there_jan.id, language="pl"))
    register(other, there, theirs, Person("public@fundacja.example.org", "Ola Public", language="pl"))
    register(other, there, theirs, Person(CLAIRE, "Claire Martin", language="fr"))
    record_attendance(other, "2027-03-18T09:00:00Z", theirs, JAN, there_jan.id, 1, "sheet.xlsx")
    cancel_session(other, "2026-12-01T00:00:00Z", theirs)
    other.close()

    here_jan = insert_contact(db, here, JAN, clean_fields({"name": "Jan Kowalski", "kind": "authority"}))
    insert_contact(db, here, CLAIRE, clean_fields({"name": "Claire Martin", "kind": "authority"}))
    erase(db, here, CLAIRE)  # erased here: her answer comes in without her
    mine = open_session(db, here, campaign, "PL").row

    first = merge_database(db, here, other_path)
    assert (first.sessions_added, first.sessions_updated, first.registrations_added, first.attendance_added) == \
        (0, 1, 3, 1)
    row = open_session(db, here, campaign, "PL").row
    assert row.id == mine.id and row.sequence == 1 and row.status.value == "cancelled"
    answers = {r.email: r for r in list_registrations(db, row.id)}
    assert answers[JAN].contact_id == here_jan.id and "public@fundacja.example.org" in answers
    assert CLAIRE not in answers and any(e.startswith("erased-merged-") for e in answers)
    again = merge_database(db, here, other_path)
    assert not again.changed
