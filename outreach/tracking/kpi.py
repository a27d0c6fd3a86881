"""The KPI pack for the Commission: one period's reach, campaigns, languages, list changes, consent and bounces.

`build_kpi` checks the options (period, countries, campaigns) and gathers every table as typed cells (text,
whole numbers, dates), so that each format (`kpi_formats`: JSON, CSV, XLSX; `kpi_html`: HTML) only lays them
out. Every figure is defined in `outreach.tracking.definitions`; each table names the definitions it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from outreach.clock import Clock, utcnow_iso
from outreach.countries import COUNTRIES, country_name, parse_country
from outreach.db import kpi as store
from outreach.db.reports import campaigns_in_order
from outreach.db.schema import Database
from outreach.errors import ExitCode, InputError, NotFoundError
from outreach.models import Kind
from outreach.models.kpi import BouncesCleaned, ConsentHeld, SubscriberChange
from outreach.suggest import did_you_mean
from outreach.tracking.reports import build_reach

EXAMPLE = "--from 2027-01-01 --to 2027-06-30"
Cell = str | int | date | None


class CellType(StrEnum):
    """What a column holds, so that each format can type its cells (XLSX numbers and dates, CSV text)."""

    TEXT = "text"
    COUNTRY = "country"  # an ISO code; HTML shows the name too
    INT = "int"
    DATE = "date"


@dataclass(frozen=True)
class Column:
    """One column: its machine name (CSV, JSON, XLSX header), its label (HTML) and its type."""

    key: str
    label: str
    type: CellType = CellType.INT


@dataclass
class KpiTable:
    """One table of the pack: rows of typed cells, a total row when adding up makes sense, the definitions used."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    total: list[Cell] | None = None
    definitions: tuple[str, ...] = ()
    note: str = ""
    key_columns: int = 1  # how many leading cells name a row (the CSV's `key` joins them with "/")


@dataclass
class KpiPack:
    """The whole pack for one period (both days included) and the filters it was made with."""

    date_from: date
    date_to: date
    countries: tuple[str, ...]
    campaigns: tuple[str, ...]
    generated_at: str
    tables: list[KpiTable] = field(default_factory=list)
    empty: bool = False  # nothing sent, no sign-up, unsubscribe or bounce in the period: every figure is zero

    def table_named(self, key: str) -> KpiTable:
        """The table named `key` (KeyError when the pack has no such table)."""
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


def check_period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """Both days given and in order, or a usage error with an example."""
    if date_from is None or date_to is None:
        missing = "--from" if date_from is None else "--to"
        raise InputError(f"The KPI pack needs a period: {missing} is missing", f"For example: {EXAMPLE}.",
                         exit_code=ExitCode.USAGE)
    if date_from > date_to:
        raise InputError(f"--from {date_from} is after --to {date_to}",
                         f"Give the first day first, for example: {EXAMPLE}.", exit_code=ExitCode.USAGE)
    return date_from, date_to


def parse_countries(values: list[str] | None) -> tuple[str, ...]:
    """`--country PL,CZ` (or repeated; codes or names) → ISO codes; an unknown one is named with a suggestion."""
    codes: list[str] = []
    for value in values or []:
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            try:
                code = parse_country(part)
            except InputError:
                known = [*COUNTRIES, *(country_name(c) for c in COUNTRIES)]
                raise InputError(f"--country {part!r} is not an EU/EEA country{did_you_mean(part, known)}",
                                 "Use an ISO code (PL, CZ, EL or GR, …) or a country name.",
                                 exit_code=ExitCode.USAGE) from None
            if code not in codes:
                codes.append(code)
    return tuple(codes)


def check_campaigns(db: Database, values: list[str] | None) -> tuple[str, ...]:
    """`--campaign` slugs that exist in the database; an unknown one is named with a suggestion."""
    known = [info.slug for info in campaigns_in_order(db)]
    slugs: list[str] = []
    for value in values or []:
        for slug in (p.strip() for p in value.split(",")):
            if slug and slug not in known:
                hint = "Known campaigns: " + ", ".join(known) if known else "No campaign has been sent yet."
                raise NotFoundError(f"--campaign {slug!r} is not in the database{did_you_mean(slug, known)}", hint,
                                    exit_code=ExitCode.USAGE)
            if slug and slug not in slugs:
                slugs.append(slug)
    return tuple(slugs)


def build_kpi(db: Database, clock: Clock, date_from: date, date_to: date, *, countries: tuple[str, ...] = (),
              campaigns: tuple[str, ...] = ()) -> KpiPack:
    """Every table of the pack for the period (both days included), narrowed to countries and campaigns."""
    date_from, date_to = check_period(date_from, date_to)
    pack = KpiPack(date_from, date_to, countries, campaigns, utcnow_iso(clock))
    scope = (date_from, date_to, countries)
    pack.tables = [_reach(db, clock, pack), _campaigns(db, pack), _languages(db, pack), _events(db, pack),
                   _subscribers(store.subscriber_changes(db, *scope)), _consent(store.consent_held(db, countries)),
                   _bounces(store.bounces_cleaned(db, *scope))]
    moved = [pack.table_named(key) for key in ("campaigns", "events", "subscribers", "bounces")]
    pack.empty = not any(table.rows for table in moved)
    return pack


def _reach(db: Database, clock: Clock, pack: KpiPack) -> KpiTable:
    reach = build_reach(db, clock, since=pack.date_from, until=pack.date_to, countries=pack.countries,
                        campaigns=pack.campaigns)
    names = {Kind.AUTHORITY.value: "authorities", Kind.SUPPLIER.value: "suppliers", "others": "others",
             "total": "all"}
    columns = [Column("country", "Country", CellType.COUNTRY)]
    for name in names.values():
        columns += [Column(f"{name}_people", f"{name.capitalize()}: people"),
                    Column(f"{name}_organisations", f"{name.capitalize()}: organisations")]

    def cells(people: dict[str, int], organisations: dict[str, int]) -> list[Cell]:
        return [n for audience in names for n in (people.get(audience, 0), organisations.get(audience, 0))]

    # Every BSI country (or every asked one), zeros included, and any other country with a delivered message.
    rows: list[list[Cell]] = [[code, *cells(people, reach.organisations.get(code, {}))]
                              for code, people in reach.countries.items()]
    return KpiTable("reach", "People and organisations reached per country and audience", columns, rows,
                    total=["All countries", *cells(reach.totals, reach.organisation_totals)],
                    definitions=("reached_people", "reached_organisations"),
                    note="Totals are counted distinct on their own, so they can be less than the sum of the rows.")


def _campaigns(db: Database, pack: KpiPack) -> KpiTable:
    found = store.campaigns_sent(db, pack.date_from, pack.date_to, pack.countries, pack.campaigns)
    columns = [Column("campaign", "Campaign", CellType.TEXT), Column("name", "Name", CellType.TEXT),
               Column("first_sent", "First sent", CellType.DATE), Column("last_sent", "Last sent", CellType.DATE),
               Column("languages", "Languages", CellType.TEXT), Column("countries", "Countries"),
               Column("sent", "Sent"), Column("delivered", "Delivered")]
    rows: list[list[Cell]] = [
        [c.slug, c.name, _day(c.first_sent_at), _day(c.last_sent_at), ", ".join(c.languages), c.countries, c.sent,
         c.delivered] for c in found]
    total: list[Cell] = ["All campaigns", None, None, None, None, None,
                         sum(c.sent for c in found), sum(c.delivered for c in found)]
    return KpiTable("campaigns", "Campaigns sent", columns, rows, total=total,
                    definitions=("campaigns_sent", "sent", "delivered"))


def _languages(db: Database, pack: KpiPack) -> KpiTable:
    found = store.languages_sent(db, pack.date_from, pack.date_to, pack.countries, pack.campaigns)
    columns = [Column("language", "Language", CellType.TEXT), Column("campaigns", "Campaigns"),
               Column("sent", "Sent"), Column("delivered", "Delivered")]
    rows: list[list[Cell]] = [[lang.language, lang.campaigns, lang.sent, lang.delivered] for lang in found]
    total: list[Cell] = ["All languages", None, sum(x.sent for x in found), sum(x.delivered for x in found)]
    return KpiTable("languages", "Messages sent per language", columns, rows, total=total,
                    definitions=("sent", "delivered"))


def _events(db: Database, pack: KpiPack) -> KpiTable:
    """Invited → registered → attended per country, for the campaigns with a session starting in the period.

    The figures are those of `outreach event report` (tracking.event_figures), so both always agree.
    """
    from outreach.db.sessions import list_sessions
    from outreach.tracking.event_figures import Funnel, build_event_report

    first_day: dict[str, date] = {}
    for session in list_sessions(db):
        day = date.fromisoformat(session.starts_at[:10])
        if pack.date_from <= day <= pack.date_to and (not pack.campaigns or session.campaign in pack.campaigns):
            first_day[session.campaign] = min(day, first_day.get(session.campaign, day))
    columns = [Column("campaign", "Campaign", CellType.TEXT), Column("country", "Country", CellType.COUNTRY),
               Column("first_session", "First session", CellType.DATE), Column("invited", "Invited"),
               Column("registered", "Registered"), Column("attended", "Attended")]
    rows: list[list[Cell]] = []
    total = Funnel()
    for slug in sorted(first_day, key=lambda c: (first_day[c], c)):
        report = build_event_report(db, campaign=slug, by=("country",))
        for (_, country), funnel in sorted(report.rows.items(), key=lambda item: str(item[0][1] or "~")):
            if not pack.countries or country in pack.countries:
                total.add(funnel)
                rows.append([slug, country or "unknown", first_day[slug], funnel.invited, funnel.registered,
                             funnel.attended])
    return KpiTable("events", "Events: invited, registered and attended", columns, rows,
                    total=["All events", None, None, total.invited, total.registered, total.attended],
                    definitions=("invited", "registered", "attended"), key_columns=2,
                    note="Campaigns with a session that starts in the period; their invitations count whenever "
                         "they were sent.")


def _subscribers(found: list[SubscriberChange]) -> KpiTable:
    columns = [Column("country", "Country", CellType.COUNTRY), Column("signups", "Sign-ups"),
               Column("unsubscribed", "Unsubscribed persons"), Column("net", "Net change")]
    rows: list[list[Cell]] = [[s.country or "unknown", s.gained, s.lost, s.gained - s.lost] for s in found]
    gained, lost = sum(s.gained for s in found), sum(s.lost for s in found)
    return KpiTable("subscribers", "Subscribers gained and lost", columns, rows,
                    total=["All countries", gained, lost, gained - lost],
                    definitions=("subscribers_gained", "subscribers_lost"),
                    note="Country as the contact holds it now; erased persons are counted under unknown.")


_KINDS = {Kind.AUTHORITY.value: "Authorities", Kind.SUPPLIER.value: "Suppliers",
          Kind.SUBSCRIBER.value: "Subscribers", Kind.OTHER.value: "Others"}


def _consent(found: list[ConsentHeld]) -> KpiTable:
    columns = [Column("consent_basis", "Consent basis", CellType.TEXT),
               *[Column(kind, label) for kind, label in _KINDS.items()], Column("all", "All")]
    from outreach.contacts.importing.columns import consent_basis_value

    bases: dict[str, dict[str, int]] = {}
    for held in found:  # "Legitimate interest" and "legitimate_interest" are one basis
        basis = consent_basis_value(held.basis.strip()) if held.basis and held.basis.strip() else "not recorded"
        bases.setdefault(basis, dict.fromkeys(_KINDS, 0))[held.kind] += held.contacts
    rows: list[list[Cell]] = [[basis, *counts.values(), sum(counts.values())]
                              for basis, counts in sorted(bases.items(), key=lambda b: (b[0] == "not recorded", b[0]))]
    total: list[Cell] = ["All contacts", *[sum(c[k] for c in bases.values()) for k in _KINDS],
                         sum(held.contacts for held in found)]
    return KpiTable("consent", "Consent basis held (contacts that may be mailed, now)", columns, rows, total=total,
                    definitions=("consent_basis",))


def _bounces(found: list[BouncesCleaned]) -> KpiTable:
    columns = [Column("country", "Country", CellType.COUNTRY), Column("refused", "Refused while sending"),
               Column("reported", "Hard bounce reports"), Column("repeated_soft", "Repeated soft bounces"),
               Column("addresses", "Addresses cleaned")]
    rows: list[list[Cell]] = [[b.country or "unknown", b.refused, b.reported, b.repeated_soft, b.total]
                              for b in found]
    total: list[Cell] = ["All countries", *[sum(getattr(b, k) for b in found)
                                            for k in ("refused", "reported", "repeated_soft", "total")]]
    return KpiTable("bounces", "Bounces cleaned", columns, rows, total=total, definitions=("bounces_cleaned",))


def _day(stamp: str) -> date:
    return date.fromisoformat(stamp[:10])

