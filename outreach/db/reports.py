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


def period_clause(since: date | None, until: date | None, column: str) -> tuple[str, list[str]]:
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
    where, params = period_clause(since, until, "coalesce(d.sent_at, d.queued_at)")
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
    """Distinct SENT deliveries per campaign and breakdown group that bounced (hard, soft), drew a complaint or an
    unsubscribe — whenever that happened, for the deliveries of the period.

    Only sent deliveries count: a mailbox refused at sending time (a 5.1.1 at RCPT) is recorded as a hard bounce
    event too, but its delivery is `failed`, never sent, so it is no part of the rates over sent.
    """
    dims, where, params = _scope(by, campaign, since, until)
    e = EventType
    rows = db.execute(
        f"SELECT d.campaign{dims}, "
        f"count(DISTINCT CASE WHEN l.type = '{e.BOUNCED}' AND l.bounce_type = '{BounceType.HARD}' THEN d.id END), "
        f"count(DISTINCT CASE WHEN l.type = '{e.BOUNCED}' AND l.bounce_type = '{BounceType.SOFT}' THEN d.id END), "
        f"count(DISTINCT CASE WHEN l.type = '{e.COMPLAINED}' THEN d.id END), "
        f"count(DISTINCT CASE WHEN l.type = '{e.UNSUBSCRIBED}' THEN d.id END) "
        f"FROM ({_linked_events((e.BOUNCED, e.COMPLAINED, e.UNSUBSCRIBED))}) l JOIN deliveries d ON d.id = l.did "
        f"WHERE d.status = '{DeliveryStatus.SENT}' AND {where} GROUP BY d.campaign{dims}",
        params).fetchall()
    n = 1 + len(by)
    return [OutcomeFigures(tuple(row[:n]), *row[n:]) for row in rows]


def _linked_events(types: tuple[EventType, ...]) -> str:
    """(type, bounce_type, did): events of these types with the delivery they concern.

    Events name their delivery, or (web unsubscribes) only the campaign and the contact: both kinds are linked.
    """
    listed = ", ".join(f"'{t}'" for t in types)
    return (f"SELECT type, bounce_type, delivery_id AS did FROM events WHERE delivery_id IS NOT NULL "
            f"AND type IN ({listed}) UNION ALL "
            f"SELECT ev.type, ev.bounce_type, dd.id FROM events ev JOIN deliveries dd "
            f"ON dd.campaign = ev.campaign AND dd.contact_id = ev.contact_id "
            f"WHERE ev.delivery_id IS NULL AND ev.type IN ({listed})")


def sent_sql(since: date | None, until: date | None, countries: tuple[str, ...] = (),
             campaigns: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """A SELECT of the deliveries SENT in a period (every column of `deliveries`, and `hard_bounced`: 1 when a
    hard bounce came back for it, whenever), with its parameters; the reach and KPI queries count over it."""
    where, params = period_clause(since, until, "sent_at")
    if countries:
        where += f" AND country IN ({', '.join('?' * len(countries))})"
        params += list(countries)
    if campaigns:
        where += f" AND campaign IN ({', '.join('?' * len(campaigns))})"
        params += list(campaigns)
    hard = (f"SELECT did FROM ({_linked_events((EventType.BOUNCED,))}) "
            f"WHERE bounce_type = '{BounceType.HARD}'")
    return (f"SELECT *, id IN ({hard}) AS hard_bounced FROM deliveries "
            f"WHERE status = '{DeliveryStatus.SENT}' AND {where}"), params


def delivered_sql(since: date | None, until: date | None, countries: tuple[str, ...] = (),
                  campaigns: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """A SELECT of the deliveries DELIVERED in a period: sent then, and no hard bounce came back."""
    sent, params = sent_sql(since, until, countries, campaigns)
    return f"SELECT * FROM ({sent}) WHERE NOT hard_bounced", params


REACH_GROUPS = ("country", "kind")


def reach_figures(db: Database, group: tuple[str, ...], *, since: date | None = None, until: date | None = None,
                  countries: tuple[str, ...] = (), campaigns: tuple[str, ...] = ()) -> list[ReachFigures]:
    """Distinct people and organisations with at least one message delivered in the period, per `group`
    (any of country, kind; () for the overall figure).

    People: distinct contact ids, plus erased people (their deliveries keep no contact id) counted without
    identity as the most of them one campaign reached in the group — a campaign reaches a person once, so this
    never counts an erased person twice. Organisations: distinct non-empty organisation names (case-folded,
    trimmed) per country, as the contacts hold them now; erased people have none.
    """
    unknown = [g for g in group if g not in REACH_GROUPS]
    if unknown:
        raise ValueError(f"not a reach group: {unknown}")
    delivered, params = delivered_sql(since, until, countries, campaigns)
    cols = "".join(f"d.{g}, " for g in group)
    grouping = f"GROUP BY {', '.join(f'd.{g}' for g in group)}" if group else ""
    org = ("CASE WHEN trim(c.organisation) <> '' "
           "THEN coalesce(d.country, '') || '|' || casefold(trim(c.organisation)) END")
    main = db.execute(
        f"SELECT {cols}count(DISTINCT d.contact_id), count(DISTINCT {org}), count(DISTINCT d.campaign) "
        f"FROM ({delivered}) d LEFT JOIN contacts c ON c.id = d.contact_id {grouping}", params).fetchall()
    anon_cols = "".join(f"{g}, " for g in group)
    anon_group = ", ".join(group)
    anonymous = {tuple(row[:-1]): row[-1] for row in db.execute(
        f"SELECT {anon_cols}max(n) FROM (SELECT {anon_cols}campaign, count(*) AS n FROM ({delivered}) "
        f"WHERE contact_id IS NULL GROUP BY {anon_cols}campaign) {'GROUP BY ' + anon_group if group else ''}",
        params).fetchall() if row[-1] is not None}
    n = len(group)
    figures = []
    for row in main:
        key = tuple(row[:n])
        values = dict(zip(group, key, strict=True))
        figures.append(ReachFigures(values.get("country"), values.get("kind"), row[n], anonymous.get(key, 0),
                                    row[n + 1], row[n + 2]))
    return figures


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
