"""What a send will do (the summary shown before confirming) and where a campaign's queue stands (`status`).

Both read only; they stream the audience and aggregate in SQL, so they stay cheap for 100,000 contacts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from outreach.clock import Clock, SystemClock
from outreach.db import deliveries as rows
from outreach.db.campaigns import get_campaign
from outreach.db.locks import get_lock
from outreach.db.schema import Database
from outreach.delivery.locks import is_stale
from outreach.delivery.seams import RecipientLike
from outreach.delivery.store import retryable_failures
from outreach.models import ContactStatus, DeliveryStatus
from outreach.models.campaigns import CampaignRecord
from outreach.models.contacts import ContactFilter
from outreach.models.deliveries import FailureGroup, LockHolder, QueueCell, Retries, UnknownDelivery


@dataclass
class Plan:
    """The confirmation summary of `outreach send`."""

    campaign: str
    cells: Counter[tuple[str, str]] = field(default_factory=Counter)  # (country, language) → to send now
    fallbacks: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → contacts
    not_mailable: Counter[str] = field(default_factory=Counter)  # status (or "suppressed") → contacts
    existing: Counter[DeliveryStatus] = field(default_factory=Counter)  # delivery status → rows already there
    new: int = 0  # recipients to be queued now (first send or follow-up)
    queued: int = 0  # rows already queued (an interrupted run) that this run will send
    retry_failed: int = 0  # failed deliveries --retry-failed puts back in the queue

    @property
    def to_send(self) -> int:
        """Messages this run would send: the new recipients, those already queued, the failures retried."""
        return self.new + self.queued + self.retry_failed


def plan_send(db: Database, slug: str, audience: Sequence[ContactFilter],
              recipients: Iterable[RecipientLike], *, retry_failed: bool = False,
              reply_code: str | None = None) -> Plan:
    """Count what a send of campaign `slug` to `recipients` would do now, without writing anything.

    `audience` are the conditions that chose the recipients (the campaign's audience, the command line's filter);
    with `retry_failed`, the failed deliveries that `--retry-failed [--reply-code]` would queue again count too.
    """
    plan = Plan(slug)
    if retry_failed:
        plan.retry_failed = len(retryable_failures(db, slug, reply_code, audience))
    have = rows.contact_ids(db, slug)
    active_seen = 0
    for recipient in recipients:
        active_seen += 1
        if recipient.skip_reason or not recipient.language:
            plan.skipped[recipient.skip_reason or "no language"] += 1
            continue
        if recipient.contact.id in have:
            continue
        plan.new += 1
        plan.cells[(recipient.contact.country or "--", recipient.language)] += 1
        plan.fallbacks += bool(recipient.fallback)
    for status, count in rows.audience_statuses(db, audience).items():
        if status != ContactStatus.ACTIVE:
            plan.not_mailable[status] = count
        elif count > active_seen:  # active but on the suppression list (e.g. re-imported after an erasure)
            plan.not_mailable["suppressed"] = count - active_seen
    plan.existing.update(rows.status_counts(db, slug))
    for cell in rows.queued_cells(db, slug, audience):
        plan.cells[(cell.country or "--", cell.language)] += cell.count
        plan.queued += cell.count
    return plan


def pending_recipients(db: Database, slug: str, recipients: Iterable[RecipientLike]) -> Iterator[RecipientLike]:
    """The recipients a send of `slug` would mail now, as `plan_send` counts them: no delivery yet, or queued."""
    have, queued = rows.contact_ids(db, slug), rows.queued_contact_ids(db, slug)
    for recipient in recipients:
        if recipient.contact.id not in have or recipient.contact.id in queued:
            yield recipient


@dataclass(frozen=True)
class QueueStatus:
    """Where a campaign's queue stands: `outreach status`."""

    campaign: str
    record: CampaignRecord | None  # None before the first send
    counts: dict[DeliveryStatus, int]  # every status, 0 included
    retrying: Retries
    failures: list[FailureGroup]
    unknown: list[UnknownDelivery]
    cells: list[QueueCell]
    lock: LockHolder | None  # the process sending it now, or the one that was when it died
    lock_gone: bool = False  # that process is certainly gone (killed, crashed): the next send takes over
    sent_span: tuple[str | None, str | None] = (None, None)  # first and last sent_at of its deliveries
    relays: list[tuple[str, DeliveryStatus, int]] = field(default_factory=list)  # (relay, status, count)

    def by_relay(self) -> dict[str, dict[str, int]]:
        """Deliveries per relay (OUTREACH_RELAYS) and status; empty with the one relay of OUTREACH_SMTP_*."""
        figures: dict[str, dict[str, int]] = {}
        for relay, status, count in self.relays:
            figures.setdefault(relay, {})[status.value] = count
        return figures

    @property
    def total(self) -> int:
        """Deliveries of the campaign, in any state."""
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, object]:
        """The JSON document of `outreach status --json`."""
        record, lock = self.record, self.lock
        return {
            "campaign": self.campaign,
            "name": record.name if record else None,
            "first_sent_at": self.first_sent_at,
            "last_sent_at": self.last_sent_at,
            "total": self.total,
            "counts": {status.value: count for status, count in self.counts.items()},
            "retrying": {"count": self.retrying.count, "next_attempt_at": self.retrying.next_attempt_at},
            "failures": [{"reply": f.reply, "count": f.count} for f in self.failures],
            "unknown": [{"email": u.email or "(erased)", "message_id": u.message_id, "reply": u.reply}
                        for u in self.unknown],
            "by_relay": self.by_relay(),
            "by_country_language": [{"country": c.country or "--", "language": c.language, "status": c.status.value,
                                     "count": c.count} for c in self.cells],
            "lock": None if lock is None else {"host": lock.host, "pid": lock.pid, "since": lock.acquired_at,
                                               "heartbeat_at": lock.heartbeat_at, "gone": self.lock_gone},
        }

    @property
    def first_sent_at(self) -> str | None:
        """When the first message went out (the deliveries' own times, the campaign's record as fallback)."""
        return self.sent_span[0] or (self.record.first_sent_at if self.record else None)

    @property
    def last_sent_at(self) -> str | None:
        """When the last message went out: written per message, so right also after a killed run."""
        return self.sent_span[1] or (self.record.last_sent_at if self.record else None)


def queue_status(db: Database, slug: str, clock: Clock | None = None) -> QueueStatus:
    """The queue of a campaign: counts per status, per country × language, failures grouped, unknown listed,
    and whether the process holding its lock is still alive."""
    counts = dict.fromkeys(DeliveryStatus, 0)
    counts.update(rows.status_counts(db, slug))
    lock = get_lock(db, slug)
    gone = lock is not None and is_stale(clock or SystemClock(), lock)
    return QueueStatus(slug, get_campaign(db, slug), counts, rows.retries(db, slug), rows.failure_groups(db, slug),
                       rows.unknown_deliveries(db, slug), rows.queue_cells(db, slug), lock, gone,
                       rows.sent_span(db, slug), rows.relay_counts(db, slug))
