"""Shared test data for the tracking tests: contacts and deliveries that match tests/data/bounces/*.eml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outreach.clock import Clock, utcnow_iso
from outreach.contacts.model import clean_fields, insert_contact
from outreach.db.schema import Database

DATA = Path(__file__).resolve().parent / "data" / "bounces"

# (email, name, country, kind, language, message-id tag) — the samples' recipients and Message-IDs.
PEOPLE = [
    ("jan.kowalski@gmina.example.org", "Jan Kowalski", "PL", "authority", "pl", "1.k7Qp2x"),
    ("mette.hansen@kommune.example.net", "Mette Hansen", "DK", "authority", "da", "2.Zr81aa"),
    ("pieter.devries@stad.example.com", "Pieter de Vries", "NL", "authority", "nl", "3.Pq9wLm"),
    ("giulia.rossi@cooperativa.example.com", "Giulia Rossi", "IT", "supplier", "it", "4.Gm3vXy"),
    ("claire.martin@ministere.example", "Claire Martin", "FR", "authority", "fr", "5.Fr0nce"),
    ("petra.novakova@obec.example.com", "Petra Nováková", "CZ", "authority", "cs", "6.Cz4kia"),
    ("anna.svensson@kommun.example.net", "Anna Svensson", "SE", "authority", "sv", "7.Se5vn1"),
    ("klaus.weber@stadtwerke.example.com", "Klaus Weber", "DE", "supplier", "de", "8.De7kw2"),
    ("maria.pop@primaria.example.org", "Maria Pop", "RO", "authority", "ro", "9.Ro2pqs"),
]


def add_campaign(db: Database, clock: Clock, slug: str, name: str | None = None) -> None:
    now = utcnow_iso(clock)
    db.execute("INSERT OR IGNORE INTO campaigns (slug, name, source_language, created_at, first_sent_at, "
               "last_sent_at) VALUES (?, ?, 'en', ?, ?, ?)", [slug, name or slug.title(), now, now, now])


def add_delivery(db: Database, clock: Clock, campaign: str, contact: Any, *, status: str = "sent",
                 message_id: str | None = None, when: str | None = None, language: str | None = None) -> int:
    """A deliveries row with the columns the sender writes."""
    stamp = when or utcnow_iso(clock)
    cursor = db.execute(
        "INSERT INTO deliveries (campaign, contact_id, email, country, kind, language, status, attempts, last_reply, "
        "message_id, queued_at, updated_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
        [campaign, contact.id, contact.email, contact.country, contact.kind, language or contact.language or "en",
         status, "250 2.0.0 Ok: queued" if status == "sent" else None,
         message_id or f"<{campaign}.{contact.id}.x@news.bsi.example.org>", stamp, stamp,
         stamp if status == "sent" else None])
    return int(cursor.lastrowid)


def seed(db: Database, clock: Clock, campaign: str = "bsi-awareness") -> dict[str, Any]:
    """The nine people of the samples, each sent `campaign` with the sample's Message-ID."""
    add_campaign(db, clock, campaign, "BSI awareness")
    contacts = {}
    for email, name, country, kind, language, tag in PEOPLE:
        contact = insert_contact(db, clock, email, clean_fields(
            {"name": name, "country": country, "kind": kind, "language": language}))
        add_delivery(db, clock, campaign, contact, message_id=f"<{campaign}.{tag}@news.bsi.example.org>")
        contacts[email] = contact
    return contacts


def status_of(db: Database, email: str) -> str:
    return db.execute("SELECT status FROM contacts WHERE email = ?", [email]).fetchone()[0]


def events_of(db: Database, email: str) -> list[tuple[str, str | None, str | None]]:
    return [tuple(row) for row in db.execute(
        "SELECT e.type, e.bounce_type, e.campaign FROM events e JOIN contacts c ON c.id = e.contact_id "
        "WHERE c.email = ? ORDER BY e.id", [email]).fetchall()]
