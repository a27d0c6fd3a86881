"""Helpers for the sending tests: a small campaign and a Variant-like renderer of our own, so the queue, the
transports and the MIME building are tested independently of the real campaign folders and layouts."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clock_support import FakeClock

from outreach.config import Settings
from outreach.contacts.model import ContactFilter, clean_fields, insert_contact, iter_contacts, normalize_email
from outreach.db.schema import Database
from outreach.delivery.compose import MessageSource
from outreach.delivery.sender import HardBounce, Sender, SendOptions
from outreach.delivery.store import DatabaseStore
from outreach.delivery.transport import open_transport
from outreach.models import ContactStatus
from outreach.render.renderer import Links, Rendered


@dataclass
class FakeCampaign:
    slug: str = "autumn-news"
    name: str = "Autumn news"
    sender_name: str = "Buying for Social Impact"
    sender_address: str = "news@bsi.example.org"
    reply_to: str | None = "team@bsi.example.org"
    organisation: str = "Buying for Social Impact"
    postal_address: str = "Rue de l'Exemple 1, 1000 Bruxelles"
    audience: ContactFilter = field(default_factory=ContactFilter)
    source_language: str = "en"
    languages: tuple[str, ...] = ("en", "pl", "el")
    attachments: list[Any] = field(default_factory=list)
    documents: dict[str, Any] = field(default_factory=dict)

    def attachments_for(self, language: str) -> list[Any]:
        return list(self.attachments)


class FakeVariant:
    def __init__(self, campaign: FakeCampaign, language: str, kind: str) -> None:
        self.campaign, self.language, self.kind = campaign, language, kind

    def render(self, contact: Any, links: Links) -> Rendered:
        subject = f"[{self.language}/{self.kind}] News for {contact.name or contact.email}"
        text = f"Dear {contact.name},\n\nNews.\n\nUnsubscribe: {links.unsubscribe_url}\n"
        body = (f"<p>Dear {html.escape(contact.name)},</p>\n<p>News for {html.escape(contact.organisation)}.</p>\n"
                f'<p><a href="{html.escape(links.unsubscribe_url)}">Unsubscribe</a></p>\n')
        return Rendered(subject, "", body, text)


class FakeRenderer:
    def __init__(self, campaign: FakeCampaign) -> None:
        self.campaign = campaign
        self.built: list[tuple[str, str]] = []

    def variant(self, language: str, kind: str) -> FakeVariant:
        self.built.append((language, kind))
        return FakeVariant(self.campaign, language, kind)


@dataclass(frozen=True)
class FakeRecipient:
    contact: Any
    language: str | None
    fallback: bool = False
    skip_reason: str | None = None


def add_contacts(db: Database, clock: FakeClock, count: int, domain: str = "gmina.example.org",
                 start: int = 0, **fields: Any) -> list[str]:
    """Insert `count` active contacts a000@domain…; returns their addresses."""
    emails = []
    for n in range(start, start + count):
        email = normalize_email(f"a{n:04d}@{domain}")
        data = {"name": f"Osoba {n}", "organisation": "Gmina Przykładowa", "country": "PL", "kind": "authority"}
        data.update(fields)
        insert_contact(db, clock, email, clean_fields(data))
        emails.append(email)
    return emails


def audience_of(db: Database):  # type: ignore[no-untyped-def]
    def audience():  # type: ignore[no-untyped-def]
        for contact in iter_contacts(db, ContactFilter(statuses=(ContactStatus.ACTIVE.value,)), order_by="id"):
            yield FakeRecipient(contact, contact.language or "en")
    return audience


def bounce_recorder(db: Database, clock: FakeClock):  # type: ignore[no-untyped-def]
    """Hard bounces recorded by tracking, as `outreach send` wires it."""
    from outreach.tracking.events import hard_bounce

    def record(bounce: HardBounce) -> None:
        hard_bounce(db, clock, bounce.contact, campaign=bounce.campaign, delivery_id=bounce.delivery_id,
                    source="smtp", detail=bounce.detail)
    return record


def make_sender(settings: Settings, db: Database, clock: FakeClock, campaign: FakeCampaign | None = None,
                **options: Any) -> Sender:
    """A Sender wired as `outreach send` wires it, with the fake campaign and renderer; `options` are
    SendOptions.from_settings's (rate, workers, limit…) plus `transport_factory`."""
    campaign = campaign or FakeCampaign()
    transports = options.pop("transport_factory", None) or (lambda: open_transport(settings))
    return Sender(DatabaseStore(db, clock, (campaign.audience,)),
                  MessageSource(settings, campaign, FakeRenderer(campaign)), transports, clock,
                  audience=audience_of(db), on_hard_bounce=bounce_recorder(db, clock),
                  options=SendOptions.from_settings(settings, **options))


def smtp_settings(settings: Settings, smtpd: Any, **extra: str) -> Settings:
    from dataclasses import replace

    return replace(settings, smtp_host=smtpd.host, smtp_port=smtpd.port, smtp_security="none", **extra)


def write_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
