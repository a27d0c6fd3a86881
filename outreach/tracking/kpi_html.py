"""The KPI pack as ONE standalone HTML file: inline CSS, inline SVG charts with text alternatives, print CSS.

Like the outreach report (report_html.py, whose CSS, table macro and template loader it shares) it is an English
document that prints on A4 portrait and reads at 1100 px without scrolling sideways. This module turns a
`KpiPack` into what `templates/kpi.html.j2` shows, every figure already formatted; autoescape is on there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from outreach.countries import country_name
from outreach.tracking.definitions import DEFINITIONS
from outreach.tracking.kpi import Cell, CellType, KpiPack, KpiTable
from outreach.tracking.kpi_formats import definition_names
from outreach.tracking.report_html import Table, TableRow, _template

TITLE = "Buying for Social Impact — KPI pack"
# Short section headings; each table's caption carries its full title.
HEADINGS = {"reach": "Reach", "campaigns": "Campaigns", "languages": "Languages", "events": "Events",
            "subscribers": "Subscribers", "consent": "Consent", "bounces": "List hygiene"}
# The chart's geometry (SVG user units): labels, then the bars, then room for the figures.
_LABEL_WIDTH, _BAR_AREA, _ROW_HEIGHT, _BAR = 150, 430, 30, 11
_SERIES = (("authorities_organisations", "Contracting authorities", "#1f4e79"),
           ("suppliers_organisations", "Social-economy suppliers", "#b04a0c"))


@dataclass(frozen=True)
class Bar:
    """One bar with its figure written after it; `label` is its text alternative."""

    y: int
    length: float
    colour: str
    label: str
    value: str
    value_x: float


@dataclass(frozen=True)
class ChartRow:
    """One country of the chart: its name and one bar per series."""

    name: str
    label_y: int
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    """Horizontal grouped bars, with a title and a description that say what the picture shows."""

    id: str
    title: str
    description: str
    width: int
    height: int
    label_x: int
    bar_x: int
    bar: int
    rows: list[ChartRow]
    legend: list[tuple[str, str]]  # (colour, label)


@dataclass(frozen=True)
class Section:
    """One table of the pack with its heading, optional chart and note."""

    key: str
    heading: str
    table: Table
    note: str
    chart: Chart | None = None


def render_kpi_html(pack: KpiPack, *, title: str = TITLE) -> str:
    """The whole standalone document for one KPI pack."""
    reach = pack.table_named("reach")
    total = dict(zip([c.key for c in reach.columns], reach.total or [], strict=False))
    campaigns, languages = pack.table_named("campaigns"), pack.table_named("languages")
    subscribers, events = (dict(zip([c.key for c in pack.table_named(key).columns], pack.table_named(key).total or [],
                                    strict=False)) for key in ("subscribers", "events"))
    headline = [(_format(total.get("all_people")), "People reached"),
                (_format(total.get("all_organisations")), "Organisations reached"),
                (_format(total.get("authorities_organisations")), "Contracting authorities reached"),
                (_format(total.get("suppliers_organisations")), "Social-economy suppliers reached"),
                (_format(len(campaigns.rows)), "Campaigns sent"), (_format(len(languages.rows)), "Languages"),
                (_format(events.get("attended")), "Event attendees"),
                (_format(subscribers.get("signups")), "Sign-ups"),
                (_format(subscribers.get("unsubscribed")), "Unsubscribed persons")]
    sections = [Section(t.key, HEADINGS.get(t.key, t.title), _table(t), t.note,
                        _chart(t) if t.key == "reach" else None) for t in pack.tables]
    filters = [f"countries {', '.join(pack.countries)}" if pack.countries else "",
               f"campaigns {', '.join(pack.campaigns)}" if pack.campaigns else ""]
    return _template("kpi.html.j2").render(
        title=title, period=f"{pack.date_from.isoformat()} to {pack.date_to.isoformat()}",
        filters="; ".join(f for f in filters if f), generated_at=pack.generated_at,
        generated=pack.generated_at.replace("T", " ").replace("Z", " UTC"), empty=pack.empty, headline=headline,
        sections=sections, footnotes=[DEFINITIONS[name] for name in definition_names(pack)])


def _table(table: KpiTable) -> Table:
    """The view of one pack table: first cell as the row header, text cells first, then figures."""
    text_cells = 0
    for column in table.columns[1:]:
        if column.type == CellType.INT:
            break
        text_cells += 1
    rows = [TableRow(_format(row[0], table.columns[0].type), [_format(c, col.type) for c, col in
                                                                zip(row[1:], table.columns[1:], strict=True)])
            for row in table.rows]
    if table.total is not None:
        rows.append(TableRow(str(table.total[0]), [_format(c, col.type) for c, col in
                                                   zip(table.total[1:], table.columns[1:], strict=True)], True))
    caption = table.title + ("" if table.rows else " — nothing in this period")
    return Table(f"t-{table.key}", caption, [c.label for c in table.columns], rows, text_cells=text_cells)


def _format(cell: Cell, kind: CellType = CellType.INT) -> str:
    if cell is None:
        return ""
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, int):
        return f"{cell:,}"
    if kind == CellType.COUNTRY and len(cell) == 2:
        name = country_name(cell)
        return cell if name == cell else f"{name} ({cell})"
    return cell


def _count(cell: Cell) -> int:
    return cell if isinstance(cell, int) else 0


def _chart(table: KpiTable) -> Chart:
    """Organisations reached per country, authorities and suppliers side by side, scaled to the largest."""
    keys = [c.key for c in table.columns]
    rows = [dict(zip(keys, row, strict=True)) for row in table.rows]
    largest = max([1, *[_count(row[key]) for row in rows for key, _, _ in _SERIES]])
    chart_rows = []
    for index, row in enumerate(rows):
        y = index * _ROW_HEIGHT + 4
        name = _format(row["country"], CellType.COUNTRY)
        bars = []
        for offset, (key, label, colour) in enumerate(_SERIES):
            n = _count(row[key])
            length = round(_BAR_AREA * n / largest, 1)
            bars.append(Bar(y + offset * (_BAR + 2), length, colour, f"{name}: {n:,} {label.lower()}", f"{n:,}",
                            _LABEL_WIDTH + length + 4))
        chart_rows.append(ChartRow(name, y + _BAR + 2, bars))
    leaders = sorted(rows, key=lambda r: -_count(r["all_organisations"]))[:3]
    described = ", ".join(f"{_format(r['country'], CellType.COUNTRY)} {_count(r['all_organisations']):,}"
                          for r in leaders if r["all_organisations"])
    description = ("Bar chart of the organisations reached per country, contracting authorities and "
                   "social-economy suppliers side by side; the table below gives every figure. "
                   + (f"Most organisations reached: {described}." if described else "No organisation was reached."))
    return Chart("chart-reach", "Organisations reached per country and audience", description,
                 _LABEL_WIDTH + _BAR_AREA + 60, _ROW_HEIGHT * len(rows) + 8, _LABEL_WIDTH - 8, _LABEL_WIDTH, _BAR,
                 chart_rows, [(colour, label) for _, label, colour in _SERIES])
