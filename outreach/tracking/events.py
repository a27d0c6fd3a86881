"""Events: what happened to a contact after (or around) a delivery, and the status changes they cause.

Every part that learns something about a contact — the sender (a 5.1.1 at RCPT), the bounce reader, the web
pages (sign-up, confirmation, unsubscribe) — records it here, so that status and suppression always follow the
events the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from ssl import SSLContext
from typing import Protocol

from outreach.clock import Clock, utcnow_iso
from outreach.config import Settings
from outreach.contacts.model import Contact, get_contact, get_contact_by_id, normalize_email, set_status
from outreach.db import events as store
from outreach.db.schema import Database
from outreach.errors import InputError
from outreach.mail.tokens import Purpose, TokenError, email_fingerprint, parse_verp, read_token
from outreach.models import BounceType, ContactStatus, EventType
from outreach.models.tracking import DeliveryMatch, InboundMessage, NewEvent
from outreach.models.tracking import InboundOutcome as Outcome
from outreach.tracking.bounces import Analysis, Verdict, analyse_bytes
from outreach.tracking.mailboxes import RawMessage, check_paths, fetch_imap, read_paths

__all__ = ["InboundReport", "InboundResult", "Match", "Mode", "Outcome", "complain", "fetch_mailbox",
           "hard_bounce", "import_paths", "inbound_key", "match", "process_message", "process_raw", "record_event",
           "resubscribe", "soft_bounce", "soft_bounce_counts", "unsubscribe"]


def record_event(db: Database, clock: Clock, event_type: EventType, contact_id: int | None, *,
                 campaign: str | None = None, delivery_id: int | None = None,
                 bounce_type: BounceType | None = None, detail: str = "", source: str = "",
                 source_id: str | None = None) -> int | None:
    """Store an event; returns its id, or None when the same (type, source_id, contact) is already stored.

    `source_id` (a bounce's Message-ID, a web request id…) makes re-importing the same mailbox change nothing.
    """
    return store.insert_event(db, NewEvent(event_type, contact_id, utcnow_iso(clock), campaign=campaign,
                                           delivery_id=delivery_id, bounce_type=bounce_type, detail=detail,
                                           source=source, source_id=source_id))


def unsubscribe(db: Database, clock: Clock, contact: Contact, *, campaign: str | None = None,
                source: str = "", source_id: str | None = None, detail: str = "") -> Contact:
    """Unsubscribe a contact (idempotent: a second unsubscribe records nothing new)."""
    with db.atomic():
        if contact.status != ContactStatus.UNSUBSCRIBED:
            record_event(db, clock, EventType.UNSUBSCRIBED, contact.id, campaign=campaign, source=source,
                         source_id=source_id, detail=detail)
        return set_status(db, clock, contact, ContactStatus.UNSUBSCRIBED, "unsubscribed")


def resubscribe(db: Database, clock: Clock, contact: Contact, *, source: str = "", detail: str = "") -> Contact:
    """Make an unsubscribed contact active again (only after the person confirmed it)."""
    with db.atomic():
        record_event(db, clock, EventType.RESUBSCRIBED, contact.id, source=source, detail=detail)
        return set_status(db, clock, contact, ContactStatus.ACTIVE)


def complain(db: Database, clock: Clock, contact: Contact, *, campaign: str | None = None,
             delivery_id: int | None = None, source: str = "", source_id: str | None = None,
             detail: str = "") -> Contact:
    """A spam complaint (ARF report): the contact is suppressed for good."""
    with db.atomic():
        record_event(db, clock, EventType.COMPLAINED, contact.id, campaign=campaign, delivery_id=delivery_id,
                     source=source, source_id=source_id, detail=detail)
        return set_status(db, clock, contact, ContactStatus.COMPLAINED, "complained")


def hard_bounce(db: Database, clock: Clock, contact: Contact, *, campaign: str | None = None,
                delivery_id: int | None = None, source: str = "", source_id: str | None = None,
                detail: str = "") -> Contact:
    """A permanent failure for this address: the contact becomes `bounced` and is suppressed."""
    with db.atomic():
        record_event(db, clock, EventType.BOUNCED, contact.id, campaign=campaign, delivery_id=delivery_id,
                     bounce_type=BounceType.HARD, source=source, source_id=source_id, detail=detail)
        return set_status(db, clock, contact, ContactStatus.BOUNCED, "hard bounce")


class SmtpRefusal(Protocol):
    """A mailbox refused at RCPT while sending (delivery's `HardBounce` is one; tracking does not import it)."""

    @property
    def contact(self) -> Contact: ...
    @property
    def campaign(self) -> str: ...
    @property
    def delivery_id(self) -> int: ...
    @property
    def detail(self) -> str: ...


def smtp_bounce_recorder(db: Database, clock: Clock) -> Callable[[SmtpRefusal], None]:
    """The `on_hard_bounce` callback a sender is handed: each refused mailbox becomes a hard bounce."""
    def record(refusal: SmtpRefusal) -> None:
        hard_bounce(db, clock, refusal.contact, campaign=refusal.campaign, delivery_id=refusal.delivery_id,
                    source="smtp", detail=refusal.detail)
    return record


def soft_bounce(db: Database, clock: Clock, contact: Contact, *, limit: int, campaigns: int,
                campaign: str | None = None, delivery_id: int | None = None, source: str = "",
                source_id: str | None = None, detail: str = "") -> Contact:
    """A transient failure (4.x.x): counted; `limit` of them across `campaigns` distinct campaigns → `bounced`.

    One full mailbox is not a reason to drop a contact, but an address that keeps failing across several
    campaigns is (settings.soft_bounce_limit / settings.soft_bounce_campaigns).
    """
    with db.atomic():
        record_event(db, clock, EventType.BOUNCED, contact.id, campaign=campaign, delivery_id=delivery_id,
                     bounce_type=BounceType.SOFT, source=source, source_id=source_id, detail=detail)
        total, distinct = soft_bounce_counts(db, contact.id)
        if contact.status == ContactStatus.ACTIVE and total >= limit and distinct >= campaigns:
            return set_status(db, clock, contact, ContactStatus.BOUNCED,
                              f"{total} soft bounces across {distinct} campaigns")
        return contact


def soft_bounce_counts(db: Database, contact_id: int) -> tuple[int, int]:
    """(soft bounces, distinct campaigns they came from) recorded for a contact."""
    return store.soft_bounce_counts(db, contact_id)


# --- inbound mail: bounces, complaints and unsubscribe requests -------------------------------------------------

class Mode(StrEnum):
    """What a mailbox is expected to hold."""

    BOUNCES = "bounces"  # the bounce / feedback-loop address
    UNSUBSCRIBES = "unsubscribes"  # the mailto: address of List-Unsubscribe


@dataclass
class InboundResult:
    """What happened to one inbound message, for the run's report."""

    source: str
    outcome: Outcome
    reason: str
    key: str = ""
    email: str | None = None
    campaign: str | None = None
    delivery_id: int | None = None
    action: str = ""  # hard bounce, soft bounce, complaint, unsubscribe
    warning: str | None = None


@dataclass
class InboundReport:
    """Every message of a run, grouped the way a coordinator reads them."""

    results: list[InboundResult] = field(default_factory=list)

    def of(self, outcome: Outcome) -> list[InboundResult]:
        """The results with this outcome, in the order the messages were read."""
        return [r for r in self.results if r.outcome == outcome]

    def counts(self) -> dict[str, int]:
        """How many messages ended in each outcome (every outcome present, zero included)."""
        return {outcome.value: len(self.of(outcome)) for outcome in Outcome}

    def as_dict(self) -> dict[str, object]:
        """The JSON document of `bounces import --json`: the counts, then every message."""
        return {"counts": self.counts(), "messages": [
            {k: (v.value if isinstance(v, StrEnum) else v) for k, v in asdict(r).items()} for r in self.results]}


def inbound_key(data: bytes, message_id: str | None) -> str:
    """The key that makes a second import of the same message change nothing."""
    if message_id:
        return "mid:" + message_id
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Match:
    """The contact an inbound message is about, the delivery and campaign, and how it was found."""

    contact: Contact
    delivery_id: int | None
    campaign: str | None
    how: str


def match(db: Database, settings: Settings, *, original_message_id: str | None,
          envelope: tuple[str, ...] = ()) -> Match | None:
    """The delivery a bounce or complaint is about, found only by what proves it answers a message we sent.

    A VERP envelope address names the delivery exactly (it carries our signature); the original Message-ID holds
    48 random bits and is known only to the message's recipient and their servers. An address alone proves
    nothing: anyone can write a DSN naming any address, so such mail is listed for review (see `process_message`).
    """
    for delivery, how in _candidates(db, settings, original_message_id, envelope):
        contact = get_contact_by_id(db, delivery.contact_id) if delivery.contact_id is not None else None
        if contact is not None:
            return Match(contact, delivery.id, delivery.campaign, how)
    return None


def _candidates(db: Database, settings: Settings, original_message_id: str | None,
                envelope: tuple[str, ...]) -> Iterator[tuple[DeliveryMatch, str]]:
    """The deliveries a message may be about, the most certain first, each with how it was found."""
    if settings.secret_key:
        for envelope_address in envelope:
            delivery_id = parse_verp(settings.secret_key, envelope_address)
            found = store.delivery_by_id(db, delivery_id) if delivery_id is not None else None
            if found is not None:
                yield found, "VERP address"
    if original_message_id:
        found = store.delivery_by_message_id(db, original_message_id)
        if found is not None:
            yield found, "original Message-ID"


def _known_contact(db: Database, address: str | None) -> Contact | None:
    """The contact with the address an unproven message names (for the review list), or None.

    The stored form is `normalize_email`'s; an address it refuses (a bounce may quote anything) is looked up
    lower-cased, which then only finds an identical stored one.
    """
    if not address:
        return None
    try:
        return get_contact(db, normalize_email(address))
    except InputError:
        return get_contact(db, address.strip().lower())


def _for_review(result: InboundResult, contact: Contact, what: str, missing: str) -> None:
    result.outcome, result.email = Outcome.REVIEW, contact.email
    result.reason = (f"{what} for the contact {contact.email}, but {missing}: not applied (anyone can write "
                     "such a mail); read it, see docs/tracking.md")


def process_message(db: Database, clock: Clock, settings: Settings, data: bytes, *, source: str,
                    mode: Mode = Mode.BOUNCES, mailbox: str = "", warning: str | None = None) -> InboundResult:
    """Analyse one inbound message and apply it (in one transaction, with its inbound_messages row)."""
    analysis = analyse_bytes(data)
    key = inbound_key(data, analysis.message_id)
    result = InboundResult(source=source, outcome=Outcome.IGNORED, reason=analysis.reason, key=key, warning=warning)
    seen = store.inbound_message(db, key)
    if seen:
        result.reason = f"already processed on {seen.processed_at} ({seen.outcome})"
        return result
    if analysis.verdict == Verdict.MALFORMED:
        result.outcome = Outcome.PROBLEM
        return result
    with db.atomic():
        if mode == Mode.UNSUBSCRIBES and analysis.verdict not in (Verdict.BOUNCE, Verdict.COMPLAINT,
                                                                 Verdict.AUTO_REPLY):
            _apply_unsubscribe(db, clock, settings, data, analysis, result)
        elif analysis.verdict == Verdict.BOUNCE:
            _apply_bounce(db, clock, settings, analysis, result)
        elif analysis.verdict == Verdict.COMPLAINT:
            _apply_complaint(db, clock, settings, analysis, result)
        if result.outcome in (Outcome.MATCHED, Outcome.IGNORED):
            store.add_inbound_message(db, InboundMessage(key, mailbox, result.outcome.value,
                                                         f"{result.action} {result.reason}".strip()[:500],
                                                         utcnow_iso(clock)))
    return result


def _apply_complaint(db: Database, clock: Clock, settings: Settings, analysis: Analysis,
                     result: InboundResult) -> None:
    found = match(db, settings, original_message_id=analysis.original_message_id,
                  envelope=analysis.envelope_addresses)
    if found is not None:
        complain(db, clock, found.contact, campaign=found.campaign, delivery_id=found.delivery_id, source="arf",
                 source_id=result.key, detail=analysis.reason)
        _matched(result, found, "complaint")
        return
    contact = _known_contact(db, analysis.complainant)
    if contact is not None:
        _for_review(result, contact, "a spam complaint", "it quotes no message outreach sent (Message-ID or VERP)")
        return
    result.outcome, result.reason = Outcome.UNMATCHED, "complaint for no message sent from this database"
    result.email = analysis.complainant


def _apply_bounce(db: Database, clock: Clock, settings: Settings, analysis: Analysis,
                  result: InboundResult) -> None:
    found = match(db, settings, original_message_id=analysis.original_message_id,
                  envelope=analysis.envelope_addresses)
    if found is None:
        _unproven_bounce(db, analysis, result)
        return
    for failure in analysis.failures:
        # The failed address may differ from the delivery's (a forward, an alias): the delivery is what counts,
        # and it is the contact we mailed.
        detail = " ".join(part for part in (failure.status, failure.diagnostic) if part)[:500]
        if failure.bounce_type == BounceType.HARD:
            hard_bounce(db, clock, found.contact, campaign=found.campaign, delivery_id=found.delivery_id,
                        source="bounce", source_id=result.key, detail=detail)
        else:
            soft_bounce(db, clock, found.contact, limit=settings.soft_bounce_limit,
                        campaigns=settings.soft_bounce_campaigns, campaign=found.campaign,
                        delivery_id=found.delivery_id, source="bounce", source_id=result.key, detail=detail)
        _matched(result, found, f"{failure.bounce_type.value} bounce {failure.status}".strip())


def _unproven_bounce(db: Database, analysis: Analysis, result: InboundResult) -> None:
    """A bounce quoting no message we sent: for review when it names a contact, else not matched."""
    addresses = [failure.recipient for failure in analysis.failures]
    contact = next((c for c in (_known_contact(db, a) for a in addresses) if c is not None), None)
    if contact is not None:
        _for_review(result, contact, "a bounce", "it quotes no message outreach sent (Message-ID or VERP)")
        return
    result.outcome = Outcome.UNMATCHED
    result.email = ", ".join(addresses) or None
    result.reason = f"bounce for no message sent from this database ({result.email})"


def _apply_unsubscribe(db: Database, clock: Clock, settings: Settings, data: bytes, analysis: Analysis,
                       result: InboundResult) -> None:
    found = _contact_from_token(db, settings, data)
    if found is None:
        contact = _known_contact(db, analysis.sender)
        if contact is not None:
            _for_review(result, contact, "an unsubscribe request",
                        "it does not carry the recipient's token from the List-Unsubscribe address of our mail")
            return
        result.outcome, result.email = Outcome.UNMATCHED, analysis.sender
        result.reason = f"unsubscribe request without a token, from an address with no contact ({analysis.sender})"
        return
    contact, campaign = found
    unsubscribe(db, clock, contact, campaign=campaign, source="mail", source_id=result.key, detail="by mail (token)")
    result.outcome, result.action, result.email, result.campaign = Outcome.MATCHED, "unsubscribe", contact.email, \
        campaign
    result.reason = "unsubscribed (token)"


_TOKEN = re.compile(r"[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{8,}")


def _contact_from_token(db: Database, settings: Settings, data: bytes) -> tuple[Contact, str | None] | None:
    """The contact named by a valid unsubscribe token anywhere in the message (subject, body, quoted link)."""
    if not settings.secret_key:
        return None
    text = data.decode("utf-8", "replace")
    for candidate in dict.fromkeys(_TOKEN.findall(text)):
        try:
            payload = read_token(settings.secret_key, Purpose.UNSUBSCRIBE, candidate)
        except TokenError:
            continue
        contact = get_contact_by_id(db, int(payload.get("c", 0)))
        if contact is not None and email_fingerprint(contact.email) == payload.get("e"):
            return contact, payload.get("k")
    return None


def _matched(result: InboundResult, found: Match, action: str) -> None:
    result.outcome, result.email, result.campaign = Outcome.MATCHED, found.contact.email, found.campaign
    result.delivery_id = found.delivery_id
    result.action = f"{result.action}; {action}".strip("; ") if result.action else action
    result.reason = f"matched by {found.how}"


def process_raw(db: Database, clock: Clock, settings: Settings, raw: RawMessage, *, mode: Mode = Mode.BOUNCES,
                mailbox: str = "") -> InboundResult:
    """One `outreach.tracking.mailboxes.RawMessage`: a reading problem is reported, anything else processed."""
    if raw.data is None:
        return InboundResult(source=raw.source, outcome=Outcome.PROBLEM, reason=raw.problem or "unreadable")
    return process_message(db, clock, settings, raw.data, source=raw.source, mode=mode, mailbox=mailbox,
                           warning=raw.warning)


def import_paths(db: Database, clock: Clock, settings: Settings, paths: list[Path], *,
                 mode: Mode = Mode.BOUNCES) -> InboundReport:
    """Process every message of mbox files, Maildir folders and .eml files; each is committed on its own."""
    report = InboundReport()
    for raw in read_paths(check_paths(paths)):
        report.results.append(process_raw(db, clock, settings, raw, mode=mode, mailbox=raw.source.split(" #")[0]))
    return report


def fetch_mailbox(db: Database, clock: Clock, settings: Settings, *, mode: Mode = Mode.BOUNCES,
                  ssl_context: SSLContext | None = None) -> InboundReport:
    """Process the new messages of the IMAP mailbox in the settings, marking each done once committed."""
    report = InboundReport()
    mailbox = f"imap:{settings.imap_folder}"
    fetch_imap(settings, lambda raw: report.results.append(
        process_raw(db, clock, settings, raw, mode=mode, mailbox=mailbox)), ssl_context=ssl_context)
    return report
