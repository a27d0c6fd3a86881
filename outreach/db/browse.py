"""What `outreach browse` shows in Datasette: descriptions of the tables and columns, and the canned queries a
coordinator needs. The SQL lives here, with the rest of outreach's SQL; `outreach.browse` serves it.

Every canned query is a read (Datasette opens the file `mode=ro`); parameters are bound, never pasted in.
"""

from __future__ import annotations

from typing import Any

from outreach.db.schema import Database

# Delivered = sent minus hard bounces (docs/tracking.md): a sent delivery without a hard-bounce event.
_DELIVERED = """d.status = 'sent' AND NOT EXISTS (
    SELECT 1 FROM events e WHERE e.delivery_id = d.id AND e.type = 'bounced' AND e.bounce_type = 'hard')"""

QUERIES: dict[str, dict[str, Any]] = {
    "reach_by_country_kind": {
        "title": "Reach by country and audience",
        "description": "Distinct persons and organisations with at least one delivered message (sent, not hard "
                       "bounced) whose sending day is in the period. Leave since/until empty for all time "
                       "(YYYY-MM-DD). Erased persons are counted, without identity, in erased_persons.",
        "sql": f"""SELECT d.country, d.kind,
    count(DISTINCT d.contact_id) AS persons,
    count(DISTINCT CASE WHEN c.organisation <> '' THEN c.country || '|' || lower(trim(c.organisation)) END)
        AS organisations,
    count(DISTINCT CASE WHEN d.contact_id IS NULL THEN d.id END) AS erased_persons
FROM deliveries d LEFT JOIN contacts c ON c.id = d.contact_id
WHERE {_DELIVERED}
  AND (:since = '' OR substr(d.sent_at, 1, 10) >= :since)
  AND (:until = '' OR substr(d.sent_at, 1, 10) <= :until)
GROUP BY d.country, d.kind
ORDER BY d.country, d.kind""",
    },
    "campaign_recipients": {
        "title": "Who received campaign X",
        "description": "Every delivery of one campaign (give its slug): the person, the language it went out "
                       "in, its status and when it was sent.",
        "sql": """SELECT d.campaign, coalesce(c.email, d.email) AS email, c.name, c.organisation, d.country, d.kind,
    d.language, d.status, d.sent_at, d.last_reply
FROM deliveries d LEFT JOIN contacts c ON c.id = d.contact_id
WHERE d.campaign = :campaign
ORDER BY d.country, d.kind, email""",
    },
    "bounces_by_domain": {
        "title": "Bounces by domain",
        "description": "Hard and soft bounces per recipient domain, most first: a domain with many hard bounces "
                       "is worth a look (a reorganised ministry, a typo in an import).",
        "sql": """SELECT lower(substr(coalesce(d.email, c.email), instr(coalesce(d.email, c.email), '@') + 1))
        AS domain,
    sum(e.bounce_type = 'hard') AS hard, sum(e.bounce_type = 'soft') AS soft, count(*) AS bounces,
    count(DISTINCT e.contact_id) AS persons
FROM events e
LEFT JOIN deliveries d ON d.id = e.delivery_id
LEFT JOIN contacts c ON c.id = e.contact_id
WHERE e.type = 'bounced' AND coalesce(d.email, c.email) IS NOT NULL
GROUP BY domain
ORDER BY hard DESC, bounces DESC, domain""",
    },
    "person_history": {
        "title": "A person's history",
        "description": "Every campaign sent to one address and every event about it (bounces, complaints, "
                       "unsubscribes), oldest first — for a coordinator or a GDPR access request.",
        "sql": """SELECT d.sent_at AS at, 'delivery' AS what, d.campaign, d.status AS detail, d.language
FROM deliveries d JOIN contacts c ON c.id = d.contact_id
WHERE c.email = lower(trim(:email))
UNION ALL
SELECT e.created_at, e.type, e.campaign, trim(coalesce(e.bounce_type, '') || ' ' || e.detail), e.source
FROM events e JOIN contacts c ON c.id = e.contact_id
WHERE c.email = lower(trim(:email))
ORDER BY at""",
    },
}

# Shown only when the events work's tables are in the file (migration m004_event_sessions).
EVENT_TABLES = ("event_sessions", "attendance", "registrations")
EVENT_QUERY = {
    "title": "Event attendees",
    "description": "Who attended which session (leave campaign empty for every campaign), with the registration "
                   "they came from.",
    "sql": """SELECT s.campaign, s.code AS session, s.starts_at, a.email,
    coalesce(r.name, c.name) AS name, coalesce(r.organisation, c.organisation) AS organisation,
    a.source, a.recorded_at
FROM attendance a JOIN event_sessions s ON s.id = a.session_id
LEFT JOIN registrations r ON r.id = a.registration_id
LEFT JOIN contacts c ON c.id = a.contact_id
WHERE (:campaign = '' OR s.campaign = :campaign)
ORDER BY s.campaign, s.code, a.email""",
}

TABLES: dict[str, dict[str, Any]] = {
    "contacts": {
        "description": "One row per person: who they are, whom they represent, how they may be mailed.",
        "label_column": "email",
        "sort": "email",
        "facets": ["country", "kind", "status", "language"],
        "columns": {
            "email": "Normalised address (lower case, Unicode domain); unique.",
            "kind": "Whom the person represents: authority (contracting authority), supplier (social-economy "
                    "enterprise), subscriber (signed up on the web) or other.",
            "country": "ISO country code.", "language": "ISO 639-1 code of the language mailed.",
            "tags": "Labels set by the coordinators and experts (JSON list).",
            "topics": "Topics the person chose on the preferences page (JSON list).",
            "status": "active, unsubscribed, bounced, complained or erased; only active contacts are mailed.",
            "consent_basis": "GDPR basis for mailing (e.g. consent, legitimate interest).",
            "field_updated_at": "When each field was last changed (JSON): merge keeps the newer value.",
        },
    },
    "deliveries": {
        "description": "One row per campaign × person: the message queued, sent or failed.",
        "facets": ["campaign", "status", "country", "kind", "language"],
        "columns": {
            "status": "queued, sending, sent, failed or unknown (the server's reply after the data was lost).",
            "email": "The address at sending time; emptied when the person is erased.",
            "last_reply": "The SMTP server's last reply.",
            "message_id": "Message-ID header: how bounces find their delivery.",
        },
    },
    "events": {
        "description": "What happened after sending: bounces, complaints, unsubscribes (by mail or web).",
        "facets": ["type", "bounce_type", "campaign", "source"],
        "columns": {"type": "bounced, complained, unsubscribed, …", "bounce_type": "hard or soft",
                    "detail": "The server's diagnostic or the reason given.",
                    "source": "Where the event came from (bounce mailbox, web, import …)."},
    },
    "campaigns": {
        "description": "Every campaign ever sent: name, source language, when its first and last messages went.",
        "label_column": "name",
    },
    "suppressions": {
        "description": "Keyed hashes of addresses that must never be mailed again (no address is kept).",
    },
    "link_clicks": {
        "description": "Clicks on tracked links, aggregated per campaign × link × language × country × kind × day; "
                       "no person, address or user agent is stored. scanner_hits are mail scanners, counted apart.",
        "facets": ["campaign", "country", "language"],
    },
    "signups": {"description": "Web sign-ups waiting for (or done with) their confirmation."},
    "event_sessions": {"description": "Event sessions of campaigns (one per [events.<code>] table)."},
    "registrations": {"description": "Registrations for event sessions, with the waiting list."},
    "attendance": {"description": "Who attended an event session."},
    "meta": {"hidden": True},
    "send_locks": {"hidden": True},
    "inbound_messages": {"description": "Inbound mail already processed (bounces, unsubscribes): by key."},
}


def table_names(db: Database) -> set[str]:
    """The tables in the database file."""
    return set(db.table_names())


def browse_metadata(tables: set[str], title: str) -> dict[str, Any]:
    """Datasette metadata for the `contacts` database: descriptions, labels, facets and canned queries."""
    queries = {name: dict(query) for name, query in QUERIES.items()}
    if set(EVENT_TABLES) <= tables:
        queries["event_attendees"] = dict(EVENT_QUERY)
    return {
        "title": title,
        "description": "Read-only view of an outreach database. Canned queries are listed on the database page.",
        "databases": {"contacts": {
            "description": "Contacts, deliveries, bounces, unsubscribes and click counts.",
            "tables": {name: meta for name, meta in TABLES.items() if name in tables},
            "queries": queries,
        }},
    }
