"""KPI pack queries: campaigns and languages sent, subscribers gained and lost, consent held, bounces cleaned.

Reach (people and organisations per country × audience) is `outreach.db.reports.reach_figures`, shared with
`outreach report reach`. Messages are selected by their sending date, list changes (sign-ups, unsubscribes,
bounces) by the date they happened; `countries` and `campaigns` narrow what they can narrow.
"""

from __future__ import annotations

from datetime import date

from outreach.db.reports import period_clause, sent_sql
from outreach.db.schema import Database
from outreach.models import BounceType, ContactStatus, EventType
from outreach.models.kpi import BouncesCleaned, CampaignSent, ConsentHeld, LanguageSent, SubscriberChange


def campaigns_sent(db: Database, since: date, until: date, countries: tuple[str, ...] = (),
                   campaigns: tuple[str, ...] = ()) -> list[CampaignSent]:
    """Every campaign with a message sent in the period, in the order they were first sent."""
    sent, params = sent_sql(since, until, countries, campaigns)
    rows = db.execute(
        f"SELECT s.campaign, c.name, min(s.sent_at), max(s.sent_at), group_concat(DISTINCT s.language), "
        f"count(DISTINCT s.country), count(*), sum(NOT s.hard_bounced) FROM ({sent}) s "
        f"JOIN campaigns c ON c.slug = s.campaign GROUP BY s.campaign ORDER BY min(s.sent_at), s.campaign",
        params).fetchall()
    return [CampaignSent(slug, name, first, last, tuple(sorted((languages or "").split(","))), n_countries, n,
                         delivered) for slug, name, first, last, languages, n_countries, n, delivered in rows]


def languages_sent(db: Database, since: date, until: date, countries: tuple[str, ...] = (),
                   campaigns: tuple[str, ...] = ()) -> list[LanguageSent]:
    """Messages sent in the period per language."""
    sent, params = sent_sql(since, until, countries, campaigns)
    return [LanguageSent(*row) for row in db.execute(
        f"SELECT language, count(DISTINCT campaign), count(*), sum(NOT hard_bounced) FROM ({sent}) "
        f"GROUP BY language ORDER BY language", params).fetchall()]


def _people(event_type: EventType) -> str:
    """Distinct persons with an event of this type; an erased person's event (no contact id) counts once."""
    return (f"count(DISTINCT CASE WHEN e.type = '{event_type}' THEN e.contact_id END) + "
            f"sum(e.type = '{event_type}' AND e.contact_id IS NULL)")


def subscriber_changes(db: Database, since: date, until: date,
                       countries: tuple[str, ...] = ()) -> list[SubscriberChange]:
    """Persons who confirmed a sign-up and persons who unsubscribed in the period, per country of the contact
    (None for erased persons, whose country is gone; they are left out when countries are asked for)."""
    where, params = period_clause(since, until, "e.created_at")
    if countries:
        where += f" AND c.country IN ({', '.join('?' * len(countries))})"
        params += list(countries)
    rows = db.execute(
        f"SELECT c.country, {_people(EventType.CONFIRMED)}, {_people(EventType.UNSUBSCRIBED)} "
        f"FROM events e LEFT JOIN contacts c ON c.id = e.contact_id "
        f"WHERE e.type IN ('{EventType.CONFIRMED}', '{EventType.UNSUBSCRIBED}') AND {where} "
        f"GROUP BY c.country ORDER BY c.country IS NULL, c.country", params).fetchall()
    return [SubscriberChange(*row) for row in rows]


def consent_held(db: Database, countries: tuple[str, ...] = ()) -> list[ConsentHeld]:
    """Contacts that may be mailed now (active), per consent basis and audience."""
    where, params = "1", list(countries)
    if countries:
        where = f"country IN ({', '.join('?' * len(countries))})"
    return [ConsentHeld(basis or None, kind, n) for basis, kind, n in db.execute(
        f"SELECT consent_basis, kind, count(*) FROM contacts WHERE status = '{ContactStatus.ACTIVE}' AND {where} "
        f"GROUP BY consent_basis, kind ORDER BY consent_basis IS NULL, consent_basis, kind", params).fetchall()]


WHY = ("refused", "reported", "soft")  # the columns of BouncesCleaned, in order


def bounces_cleaned(db: Database, since: date, until: date,
                    countries: tuple[str, ...] = ()) -> list[BouncesCleaned]:
    """Addresses made `bounced` in the period, per country: refused while sending (the sender's hard bounce),
    a hard bounce report from the mailbox, or the soft-bounce limit (no event of its own: a contact with soft
    bounces whose status became `bounced` in the period, without a hard bounce to explain it)."""
    events_period, event_params = period_clause(since, until, "e.created_at")
    status_period, status_params = period_clause(since, until, "json_extract(c.field_updated_at, '$.status')")
    filter_sql, filter_params = "1", list(countries)
    if countries:
        filter_sql = f"country IN ({', '.join('?' * len(countries))})"
    hard = (f"SELECT coalesce(d.country, c.country) AS country, "
            f"CASE WHEN e.source = 'smtp' THEN 'refused' ELSE 'reported' END AS why, "
            f"coalesce('c' || e.contact_id, 'e' || e.id) AS who FROM events e "
            f"LEFT JOIN deliveries d ON d.id = e.delivery_id LEFT JOIN contacts c ON c.id = e.contact_id "
            f"WHERE e.type = '{EventType.BOUNCED}' AND e.bounce_type = '{BounceType.HARD}' AND {events_period}")
    soft = (f"SELECT c.country, 'soft', 'c' || c.id FROM contacts c WHERE c.status = '{ContactStatus.BOUNCED}' "
            f"AND {status_period} AND NOT EXISTS (SELECT 1 FROM events h WHERE h.contact_id = c.id "
            f"AND h.type = '{EventType.BOUNCED}' AND h.bounce_type = '{BounceType.HARD}') "
            f"AND EXISTS (SELECT 1 FROM events s WHERE s.contact_id = c.id "
            f"AND s.type = '{EventType.BOUNCED}' AND s.bounce_type = '{BounceType.SOFT}')")
    rows = db.execute(
        f"SELECT country, {', '.join(f'count(DISTINCT CASE WHEN why = {why!r} THEN who END)' for why in WHY)}, "
        f"count(DISTINCT who) FROM ({hard} UNION ALL {soft}) WHERE {filter_sql} "
        f"GROUP BY country ORDER BY country IS NULL, country",
        [*event_params, *status_params, *filter_params]).fetchall()
    return [BouncesCleaned(*row) for row in rows]
