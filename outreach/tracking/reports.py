"""The coordinator's figures: per campaign and for all campaigns, broken down by country, audience and language.

What each figure means is written once, in `outreach.tracking.definitions` (and docs/tracking.md); every format
computes from `Counts` and `Reach` here, so the table, CSV, JSON and HTML agree.

Everything is aggregated in SQL with GROUP BY over the delivery's own country/kind/language columns (a snapshot
taken when the message was queued, so a contact who moves country later does not rewrite history), which keeps a
million deliveries well under two seconds. The period selects deliveries by when they were sent (or queued, for
those not sent); their bounces, complaints and unsubscribes count whenever they arrived, so the rates are those
of the messages of the period.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any

from outreach.clock import Clock, utcnow_iso
from outreach.contacts.model import Contact, get_contact, is_suppressed, normalize_email
from outreach.countries import BSI_COUNTRIES
from outreach.db import events as event_store
from outreach.db import reports as store
from outreach.db.schema import Database
from outreach.errors import InputError, NotFoundError
from outreach.models import BounceType, EventType, Kind
from outreach.models.tracking import CampaignInfo, DeliveryRecord, Event, ReachFigures, SignupRecord
from outreach.suggest import did_you_mean
from outreach.tracking.definitions import as_document

DIMENSIONS = store.BREAKDOWNS
TOTAL = "(all)"


@dataclass
class Counts:
    """The figures of one row of the report (definitions: `outreach.tracking.definitions`)."""

    targeted: int = 0  # deliveries queued
    sent: int = 0  # accepted by the relay
    failed: int = 0  # refused for good at sending time
    unknown: int = 0  # a crash left it unclear whether the relay took it
    pending: int = 0  # queued or being sent
    bounced: int = 0  # sent, then a hard bounce came back
    soft_bounced: int = 0  # sent, then a transient bounce came back (mailbox full, …)
    complained: int = 0  # sent, then marked as spam (ARF)
    unsubscribed: int = 0  # sent, then the recipient unsubscribed from this campaign

    @property
    def delivered(self) -> int:
        """Sent minus hard bounces (a bounce is only ever counted for a sent message)."""
        return self.sent - self.bounced

    def add(self, other: Counts) -> None:
        """Add another row's figures to these (for totals)."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def rates(self) -> dict[str, float | None]:
        """Delivered, bounce, complaint and unsubscribe rates, all over sent (None when nothing was sent)."""
        def ratio(numerator: int) -> float | None:
            return round(numerator / self.sent, 4) if self.sent else None

        return {"delivered_rate": ratio(self.delivered), "bounce_rate": ratio(self.bounced),
                "complaint_rate": ratio(self.complained), "unsubscribe_rate": ratio(self.unsubscribed)}

    def as_dict(self) -> dict[str, Any]:
        """The figures and their rates, as one row of the JSON report."""
        return {m: getattr(self, m) for m in METRICS} | self.rates()


# The figures in the order every format shows them; their definitions are in outreach.tracking.definitions.
METRICS = ("targeted", "sent", "delivered", "failed", "unknown", "pending", "bounced", "soft_bounced", "complained",
           "unsubscribed")
RATES = ("delivered_rate", "bounce_rate", "complaint_rate", "unsubscribe_rate")


@dataclass
class Row:
    """One line: a campaign (None: all campaigns) and a group (None values: totals over that dimension)."""

    campaign: str | None
    group: dict[str, str | None]
    counts: Counts

    @property
    def is_total(self) -> bool:
        """Whether this is a total row (of a campaign, or of all campaigns) rather than one group."""
        return all(value is None for value in self.group.values())


@dataclass
class Report:
    """A delivery report as asked: which campaigns, which breakdown, which period."""

    by: tuple[str, ...]
    since: str | None
    until: str | None
    generated_at: str
    campaigns: list[CampaignInfo]
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


def build_report(db: Database, clock: Clock, *, campaign: str | None = None, by: tuple[str, ...] = (),
                 since: date | None = None, until: date | None = None) -> Report:
    """The figures per campaign (and for all campaigns), per group of `by`, with totals."""
    if since and until and since > until:
        raise InputError(f"--since {since} is after --until {until}", "Swap the dates.")
    known = {info.slug: info for info in store.campaigns_in_order(db)}
    if campaign is not None and campaign not in known:
        hint = "Known campaigns: " + ", ".join(known) if known else "No campaign has been sent yet."
        raise NotFoundError(f"No campaign {campaign!r} in the database{did_you_mean(campaign, known)}", hint)
    cells: dict[tuple[str | None, ...], Counts] = {}
    for figures in store.delivery_figures(db, by, campaign=campaign, since=since, until=until):
        counts = cells.setdefault(figures.key, Counts())
        counts.targeted, counts.sent, counts.failed = figures.targeted, figures.sent, figures.failed
        counts.unknown, counts.pending = figures.unknown, figures.pending
    for outcomes in store.outcome_figures(db, by, campaign=campaign, since=since, until=until):
        counts = cells.setdefault(outcomes.key, Counts())
        counts.bounced, counts.soft_bounced = outcomes.bounced, outcomes.soft_bounced
        counts.complained, counts.unsubscribed = outcomes.complained, outcomes.unsubscribed
    slugs = [slug for slug in known if any(key[0] == slug for key in cells)] if campaign is None else [campaign]
    report = Report(by=by, since=since.isoformat() if since else None, until=until.isoformat() if until else None,
                    generated_at=utcnow_iso(clock), campaigns=[known[slug] for slug in slugs])
    report.rows = _rows(cells, slugs, by)
    return report


def _rows(cells: dict[tuple[str | None, ...], Counts], slugs: list[str], by: tuple[str, ...]) -> list[Row]:
    """The report's rows: per campaign its groups (sorted) and its total, then the same over all campaigns."""
    rows: list[Row] = []
    overall: dict[tuple[str | None, ...], Counts] = {}
    for slug in [*slugs, None]:
        groups = ({key[1:]: c for key, c in cells.items() if key[0] == slug} if slug is not None else overall)
        total = Counts()
        for group_key in sorted(groups, key=lambda k: tuple("" if v is None else str(v) for v in k)):
            counts = groups[group_key]
            total.add(counts)
            if slug is not None:
                overall.setdefault(group_key, Counts()).add(counts)
            if by:
                rows.append(Row(slug, dict(zip(by, group_key, strict=True)), counts))
        rows.append(Row(slug, dict.fromkeys(by), total))
    return rows


def report_document(report: Report) -> dict[str, Any]:
    """The JSON shape of `outreach report --format json`."""
    return {
        "period": {"since": report.since, "until": report.until}, "generated_at": report.generated_at,
        "by": list(report.by), "campaigns": [asdict(info) for info in report.campaigns],
        "rows": [{"campaign": row.campaign, **row.group, "total": row.is_total, **row.counts.as_dict()}
                 for row in report.rows],
        "definitions": as_document(("period", *METRICS, *RATES)),
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


# --- reach: distinct people and organisations per country and audience --------------------------------------

AUDIENCES = (Kind.AUTHORITY.value, Kind.SUPPLIER.value, "others")
REACH_COLUMNS = (*AUDIENCES, "total", "campaigns")


@dataclass
class Reach:
    """People and organisations with at least one delivered message in the period, per country and audience.

    `countries` and `totals` count people (the reach the reports have always shown), `organisations` and
    `organisation_totals` the same cells for organisations; "campaigns" is the campaigns delivered there.
    """

    since: str | None
    until: str | None
    generated_at: str
    countries: dict[str, dict[str, int]]  # country → audience → distinct people (plus "total", "campaigns")
    totals: dict[str, int]
    organisations: dict[str, dict[str, int]] = field(default_factory=dict)  # country → audience → organisations
    organisation_totals: dict[str, int] = field(default_factory=dict)


def audience_of(kind: str | None) -> str:
    """The reach audience of a delivery's kind: authorities, suppliers, and everyone else as "others"."""
    return kind if kind in (Kind.AUTHORITY, Kind.SUPPLIER) else "others"


def build_reach(db: Database, clock: Clock, *, since: date | None = None, until: date | None = None,
                countries: tuple[str, ...] = (), campaigns: tuple[str, ...] = ()) -> Reach:
    """Count distinct people and organisations reached (a delivered message) per country × audience.

    BSI countries are always listed (the asked ones only, when `countries` is given). Each cell, each country
    total, each audience total and the grand total is counted distinct on its own (a person who got mail as an
    authority and later as a supplier is one person in the total), see `outreach.tracking.definitions`.
    """
    levels = store.reach_figures(db, since=since, until=until, countries=countries, campaigns=campaigns)
    listed = countries or tuple(BSI_COUNTRIES)
    people: dict[str, dict[str, int]] = {code: dict.fromkeys(REACH_COLUMNS, 0) for code in listed}
    organisations: dict[str, dict[str, int]] = {code: dict.fromkeys(REACH_COLUMNS, 0) for code in listed}
    totals, organisation_totals = dict.fromkeys(REACH_COLUMNS, 0), dict.fromkeys(REACH_COLUMNS, 0)

    def cell(table: dict[str, dict[str, int]], country: str | None) -> dict[str, int]:
        return table.setdefault(country or "??", dict.fromkeys(REACH_COLUMNS, 0))

    def figures(level: tuple[str, ...]) -> list[ReachFigures]:
        return levels[level]

    for f in figures(("country", "kind")):
        cell(people, f.country)[audience_of(f.kind)] += f.people + f.anonymous
        cell(organisations, f.country)[audience_of(f.kind)] += f.organisations
    for f in figures(("country",)):
        cell(people, f.country).update(total=f.people + f.anonymous, campaigns=f.campaigns)
        cell(organisations, f.country).update(total=f.organisations, campaigns=f.campaigns)
    for f in figures(("kind",)):
        totals[audience_of(f.kind)] += f.people + f.anonymous
        organisation_totals[audience_of(f.kind)] += f.organisations
    for f in figures(()):
        totals.update(total=f.people + f.anonymous, campaigns=f.campaigns)
        organisation_totals.update(total=f.organisations, campaigns=f.campaigns)
    return Reach(since=since.isoformat() if since else None, until=until.isoformat() if until else None,
                 generated_at=utcnow_iso(clock), countries=dict(sorted(people.items())), totals=totals,
                 organisations=dict(sorted(organisations.items())), organisation_totals=organisation_totals)


def reach_document(reach: Reach) -> dict[str, Any]:
    """The JSON shape of `outreach report reach --format json`: people per cell, and organisations beside."""
    return {"period": {"since": reach.since, "until": reach.until}, "generated_at": reach.generated_at,
            "countries": [{"country": code, **values, "organisations": reach.organisations.get(code, {})}
                          for code, values in reach.countries.items()],
            "totals": reach.totals, "organisation_totals": reach.organisation_totals,
            "definitions": as_document(("period", "reached_people", "reached_organisations"))}


REACH_CSV_HEADER = ("country", "authorities", "suppliers", "others", "total", "campaigns", "authority_organisations",
                    "supplier_organisations", "other_organisations", "total_organisations")


def reach_csv(reach: Reach) -> str:
    """One CSV line per country (people, then organisations), then the totals marked (all)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REACH_CSV_HEADER)
    entries = [(code, values, reach.organisations.get(code, {})) for code, values in reach.countries.items()]
    for code, values, orgs in [*entries, (TOTAL, reach.totals, reach.organisation_totals)]:
        writer.writerow([code, *[values[k] for k in REACH_COLUMNS],
                         *[orgs.get(k, 0) for k in (*AUDIENCES, "total")]])
    return out.getvalue()


# --- one person's history (coordinators, GDPR access requests) --------------------------------------------------


@dataclass(frozen=True)
class PersonRecord:
    """Everything held on one person: the contact, whether the address is suppressed, every delivery, event and
    sign-up (full rows, oldest first), and the names of the campaigns they were sent."""

    contact: Contact
    suppressed: bool
    deliveries: list[DeliveryRecord]
    events: list[Event]
    signups: list[SignupRecord]
    campaign_names: dict[str, str]

    def document(self) -> dict[str, object]:
        """The JSON shape of `contacts show --json`: every stored column of every row."""
        return {"contact": asdict(self.contact), "suppressed": self.suppressed,
                "deliveries": [_plain(asdict(d)) for d in self.deliveries],
                "events": [_plain(asdict(e)) for e in self.events],
                "signups": [asdict(s) for s in self.signups]}


def person_record(db: Database, contact: Contact) -> PersonRecord:
    """Gather everything held on a contact (GDPR access requests, `contacts show`, `contacts history`)."""
    return PersonRecord(contact=contact, suppressed=is_suppressed(db, contact.email),
                        deliveries=store.deliveries_of_contact(db, contact.id),
                        events=event_store.events_of_contact(db, contact.id),
                        signups=store.signups_of(db, contact.email), campaign_names=store.campaign_names(db))


def person_history(db: Database, email: str) -> dict[str, Any]:
    """Everything sent to one person and everything that happened afterwards, oldest first.

    For an address that is no longer a contact (erased) only the fact that it is suppressed is known: erasure
    removed the rest, which is the point.
    """
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
    return history_document(person_record(db, contact))


def history_document(record: PersonRecord) -> dict[str, Any]:
    """The JSON shape of `contacts history --json`: each delivery with its events and one-word outcome."""
    events = sorted(record.events, key=lambda e: (e.created_at, e.id))
    by_delivery: dict[int, list[Event]] = {}
    for event in events:
        if event.delivery_id is not None:
            by_delivery.setdefault(event.delivery_id, []).append(event)
    deliveries = []
    for d in sorted(record.deliveries, key=lambda d: (d.queued_at, d.id)):
        own = by_delivery.get(d.id, [])
        deliveries.append({
            "id": d.id, "campaign": d.campaign, "campaign_name": record.campaign_names.get(d.campaign),
            "language": d.language, "kind": d.kind, "country": d.country, "status": d.status.value,
            "attempts": d.attempts, "last_reply": d.last_reply, "message_id": d.message_id, "queued_at": d.queued_at,
            "sent_at": d.sent_at, "updated_at": d.updated_at,
            "events": [e.type.value + (f" ({e.bounce_type.value})" if e.bounce_type else "") for e in own],
            "outcome": _outcome(d.status.value, own, events, d.campaign)})
    return {"contact": record.contact.public_dict(), "deliveries": deliveries, "events": [
        {"id": e.id, "type": e.type.value, "campaign": e.campaign, "delivery_id": e.delivery_id,
         "bounce_type": e.bounce_type.value if e.bounce_type else None, "detail": e.detail, "source": e.source,
         "created_at": e.created_at} for e in events]}


def _outcome(status: str, own: list[Event], events: list[Event], campaign: str) -> str:
    """The one-word result of a delivery as a person would ask about it."""
    related = own + [e for e in events if e.delivery_id is None and e.campaign == campaign]
    for kind in (EventType.COMPLAINED, EventType.UNSUBSCRIBED):
        if any(e.type == kind for e in related):
            return f"sent, then {kind.value}"
    if any(e.type == EventType.BOUNCED and e.bounce_type == BounceType.HARD for e in related):
        return "bounced"
    if any(e.type == EventType.BOUNCED for e in related):
        return "sent, soft bounce"
    return status


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its enums as their plain values, as the database holds them."""
    return {key: (value.value if isinstance(value, StrEnum) else value) for key, value in row.items()}
