"""Forgetting one person in the tables that refer to them (GDPR art. 17).

The only store module that writes across table families, so that the whole erasure can be read in one place:
a new table that holds an address or a contact id gets its line here. `outreach.contacts.model.erase` calls it
inside one transaction, with the contact's deletion and the suppression entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.models import EventType

if TYPE_CHECKING:
    from outreach.db.schema import Database


def forget_person(db: Database, contact_id: int, email: str) -> None:
    """Unlink deliveries and events from a contact and drop their personal text; delete the person's sign-ups.

    Deliveries and events stay (the coordinator's reports count them) without the contact id, the address or
    any diagnostic text that could name the person.
    """
    db.execute("UPDATE deliveries SET contact_id = NULL, email = NULL, last_reply = NULL WHERE contact_id = ?",
               [contact_id])
    db.execute("UPDATE events SET contact_id = NULL, detail = '', source_id = NULL WHERE contact_id = ?",
               [contact_id])
    db.execute("DELETE FROM signups WHERE email = ?", [email])
    # Event answers and attendance stay counted (invited → registered → attended) but name no one any more.
    db.execute("UPDATE registrations SET contact_id = NULL, email = 'erased-' || id, name = '', organisation = '', "
               "consent_text = '', client = NULL WHERE contact_id = ? OR email = ?", [contact_id, email])
    db.execute("UPDATE attendance SET contact_id = NULL, email = 'erased-' || id WHERE contact_id = ? OR email = ?",
               [contact_id, email])


def record_erasure(db: Database, created_at: str) -> None:
    """Count an erasure in the events table, naming no one."""
    db.execute("INSERT INTO events (type, source, created_at) VALUES (?, 'erase', ?)", [EventType.ERASED, created_at])
