"""Row types of the tracking tables (events, inbound_messages) and of the reads tracking makes elsewhere.

`outreach.db.events`, `outreach.db.reports` and `outreach.db.merge` take and return these; field order follows
the tables' column order, so `dataclasses.asdict` of a full row gives the same keys, in the same order, as the
row itself (what `contacts show --json` prints).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from outreach.models import BounceType, DeliveryStatus, EventType

# A value as SQLite hands it back (merge copies whole rows between two databases, column by column).
SQLValue = str | int | float | bytes | None


class InboundOutcome(StrEnum):
    """What became of one inbound message (a bounce, a complaint, a mailed unsubscribe request)."""

    MATCHED = "matched"  # applied to a contact
    IGNORED = "ignored"  # auto-reply, not a bounce, already processed
    UNMATCHED = "unmatched"  # a bounce or request for no known contact/delivery
    REVIEW = "review"  # names a contact, but without the proof that it answers our mail: listed, not applied
    PROBLEM = "problem"  # unreadable, truncated or malformed


@dataclass(frozen=True)
class NewEvent:
    """An event to store; `source_id` (a bounce's key, a web request id) makes storing it twice a no-op."""

    type: EventType
    contact_id: int | None
    created_at: str
    campaign: str | None = None
    delivery_id: int | None = None
    bounce_type: BounceType | None = None
    detail: str = ""
    source: str = ""
    source_id: str | None = None


@dataclass(frozen=True)
class Event:
    """One stored `events` row."""

    id: int
    type: EventType
    contact_id: int | None
    campaign: str | None
    delivery_id: int | None
    bounce_type: BounceType | None
    detail: str
    source: str
    source_id: str | None
    created_at: str


@dataclass(frozen=True)
class InboundMessage:
    """One `inbound_messages` row: an inbound message already processed, so a re-import changes nothing."""

    key: str
    mailbox: str
    outcome: str  # an InboundOutcome value; rows merged from older databases are kept as they were
    detail: str
    processed_at: str


@dataclass(frozen=True)
class DeliveryMatch:
    """The delivery a bounce or complaint points at: enough to find its contact and campaign."""

    id: int
    contact_id: int | None
    campaign: str


@dataclass(frozen=True)
class DeliveryRecord:
    """One stored `deliveries` row, every column (a person's history, GDPR access requests)."""

    id: int
    campaign: str
    contact_id: int | None
    email: str | None
    country: str | None
    kind: str
    language: str
    status: DeliveryStatus
    attempts: int
    last_reply: str | None
    message_id: str | None
    queued_at: str
    updated_at: str
    sent_at: str | None
    next_attempt_at: str | None


@dataclass(frozen=True)
class SignupRecord:
    """One stored `signups` row, every column (a person's history, GDPR access requests)."""

    id: int
    nonce: str
    email: str
    data: str  # JSON, as stored
    client: str | None
    created_at: str
    expires_at: str
    confirmed_at: str | None


@dataclass(frozen=True)
class CampaignInfo:
    """A sent campaign as the reports name it."""

    slug: str
    name: str
    first_sent_at: str | None
    last_sent_at: str | None


@dataclass(frozen=True)
class DeliveryFigures:
    """Deliveries of one group (campaign + breakdown values) by status."""

    key: tuple[str | None, ...]  # (campaign, *breakdown values)
    targeted: int
    sent: int
    failed: int
    unknown: int
    pending: int


@dataclass(frozen=True)
class OutcomeFigures:
    """Distinct deliveries of one group that bounced, were complained about or led to an unsubscribe."""

    key: tuple[str | None, ...]  # (campaign, *breakdown values)
    bounced: int
    soft_bounced: int
    complained: int
    unsubscribed: int


@dataclass(frozen=True)
class ReachFigures:
    """Distinct people and organisations with at least one message delivered: per country, kind, both, or overall."""

    country: str | None
    kind: str | None
    people: int  # distinct contact ids
    anonymous: int  # erased people (no contact id any more): the most of them one campaign reached
    organisations: int  # distinct organisation names per country (erased people have none)
    campaigns: int  # distinct campaigns
