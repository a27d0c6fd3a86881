"""Double opt-in: sign-up rows waiting for confirmation, and what confirming does to the contact.

A sign-up keeps what the form said, the client address and time, and a random nonce; the confirmation link
carries the nonce signed with the secret key. Only confirming (a POST from the page the link opens) creates the
contact or re-activates an unsubscribed, bounced or erased address, with a consent record that can be shown later.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from outreach.clock import Clock, isoformat, utcnow_iso
from outreach.contacts.model import (
    Contact,
    clean_fields,
    get_contact,
    insert_contact,
    is_suppressed,
    unsuppress,
    update_contact,
)
from outreach.db.schema import Database
from outreach.mail.tokens import MAX_AGE, Purpose
from outreach.models import ContactStatus, EventType, Kind

# Bump when the form or its consent statement changes: the consent record names the version the person saw.
FORM_VERSION = "subscribe-form/2026-11"
SIGNUP_LIFETIME = timedelta(seconds=MAX_AGE[Purpose.CONFIRM] or 7 * 24 * 3600)
CONSENT_SOURCE = "web form"


@dataclass
class SignupData:
    """What the subscribe form collected, already validated."""

    email: str
    name: str = ""
    organisation: str = ""
    kind: str = Kind.SUBSCRIBER.value
    country: str | None = None
    language: str | None = None
    topics: list[str] = field(default_factory=list)
    consent_text: str = ""  # the statement as the person read it, in their language

    def fields(self) -> dict[str, Any]:
        """Contact fields to set on confirmation (empty ones left out so they never erase known values)."""
        values: dict[str, Any] = {"kind": self.kind, "topics": list(self.topics)}
        for key in ("name", "organisation", "country", "language"):
            value = getattr(self, key)
            if value:
                values[key] = value
        return clean_fields(values)


@dataclass(frozen=True)
class Signup:
    id: int
    nonce: str
    email: str
    data: dict[str, Any]
    client: str | None
    created_at: str
    expires_at: str
    confirmed_at: str | None


def purge_expired(db: Database, clock: Clock) -> int:
    """Forget sign-ups past their expiry, confirmed or not (the contact keeps its own consent record)."""
    cursor = db.execute("DELETE FROM signups WHERE expires_at < ?", [utcnow_iso(clock)])
    return int(cursor.rowcount or 0)


def create_signup(db: Database, clock: Clock, data: SignupData, client: str | None) -> Signup:
    """Store a sign-up waiting for confirmation; returns it with its nonce."""
    now = clock.now()
    nonce = secrets.token_urlsafe(18)
    payload = {"name": data.name, "organisation": data.organisation, "kind": data.kind, "country": data.country,
               "language": data.language, "topics": list(data.topics), "consent_text": data.consent_text,
               "form_version": FORM_VERSION}
    db.execute("INSERT INTO signups (nonce, email, data, client, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
               [nonce, data.email, json.dumps(payload, ensure_ascii=False), client, isoformat(now),
                isoformat(now + SIGNUP_LIFETIME)])
    found = get_signup(db, nonce)
    assert found is not None
    return found


def get_signup(db: Database, nonce: str) -> Signup | None:
    rows = list(db.query("SELECT * FROM signups WHERE nonce = ?", [nonce]))
    if not rows:
        return None
    row = rows[0]
    return Signup(id=row["id"], nonce=row["nonce"], email=row["email"], data=json.loads(row["data"] or "{}"),
                  client=row["client"], created_at=row["created_at"], expires_at=row["expires_at"],
                  confirmed_at=row["confirmed_at"])


def is_expired(signup: Signup, clock: Clock) -> bool:
    return signup.expires_at < utcnow_iso(clock)


def signup_data(signup: Signup) -> SignupData:
    data = signup.data
    return SignupData(email=signup.email, name=data.get("name") or "", organisation=data.get("organisation") or "",
                      kind=data.get("kind") or Kind.SUBSCRIBER.value, country=data.get("country"),
                      language=data.get("language"), topics=list(data.get("topics") or []),
                      consent_text=data.get("consent_text") or "")


def confirm_signup(db: Database, clock: Clock, signup: Signup, client: str | None) -> Contact:
    """Make the sign-up's address an active contact with a consent record; idempotent for a confirmed sign-up.

    New address → a new contact (a previously erased one is taken off the suppression list: this confirmation is
    the new consent). Known but not active (unsubscribed, bounced, complained) → re-activated through
    `tracking.resubscribe`. Known and active → its consent record is renewed and its fields updated.
    """
    from outreach.tracking.events import record_event, resubscribe

    data = signup_data(signup)
    now = utcnow_iso(clock)
    detail = {"form_version": signup.data.get("form_version", FORM_VERSION), "signup_at": signup.created_at,
              "signup_client": signup.client, "confirmed_at": now, "confirmed_client": client,
              "consent_text": data.consent_text, "language": data.language}
    source_id = f"signup:{signup.nonce}"
    with db.atomic():
        if signup.confirmed_at is not None:
            contact = get_contact(db, signup.email)
            if contact is not None:
                return contact
            # Confirmed, then erased: the old confirmation cannot bring the address back.
            raise LookupError("sign-up was confirmed before and the contact is gone")
        fields = data.fields()
        fields.update(consent_basis="consent", consent_source=CONSENT_SOURCE, consent_at=now)
        contact = get_contact(db, signup.email)
        if contact is None:
            was_suppressed = is_suppressed(db, signup.email)
            contact = insert_contact(db, clock, signup.email, fields, consent_detail=detail)
            if was_suppressed:
                unsuppress(db, signup.email)
            record_event(db, clock, EventType.SUBSCRIBED, contact.id, source="web", source_id=source_id,
                         detail=f"signed up {signup.created_at}")
        else:
            contact = update_contact(db, clock, contact, fields)
            db.execute("UPDATE contacts SET consent_detail = ? WHERE id = ?",
                       [json.dumps(detail, ensure_ascii=False), contact.id])
            if contact.status != ContactStatus.ACTIVE:
                contact = resubscribe(db, clock, contact, source="web", detail="confirmed web sign-up")
        record_event(db, clock, EventType.CONFIRMED, contact.id, source="web", source_id=source_id)
        db.execute("UPDATE signups SET confirmed_at = ? WHERE id = ?", [now, signup.id])
    refreshed = get_contact(db, signup.email)
    assert refreshed is not None
    return refreshed


def parse_stamp(value: str) -> datetime:
    """A stored `…Z` timestamp as an aware datetime (for showing it in the reader's language)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
