"""The `link_clicks` table: aggregated click counts (campaign × link × language × country × kind × day).

No contact, address, IP address or user agent is ever stored: a click adds one to a count. What counts as a
scanner is `outreach.tracking.clicks`' decision; this module only adds and reads.
"""

from __future__ import annotations

from outreach.db.schema import Database
from outreach.models.clicks import ClickCount, ClickVariant


def add_click(db: Database, variant: ClickVariant, day: str, *, scanner: bool) -> None:
    """Count one request for a tracked link on `day` (YYYY-MM-DD), as a click or as a scanner hit."""
    clicks, hits = (0, 1) if scanner else (1, 0)
    db.execute(
        "INSERT INTO link_clicks (campaign, url, language, country, kind, day, clicks, scanner_hits) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign, url, language, country, kind, day) DO UPDATE SET "
        "clicks = clicks + excluded.clicks, scanner_hits = scanner_hits + excluded.scanner_hits",
        [variant.campaign, variant.url, variant.language, variant.country, variant.kind, day, clicks, hits])


def last_sent_to(db: Database, variant: ClickVariant) -> str | None:
    """When the latest message of the campaign went to a reader of this language, country and kind (or None)."""
    row = db.execute(
        "SELECT max(sent_at) FROM deliveries WHERE campaign = ? AND country IS ? AND kind = ? AND language = ?",
        [variant.campaign, variant.country or None, variant.kind, variant.language]).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def click_counts(db: Database, campaign: str | None = None, since: str | None = None,
                 until: str | None = None) -> list[ClickCount]:
    """Clicks per campaign × link × country × language over the days [since, until] (YYYY-MM-DD, inclusive)."""
    where, params = ["1 = 1"], []
    for clause, value in (("campaign = ?", campaign), ("day >= ?", since), ("day <= ?", until)):
        if value is not None:
            where.append(clause)
            params.append(value)
    rows = db.execute(
        "SELECT campaign, url, country, language, sum(clicks), sum(scanner_hits) FROM link_clicks "
        f"WHERE {' AND '.join(where)} GROUP BY campaign, url, country, language "
        "ORDER BY campaign, url, country, language", params).fetchall()
    return [ClickCount(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), int(r[5])) for r in rows]


def known_campaigns(db: Database) -> list[str]:
    """The campaigns of this database and those with click counts (for "did you mean" on a mistyped slug)."""
    rows = db.execute("SELECT slug FROM campaigns UNION SELECT campaign FROM link_clicks ORDER BY 1").fetchall()
    return [str(row[0]) for row in rows]
