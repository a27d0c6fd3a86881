"""The durable queue over SQLite: `DeliveryStore` (declared in delivery.seams) implemented with outreach.db."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from outreach.clock import Clock, isoformat, parse_isoformat, utcnow_iso
from outreach.contacts.model import is_suppressed
from outreach.db import campaigns as campaign_rows
from outreach.db import deliveries as rows
from outreach.db.schema import Database
from outreach.delivery.locks import CampaignLock
from outreach.delivery.seams import CampaignLike, RecipientLike
from outreach.models import ContactStatus, DeliveryStatus
from outreach.models.contacts import ContactFilter
from outreach.models.deliveries import NewDelivery, Outcome, QueuedDelivery

_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


def reply_matches(reply: str, pattern: str) -> bool:
    """Whether a stored reply's basic code ("530") or enhanced code ("5.7.0") matches the glob `pattern`."""
    words = reply.split()
    codes = [words[0]] if words else []
    if len(words) > 1 and _ENHANCED.fullmatch(words[1]):
        codes.append(words[1])
    return any(fnmatch.fnmatchcase(code, pattern) for code in codes)


def retryable_failures(db: Database, campaign: str, reply_code: str | None,
                       audience: Sequence[ContactFilter] = ()) -> list[int]:
    """The failed deliveries `--retry-failed` puts back in the queue: within the run's audience, never a contact
    that hard-bounced, was unsubscribed or erased (not active) or is on the suppression list; only replies
    matching `reply_code`."""
    return [failure.id for failure in rows.failed_deliveries(db, campaign, audience)
            if failure.contact_status == ContactStatus.ACTIVE and not is_suppressed(db, failure.email)
            and (reply_code is None or reply_matches(failure.reply, reply_code))]


def content_hashes(campaign: CampaignLike) -> dict[str, str]:
    """A short hash of each language's source file, kept with the campaign to tell later what was sent."""
    return {language: hashlib.sha256(document.raw).hexdigest()[:16]
            for language, document in campaign.documents.items()}


class DatabaseStore:
    """The deliveries of a database, seen through a run's audience conditions (the campaign's audience and the
    command line's filter): a queued delivery whose contact no longer matches them is left for another run."""

    def __init__(self, db: Database, clock: Clock, audience: Sequence[ContactFilter] = ()) -> None:
        self.db = db
        self.clock = clock
        self.audience = tuple(audience)
        self._spans: dict[str, tuple[str, str]] = {}  # campaign → first and last `sent_at` not yet written

    def lock(self, campaign: str, wait: float) -> CampaignLock:
        """Take the campaign's send lock (see delivery.locks)."""
        return CampaignLock(self.db, self.clock, campaign).acquire(wait)

    def recover_interrupted(self, campaign: str) -> list[str]:
        """`sending` rows left by a dead process become `unknown`; their addresses (erased ones described).

        Call only while holding the campaign's lock: a live sender's `sending` row is not interrupted.
        """
        return [email or f"(erased contact, delivery {delivery_id})"
                for delivery_id, email in rows.mark_interrupted(self.db, utcnow_iso(self.clock), campaign)]

    def requeue_unknown(self, campaign: str) -> int:
        """Put `unknown` deliveries back in the queue; they keep their Message-ID."""
        return rows.requeue_unknown(self.db, utcnow_iso(self.clock), campaign)

    def requeue_failed(self, campaign: str, reply_code: str | None) -> int:
        """Put the retryable failed deliveries (see `retryable_failures`) back in the queue; returns how many."""
        return rows.requeue_failed(self.db, utcnow_iso(self.clock),
                                   retryable_failures(self.db, campaign, reply_code, self.audience))

    def reopen(self, delivery: QueuedDelivery) -> None:
        """A delivery just recorded `failed` goes back to the queue (its refusal was the sender's)."""
        rows.reopen_failed(self.db, delivery.id, utcnow_iso(self.clock))

    def record_campaign(self, campaign: CampaignLike) -> None:
        """Write or refresh the `campaigns` row: name, source language, content hash per language."""
        campaign_rows.record_campaign(self.db, utcnow_iso(self.clock), campaign.slug, campaign.name,
                                      campaign.source_language, content_hashes(campaign))

    def enqueue(self, campaign: str, recipients: Iterable[RecipientLike]) -> int:
        """Queue every recipient with a language that has no delivery for this campaign yet (a follow-up adds
        only the new contacts)."""

        def new() -> Iterator[NewDelivery]:
            for recipient in recipients:
                if recipient.skip_reason or not recipient.language:
                    continue
                contact = recipient.contact
                yield NewDelivery(contact.id, contact.email, contact.country, contact.kind, recipient.language)

        return rows.enqueue(self.db, utcnow_iso(self.clock), campaign, new())

    def sent_since(self, since: datetime) -> list[datetime]:
        """When each message sent since `since` went."""
        return [parse_isoformat(stamp) for stamp in rows.sent_since(self.db, isoformat(since))]

    def count_queued(self, campaign: str) -> int:
        """Queued deliveries (due or not) within the audience."""
        return rows.count_queued(self.db, campaign, self.audience)

    def next_due(self, campaign: str) -> datetime | None:
        """When the earliest deferred delivery within the audience may be tried again."""
        stamp = rows.next_attempt_at(self.db, campaign, self.audience)
        return parse_isoformat(stamp) if stamp else None

    def next_queued(self, campaign: str, after: int, limit: int) -> list[QueuedDelivery]:
        """Up to `limit` deliveries within the audience, due now, with an id above `after`."""
        return rows.next_queued(self.db, campaign, self.audience, after, utcnow_iso(self.clock), limit)

    def is_suppressed(self, email: str) -> bool:
        """Whether the address is on the suppression list."""
        return is_suppressed(self.db, email)

    def drop(self, delivery: QueuedDelivery) -> None:
        """Delete the queued delivery."""
        rows.drop_queued(self.db, delivery.id)

    def transaction(self) -> AbstractContextManager[object]:
        """One commit for everything written inside (a savepoint when a transaction is open)."""
        return self.db.atomic()

    def mark_sending(self, delivery: QueuedDelivery, message_id: str) -> bool:
        """`queued → sending` with the Message-ID the message carries."""
        return rows.mark_sending(self.db, delivery.id, message_id, utcnow_iso(self.clock))

    def settle(self, delivery: QueuedDelivery, outcome: Outcome) -> None:
        """Record the outcome; a message sent stretches its campaign's sent span (written by `flush`)."""
        now = utcnow_iso(self.clock)
        rows.settle(self.db, delivery.id, outcome, now)
        if outcome.status == DeliveryStatus.SENT:
            span = self._spans.get(delivery.campaign)
            self._spans[delivery.campaign] = (span[0] if span else now, now)

    def flush(self) -> None:
        """Write the campaigns' first and last send times: once per batch rather than with every message."""
        for campaign, (first, last) in self._spans.items():
            campaign_rows.record_sent_span(self.db, campaign, first, last)
        self._spans.clear()
