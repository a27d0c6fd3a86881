"""The two messages the pages send: "confirm your subscription" and "you are already subscribed".

They are transactional, one per request, built by the same `MessageFactory` as campaign mail (UTF-8,
multipart/alternative text + HTML, headers that no value can break), marked `Auto-Submitted` and without the
List-* headers, from the web templates and catalogs. They are sent through the project's transport
(`outreach.delivery.transport.open_transport`): the SMTP relay, or the outbox when none is set.

An address is never RFC 2047-encoded: an address with a non-ASCII local part (`jürgen@example.org`) is written
as UTF-8 in a message built for SMTPUTF8 (RFC 6532), which the transport then asks for (RFC 6531) or refuses
clearly — as campaign messages do (`outreach.mail.headers.header_address`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING

from outreach.clock import Clock
from outreach.config import Settings
from outreach.emblem import related_parts
from outreach.errors import ConfigError
from outreach.mail.dkim import signer_for
from outreach.mail.headers import address_domain
from outreach.mail.message import MessageFactory, Personal, SenderInfo, make_message_id

if TYPE_CHECKING:
    from jinja2 import Environment

    from outreach.mail.calendar import CalendarPart
    from outreach.web.lang import PageText


@dataclass(frozen=True)
class OutgoingMail:
    """A built message and its envelope."""

    data: bytes
    envelope_from: str
    recipient: str


def sender_of(settings: Settings) -> tuple[str, str]:
    """(display name, address) of the pages' sender; OUTREACH_FROM is required to send anything."""
    if not settings.sender:
        raise ConfigError("OUTREACH_FROM is not set, so the subscriber pages cannot send confirmation emails",
                          'Set OUTREACH_FROM="Project name <news@your-domain.example>" in .env.')
    name, address = parseaddr(settings.sender)
    return name, address


def build_message(settings: Settings, clock: Clock, *, to_email: str, to_name: str, language: str,
                  subject: str, text: str, html: str, calendar: CalendarPart | None = None) -> OutgoingMail:
    """A transactional UTF-8 multipart/alternative message to one address (header values cleaned by the factory),
    with the calendar file of an event session when given (as the campaign mail factory adds it)."""
    from_name, from_address = sender_of(settings)
    # Reply-To as an address only (a display name in OUTREACH_REPLY_TO is dropped, as campaign mail needs it bare)
    reply_to = parseaddr(settings.reply_to)[1] or None if settings.reply_to else None
    sender = SenderInfo(name=from_name, address=from_address, reply_to=reply_to, language=language,
                        transactional=True)
    message_id = make_message_id(address_domain(from_address))
    factory = MessageFactory(sender, related=related_parts(settings))  # the EU emblem, when set
    data = factory.build(Personal(to_name, to_email, subject, text, html, "", message_id, clock.now(), calendar))
    signer = signer_for(settings, from_address)
    if signer is not None:
        data = signer.sign(data)
    return OutgoingMail(data, from_address, to_email)


def send_message(settings: Settings, message: OutgoingMail) -> str:
    """Hand the message to the transport; TransportError and Temporary/PermanentFailure pass through."""
    from outreach.delivery.transport import open_transport

    transport = open_transport(settings)
    try:
        return transport.send(message.data, message.envelope_from, [message.recipient])
    finally:
        transport.close()


def mail_context(settings: Settings, text: PageText, language: str, to_email: str) -> dict[str, object]:
    """What every mail of the pages shows besides its own words: the strings of its language, the address it goes
    to, the sender's organisation and postal address, and the EU funding block when OUTREACH_EU_FUNDING is set."""
    from outreach.emblem import funding_for

    return {**text.callables(), "lang": language, "email": to_email, "organisation": settings.organisation or "",
            "postal_address": settings.postal_address or "", "eu": funding_for(settings)}


def render_mail(env: Environment, name: str, context: Mapping[str, object]) -> tuple[str, str]:
    """(text, html) of `<name>.txt` and `<name>.html` from the pages' template environment."""
    text_env = env.overlay(autoescape=False)
    text = text_env.get_template(f"{name}.txt").render(context)
    html = env.get_template(f"{name}.html").render(context)
    return text, html
