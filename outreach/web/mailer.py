"""The two messages the pages send: "confirm your subscription" and "you are already subscribed".

They are transactional, one per request, so they are built with the standard library (UTF-8,
multipart/alternative text + HTML, Auto-Submitted) from the web templates and catalogs, and sent through the
project's transport (`outreach.delivery.transport.open_transport`): the SMTP relay, or the outbox when none is set.

An address is never RFC 2047-encoded: an address with a non-ASCII local part (`jürgen@example.org`) is written
as UTF-8 in a message built for SMTPUTF8 (RFC 6532), which the transport then asks for (RFC 6531) or refuses
clearly — as campaign messages do (`outreach.mail.message.header_address`).
"""

from __future__ import annotations

import email.policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from outreach.clock import Clock
from outreach.config import Settings
from outreach.errors import ConfigError


def sender_of(settings: Settings) -> tuple[str, str]:
    """(display name, address) of the pages' sender; OUTREACH_FROM is required to send anything."""
    if not settings.sender:
        raise ConfigError("OUTREACH_FROM is not set, so the subscriber pages cannot send confirmation emails",
                          'Set OUTREACH_FROM="Project name <news@your-domain.example>" in .env.')
    name, address = parseaddr(settings.sender)
    return name, address


def build_message(settings: Settings, clock: Clock, *, to_email: str, to_name: str, language: str,
                  subject: str, text: str, html: str) -> EmailMessage:
    """A UTF-8 multipart/alternative message; header values come from validated, single-line fields only."""
    from outreach.mail.message import header_address

    from_name, from_address = sender_of(settings)
    local, _, domain = header_address(to_email).rpartition("@")  # an IDN domain in ASCII (punycode)
    # email.policy.SMTP would write `<=?utf-8?q?j=C3=BCrgen?=@…>`, which is no address at all (RFC 2047 §5).
    message = EmailMessage(policy=email.policy.SMTP if local.isascii() else email.policy.SMTPUTF8)
    message["From"] = Address(display_name=from_name, addr_spec=from_address)
    message["To"] = Address(display_name=to_name, username=local, domain=domain)
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    # RFC 3834: an automatic reply to a request; auto-responders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = language  # after the body: set_content drops Content-* headers
    return message


def send_message(settings: Settings, message: EmailMessage) -> str:
    """Hand the message to the transport; TransportError and Temporary/PermanentFailure pass through."""
    from outreach.delivery.transport import open_transport

    _, envelope_from = sender_of(settings)
    recipient = message["To"].addresses[0].addr_spec
    transport = open_transport(settings)
    try:
        return str(transport.send(message.as_bytes(), envelope_from, [recipient]))
    finally:
        transport.close()


def render_mail(env: Any, name: str, context: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of `<name>.txt` and `<name>.html` from the pages' template environment."""
    text_env = env.overlay(autoescape=False)
    text = text_env.get_template(f"{name}.txt").render(context)
    html = env.get_template(f"{name}.html").render(context)
    return text, html
