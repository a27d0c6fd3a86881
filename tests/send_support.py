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
from outreach.delivery.sender import Sender, SendOptions
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

    def session_for(self, country: str | None) -> None:
        return None  # a newsletter: no event session, so no attend/decline links


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
    from outreach.tracking.events import smtp_bounce_recorder

    return smtp_bounce_recorder(db, clock)


def make_sender(settings: Settings, db: Database, clock: FakeClock, campaign: FakeCampaign | None = None,
                **options: Any) -> Sender:
    """A Sender wired as `outreach send` wires it, with the fake campaign and renderer; `options` are
    SendOptions.from_settings's (rate, workers, limit…) plus `transport_factory`."""
    campaign = campaign or FakeCampaign()
    transports = options.pop("transport_factory", None) or (lambda: open_transport(settings))
    connections = options.pop("connections", None)  # several relays: delivery.relays.relay_pool
    return Sender(DatabaseStore(db, clock, (campaign.audience,)),
                  MessageSource(settings, campaign, FakeRenderer(campaign)), transports, clock,
                  audience=audience_of(db), on_hard_bounce=bounce_recorder(db, clock),
                  options=SendOptions.from_settings(settings, **options), connections=connections)


def smtp_settings(settings: Settings, smtpd: Any, **extra: str) -> Settings:
    from dataclasses import replace

    return replace(settings, smtp_host=smtpd.host, smtp_port=smtpd.port, smtp_security="none", **extra)


def write_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- relays that misbehave: real aiosmtpd servers with a handler (or a protocol class) of their own ----------


class FaultyHandler:
    """An aiosmtpd handler for the refusal tests: keeps what it receives (like conftest.SinkHandler) and can
    refuse the sender at MAIL FROM, stall after MAIL FROM, refuse recipients, or garble the reply after DATA
    (after storing the message, as the reproduction's relay did)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.mail_reply: str | None = None  # e.g. "530 5.7.0 Authentication required"
        self.mail_stall: float = 0.0  # seconds to wait before answering MAIL FROM
        self.rcpt_reply: str | None = None  # the same refusal for every recipient
        self.data_reply: str | None = None  # sent (verbatim) after the message was stored
        self.mails = 0  # MAIL FROM commands seen (one per attempt)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # type: ignore[no-untyped-def]
        import asyncio

        self.mails += 1
        if self.mail_stall:
            await asyncio.sleep(self.mail_stall)
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        import time

        from conftest import Received

        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      bytes(envelope.original_content or envelope.content), time.time()))
        return self.data_reply or "250 OK"


def closing_during_data_smtp():  # type: ignore[no-untyped-def]
    """An aiosmtpd protocol that answers DATA with 354 and hangs up: nothing can have been stored.

    The close comes with asyncio's next turn, racing the message: the body arrives at a closed socket or is left
    unread, so the client sees a reset (not an end of stream) when it reads the reply to its final dot."""
    from aiosmtpd.smtp import SMTP, syntax

    class ClosingDuringData(SMTP):  # type: ignore[misc]
        @syntax("DATA")
        async def smtp_DATA(self, arg: str) -> None:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            self.transport.close()

    return ClosingDuringData


class FaultySmtpd:
    """A running aiosmtpd on 127.0.0.1 with a FaultyHandler (and optionally another protocol class)."""

    def __init__(self, protocol: Any = None) -> None:
        from aiosmtpd.controller import Controller
        from conftest import free_port

        self.handler = FaultyHandler()
        self.host, self.port = "127.0.0.1", free_port()
        if protocol is None:
            self.controller = Controller(self.handler, hostname=self.host, port=self.port)
        else:
            class _Controller(Controller):  # type: ignore[misc]
                def factory(self):  # type: ignore[no-untyped-def]
                    return protocol(self.handler, **self.SMTP_kwargs)

            self.controller = _Controller(self.handler, hostname=self.host, port=self.port)

    def __enter__(self) -> FaultySmtpd:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Any]:
        return self.handler.messages

    def env(self, **extra: str) -> dict[str, str]:
        """OUTREACH_* settings that point outreach at this server."""
        return {"OUTREACH_SMTP_HOST": self.host, "OUTREACH_SMTP_PORT": str(self.port),
                "OUTREACH_SMTP_SECURITY": "none", **extra}
