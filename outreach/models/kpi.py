"""Row types of the KPI pack's queries (`outreach.db.kpi`): one per table of the pack."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CampaignSent:
    """A campaign with messages sent in the period: when, in which languages, how many sent and delivered."""

    slug: str
    name: str
    first_sent_at: str
    last_sent_at: str
    languages: tuple[str, ...]
    countries: int
    sent: int
    delivered: int


@dataclass(frozen=True)
class LanguageSent:
    """Messages of the period in one language."""

    language: str
    campaigns: int
    sent: int
    delivered: int


@dataclass(frozen=True)
class SubscriberChange:
    """Persons who signed up (confirmed) and who unsubscribed in the period, in one country (None: unknown)."""

    country: str | None
    gained: int
    lost: int


@dataclass(frozen=True)
class ConsentHeld:
    """Contacts that may be mailed now, of one audience, holding one consent basis (None: none recorded)."""

    basis: str | None
    kind: str
    contacts: int


@dataclass(frozen=True)
class BouncesCleaned:
    """Addresses taken off the list in the period because mail to them failed for good, in one country."""

    country: str | None
    refused: int  # refused by the relay while sending
    reported: int  # a hard bounce report came back
    repeated_soft: int  # too many soft bounces across campaigns
    total: int  # distinct addresses over the three
