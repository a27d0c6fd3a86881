"""Helpers of the event page tests: a small invitation campaign with sessions, contacts, and reading mails."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

from outreach.contacts.model import Contact, get_contact, insert_contact
from outreach.db.schema import open_database

CAMPAIGN = "training"

CAMPAIGN_TOML = """\
name = "Training day on socially responsible public procurement"
layout = "invitation"
source_language = "en"
fallback = "source"

[events.PL]
title = "Dzień szkoleniowy: społecznie odpowiedzialne zamówienia publiczne"
starts = 2027-05-13T09:30:00
ends = 2027-05-13T16:00:00
timezone = "Europe/Warsaw"
venue = "Centrum Konferencyjne „Wspólnota”"
address = "ul. Solidarnej Pracy 18, 00-950 Warszawa"
capacity = {capacity}
registration_deadline = {deadline}

[events.PL.en]
title = "Training day: socially responsible public procurement"

[events.CZ]
title = "Školicí den: sociálně odpovědné zadávání veřejných zakázek"
starts = 2027-03-16T09:00:00
ends = 2027-03-16T16:00:00
timezone = "Europe/Prague"
venue = "Konferenční centrum Vltavská brána"
address = "Družstevní nábřeží 12, 110 00 Praha 1"
registration_deadline = 2026-11-20

[events.HR]
title = "Dan edukacije"
starts = 2027-03-09T09:30:00
ends = 2027-03-09T16:00:00
timezone = "Europe/Zagreb"
address = "Trg suradnje 3, 10000 Zagreb"
registration_url = "https://bsi.example.org/hr/training"
"""

BODY = {
    "en": 'subject = "Invitation: training day"\n+++\nWe are pleased to invite you to **{{ event.title }}**.\n',
    "pl": 'subject = "Zaproszenie na szkolenie"\n+++\nSerdecznie zapraszamy na wydarzenie **{{ event.title }}**.\n',
}


def write_campaign(root: Path, capacity: int = 1, deadline: str = "2027-05-06") -> Path:
    """campaigns/training with a Polish session (capacity, deadline) and a Czech one whose deadline has passed."""
    folder = root / CAMPAIGN
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.toml").write_text(CAMPAIGN_TOML.format(capacity=capacity, deadline=deadline),
                                          encoding="utf-8")
    for language, text in BODY.items():
        (folder / f"{language}.md").write_text("+++\n" + text, encoding="utf-8")
    return root


def add_contact(db_path: Path, email: str, name: str, country: str = "PL", language: str = "pl") -> Contact:
    """A stored, active contact."""
    from clock_support import FakeClock

    db = open_database(db_path)
    try:
        return insert_contact(db, FakeClock(), email, {"name": name, "country": country, "language": language,
                                                      "kind": "authority"})
    finally:
        db.close()


def registrations(db_path: Path) -> dict[str, str]:
    """address → status of every registration."""
    db = open_database(db_path)
    try:
        return {row[0]: row[1] for row in db.execute("SELECT email, status FROM registrations ORDER BY id")}
    finally:
        db.close()


def registration_rows(db_path: Path) -> list[dict[str, object]]:
    db = open_database(db_path)
    try:
        return [dict(row) for row in db.query("SELECT * FROM registrations ORDER BY id")]
    finally:
        db.close()


def stored_contact(db_path: Path, email: str) -> Contact | None:
    db = open_database(db_path)
    try:
        return get_contact(db, email)
    finally:
        db.close()


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def path_in(text: str, kind: str) -> str:
    """The path of the first /<kind>/<token> link in a text."""
    match = re.search(r"https?://[^/\s]+(/" + kind + r"/[A-Za-z0-9_.\-]+)", text)
    assert match, f"no /{kind}/ link in: {text[:600]}"
    return match.group(1)


def calendar_of(message: EmailMessage) -> bytes | None:
    """The bytes of the text/calendar part of a message, if it has one."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None
