"""One person's event answers and attendance, for `outreach contacts history` (and access requests)."""

from __future__ import annotations

from typing import Any

from outreach.db.contacts import get_contact
from outreach.db.registrations import registrations_of
from outreach.db.schema import Database


def person_registrations(db: Database, email: str) -> list[dict[str, Any]]:
    """Every session the person answered for or came to: campaign, session, start, answer, source, attended."""
    from outreach.contacts.model import normalize_email
    from outreach.errors import InputError

    try:
        key = normalize_email(email)
    except InputError:
        return []
    contact = get_contact(db, key)
    rows = registrations_of(db, contact.id if contact else None, key)
    return [{"campaign": r["campaign"], "session": r["code"], "starts_at": r["starts_at"],
             "answer": r["status"] or "walk-in", "source": r["source"], "answered_at": r["created_at"],
             "updated_at": r["updated_at"], "attended": bool(r["attended_at"]), "attended_at": r["attended_at"]}
            for r in rows]
