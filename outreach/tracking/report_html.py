"""The coordinator's report as ONE standalone HTML file: no external request, inline CSS, inline SVG charts.

It is written to be attached to a report to the Commission, so it is an English document (the project's working
language), prints cleanly (print CSS, no interactive parts), and its tables are accessible (caption, th scope).
The page is the Jinja2 template `templates/report.html.j2` (autoescaped: every value from the database is
escaped there); this module turns a report into what the template shows, every figure already formatted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.countries import country_name
from outreach.models import Kind
from outreach.tracking.definitions import DEFINITIONS, Definition
from outreach.tracking.reports import METRICS, RATES, TOTAL, Counts, Reach, Report

if TYPE_CHECKING:
    from jinja2 import Template

TEMPLATES = Path(__file__).resolve().parent / "templates"

_LABELS = {**{name: d.label for name, d in DEFINITIONS.items()},
           "country": "Country", "kind": "Audience", "language": "Language"}
_AUDIENCE = {Kind.AUTHORITY.value: "Contracting authorities", Kind.SUPPLIER.value: "Social-economy suppliers",
             "others": "Other audiences"}
_COLOURS = {Kind.AUTHORITY.value: "#1f4e79", Kind.SUPPLIER.value: "#c55a11"}
_CHARTED = (Kind.AUTHORITY.value, Kind.SUPPLIER.value)
# The chart's geometry (SVG user units): country labels, then the bars, then room for the figures.
_LABEL_WIDTH, _BAR_AREA, _ROW_HEIGHT, _BAR = 170, 470, 34, 12


@dataclass(frozen=True)
class TableRow:
    """One body row: a header cell and the figures, already formatted."""

    label: str
    cells: list[str]
    total: bool = False


@dataclass(frozen=True)
class Table:
    """One accessible table: its id, caption, column heads (the row-header column first) and rows.

    The first `text_cells` cells of each row are words (they may wrap); the rest are figures (they never do).
    """

    id: str
    caption: str
    heads: list[str]
    rows: list[TableRow]
    text_cells: int = 0


@dataclass(frozen=True)
class Bar:
    """One bar of the reach chart, with the figure written after it."""

    top: int
    length: float
    colour: str
    title: str
    value: str
    value_x: float
    value_y: int


@dataclass(frozen=True)
class ChartRow:
    """One country of the reach chart: its label and a bar per charted audience."""

    country: str
    label_y: int
    bars: list[Bar]


@dataclass(frozen=True)
class LegendItem:
    """One audience in the chart's legend."""

    colour: str
    label: str


@dataclass(frozen=True)
class Chart:
    """Horizontal grouped bars: authorities and suppliers reached in each country."""

    width: int
    height: int
    label_x: int
    bar_x: int
    bar: int
    rows: list[ChartRow]
    legend: list[LegendItem]


def render_html(report: Report, reach: Reach, *, title: str = "Buying for Social Impact — outreach report") -> str:
    """The whole standalone document for one report and the reach of the same period."""
    total = report.total(None)
    rates = total.rates()
    headline = [
        (f"{len(report.campaigns):,}", "Campaigns"),
        (f"{total.sent:,}", "Messages sent"),
        (f"{total.delivered:,}", "Messages delivered"),
        (f"{reach.totals[Kind.AUTHORITY.value]:,}", "Contracting authorities reached (people)"),
        (f"{reach.organisation_totals.get(Kind.AUTHORITY.value, 0):,}",
         "Contracting authorities reached (organisations)"),
        (f"{reach.totals[Kind.SUPPLIER.value]:,}", "Social-economy suppliers reached (people)"),
        (_pct(rates["bounce_rate"]), "Bounce rate"),
        (_pct(rates["complaint_rate"]), "Complaint rate"),
        (_pct(rates["unsubscribe_rate"]), "Unsubscribe rate"),
    ]
    campaigns, outcomes = _campaign_tables(report)
    breakdown = _breakdown_tables(report) if report.by else (None, None)
    return _template().render(
        title=title, period=_period(report.since, report.until), generated_at=report.generated_at,
        generated=_when(report.generated_at), headline=headline, chart=_reach_chart(reach),
        reach=_reach_table(reach), campaigns=campaigns, outcomes=outcomes, breakdown=breakdown[0],
        breakdown_outcomes=breakdown[1],
        breakdown_by=", ".join(_LABELS[d].lower() for d in report.by), footnotes=footnotes(FOOTNOTES))


# The figures the report shows, in the order its footnotes define them.
FOOTNOTES = ("period", *METRICS, *RATES, "reached_people", "reached_organisations")


def footnotes(names: tuple[str, ...]) -> list[Definition]:
    """The definitions printed at the foot of a report (the same text as docs/tracking.md)."""
    return [DEFINITIONS[name] for name in names]


@cache
def _template(name: str = "report.html.j2") -> Template:
    """A template of the standalone reports (this one, and the KPI pack's), autoescaped and strict."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, auto_reload=False)
    return env.get_template(name)


def _reach_chart(reach: Reach) -> Chart:
    rows = list(reach.countries.items())
    largest = max([1, *[max(v[Kind.AUTHORITY.value], v[Kind.SUPPLIER.value]) for _, v in rows]])
    width = _LABEL_WIDTH + _BAR_AREA + 70
    chart_rows = []
    for index, (code, values) in enumerate(rows):
        y = index * _ROW_HEIGHT + 5
        bars = []
        for offset, audience in enumerate(_CHARTED):
            n = values[audience]
            length = round(_BAR_AREA * n / largest, 1)
            top = y + offset * (_BAR + 2)
            bars.append(Bar(top, length, _COLOURS[audience], f"{_country(code)}: {n:,} {_AUDIENCE[audience].lower()}",
                            f"{n:,}", _LABEL_WIDTH + length + 4, top + _BAR - 2))
        chart_rows.append(ChartRow(_country(code), y + _BAR + 3, bars))
    return Chart(width=width, height=_ROW_HEIGHT * len(rows) + 10, label_x=_LABEL_WIDTH - 8, bar_x=_LABEL_WIDTH,
                 bar=_BAR, rows=chart_rows, legend=[LegendItem(_COLOURS[a], _AUDIENCE[a]) for a in _CHARTED])


def _reach_table(reach: Reach) -> Table:
    heads = ["Authorities: people", "Authorities: organisations", "Suppliers: people", "Suppliers: organisations",
             "Others: people", "All: people", "All: organisations", "Campaigns"]
    people_keys = {0: Kind.AUTHORITY.value, 2: Kind.SUPPLIER.value, 4: "others", 5: "total", 7: "campaigns"}
    org_keys = {1: Kind.AUTHORITY.value, 3: Kind.SUPPLIER.value, 6: "total"}

    def cells(people: dict[str, int], organisations: dict[str, int]) -> list[int | str]:
        return [people[people_keys[i]] if i in people_keys else organisations.get(org_keys[i], 0)
                for i in range(len(heads))]

    body = [_row(_country(code), cells(values, reach.organisations.get(code, {})))
            for code, values in reach.countries.items()]
    body.append(_row("All countries", cells(reach.totals, reach.organisation_totals), total=True))
    return Table("reach", "People and organisations reached per country and audience", ["Country", *heads], body)


# The report's figures in two narrower tables, so that each fits 1100 px and an A4 portrait page.
MESSAGES = ("targeted", "sent", "delivered", "failed", "unknown", "pending")
OUTCOMES = ("bounced", "soft_bounced", "complained", "unsubscribed")


def _campaign_tables(report: Report) -> tuple[Table, Table]:
    names = {c.slug: c.name for c in report.campaigns}
    messages, outcomes = [], []
    for row in report.rows:
        if row.is_total:
            label = names.get(row.campaign or "", row.campaign or "") if row.campaign else "All campaigns"
            messages.append(_row(label, _messages(row.counts), total=row.campaign is None))
            outcomes.append(_row(label, _outcomes(row.counts), total=row.campaign is None))
    return (Table("campaigns", "Messages per campaign", ["Campaign", *_heads(MESSAGES)], messages),
            Table("outcomes", "Outcomes per campaign (rates over sent)", ["Campaign", *_heads(OUTCOMES, RATES)],
                  outcomes))


def _breakdown_tables(report: Report) -> tuple[Table, Table]:
    names = {c.slug: c.name for c in report.campaigns}
    group_head = ", ".join(_LABELS[d] for d in report.by)
    messages, outcomes = [], []
    for row in report.rows:
        label = names.get(row.campaign, row.campaign) if row.campaign else "All campaigns"
        group = ", ".join(_group_value(d, row.group[d]) for d in report.by) if not row.is_total else "All"
        messages.append(_row(label, [group, *_messages(row.counts)], total=row.is_total))
        outcomes.append(_row(label, [group, *_outcomes(row.counts)], total=row.is_total))
    by = ", ".join(_LABELS[d].lower() for d in report.by)
    return (Table("breakdown", f"Messages per campaign and {by}", ["Campaign", group_head, *_heads(MESSAGES)],
                  messages, text_cells=1),
            Table("breakdown-outcomes", f"Outcomes per campaign and {by} (rates over sent)",
                  ["Campaign", group_head, *_heads(OUTCOMES, RATES)], outcomes, text_cells=1))


def _heads(*names: tuple[str, ...]) -> list[str]:
    return [_LABELS[name] for group in names for name in group]


def _messages(counts: Counts) -> list[int | str]:
    return [getattr(counts, m) for m in MESSAGES]


def _outcomes(counts: Counts) -> list[int | str]:
    rates = counts.rates()
    return [*[getattr(counts, m) for m in OUTCOMES], *[_pct(rates[r]) for r in RATES]]


def _row(label: str, values: list[int | str], *, total: bool = False) -> TableRow:
    return TableRow(label, [f"{v:,}" if isinstance(v, int) else str(v) for v in values], total)


def _group_value(dimension: str, value: str | None) -> str:
    if value is None:
        return TOTAL
    if dimension == "country":
        return _country(value)
    if dimension == "kind":
        return _AUDIENCE.get(value, value.capitalize())
    return value


def _country(code: str) -> str:
    try:
        name = country_name(code)
    except Exception:  # a code Babel cannot look up
        return code
    return code if name == code else f"{name} ({code})"


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f} %"


def _period(since: str | None, until: str | None) -> str:
    if since and until:
        return f"{since} to {until}"
    if since:
        return f"from {since}"
    if until:
        return f"until {until}"
    return "all time"


def _when(stamp: str) -> str:
    return stamp.replace("T", " ").replace("Z", " UTC")
