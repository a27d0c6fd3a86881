"""Events: what happened to a contact after (or around) a delivery, and the status changes they cause.

Every part that learns something about a contact — the sender (a 5.1.1 at RCPT), the bounce reader, the web
pages (sign-up, confirmation, unsubscribe) — records it here, so that status and suppression always follow the
events the same way.
"""

from __future__ import annotations

import sqlite3

from outreach.clock import Clock, utcnow_iso
from outreach.contacts import Contact, set_status
from outreach.db import Database
from outreach.models import BounceType, ContactStatus, EventType


def record_event(db: Database, clock: Clock, event_type: EventType, contact_id: int | None, *,
                 campaign: str | None = None, delivery_id: int | None = None,
                 bounce_type: BounceType | None = None, detail: str = "", source: str = "",
                 source_id: str | None = None) -> int | None:
    """Store an event; returns its id, or None when the same (type, source_id, contact) is already stored.

    `source_id` (a bounce's Message-ID, a web request id…) makes re-importing the same mailbox change nothing.
    """
    try:
        cursor = db.execute(
            "INSERT INTO events (type, contact_id, campaign, delivery_id, bounce_type, detail, source, source_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [event_type.value, contact_id, campaign, delivery_id, bounce_type.value if bounce_type else None,
             detail, source, source_id, utcnow_iso(clock)],
        )
    except sqlite3.IntegrityError:
        if source_id is None:
            raise
        return None
    return int(cursor.lastrowid or 0)


def unsubscribe(db: Database, clock: Clock, contact: Contact, *, campaign: str | None = None,
                source: str = "", source_id: str | None = None, detail: str = "") -> Contact:
    """Unsubscribe a contact (idempotent: a second unsubscribe records nothing new)."""
    with db.atomic():
        if contact.status != ContactStatus.UNSUBSCRIBED:
            record_event(db, clock, EventType.UNSUBSCRIBED, contact.id, campaign=campaign, source=source,
                         source_id=source_id, detail=detail)
        return set_status(db, clock, contact, ContactStatus.UNSUBSCRIBED, "unsubscribed")


def resubscribe(db: Database, clock: Clock, contact: Contact, *, source: str = "", detail: str = "") -> Contact:
    """Make an unsubscribed contact active again (only after the person confirmed it)."""
    with db.atomic():
        record_event(db, clock, EventType.RESUBSCRIBED, contact.id, source=source, detail=detail)
        return set_status(db, clock, contact, ContactStatus.ACTIVE)


def complain(db: Database, clock: Clock, contact: Contact, *, campaign: str | None = None,
             delivery_id: int | None = None, source: str = "", source_id: str | None = None,
             detail: str = "") -> Contact:
    """A spam complaint (ARF report): the contact is suppressed for good."""
    with db.atomic():
        record_event(db, clock, EventType.COMPLAINED, contact.id, campaign=campaign, delivery_id=delivery_id,
                     source=source, source_id=source_id, detail=detail)
        return set_status(db, clock, contact, ContactStatus.COMPLAINED, "complained")


def hard_bounce(db: Database, clock: Clock, contact: Contact, *, campaign: str | None = None,
                delivery_id: int | None = None, source: str = "", source_id: str | None = None,
                detail: str = "") -> Contact:
    """A permanent failure for this address: the contact becomes `bounced` and is suppressed."""
    with db.atomic():
        record_event(db, clock, EventType.BOUNCED, contact.id, campaign=campaign, delivery_id=delivery_id,
                     bounce_type=BounceType.HARD, source=source, source_id=source_id, detail=detail)
        return set_status(db, clock, contact, ContactStatus.BOUNCED, "hard bounce")
