"""The `events` and `inbound_messages` tables, and the delivery look-ups that match inbound mail to a delivery.

What an event means for a contact (status, suppression) is `outreach.tracking.events`' job; this module only
stores and reads.
"""

from __future__ import annotations

import sqlite3

from outreach.db.schema import Database
from outreach.models import BounceType, EventType
from outreach.models.tracking import DeliveryMatch, Event, InboundMessage, NewEvent

_EVENT_COLUMNS = "id, type, contact_id, campaign, delivery_id, bounce_type, detail, source, source_id, created_at"


def insert_event(db: Database, event: NewEvent) -> int | None:
    """Store an event; its id, or None when the same (type, source_id, contact) is already stored.

    Without a `source_id` a constraint failure is a real error and is raised.
    """
    try:
        cursor = db.execute(
            "INSERT INTO events (type, contact_id, campaign, delivery_id, bounce_type, detail, source, source_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [event.type.value, event.contact_id, event.campaign, event.delivery_id,
             event.bounce_type.value if event.bounce_type else None, event.detail, event.source, event.source_id,
             event.created_at],
        )
    except sqlite3.IntegrityError:
        if event.source_id is None:
            raise
        return None
    return int(cursor.lastrowid or 0)


def soft_bounce_counts(db: Database, contact_id: int) -> tuple[int, int]:
    """(soft bounces, distinct campaigns they came from) recorded for a contact."""
    row = db.execute(
        "SELECT count(*), count(DISTINCT campaign) FROM events WHERE contact_id = ? AND type = ? AND bounce_type = ?",
        [contact_id, EventType.BOUNCED.value, BounceType.SOFT.value]).fetchone()
    return int(row[0]), int(row[1])


def events_of_contact(db: Database, contact_id: int) -> list[Event]:
    """Every event of one contact, in the order they were stored."""
    rows = db.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE contact_id = ? ORDER BY id", [contact_id])
    return [Event(row_id, EventType(type_), contact, campaign, delivery, BounceType(bounce) if bounce else None,
                  detail, source, source_id, created)
            for row_id, type_, contact, campaign, delivery, bounce, detail, source, source_id, created in rows]


# --- inbound_messages: what a mailbox run already processed -----------------------------------------------------


def inbound_message(db: Database, key: str) -> InboundMessage | None:
    """The record of an inbound message processed before, or None."""
    row = db.execute("SELECT key, mailbox, outcome, detail, processed_at FROM inbound_messages WHERE key = ?",
                     [key]).fetchone()
    return InboundMessage(*row) if row else None


def add_inbound_message(db: Database, message: InboundMessage) -> bool:
    """Remember a processed inbound message (the first record of a key wins); whether it was new."""
    cursor = db.execute("INSERT OR IGNORE INTO inbound_messages (key, mailbox, outcome, detail, processed_at) "
                        "VALUES (?, ?, ?, ?, ?)", [message.key, message.mailbox, message.outcome, message.detail,
                                                   message.processed_at])
    return cursor.rowcount > 0


# --- which delivery an inbound message is about -----------------------------------------------------------------


def delivery_by_id(db: Database, delivery_id: int) -> DeliveryMatch | None:
    """The delivery a (signed) VERP address names."""
    row = db.execute("SELECT id, contact_id, campaign FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
    return DeliveryMatch(*row) if row else None


def delivery_by_message_id(db: Database, message_id: str) -> DeliveryMatch | None:
    """The latest delivery sent with this Message-ID."""
    row = db.execute("SELECT id, contact_id, campaign FROM deliveries WHERE message_id = ? ORDER BY id DESC LIMIT 1",
                     [message_id]).fetchone()
    return DeliveryMatch(*row) if row else None
