"""Event mail through a real aiosmtpd on 127.0.0.1: reminders (twice → once), updates and cancellations with the
same UID and a higher SEQUENCE, promotion from the waiting list; each calendar file parsed back with vobject."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import vobject
from clock_support import FakeClock
from event_support import event_campaign

from outreach.campaigns.folder import load_campaign
from outreach.db.registrations import claim_mail, get_registration
from outreach.delivery.transport import open_transport
from outreach.events import lifecycle
from outreach.events.mailing import send_promotion
from outreach.events.registration import cancel as cancel_place
from outreach.events.registration import register
from outreach.events.sessions import open_session
from outreach.models.sessions import Person

PL_START = datetime(2027, 3, 18, 9, 30)


def calendar_of(message) -> vobject.base.Component:
    """The text/calendar alternative parsed with vobject (a parser independent of icalendar)."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    attached = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    assert len(parts) == 1 and len(attached) == 1
    data = parts[0].get_payload(decode=True).decode("utf-8")
    assert attached[0].get_payload(decode=True).decode("utf-8") == data
    calendar = vobject.readOne(data)
    assert parts[0].get_param("method") == calendar.method.value
    return calendar


@pytest.fixture
def world(settings, tmp_path, db, smtpd):
    settings = dataclasses.replace(event_campaign(settings, tmp_path, capacity=1, pl_starts=PL_START),
                                   smtp_host=smtpd.host, smtp_port=smtpd.port, smtp_security="none")
    clock = FakeClock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))
    campaign = load_campaign(settings, "training")
    opened = open_session(db, clock, campaign, "PL")
    register(db, clock, opened.row.id, Person("ana@gmina.example.org", "Anna Kowalska", language="pl"))
    register(db, clock, opened.row.id, Person("ben@example.org", "Ben Byrne", language="en"))  # waits
    return settings, clock, campaign, opened


def test_reminder_goes_once_to_those_holding_a_place(world, db, smtpd) -> None:
    settings, clock, campaign, _ = world
    transport = open_transport(settings)
    early = lifecycle.remind(settings, db, clock, campaign, "2d", "PL", transport)
    assert early[0].note.startswith("not due yet") and smtpd.messages == []
    clock.advance(16 * 86400)  # 17 March, the day before
    first = lifecycle.remind(settings, db, clock, campaign, "2d", "PL", transport)
    second = lifecycle.remind(settings, db, clock, campaign, "2d", "PL", transport)
    transport.close()
    assert first[0].mails.sent == ["ana@gmina.example.org"] and second[0].mails.sent == []
    assert second[0].mails.already == ["ana@gmina.example.org"]
    assert len(smtpd.messages) == 1
    message = smtpd.messages[0].message()
    assert message["Subject"] == "Przypomnienie: Dzień szkoleniowy" and message["Auto-Submitted"]
    text = message.get_body(("plain",)).get_content()
    assert "Przypominamy o Państwa rejestracji" in text and "18 marca 2027" in text
    calendar = calendar_of(message)
    assert calendar.method.value == "REQUEST"
    event = calendar.vevent
    assert event.uid.value == "training-pl@bsi.example.org" and event.sequence.value == "0"
    assert event.dtstart.params["X-VOBJ-ORIGINAL-TZID"] == ["Europe/Warsaw"]
    assert event.dtstart.value == datetime(2027, 3, 18, 8, 30, tzinfo=UTC)
    assert calendar.vtimezone.tzid.value == "Europe/Warsaw"
    assert "ana@gmina.example.org" in event.attendee.value


def test_interrupted_reminder_is_not_sent_again(world, db, smtpd) -> None:
    settings, clock, campaign, opened = world
    clock.advance(16 * 86400)
    registration = get_registration(db, opened.row.id, "ana@gmina.example.org")
    assert registration is not None
    with db.atomic():  # a run recorded it and died before the server answered
        claim_mail(db, "2027-03-17T08:00:00Z", registration.id, "reminder:2d")
    transport = open_transport(settings)
    outcome = lifecycle.remind(settings, db, clock, campaign, "2d", "PL", transport)[0]
    assert outcome.mails.unknown == ["ana@gmina.example.org"] and smtpd.messages == []
    retried = lifecycle.remind(settings, db, clock, campaign, "2d", "PL", transport, retry_unknown=True)[0]
    transport.close()
    assert retried.mails.sent == ["ana@gmina.example.org"] and len(smtpd.messages) == 1


def test_update_then_cancel_keep_the_uid_and_raise_the_sequence(world, db, smtpd, settings, tmp_path) -> None:
    settings, clock, campaign, _ = world
    transport = open_transport(settings)
    unchanged = lifecycle.update(settings, db, clock, campaign, "PL", transport)
    assert unchanged[0].note.startswith("unchanged") and smtpd.messages == []
    moved = load_campaign(dataclasses.replace(settings, campaigns_dir=event_campaign(
        settings, tmp_path, capacity=1, pl_starts=datetime(2027, 3, 19, 10, 0)).campaigns_dir), "training")
    updated = lifecycle.update(settings, db, clock, moved, "PL", transport)
    assert updated[0].sequence == 1 and sorted(updated[0].mails.sent) == ["ana@gmina.example.org",
                                                                          "ben@example.org"]
    assert lifecycle.update(settings, db, clock, moved, "PL", transport)[0].mails.already  # run twice: once
    cancelled = lifecycle.cancel(settings, db, clock, moved, "PL", transport)
    transport.close()
    assert cancelled[0].sequence == 2 and len(cancelled[0].mails.sent) == 2
    by_subject = {(m.rcpt_tos[0], m.message()["Subject"]): m.message() for m in smtpd.messages}
    assert len(smtpd.messages) == 4
    update = calendar_of(by_subject[("ana@gmina.example.org", "Zmiana: Dzień szkoleniowy")])
    assert (update.method.value, update.vevent.sequence.value) == ("REQUEST", "1")
    assert update.vevent.dtstart.value == datetime(2027, 3, 19, 9, 0, tzinfo=UTC)
    waiting = by_subject[("ben@example.org", "Changed: Training day")]  # English reader: English title
    assert not [p for p in waiting.walk() if p.get_content_type() == "text/calendar"]  # no place, no entry
    cancel = calendar_of(by_subject[("ana@gmina.example.org", "Odwołane: Dzień szkoleniowy")])
    assert cancel.method.value == "CANCEL" and cancel.vevent.status.value == "CANCELLED"
    assert cancel.vevent.uid.value == update.vevent.uid.value and cancel.vevent.sequence.value == "2"
    session_id = open_session(db, clock, moved, "PL").row.id
    assert register(db, clock, session_id, Person("late@example.org")).answer.value == "session_cancelled"


def test_promotion_mail_when_a_place_frees(world, db, smtpd) -> None:
    settings, clock, _, opened = world
    result = cancel_place(db, clock, opened.row.id, "ana@gmina.example.org")
    assert result.promoted is not None and result.promoted.email == "ben@example.org"
    transport = open_transport(settings)
    report = send_promotion(settings, db, clock, opened, result.promoted, transport)
    again = send_promotion(settings, db, clock, opened, result.promoted, transport)
    transport.close()
    assert report.sent == ["ben@example.org"] and again.already == ["ben@example.org"]
    message = smtpd.messages[0].message()
    assert message["Subject"] == "A place is now available for you: Training day"
    assert "Bring your ID." in message.get_body(("plain",)).get_content()
    assert calendar_of(message).method.value == "REQUEST"
