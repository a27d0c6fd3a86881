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
from outreach.models.tracking import CampaignInfo, DeliveryRecord, Event, SignupRecord

DIMENSIONS = store.BREAKDOWNS
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
        """Add another row's figures to these (for totals)."""
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
        """The figures and their rates, as one row of the JSON report."""
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
        raise NotFoundError(f"No campaign {campaign!r} in the database", hint)
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
    counts once (they cannot be told apart any more).
    """
    per_kind, per_country, overall = store.reach_figures(db, since=since, until=until)
    columns = (*AUDIENCES, "total", "campaigns")
    countries: dict[str, dict[str, int]] = {code: dict.fromkeys(columns, 0) for code in BSI_COUNTRIES}
    totals = dict.fromkeys(columns, 0)
    for figures in per_kind:
        audience = figures.kind if figures.kind in (Kind.AUTHORITY, Kind.SUPPLIER) else "others"
        assert audience is not None
        reached = figures.people + figures.anonymous
        countries.setdefault(figures.country or "??", dict.fromkeys(columns, 0))[audience] += reached
        totals[audience] += reached
    for figures in per_country:
        countries[figures.country or "??"]["total"] = figures.people + figures.anonymous
        countries[figures.country or "??"]["campaigns"] = figures.campaigns
    totals["total"], totals["campaigns"] = overall.people + overall.anonymous, overall.campaigns
    return Reach(since=since.isoformat() if since else None, until=until.isoformat() if until else None,
                 generated_at=utcnow_iso(clock), countries=dict(sorted(countries.items())), totals=totals)


def reach_document(reach: Reach) -> dict[str, Any]:
    """The JSON shape of `outreach report reach --format json`."""
    return {"period": {"since": reach.since, "until": reach.until}, "generated_at": reach.generated_at,
            "countries": [{"country": code, **values} for code, values in reach.countries.items()],
            "totals": reach.totals}


def reach_csv(reach: Reach) -> str:
    """One CSV line per country, then the totals marked (all)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["country", "authorities", "suppliers", "others", "total", "campaigns"])
    for code, values in [*reach.countries.items(), (TOTAL, reach.totals)]:
        writer.writerow([code, values[Kind.AUTHORITY.value], values[Kind.SUPPLIER.value], values["others"],
                         values["total"], values["campaigns"]])
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
