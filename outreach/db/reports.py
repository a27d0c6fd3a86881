"""Report queries: delivery and outcome figures per campaign and breakdown, reach, and one person's records.

Everything is aggregated in SQL with GROUP BY over the delivery's own country/kind/language columns (the snapshot
taken at queue time), following the report indexes of migration m003, which keeps a million deliveries well under
two seconds. The period selects deliveries by when they were sent (or queued, for those not sent).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

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


def _sent_where(since: date | None, until: date | None, countries: tuple[str, ...],
                campaigns: tuple[str, ...]) -> tuple[str, list[str]]:
    """The WHERE clause of the deliveries sent in a period (narrowed to countries and campaigns)."""
    where, params = period_clause(since, until, "sent_at")
    if countries:
        where += f" AND country IN ({', '.join('?' * len(countries))})"
        params += list(countries)
    if campaigns:
        where += f" AND campaign IN ({', '.join('?' * len(campaigns))})"
        params += list(campaigns)
    return f"status = '{DeliveryStatus.SENT}' AND {where}", params


_HARD = (f"SELECT did FROM ({_linked_events((EventType.BOUNCED,))}) WHERE bounce_type = '{BounceType.HARD}'")


def sent_sql(since: date | None, until: date | None, countries: tuple[str, ...] = (),
             campaigns: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """A SELECT of the deliveries SENT in a period (every column of `deliveries`, and `hard_bounced`: 1 when a
    hard bounce came back for it, whenever), with its parameters; the KPI queries count over it."""
    where, params = _sent_where(since, until, countries, campaigns)
    return f"SELECT *, id IN ({_HARD}) AS hard_bounced FROM deliveries WHERE {where}", params


REACH_LEVELS: tuple[tuple[str, ...], ...] = (("country", "kind"), ("country",), ("kind",), ())


def reach_figures(db: Database, *, since: date | None = None, until: date | None = None,
                  countries: tuple[str, ...] = (),
                  campaigns: tuple[str, ...] = ()) -> dict[tuple[str, ...], list[ReachFigures]]:
    """Distinct people and organisations with at least one message DELIVERED in the period (sent then, and no
    hard bounce came back), at each level of REACH_LEVELS: per (country, kind), country, kind, and overall.

    People: distinct contact ids, plus erased people (their deliveries keep no contact id) counted without
    identity as the most of them one campaign reached in the group — a campaign reaches a person once, so this
    never counts an erased person twice. Organisations: distinct non-empty organisation names (case-folded,
    trimmed) per country, as the contacts hold them now; erased people have none.

    Speed: the distinct (country, kind, person) of the sent deliveries are read in the order of the
    deliveries_reach index, the per-campaign cells in that of deliveries_report (no sort, no per-row test), the
    organisation names in one pass over contacts; the few hard-bounced deliveries are looked up by id and taken
    off, and the levels are counted with sets.
    """
    where, params = _sent_where(since, until, countries, campaigns)
    people = db.execute(f"SELECT DISTINCT country, kind, contact_id FROM deliveries WHERE {where} "
                        f"AND contact_id IS NOT NULL", params).fetchall()
    names = dict(db.execute("SELECT id, organisation FROM contacts WHERE trim(organisation) <> ''").fetchall())
    # Sent deliveries per (campaign, country, kind) in the report index's order, and those of erased people.
    cells = db.execute(f"SELECT country, kind, campaign, count(*) FROM deliveries INDEXED BY deliveries_report "
                       f"WHERE {where} GROUP BY campaign, country, kind", params).fetchall()
    erased = db.execute(f"SELECT country, kind, campaign, count(*) FROM deliveries WHERE {where} "
                        f"AND contact_id IS NULL GROUP BY country, kind, campaign", params).fetchall()
    # The few hard-bounced deliveries, looked up by id (not a test on every sent row) …
    by_id = f"(SELECT DISTINCT did FROM ({_HARD})) h CROSS JOIN deliveries d ON d.id = h.did"
    hard = db.execute(f"SELECT country, kind, contact_id, campaign FROM {by_id} WHERE {where}", params).fetchall()
    # … and how many messages each of those people was sent per group: one more than bounced, still reached.
    hard_people = db.execute(
        f"SELECT country, kind, contact_id, count(*) FROM deliveries INDEXED BY deliveries_contact "
        f"WHERE contact_id IN (SELECT d.contact_id FROM {by_id}) AND {where} GROUP BY country, kind, contact_id",
        params).fetchall()
    return _reach_levels(people, names, cells, erased, hard, hard_people)


Rows = list[tuple[Any, ...]]
Cell = tuple[str | None, str | None]  # (country, kind), either None at a coarser level


def _reach_levels(people: Rows, names: dict[int, str], cells: Rows, erased: Rows, hard: Rows,
                  hard_people: Rows) -> dict[tuple[str, ...], list[ReachFigures]]:
    """Count each level from the distinct (country, kind, person) groups, without the hard-bounced deliveries."""
    bounced = Counter((country, kind, contact) for country, kind, contact, _ in hard if contact is not None)
    lost: dict[Cell, set[int]] = {}  # people all of whose messages in the cell bounced
    for country, kind, contact, n in hard_people:
        if n <= bounced[(country, kind, contact)]:
            lost.setdefault((country, kind), set()).add(contact)
    hard_anonymous = Counter((country, kind, campaign) for country, kind, contact, campaign in hard if contact is None)
    hard_cell = Counter((country, kind, campaign) for country, kind, _, campaign in hard)
    # Per (country, kind): the people and organisations reached, the campaigns delivered, erased people per campaign.
    contacts: dict[Cell, set[int]] = {}
    organisations: dict[Cell, set[str]] = {}
    # The rows come grouped by (country, kind) (the index's order), so each cell's sets are built in one go.
    for cell, rows in groupby(people, key=itemgetter(0, 1)):
        ids = contacts.setdefault(cell, set())
        ids.update(row[2] for row in rows)
        ids -= lost.get(cell, set())
        prefix = f"{cell[0] or ''}|"
        organisations.setdefault(cell, set()).update(
            prefix + names[contact].strip().casefold() for contact in ids if contact in names)
    campaigns: dict[Cell, set[str]] = {}
    for country, kind, campaign, n in cells:
        if n > hard_cell[(country, kind, campaign)]:
            campaigns.setdefault((country, kind), set()).add(campaign)
    anonymous = Counter({(country, kind, campaign): n for country, kind, campaign, n in erased})
    anonymous.subtract(hard_anonymous)
    result: dict[tuple[str, ...], list[ReachFigures]] = {}
    for level in REACH_LEVELS:
        def key(cell: Cell, level: tuple[str, ...] = level) -> Cell:
            return (cell[0] if "country" in level else None, cell[1] if "kind" in level else None)

        merged: dict[Cell, list[set[Any]]] = {}
        every: tuple[dict[Cell, set[Any]], ...] = (contacts, organisations, campaigns)
        for index, sets in enumerate(every):
            for cell, members in sets.items():
                merged.setdefault(key(cell), [set(), set(), set()])[index].update(members)
        per_campaign: dict[Cell, Counter[str]] = {}
        for (country, kind, campaign), n in anonymous.items():
            if n > 0:
                per_campaign.setdefault(key((country, kind)), Counter())[campaign] += n
                merged.setdefault(key((country, kind)), [set(), set(), set()])
        result[level] = [ReachFigures(cell[0], cell[1], len(sets[0]), max(per_campaign.get(cell, {"": 0}).values()),
                                      len(sets[1]), len(sets[2])) for cell, sets in merged.items()]
    if not result[()]:
        result[()] = [ReachFigures(None, None, 0, 0, 0, 0)]
    return result


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
