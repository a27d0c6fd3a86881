"""Sending event mail — promotion, reminders, updates, cancellations — to registered people, never twice.

These mails are not campaign deliveries (the people may not be contacts, and one person gets several mails per
session), so they do not use the campaign queue. Each mail is recorded before it is sent: `event_mails` gets a
`sending` row for (registration, kind) committed before the message goes to the transport, then `sent` or
`failed`. A run that stops in between leaves `sending`: the next run does not send that one again (it may have
arrived) and lists it as unknown. A refusal aimed at the sender or a connection that cannot be opened stops the
run and forgets the claim, so the next run sends it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from outreach.clock import Clock, utcnow_iso
from outreach.config import Settings
from outreach.db import registrations as store
from outreach.db.schema import Database
from outreach.delivery.transport import DeliveryUncertain, PermanentFailure, TemporaryFailure, Transport
from outreach.events.calendar import session_calendar
from outreach.events.mails import MailKind, compose, mail_language
from outreach.events.sessions import OpenSession
from outreach.mail.calendar import CalendarMethod
from outreach.mail.dkim import signer_for
from outreach.mail.headers import address_domain
from outreach.mail.message import MessageFactory, Personal, SenderInfo, make_message_id
from outreach.models.sessions import EventMailStatus, Registration, RegistrationStatus

METHODS = {MailKind.CANCEL: CalendarMethod.CANCEL}


@dataclass
class MailReport:
    """What a run of event mail did, per address."""

    sent: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # sent by an earlier run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, the server's reply)
    unknown: list[str] = field(default_factory=list)  # an earlier run stopped while sending: may have arrived

    def add(self, other: MailReport) -> None:
        """Fold another report into this one."""
        self.sent += other.sent
        self.already += other.already
        self.failed += other.failed
        self.unknown += other.unknown


def mail_key(kind: MailKind, opened: OpenSession, detail: str = "") -> str:
    """The key under which a mail is recorded per registration: `update:3`, `cancel:4`, `reminder:2d`, …"""
    if kind in (MailKind.UPDATE, MailKind.CANCEL):
        return f"{kind.value}:{opened.row.sequence}"
    return f"{kind.value}:{detail}" if detail else kind.value


def build_event_mail(settings: Settings, clock: Clock, opened: OpenSession, registration: Registration,
                     kind: MailKind) -> bytes:
    """The message bytes of one event mail, with the session's calendar file for those holding a place."""
    campaign = opened.campaign
    language = mail_language(registration.language, opened)
    footer = " · ".join(part for part in (campaign.organisation or campaign.sender_name, campaign.postal_address)
                        if part)
    words = compose(kind, opened, language, registration.name, footer)
    sender = SenderInfo(name=campaign.sender_name, address=campaign.sender_address,
                        reply_to=campaign.reply_to or settings.reply_to, language=language, transactional=True)
    calendar = None
    if registration.status is RegistrationStatus.REGISTERED or kind is MailKind.CANCEL:
        calendar = session_calendar(opened, language, METHODS.get(kind, CalendarMethod.REQUEST), clock.now(),
                                    (registration.name, registration.email))
    message_id = make_message_id(address_domain(campaign.sender_address), campaign.slug, "event", registration.id)
    data = MessageFactory(sender).build(Personal(registration.name, registration.email, words.subject, words.text,
                                                 words.html, "", message_id, clock.now(), calendar))
    signer = signer_for(settings, campaign.sender_address)  # DKIM, when OUTREACH_DKIM_KEY is set
    return signer.sign(data) if signer else data


def send_event_mails(settings: Settings, db: Database, clock: Clock, opened: OpenSession, kind: MailKind, key: str,
                     registrations: Iterable[Registration], transport: Transport,
                     retry_unknown: bool = False) -> MailReport:
    """Send the mail `kind` (recorded under `key`) to each registration that has not had it; see the module.
    `retry_unknown` sends again those a stopped run left unknown."""
    report = MailReport()
    for registration in registrations:
        with db.atomic():
            claimed = store.claim_mail(db, utcnow_iso(clock), registration.id, key, retry_unknown)
        if not claimed:
            status = store.mail_status(db, registration.id, key)
            (report.unknown if status is EventMailStatus.SENDING else report.already).append(registration.email)
            continue
        _send_one(settings, db, clock, opened, registration, kind, key, transport, report)
    return report


def _send_one(settings: Settings, db: Database, clock: Clock, opened: OpenSession, registration: Registration,
              kind: MailKind, key: str, transport: Transport, report: MailReport) -> None:
    try:
        data = build_event_mail(settings, clock, opened, registration, kind)
        reply = transport.send(data, opened.campaign.sender_address, [registration.email])
    except (TemporaryFailure, PermanentFailure) as refused:
        with db.atomic():
            store.settle_mail(db, utcnow_iso(clock), registration.id, key, EventMailStatus.FAILED, None,
                              f"{refused.code} {refused.reply}")
        report.failed.append((registration.email, f"{refused.code} {refused.reply}"))
        return
    except DeliveryUncertain:
        report.unknown.append(registration.email)  # stays `sending`: it may have arrived
        return
    except Exception:  # a connection or sender refusal (TransportError), a template error: it did not leave
        with db.atomic():
            store.release_mail(db, registration.id, key)
        raise
    with db.atomic():
        store.settle_mail(db, utcnow_iso(clock), registration.id, key, EventMailStatus.SENT, None, reply)
    report.sent.append(registration.email)


def send_promotion(settings: Settings, db: Database, clock: Clock, opened: OpenSession, promoted: Registration,
                   transport: Transport) -> MailReport:
    """Tell the person moved up from the waiting list that they have a place (once per promotion)."""
    key = mail_key(MailKind.PROMOTED, opened, promoted.registered_at or "")
    return send_event_mails(settings, db, clock, opened, MailKind.PROMOTED, key, [promoted], transport)
