"""What the coordinator does to a session after the invitation: remind, update, cancel (`outreach event …`).

Each mails only the people concerned — reminders those holding a place, updates and cancellations those holding
a place or waiting for one — through `outreach.events.mailing`, so running a command again sends nothing twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from outreach.clock import Clock, utcnow_iso
from outreach.config import Settings
from outreach.db import registrations as store
from outreach.db.schema import Database
from outreach.db.sessions import cancel_session
from outreach.delivery.transport import Transport
from outreach.errors import InputError
from outreach.events.mailing import MailReport, mail_key, send_event_mails, send_promotion
from outreach.events.mails import MailKind
from outreach.events.registration import promote_waiting
from outreach.events.sessions import OpenSession, open_session, open_sessions
from outreach.models.sessions import RegistrationStatus

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign

HOLDING = (RegistrationStatus.REGISTERED,)
CONCERNED = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITING)
_BEFORE = re.compile(r"^\s*(\d{1,3})\s*([dh])\s*$", re.IGNORECASE)


def parse_before(value: str) -> tuple[timedelta, str]:
    """`2d` or `12h` as a time span and its normalised label; InputError explaining the form otherwise."""
    match = _BEFORE.match(value)
    if not match or int(match.group(1)) == 0:
        raise InputError(f"--before {value!r} is not a time span",
                         "Write a number of days or hours before the start, e.g. --before 2d or --before 12h.")
    number, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(days=number) if unit == "d" else timedelta(hours=number), f"{number}{unit}"


@dataclass
class SessionOutcome:
    """What a command did for one session: the mails, and a note (not due yet, nothing changed, …)."""

    code: str
    mails: MailReport = field(default_factory=MailReport)
    note: str = ""
    sequence: int | None = None
    promoted: list[str] = field(default_factory=list)


def remind(settings: Settings, db: Database, clock: Clock, campaign: Campaign, before: str, code: str | None,
           transport: Transport, retry_unknown: bool = False) -> list[SessionOutcome]:
    """Remind those holding a place of each session starting within `before` (once per person and span)."""
    span, label = parse_before(before)
    now = clock.now()
    outcomes = []
    for opened in open_sessions(db, clock, campaign, code):
        outcome = SessionOutcome(opened.session.code)
        starts = opened.session.starts
        if opened.cancelled:
            outcome.note = "cancelled: no reminders"
        elif starts <= now:
            outcome.note = "has started or is over: no reminders"
        elif starts - span > now:
            outcome.note = f"not due yet: reminders from {_stamp(starts - span)}"
        else:
            people = store.list_registrations(db, opened.row.id, HOLDING)
            key = mail_key(MailKind.REMINDER, opened, label)
            outcome.mails = send_event_mails(settings, db, clock, opened, MailKind.REMINDER, key, people, transport,
                                             retry_unknown)
        outcomes.append(outcome)
    return outcomes


def update(settings: Settings, db: Database, clock: Clock, campaign: Campaign, code: str | None,
           transport: Transport, retry_unknown: bool = False) -> list[SessionOutcome]:
    """Mail the change of each session whose calendar fields changed since its invitation (SEQUENCE > 0), with a
    calendar file that replaces the entry; a raised capacity moves people up from the waiting list."""
    outcomes = []
    for opened in open_sessions(db, clock, campaign, code):
        outcome = SessionOutcome(opened.session.code, sequence=opened.row.sequence)
        for promoted in promote_waiting(db, clock, opened.row.id):
            outcome.promoted.append(promoted.email)
            outcome.mails.add(send_promotion(settings, db, clock, opened, promoted, transport))
        if opened.cancelled:
            outcome.note = "cancelled: nothing to update"
        elif opened.row.sequence == 0:
            outcome.note = "unchanged since its invitation: nothing to mail"
        else:
            # who answered after the last change already got the session as it is now
            people = [r for r in store.list_registrations(db, opened.row.id, CONCERNED)
                      if r.created_at <= opened.row.updated_at]
            outcome.mails.add(send_event_mails(settings, db, clock, opened, MailKind.UPDATE,
                                               mail_key(MailKind.UPDATE, opened), people, transport, retry_unknown))
        outcomes.append(outcome)
    return outcomes


def cancel(settings: Settings, db: Database, clock: Clock, campaign: Campaign, code: str | None,
           transport: Transport, retry_unknown: bool = False) -> list[SessionOutcome]:
    """Cancel sessions (SEQUENCE raised, STATUS:CANCELLED) and mail everyone holding or waiting for a place."""
    outcomes = []
    for opened in open_sessions(db, clock, campaign, code):
        with db.atomic():
            cancel_session(db, utcnow_iso(clock), opened.row.id)
        opened = open_session(db, clock, campaign, opened.session.code)
        people = store.list_registrations(db, opened.row.id, CONCERNED)
        outcome = SessionOutcome(opened.session.code, sequence=opened.row.sequence)
        outcome.mails = send_event_mails(settings, db, clock, opened, MailKind.CANCEL,
                                         mail_key(MailKind.CANCEL, opened), people, transport, retry_unknown)
        outcomes.append(outcome)
    return outcomes


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z")


__all__ = ["OpenSession", "SessionOutcome", "cancel", "parse_before", "remind", "update"]
