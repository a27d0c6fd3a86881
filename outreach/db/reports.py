"""Report queries: delivery and outcome figures per campaign and breakdown, reach, and one person's records.

Everything is aggregated in SQL with GROUP BY over the delivery's own country/kind/language columns (the snapshot
taken at queue time), following the report indexes of migration m003, which keeps a million deliveries well under
two seconds. The period selects deliveries by when they were sent (or queued, for those not sent).
"""

from __future__ import annotations

from datetime import date, timedelta

from outreach.db.schema import Database
from outreach.models import BounceType, DeliveryStatus, EventType
from outreach.models.tracking import (
    CampaignInfo,
    DeliveryFigures,
    DeliveryRecord,
    OutcomeFigures,
    ReachFigures,
    SignupRecord,
)

# The delivery columns a report may break down by; they are written into SQL, so nothing else is accepted.
BREAKDOWNS = ("country", "kind", "language")


def campaigns_in_order(db: Database) -> list[CampaignInfo]:
    """Every campaign, in the order they were first sent (or created, when not sent yet)."""
    return [CampaignInfo(*row) for row in db.execute(
        "SELECT slug, name, first_sent_at, last_sent_at FROM campaigns ORDER BY coalesce(first_sent_at, created_at)")]


def _period(since: date | None, until: date | None, column: str) -> tuple[str, list[str]]:
    """The WHERE clause (and its parameters) of a period of days; `until` is inclusive."""
    clauses, params = [], []
    if since:
        clauses.append(f"{column} >= ?")
        params.append(f"{since.isoformat()}T00:00:00Z")
    if until:
        clauses.append(f"{column} < ?")  # until is inclusive: before the next day
        params.append(f"{(until + timedelta(days=1)).isoformat()}T00:00:00Z")
    return " AND ".join(clauses) or "1", params


def _scope(by: tuple[str, ...], campaign: str | None, since: date | None,
           until: date | None) -> tuple[str, str, list[str]]:
    """(`, d.country…` for the breakdown, the WHERE clause, its parameters) shared by both figure queries."""
    unknown = [d for d in by if d not in BREAKDOWNS]
    if unknown:
        raise ValueError(f"not a breakdown: {unknown}")
    where, params = _period(since, until, "coalesce(d.sent_at, d.queued_at)")
    if campaign is not None:
        where += " AND d.campaign = ?"
        params.append(campaign)
    return "".join(f", d.{d}" for d in by), where, params


def delivery_figures(db: Database, by: tuple[str, ...], *, campaign: str | None = None, since: date | None = None,
                     until: date | None = None) -> list[DeliveryFigures]:
    """Deliveries per campaign and breakdown group, by status."""
    dims, where, params = _scope(by, campaign, since, until)
    s = DeliveryStatus
    rows = db.execute(
        f"SELECT d.campaign{dims}, count(*), sum(d.status = '{s.SENT}'), sum(d.status = '{s.FAILED}'), "
        f"sum(d.status = '{s.UNKNOWN}'), sum(d.status IN ('{s.QUEUED}', '{s.SENDING}')) "
        f"FROM deliveries d WHERE {where} GROUP BY d.campaign{dims}", params).fetchall()
    n = 1 + len(by)
    return [DeliveryFigures(tuple(row[:n]), *row[n:]) for row in rows]


def outcome_figures(db: Database, by: tuple[str, ...], *, campaign: str | None = None, since: date | None = None,
                    until: date | None = None) -> list[OutcomeFigures]:
    """Distinct deliveries per campaign and breakdown group that bounced (hard, soft), drew a complaint or an
    unsubscribe — whenever that happened, for the deliveries of the period."""
    dims, where, params = _scope(by, campaign, since, until)
    e = EventType
    # Events name their delivery, or (web unsubscribes) only the campaign and the contact: link both kinds.
    linked = (f"SELECT type, bounce_type, delivery_id AS did FROM events WHERE delivery_id IS NOT NULL "
              f"AND type IN ('{e.BOUNCED}', '{e.COMPLAINED}', '{e.UNSUBSCRIBED}') UNION ALL "
              f"SELECT ev.type, ev.bounce_type, dd.id FROM events ev JOIN deliveries dd "
              f"ON dd.campaign = ev.campaign AND dd.contact_id = ev.contact_id "
              f"WHERE ev.delivery_id IS NULL AND ev.type IN ('{e.BOUNCED}', '{e.COMPLAINED}', '{e.UNSUBSCRIBED}')")
    rows = db.execute(
        f"SELECT d.campaign{dims}, "
        f"count(DISTINCT CASE WHEN l.type = '{e.BOUNCED}' AND l.bounce_type = '{BounceType.HARD}' THEN d.id END), "
        f"count(DISTINCT CASE WHEN l.type = '{e.BOUNCED}' AND l.bounce_type = '{BounceType.SOFT}' THEN d.id END), "
        f"count(DISTINCT CASE WHEN l.type = '{e.COMPLAINED}' THEN d.id END), "
        f"count(DISTINCT CASE WHEN l.type = '{e.UNSUBSCRIBED}' THEN d.id END) "
        f"FROM ({linked}) l JOIN deliveries d ON d.id = l.did WHERE {where} GROUP BY d.campaign{dims}",
        params).fetchall()
    n = 1 + len(by)
    return [OutcomeFigures(tuple(row[:n]), *row[n:]) for row in rows]


def reach_figures(db: Database, *, since: date | None = None,
                  until: date | None = None) -> tuple[list[ReachFigures], list[ReachFigures], ReachFigures]:
    """Distinct people sent at least one campaign in the period: per (country, kind), per country, overall.

    The queries follow the deliveries_reach index column order so SQLite counts distinct contacts without
    sorting.
    """
    where, params = _period(since, until, "sent_at")
    sent = f"status = '{DeliveryStatus.SENT}' AND {where}"
    per_kind = [ReachFigures(country, kind, people, anonymous, 0) for country, kind, people, anonymous in db.execute(
        f"SELECT country, kind, count(DISTINCT contact_id), sum(contact_id IS NULL) FROM deliveries "
        f"WHERE {sent} GROUP BY country, kind", params).fetchall()]
    per_country = [ReachFigures(country, None, people, anonymous, campaigns)
                   for country, people, anonymous, campaigns in db.execute(
                       f"SELECT country, count(DISTINCT contact_id), sum(contact_id IS NULL), "
                       f"count(DISTINCT campaign) FROM deliveries WHERE {sent} GROUP BY country", params).fetchall()]
    people, anonymous, campaigns = db.execute(
        f"SELECT count(DISTINCT contact_id), coalesce(sum(contact_id IS NULL), 0), count(DISTINCT campaign) "
        f"FROM deliveries WHERE {sent}", params).fetchone()
    return per_kind, per_country, ReachFigures(None, None, people, anonymous, campaigns)


# --- one person's records (history, GDPR access requests) -------------------------------------------------------


def deliveries_of_contact(db: Database, contact_id: int) -> list[DeliveryRecord]:
    """Every delivery to one contact, every column, in the order they were queued (by id)."""
    rows = db.execute(
        "SELECT id, campaign, contact_id, email, country, kind, language, status, attempts, last_reply, message_id, "
        "queued_at, updated_at, sent_at, next_attempt_at FROM deliveries WHERE contact_id = ? ORDER BY id",
        [contact_id]).fetchall()
    return [DeliveryRecord(row_id, campaign, contact, email, country, kind, language, DeliveryStatus(status), attempts,
                           reply, message_id, queued, updated, sent, next_attempt)
            for (row_id, campaign, contact, email, country, kind, language, status, attempts, reply, message_id, queued,
                 updated, sent, next_attempt) in rows]


def signups_of(db: Database, email: str) -> list[SignupRecord]:
    """Every sign-up request made with an address, every column, oldest first."""
    return [SignupRecord(*row) for row in db.execute(
        "SELECT id, nonce, email, data, client, created_at, expires_at, confirmed_at FROM signups "
        "WHERE email = ? ORDER BY id", [email]).fetchall()]


def campaign_names(db: Database) -> dict[str, str]:
    """The name of every campaign, by slug."""
    return {slug: name for slug, name in db.execute("SELECT slug, name FROM campaigns").fetchall()}
