"""The status vocabularies, one StrEnum each, shared by every part of outreach."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """Which audience a contact belongs to."""

    AUTHORITY = "authority"  # contracting authority: municipality, ministry, hospital, agency
    SUPPLIER = "supplier"  # social-economy supplier: social enterprise, cooperative, WISE
    SUBSCRIBER = "subscriber"  # signed up on the web pages
    OTHER = "other"


class ContactStatus(StrEnum):
    """Whether a contact may be mailed. Only ACTIVE is."""

    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    ERASED = "erased"


class DeliveryStatus(StrEnum):
    """One message of one campaign to one contact: queued → sending → sent | failed | unknown."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # found `sending` after a crash: the server may or may not have taken it


class EventType(StrEnum):
    """What happened after (or around) a delivery."""

    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"
    RESUBSCRIBED = "resubscribed"
    SUBSCRIBED = "subscribed"
    CONFIRMED = "confirmed"
    ERASED = "erased"


class BounceType(StrEnum):
    HARD = "hard"
    SOFT = "soft"


def sql_in(enum: type[StrEnum]) -> str:
    """`'a', 'b', …` for a CHECK constraint over an enum's values."""
    return ", ".join(f"'{member.value}'" for member in enum)
