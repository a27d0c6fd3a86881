"""The coordinator's report as ONE standalone HTML file: no external request, inline CSS, inline SVG charts.

It is written to be attached to a report to the Commission, so it is an English document (the project's working
language), prints cleanly (print CSS, no interactive parts), and its tables are accessible (caption, th scope).
Every value that comes from the database is escaped.
"""

from __future__ import annotations

from html import escape

from outreach.countries import country_name
from outreach.models import Kind
from outreach.tracking.reports import METRICS, RATES, TOTAL, Reach, Report

_LABELS = {"targeted": "Targeted", "sent": "Sent", "failed": "Failed", "unknown": "Unknown", "pending": "Pending",
           "bounced": "Bounced (hard)", "soft_bounced": "Soft bounces", "complained": "Complaints",
           "unsubscribed": "Unsubscribed", "delivery_rate": "Delivery rate", "bounce_rate": "Bounce rate",
           "complaint_rate": "Complaint rate", "unsubscribe_rate": "Unsubscribe rate",
           "country": "Country", "kind": "Audience", "language": "Language"}
_AUDIENCE = {Kind.AUTHORITY.value: "Contracting authorities", Kind.SUPPLIER.value: "Social-economy suppliers",
             "others": "Other audiences"}
_COLOURS = {Kind.AUTHORITY.value: "#1f4e79", Kind.SUPPLIER.value: "#c55a11"}

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif;
       color: #1b1b1b; background: #fff; margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 2px solid #1f4e79; padding-bottom: .2rem; }
.meta { color: #444; margin: 0 0 1rem; }
.headline { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin: 0;
            padding: 0; list-style: none; }
.headline li { border: 1px solid #c8d3df; border-radius: 6px; padding: 10px 12px; background: #f5f8fb; }
.headline .value { display: block; font-size: 1.5rem; font-weight: 700; color: #1f4e79; }
.headline .label { font-size: .85rem; color: #333; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .88rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border: 1px solid #c8d3df; padding: 4px 6px; }
th { background: #e8eef5; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total th, tr.total td { font-weight: 700; background: #f5f8fb; }
figure { margin: 0 0 1rem; }
figcaption { font-size: .85rem; color: #333; }
.legend { display: flex; gap: 16px; font-size: .85rem; margin: .3rem 0; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
footer { margin-top: 2rem; font-size: .8rem; color: #555; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; }
  table, figure, .headline li { break-inside: avoid; }
  thead { display: table-header-group; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  @page { size: A4; margin: 15mm; }
}
"""


def render_html(report: Report, reach: Reach, *, title: str = "Buying for Social Impact — outreach report") -> str:
    """The whole standalone document for one report and the reach of the same period."""
    period = _period(report.since, report.until)
    total = report.total(None)
    rates = total.rates()
    headline = [
        (f"{len(report.campaigns):,}", "Campaigns"),
        (f"{total.sent:,}", "Messages sent"),
        (f"{reach.totals[Kind.AUTHORITY.value]:,}", "Contracting authorities reached"),
        (f"{reach.totals[Kind.SUPPLIER.value]:,}", "Social-economy suppliers reached"),
        (_pct(rates["bounce_rate"]), "Bounce rate"),
        (_pct(rates["complaint_rate"]), "Complaint rate"),
        (_pct(rates["unsubscribe_rate"]), "Unsubscribe rate"),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Period: <strong>{escape(period)}</strong> · Generated: '
        f'<time datetime="{escape(report.generated_at)}">{escape(_when(report.generated_at))}</time></p>',
        "</header>",
        "<main>",
        '<section aria-labelledby="h-headline"><h2 id="h-headline">Headline figures</h2><ul class="headline">',
        *[f'<li><span class="value">{escape(value)}</span> <span class="label">{escape(label)}</span></li>'
          for value, label in headline],
        "</ul></section>",
        '<section aria-labelledby="h-reach"><h2 id="h-reach">Reach per country and audience</h2>',
        _reach_chart(reach),
        _reach_table(reach),
        "</section>",
        '<section aria-labelledby="h-campaigns"><h2 id="h-campaigns">Campaigns</h2>',
        _campaign_table(report),
        "</section>",
    ]
    if report.by:
        parts += ['<section aria-labelledby="h-breakdown"><h2 id="h-breakdown">Breakdown by '
                  f'{escape(", ".join(_LABELS[d].lower() for d in report.by))}</h2>',
                  _breakdown_table(report), "</section>"]
    parts += [
        "</main>",
        "<footer><p>Sent: accepted by the mail relay. Bounced: permanent delivery failures reported afterwards. "
        "Rates of bounces, complaints and unsubscribes are over messages sent; the delivery rate is over messages "
        "targeted. Reach counts distinct people who were sent at least one campaign in the period.</p></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _reach_chart(reach: Reach) -> str:
    """Horizontal grouped bars: authorities and suppliers reached in each country."""
    rows = [(code, values) for code, values in reach.countries.items()]
    label_width, bar_area, row_height, bar = 170, 470, 34, 12
    largest = max([1, *[max(v[Kind.AUTHORITY.value], v[Kind.SUPPLIER.value]) for _, v in rows]])
    height = row_height * len(rows) + 10
    width = label_width + bar_area + 70
    out = [f'<figure><svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title" '
           f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">',
           '<title id="chart-title">Contracting authorities and social-economy suppliers reached per country'
           '</title>']
    for index, (code, values) in enumerate(rows):
        y = index * row_height + 5
        out.append(f'<text x="{label_width - 8}" y="{y + bar + 3}" text-anchor="end" font-size="12" '
                   f'fill="#1b1b1b">{escape(_country(code))}</text>')
        for offset, audience in enumerate((Kind.AUTHORITY.value, Kind.SUPPLIER.value)):
            n = values[audience]
            length = round(bar_area * n / largest, 1)
            top = y + offset * (bar + 2)
            out.append(f'<rect x="{label_width}" y="{top}" width="{length}" height="{bar}" '
                       f'fill="{_COLOURS[audience]}"><title>{escape(_country(code))}: {n:,} '
                       f'{escape(_AUDIENCE[audience].lower())}</title></rect>')
            out.append(f'<text x="{label_width + length + 4}" y="{top + bar - 2}" font-size="10" '
                       f'fill="#1b1b1b">{n:,}</text>')
    out.append("</svg>")
    out.append('<figcaption><div class="legend">' + "".join(
        f'<span><span class="swatch" style="background:{_COLOURS[a]}"></span>{escape(_AUDIENCE[a])}</span>'
        for a in (Kind.AUTHORITY.value, Kind.SUPPLIER.value)) + "</div>"
        "Distinct contacts sent at least one campaign in the period.</figcaption></figure>")
    return "\n".join(out)


def _reach_table(reach: Reach) -> str:
    heads = ["Contracting authorities", "Social-economy suppliers", "Other audiences", "All", "Campaigns"]
    keys = [Kind.AUTHORITY.value, Kind.SUPPLIER.value, "others", "total", "campaigns"]
    body = [_tr(_country(code), [values[k] for k in keys]) for code, values in reach.countries.items()]
    body.append(_tr("All countries", [reach.totals[k] for k in keys], total=True))
    return _table("reach", "Distinct contacts reached per country and audience", "Country", heads, body)


def _campaign_table(report: Report) -> str:
    names = {c.slug: c.name for c in report.campaigns}
    heads = [_LABELS[m] for m in (*METRICS, *RATES)]
    body = []
    for row in report.rows:
        if row.is_total:
            label = names.get(row.campaign or "", row.campaign or "") if row.campaign else "All campaigns"
            body.append(_tr(label, _cells(row.counts), total=row.campaign is None))
    return _table("campaigns", "Messages and outcomes per campaign", "Campaign", heads, body)


def _breakdown_table(report: Report) -> str:
    names = {c.slug: c.name for c in report.campaigns}
    heads = [_LABELS[d] for d in report.by] + [_LABELS[m] for m in (*METRICS, *RATES)]
    body = []
    for row in report.rows:
        label = names.get(row.campaign, row.campaign) if row.campaign else "All campaigns"
        groups = [_group_value(d, row.group[d]) for d in report.by]
        body.append(_tr(label, [*groups, *_cells(row.counts)], total=row.is_total))
    caption = "Messages and outcomes per campaign and " + ", ".join(_LABELS[d].lower() for d in report.by)
    return _table("breakdown", caption, "Campaign", heads, body)


def _cells(counts) -> list[object]:
    rates = counts.rates()
    return [*[getattr(counts, m) for m in METRICS], *[_pct(rates[r]) for r in RATES]]


def _table(table_id: str, caption: str, first: str, heads: list[str], body: list[str]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in [first, *heads])
    return (f'<table id="{table_id}"><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _tr(label: str, values: list[object], *, total: bool = False) -> str:
    cells = "".join(f'<td class="num">{escape(f"{v:,}" if isinstance(v, int) else str(v))}</td>' for v in values)
    css = ' class="total"' if total else ""
    return f'<tr{css}><th scope="row">{escape(str(label))}</th>{cells}</tr>'


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
