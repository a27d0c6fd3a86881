"""The coordinator's figures: per campaign and for all campaigns, broken down by country, audience and language.

Everything is aggregated in SQL with GROUP BY over the delivery's own country/kind/language columns (a snapshot
taken when the message was queued, so a contact who moves country later does not rewrite history), which keeps a
million deliveries well under two seconds. The period selects deliveries by when they were sent (or queued, for
those not sent); their bounces, complaints and unsubscribes count whenever they arrived, so the rates are those
of the messages of the period.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

from outreach.clock import Clock, utcnow_iso
from outreach.db.schema import Database
from outreach.errors import InputError, NotFoundError
from outreach.models import BounceType, DeliveryStatus, EventType, Kind

DIMENSIONS = ("country", "kind", "language")
TOTAL = "(all)"


@dataclass
class Counts:
    """The figures of one row of the report."""

    targeted: int = 0  # deliveries queued
    sent: int = 0  # accepted by the relay
    failed: int = 0  # refused for good at sending time
    unknown: int = 0  # a crash left it unclear whether the relay took it
    pending: int = 0  # queued or being sent
    bounced: int = 0  # hard bounces
    soft_bounced: int = 0  # transient bounces (mailbox full, …)
    complained: int = 0  # marked as spam (ARF)
    unsubscribed: int = 0  # unsubscribed from this campaign

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def rates(self) -> dict[str, float | None]:
        """Delivery rate over targeted; bounce, complaint and unsubscribe rates over sent."""
        def ratio(numerator: int, denominator: int) -> float | None:
            return round(numerator / denominator, 4) if denominator else None

        return {"delivery_rate": ratio(self.sent, self.targeted), "bounce_rate": ratio(self.bounced, self.sent),
                "complaint_rate": ratio(self.complained, self.sent),
                "unsubscribe_rate": ratio(self.unsubscribed, self.sent)}

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | self.rates()


METRICS = tuple(f.name for f in fields(Counts))
RATES = ("delivery_rate", "bounce_rate", "complaint_rate", "unsubscribe_rate")


@dataclass
class Row:
    """One line: a campaign (None: all campaigns) and a group (None values: totals over that dimension)."""

    campaign: str | None
    group: dict[str, str | None]
    counts: Counts

    @property
    def is_total(self) -> bool:
        return all(value is None for value in self.group.values())


@dataclass
class Report:
    """A delivery report as asked: which campaigns, which breakdown, which period."""

    by: tuple[str, ...]
    since: str | None
    until: str | None
    generated_at: str
    campaigns: list[dict[str, Any]]
    rows: list[Row] = field(default_factory=list)

    def total(self, campaign: str | None = None) -> Counts:
        """The total row of one campaign, or of all campaigns."""
        for row in self.rows:
            if row.campaign == campaign and row.is_total:
                return row.counts
        return Counts()


def parse_day(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option value, or an InputError naming the option."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date", f"Write {option} as YYYY-MM-DD, e.g. 2026-11-01.") \
            from None


def parse_by(values: list[str] | None) -> tuple[str, ...]:
    """`--by country,kind` (or repeated) → ordered, validated dimensions."""
    chosen: list[str] = []
    for value in values or []:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name == "audience":
                name = "kind"
            if name not in DIMENSIONS:
                raise InputError(f"--by {name!r} is not a breakdown", "Use any of: country, kind, language.")
            if name not in chosen:
                chosen.append(name)
    return tuple(d for d in DIMENSIONS if d in chosen)


def _period(since: date | None, until: date | None, column: str) -> tuple[str, list[str]]:
    clauses, params = [], []
    if since:
        clauses.append(f"{column} >= ?")
        params.append(f"{since.isoformat()}T00:00:00Z")
    if until:
        clauses.append(f"{column} < ?")  # until is inclusive: before the next day
        params.append(f"{(until + timedelta(days=1)).isoformat()}T00:00:00Z")
    return " AND ".join(clauses) or "1", params


def build_report(db: Database, clock: Clock, *, campaign: str | None = None, by: tuple[str, ...] = (),
                 since: date | None = None, until: date | None = None) -> Report:
    """The figures per campaign (and for all campaigns), per group of `by`, with totals."""
    if since and until and since > until:
        raise InputError(f"--since {since} is after --until {until}", "Swap the dates.")
    known = {row["slug"]: row for row in db.query(
        "SELECT slug, name, first_sent_at, last_sent_at FROM campaigns ORDER BY coalesce(first_sent_at, created_at)")}
    if campaign is not None and campaign not in known:
        hint = "Known campaigns: " + ", ".join(known) if known else "No campaign has been sent yet."
        raise NotFoundError(f"No campaign {campaign!r} in the database", hint)
    where, params = _period(since, until, "coalesce(d.sent_at, d.queued_at)")
    if campaign is not None:
        where += " AND d.campaign = ?"
        params.append(campaign)
    dims = "".join(f", d.{d}" for d in by)
    cells: dict[tuple[Any, ...], Counts] = {}

    def cell(key: tuple[Any, ...]) -> Counts:
        return cells.setdefault(key, Counts())

    s = DeliveryStatus
    for row in db.execute(
            f"SELECT d.campaign{dims}, count(*), sum(d.status = '{s.SENT}'), sum(d.status = '{s.FAILED}'), "
            f"sum(d.status = '{s.UNKNOWN}'), sum(d.status IN ('{s.QUEUED}', '{s.SENDING}')) "
            f"FROM deliveries d WHERE {where} GROUP BY d.campaign{dims}", params).fetchall():
        counts = cell(tuple(row[:1 + len(by)]))
        counts.targeted, counts.sent, counts.failed, counts.unknown, counts.pending = row[1 + len(by):]
    e = EventType
    # Events name their delivery, or (web unsubscribes) only the campaign and the contact: link both kinds.
    linked = (f"SELECT type, bounce_type, delivery_id AS did FROM events WHERE delivery_id IS NOT NULL "
              f"AND type IN ('{e.BOUNCED}', '{e.COMPLAINED}', '{e.UNSUBSCRIBED}') UNION ALL "
              f"SELECT ev.type, ev.bounce_type, dd.id FROM events ev JOIN deliveries dd "
              f"ON dd.campaign = ev.campaign AND dd.contact_id = ev.contact_id "
              f"WHERE ev.delivery_id IS NULL AND ev.type IN ('{e.BOUNCED}', '{e.COMPLAINED}', '{e.UNSUBSCRIBED}')")
    for row in db.execute(
            f"SELECT d.campaign{dims}, "
            f"count(DISTINCT CASE WHEN l.type = '{e.BOUNCED}' AND l.bounce_type = '{BounceType.HARD}' THEN d.id END), "
            f"count(DISTINCT CASE WHEN l.type = '{e.BOUNCED}' AND l.bounce_type = '{BounceType.SOFT}' THEN d.id END), "
            f"count(DISTINCT CASE WHEN l.type = '{e.COMPLAINED}' THEN d.id END), "
            f"count(DISTINCT CASE WHEN l.type = '{e.UNSUBSCRIBED}' THEN d.id END) "
            f"FROM ({linked}) l JOIN deliveries d ON d.id = l.did WHERE {where} GROUP BY d.campaign{dims}",
            params).fetchall():
        counts = cell(tuple(row[:1 + len(by)]))
        counts.bounced, counts.soft_bounced, counts.complained, counts.unsubscribed = row[1 + len(by):]

    report = Report(by=by, since=since.isoformat() if since else None, until=until.isoformat() if until else None,
                    generated_at=utcnow_iso(clock), campaigns=[])
    slugs = [slug for slug in known if any(key[0] == slug for key in cells)] if campaign is None else [campaign]
    report.campaigns = [dict(known[slug]) for slug in slugs]
    overall: dict[tuple[Any, ...], Counts] = {}
    for slug in [*slugs, None]:
        groups = ({key[1:]: c for key, c in cells.items() if key[0] == slug} if slug is not None else overall)
        total = Counts()
        for group_key in sorted(groups, key=lambda k: tuple("" if v is None else str(v) for v in k)):
            counts = groups[group_key]
            total.add(counts)
            if slug is not None:
                overall.setdefault(group_key, Counts()).add(counts)
            if by:
                report.rows.append(Row(slug, dict(zip(by, group_key, strict=True)), counts))
        report.rows.append(Row(slug, dict.fromkeys(by), total))
    return report


def report_document(report: Report) -> dict[str, Any]:
    """The JSON shape of `outreach report --format json`."""
    return {
        "period": {"since": report.since, "until": report.until}, "generated_at": report.generated_at,
        "by": list(report.by), "campaigns": report.campaigns,
        "rows": [{"campaign": row.campaign, **row.group, "total": row.is_total, **row.counts.as_dict()}
                 for row in report.rows],
    }


def report_csv(report: Report) -> str:
    """One CSV line per row; totals are marked (all) in the campaign and breakdown columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["campaign", *report.by, *METRICS, *RATES])
    for row in report.rows:
        rates = row.counts.rates()
        writer.writerow([row.campaign or TOTAL, *[row.group[d] or TOTAL for d in report.by],
                         *[getattr(row.counts, m) for m in METRICS],
                         *["" if rates[r] is None else f"{rates[r]:.4f}" for r in RATES]])
    return out.getvalue()


# --- reach: distinct authorities and suppliers per country ------------------------------------------------------

AUDIENCES = (Kind.AUTHORITY.value, Kind.SUPPLIER.value, "others")


@dataclass
class Reach:
    """Distinct contacts that received at least one campaign in the period, per country and audience."""

    since: str | None
    until: str | None
    generated_at: str
    countries: dict[str, dict[str, int]]  # country → audience → distinct contacts (plus "total", "campaigns")
    totals: dict[str, int]


def build_reach(db: Database, clock: Clock, *, since: date | None = None, until: date | None = None) -> Reach:
    """Count distinct people reached (a sent delivery) per country × audience; BSI countries always listed.

    A person counts in the country and audience of their delivery (the snapshot taken at queue time); the
    audience totals add the countries up. An erased person's deliveries keep no contact id, so each of those
    counts once (they cannot be told apart any more). Queries follow the deliveries_reach index column order so
    SQLite counts distinct contacts without sorting.
    """
    from outreach.countries import BSI_COUNTRIES

    where, params = _period(since, until, "sent_at")
    sent = f"status = '{DeliveryStatus.SENT}' AND {where}"
    columns = (*AUDIENCES, "total", "campaigns")
    countries: dict[str, dict[str, int]] = {code: dict.fromkeys(columns, 0) for code in BSI_COUNTRIES}
    totals = dict.fromkeys(columns, 0)
    for country, kind, people, anonymous in db.execute(
            f"SELECT country, kind, count(DISTINCT contact_id), sum(contact_id IS NULL) FROM deliveries "
            f"WHERE {sent} GROUP BY country, kind", params).fetchall():
        audience = kind if kind in (Kind.AUTHORITY, Kind.SUPPLIER) else "others"
        countries.setdefault(country or "??", dict.fromkeys(columns, 0))[audience] += people + anonymous
        totals[audience] += people + anonymous
    for country, people, anonymous, campaigns in db.execute(
            f"SELECT country, count(DISTINCT contact_id), sum(contact_id IS NULL), count(DISTINCT campaign) "
            f"FROM deliveries WHERE {sent} GROUP BY country", params).fetchall():
        countries[country or "??"]["total"] = people + anonymous
        countries[country or "??"]["campaigns"] = campaigns
    people, anonymous, campaigns = db.execute(
        f"SELECT count(DISTINCT contact_id), coalesce(sum(contact_id IS NULL), 0), count(DISTINCT campaign) "
        f"FROM deliveries WHERE {sent}", params).fetchone()
    totals["total"], totals["campaigns"] = people + anonymous, campaigns
    return Reach(since=since.isoformat() if since else None, until=until.isoformat() if until else None,
                 generated_at=utcnow_iso(clock), countries=dict(sorted(countries.items())), totals=totals)


def reach_document(reach: Reach) -> dict[str, Any]:
    return {"period": {"since": reach.since, "until": reach.until}, "generated_at": reach.generated_at,
            "countries": [{"country": code, **values} for code, values in reach.countries.items()],
            "totals": reach.totals}


def reach_csv(reach: Reach) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["country", "authorities", "suppliers", "others", "total", "campaigns"])
    for code, values in [*reach.countries.items(), (TOTAL, reach.totals)]:
        writer.writerow([code, values[Kind.AUTHORITY.value], values[Kind.SUPPLIER.value], values["others"],
                         values["total"], values["campaigns"]])
    return out.getvalue()


# --- one person's history (coordinators, GDPR access requests) --------------------------------------------------


def person_history(db: Database, email: str) -> dict[str, Any]:
    """Everything sent to one person and everything that happened afterwards, oldest first.

    For an address that is no longer a contact (erased) only the fact that it is suppressed is known: erasure
    removed the rest, which is the point.
    """
    from outreach.contacts.model import get_contact, is_suppressed, normalize_email

    contact = get_contact(db, email)
    if contact is None:
        try:
            key = normalize_email(email)
        except InputError:
            raise NotFoundError(f"{email!r} is not a valid email address", "Check the spelling.") from None
        if is_suppressed(db, key):
            raise NotFoundError(f"No contact with the address {key}; it is on the suppression list "
                                "(erased, unsubscribed or bounced) and is never mailed",
                                "Nothing else is kept about this address.")
        raise NotFoundError(f"No contact with the address {key!r}",
                            "Check the spelling, or list contacts with: outreach contacts list --search …")
    deliveries = [dict(row) for row in db.query(
        "SELECT d.id, d.campaign, c.name AS campaign_name, d.language, d.kind, d.country, d.status, d.attempts, "
        "d.last_reply, d.message_id, d.queued_at, d.sent_at, d.updated_at FROM deliveries d "
        "LEFT JOIN campaigns c ON c.slug = d.campaign WHERE d.contact_id = ? ORDER BY d.queued_at, d.id",
        [contact.id])]
    events = [dict(row) for row in db.query(
        "SELECT id, type, campaign, delivery_id, bounce_type, detail, source, created_at FROM events "
        "WHERE contact_id = ? ORDER BY created_at, id", [contact.id])]
    by_delivery: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        if event["delivery_id"] is not None:
            by_delivery.setdefault(event["delivery_id"], []).append(event)
    for delivery in deliveries:
        delivery["events"] = [e["type"] + (f" ({e['bounce_type']})" if e["bounce_type"] else "")
                              for e in by_delivery.get(delivery["id"], [])]
        delivery["outcome"] = _outcome(delivery["status"], by_delivery.get(delivery["id"], []), events,
                                       delivery["campaign"])
    return {"contact": contact.public_dict(), "deliveries": deliveries, "events": events}


def _outcome(status: str, own: list[dict[str, Any]], events: list[dict[str, Any]], campaign: str) -> str:
    """The one-word result of a delivery as a person would ask about it."""
    related = own + [e for e in events if e["delivery_id"] is None and e["campaign"] == campaign]
    for kind in (EventType.COMPLAINED, EventType.UNSUBSCRIBED):
        if any(e["type"] == kind for e in related):
            return f"sent, then {kind.value}"
    if any(e["type"] == EventType.BOUNCED and e["bounce_type"] == BounceType.HARD for e in related):
        return "bounced"
    if any(e["type"] == EventType.BOUNCED for e in related):
        return "sent, soft bounce"
    return status
