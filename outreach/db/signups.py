"""The `signups` table (double opt-in sign-ups waiting for confirmation) and what confirming writes.

A sign-up keeps what the form said (as JSON), the client address and time, a random nonce and an expiry. The
rules — who is mailed what, when a sign-up may be confirmed — live in `outreach.web.signups`; this module only
reads and writes the rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from outreach.clock import Clock, utcnow_iso
from outreach.db.schema import Database
from outreach.models import Kind
from outreach.models.signups import ConsentDetail, Signup, SignupData


def purge_expired(db: Database, clock: Clock) -> int:
    """Forget sign-ups past their expiry, confirmed or not (the contact keeps its own consent record)."""
    cursor = db.execute("DELETE FROM signups WHERE expires_at < ?", [utcnow_iso(clock)])
    return int(cursor.rowcount or 0)


def insert_signup(db: Database, *, nonce: str, data: SignupData, form_version: str, client: str | None,
                  created_at: str, expires_at: str) -> Signup:
    """Store a sign-up waiting for confirmation and return it as stored."""
    payload = {"name": data.name, "organisation": data.organisation, "kind": data.kind.value,
               "country": data.country, "language": data.language, "topics": list(data.topics),
               "consent_text": data.consent_text, "form_version": form_version}
    db.execute("INSERT INTO signups (nonce, email, data, client, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
               [nonce, data.email, json.dumps(payload, ensure_ascii=False), client, created_at, expires_at])
    found = get_signup(db, nonce)
    assert found is not None  # just inserted in this connection
    return found


def get_signup(db: Database, nonce: str) -> Signup | None:
    """The sign-up with this nonce (the one a confirmation link names), or None."""
    rows = list(db.query("SELECT * FROM signups WHERE nonce = ?", [nonce]))
    return _signup(rows[0]) if rows else None


def _signup(row: Mapping[str, Any]) -> Signup:
    stored: dict[str, Any] = json.loads(row["data"] or "{}")
    data = SignupData(email=row["email"], name=stored.get("name") or "",
                      organisation=stored.get("organisation") or "",
                      kind=Kind(stored.get("kind") or Kind.SUBSCRIBER.value), country=stored.get("country"),
                      language=stored.get("language"), topics=tuple(stored.get("topics") or ()),
                      consent_text=stored.get("consent_text") or "")
    return Signup(id=row["id"], nonce=row["nonce"], data=data, form_version=stored.get("form_version"),
                  client=row["client"], created_at=row["created_at"], expires_at=row["expires_at"],
                  confirmed_at=row["confirmed_at"])


def set_consent_detail(db: Database, contact_id: int, detail: ConsentDetail) -> None:
    """Replace a known contact's consent record with the one its confirmed sign-up gives (part of confirming)."""
    db.execute("UPDATE contacts SET consent_detail = ? WHERE id = ?",
               [json.dumps(detail.as_dict(), ensure_ascii=False), contact_id])


def mark_confirmed(db: Database, signup_id: int, confirmed_at: str) -> None:
    """Note that a sign-up was confirmed, so that its link cannot confirm it twice."""
    db.execute("UPDATE signups SET confirmed_at = ? WHERE id = ?", [confirmed_at, signup_id])
