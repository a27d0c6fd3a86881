"""Click counts without surveillance: counting a request for a tracked link, and the report of the counts.

A tracked link (`/l/<token>`, see `outreach.render.clicks`) names a campaign, a link, a language, a country and a
kind — never a person — so a click can only ever add one to a count. Requests that are clearly not a person are
counted apart as scanner hits (`scanner_reason`). The report shows counts of 1 to 4 as "<5", so that a figure
never points at one reader in a small country × language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from outreach.clock import Clock, parse_isoformat
from outreach.db import clicks as store
from outreach.db.schema import Database
from outreach.errors import NotFoundError
from outreach.models.clicks import ClickCount, ClickVariant
from outreach.suggest import closest

# Mail security gateways fetch every link of a message as it arrives, within seconds of its sending.
SCANNER_WINDOW_SECONDS = 60
# Parts of user agents that announce a security scanner, link checker or script (compared in small letters).
SCANNER_AGENTS = ("barracuda", "mimecast", "proofpoint", "trendmicro", "symantec", "forcepoint", "sophos",
                  "ironport", "fireeye", "headlesschrome", "python-requests", "go-http-client", "curl/", "wget/",
                  "bot/", "crawler", "spider", "scan")
SUPPRESS_BELOW = 5  # counts from 1 to this minus one are shown as "<5"


def scanner_reason(variant: ClickVariant, method: str, user_agent: str, now_iso: str, last_sent: str | None) -> str:
    """Why a request is counted as a scanner hit, or "" when it counts as a click.

    HEAD (a browser never sends one for a link), no user agent or a known scanner's, or a request within
    SCANNER_WINDOW_SECONDS of the latest message of the campaign to that language × country × kind."""
    if method.upper() == "HEAD":
        return "HEAD request"
    agent = user_agent.lower()
    if not agent.strip():
        return "no user agent"
    known = next((name for name in SCANNER_AGENTS if name in agent), None)
    if known:
        return f"user agent names {known!r}"
    if last_sent is not None:
        seconds = (parse_isoformat(now_iso) - parse_isoformat(last_sent)).total_seconds()
        if 0 <= seconds < SCANNER_WINDOW_SECONDS:
            return f"{seconds:.0f} s after a message went to {variant.language}/{variant.country}/{variant.kind}"
    return ""


def count_click(db: Database, clock: Clock, variant: ClickVariant, method: str, user_agent: str) -> bool:
    """Add one request for a tracked link to today's count; True when it was counted as a scanner hit.

    Nothing of the request is kept: neither address nor user agent, only the count."""
    from outreach.clock import utcnow_iso

    now = utcnow_iso(clock)
    last_sent = None if method.upper() == "HEAD" else store.last_sent_to(db, variant)
    scanner = bool(scanner_reason(variant, method, user_agent, now, last_sent))
    store.add_click(db, variant, now[:10], scanner=scanner)
    return scanner


@dataclass(frozen=True)
class ClickReport:
    """Clicks per link × country × language for a period (and one campaign, or all)."""

    campaign: str | None
    since: date | None
    until: date | None
    rows: list[ClickCount]


def build_click_report(db: Database, campaign: str | None = None, since: date | None = None,
                       until: date | None = None) -> ClickReport:
    """The click counts of the period; an unknown campaign is named with a suggestion."""
    if campaign is not None:
        known = store.known_campaigns(db)
        if campaign not in known:
            match = closest(campaign, known)
            raise NotFoundError(f"No campaign {campaign!r} in this database"
                                + (f" — did you mean {match}?" if match else ""),
                                f"Campaigns here: {', '.join(known) or 'none yet'}.")
    rows = store.click_counts(db, campaign, since.isoformat() if since else None,
                              until.isoformat() if until else None)
    return ClickReport(campaign, since, until, rows)


def shown(count: int) -> str | int:
    """A count as a report may show it: 1 to 4 become "<5" (0 stays 0: nobody clicked)."""
    return f"<{SUPPRESS_BELOW}" if 0 < count < SUPPRESS_BELOW else count


COLUMNS = ("campaign", "link", "country", "language", "clicks", "scanner_hits")


def click_rows(report: ClickReport) -> list[list[str | int]]:
    """The report's rows, small counts suppressed, in COLUMNS order."""
    return [[row.campaign, row.url, row.country or "–", row.language, shown(row.clicks), shown(row.scanner_hits)]
            for row in report.rows]


def click_document(report: ClickReport) -> dict[str, object]:
    """The JSON document of `outreach report --clicks --format json`."""
    return {
        "campaign": report.campaign,
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "suppressed_below": SUPPRESS_BELOW,
        "scanner_window_seconds": SCANNER_WINDOW_SECONDS,
        "rows": [dict(zip(COLUMNS, row, strict=True)) for row in click_rows(report)],
    }


def click_csv(report: ClickReport) -> str:
    """The report as CSV (one header line, one line per link × country × language)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(click_rows(report))
    return buffer.getvalue()
