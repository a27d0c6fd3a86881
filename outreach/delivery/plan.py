"""What a send will do (the summary shown before confirming) and where a campaign's queue stands (`status`).

Both read only; they stream the audience and aggregate in SQL, so they stay cheap for 100,000 contacts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from outreach.contacts.model import ContactFilter
from outreach.db.schema import Database
from outreach.delivery.locks import lock_holder
from outreach.delivery.sender import RecipientLike, audience_filter
from outreach.models import ContactStatus, DeliveryStatus


@dataclass
class Plan:
    """The confirmation summary of `outreach send`."""

    campaign: str
    cells: Counter[tuple[str, str]] = field(default_factory=Counter)  # (country, language) → to send now
    fallbacks: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → contacts
    not_mailable: Counter[str] = field(default_factory=Counter)  # status (or "suppressed") → contacts
    existing: Counter[str] = field(default_factory=Counter)  # delivery status → rows already there
    new: int = 0  # recipients to be queued now (first send or follow-up)
    queued: int = 0  # rows already queued (an interrupted run) that this run will send

    @property
    def to_send(self) -> int:
        return self.new + self.queued

    def as_dict(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "to_send": self.to_send, "new": self.new, "queued": self.queued,
                "fallbacks": self.fallbacks, "skipped": dict(self.skipped), "not_mailable": dict(self.not_mailable),
                "already": dict(self.existing),
                "by_country_language": [{"country": c, "language": lang, "recipients": n}
                                        for (c, lang), n in sorted(self.cells.items())]}


def plan_send(db: Database, campaign: Any, extra: ContactFilter | None,
              recipients: Iterable[RecipientLike]) -> Plan:
    """Count what a send would do now, without writing anything."""
    slug = campaign.slug
    plan = Plan(slug)
    have = {row[0] for row in db.execute("SELECT contact_id FROM deliveries WHERE campaign = ?", [slug])}
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
    where, params = audience_filter(campaign, extra)
    for status, count in db.execute(
            f"SELECT c.status, count(*) FROM contacts c WHERE {where} GROUP BY c.status", params):
        if status != ContactStatus.ACTIVE:
            plan.not_mailable[status] = count
        elif count > active_seen:  # active but on the suppression list (e.g. re-imported after an erasure)
            plan.not_mailable["suppressed"] = count - active_seen
    for status, count in db.execute("SELECT status, count(*) FROM deliveries WHERE campaign = ? GROUP BY status",
                                    [slug]):
        plan.existing[status] = count
    for country, language, count in db.execute(
            "SELECT d.country, d.language, count(*) FROM deliveries d JOIN contacts c ON c.id = d.contact_id "
            f"WHERE d.campaign = ? AND d.status = 'queued' AND {where} GROUP BY d.country, d.language",
            [slug, *params]):
        plan.cells[(country or "--", language)] += count
        plan.queued += count
    return plan


def queue_status(db: Database, slug: str) -> dict[str, Any]:
    """The queue of a campaign: counts per status, per country × language, failures grouped, unknown listed."""
    counts = {status.value: 0 for status in DeliveryStatus}
    for status, count in db.execute("SELECT status, count(*) FROM deliveries WHERE campaign = ? GROUP BY status",
                                    [slug]):
        counts[status] = count
    cells = [{"country": country or "--", "language": language, "status": status, "count": count}
             for country, language, status, count in db.execute(
                 "SELECT country, language, status, count(*) FROM deliveries WHERE campaign = ? "
                 "GROUP BY country, language, status ORDER BY country, language, status", [slug])]
    failures = [{"reply": reply or "", "count": count} for reply, count in db.execute(
        "SELECT last_reply, count(*) AS n FROM deliveries WHERE campaign = ? AND status = 'failed' "
        "GROUP BY last_reply ORDER BY n DESC", [slug])]
    unknown = [{"email": email or "(erased)", "message_id": message_id, "reply": reply or ""}
               for email, message_id, reply in db.execute(
                   "SELECT email, message_id, last_reply FROM deliveries WHERE campaign = ? AND status = 'unknown' "
                   "ORDER BY id", [slug])]
    retry = db.execute("SELECT count(*), min(next_attempt_at) FROM deliveries WHERE campaign = ? AND "
                       "status = 'queued' AND next_attempt_at IS NOT NULL", [slug]).fetchone()
    row = db.execute("SELECT name, source_language, first_sent_at, last_sent_at FROM campaigns WHERE slug = ?",
                     [slug]).fetchone()
    holder = lock_holder(db, slug)
    return {
        "campaign": slug,
        "name": row[0] if row else None,
        "first_sent_at": row[2] if row else None,
        "last_sent_at": row[3] if row else None,
        "total": sum(counts.values()),
        "counts": counts,
        "retrying": {"count": retry[0], "next_attempt_at": retry[1]},
        "failures": failures,
        "unknown": unknown,
        "by_country_language": cells,
        "lock": None if holder is None else {"host": holder.host, "pid": holder.pid, "since": holder.acquired_at,
                                             "heartbeat_at": holder.heartbeat_at},
    }
