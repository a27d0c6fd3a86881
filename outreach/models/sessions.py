"""Row types of the event tables: sessions as the database keeps them, registrations, attendance, event mail.

`outreach.db.sessions` and `outreach.db.registrations` take and return these; `outreach.events` decides.
A session's definition (times, place, texts) lives in campaign.toml (`outreach.events.model.Session`); the
database keeps what must survive between runs: its UID, its SEQUENCE, whether it was cancelled, who registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SessionStatus(StrEnum):
    """Whether a session still takes place."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RegistrationStatus(StrEnum):
    """One person's answer for one session: registered (has a place), waiting (on the list), declined, cancelled."""

    REGISTERED = "registered"
    WAITING = "waiting"
    DECLINED = "declined"  # "I cannot attend" before having a place
    CANCELLED = "cancelled"  # gave a place (or a place on the waiting list) back


class RegistrationSource(StrEnum):
    """Where an answer came from."""

    MAIL = "mail"  # a signed link in a mail to a known contact
    WEB = "web"  # the public event page
    CLI = "cli"  # entered by the coordinator


class EventMailStatus(StrEnum):
    """One event mail (reminder, update, cancellation, promotion) to one person: recorded before it is sent."""

    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class SessionRow:
    """A session as the database keeps it (one row of `event_sessions`)."""

    id: int
    campaign: str
    code: str
    uid: str
    sequence: int
    status: SessionStatus
    fingerprint: str
    capacity: int | None
    starts_at: str  # UTC ISO, for reports and reminders
    deadline_at: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Person:
    """Who answers: a known contact (contact_id) or someone from the public page (name, email, consent)."""

    email: str  # normalised
    name: str = ""
    contact_id: int | None = None
    language: str | None = None
    organisation: str = ""
    consent_text: str = ""  # what the public page's form said, in the reader's language
    client: str | None = None  # the request's address, kept with the consent record


@dataclass(frozen=True)
class Registration:
    """One row of `registrations`: one person's answer for one session."""

    id: int
    session_id: int
    contact_id: int | None
    email: str
    name: str
    organisation: str
    language: str | None
    status: RegistrationStatus
    source: RegistrationSource
    consent_text: str
    client: str | None
    created_at: str
    updated_at: str
    waiting_since: str | None
    registered_at: str | None


@dataclass(frozen=True)
class Attendee:
    """A registration with the session it is for and whether the person came (for lists and reports)."""

    registration: Registration | None
    campaign: str
    code: str
    email: str
    name: str
    attended_at: str | None
