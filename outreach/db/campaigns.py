"""The `campaigns` table: one row per campaign ever sent — its name, source language, content hash per language,
and when its first and last messages went. Written by delivery; read by the web pages (the archive of sent
campaigns, and whether an unsubscribe link's campaign is known).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from outreach.db.schema import Database
from outreach.models.archive import SentCampaign
from outreach.models.campaigns import CampaignRecord

_SENT = "SELECT slug, name, content_hashes, first_sent_at FROM campaigns WHERE first_sent_at IS NOT NULL"


def record_campaign(db: Database, now: str, slug: str, name: str, source_language: str,
                    content_hashes: Mapping[str, str]) -> None:
    """Write or refresh the row of a campaign about to be sent (its creation time stays the first one)."""
    db.execute(
        "INSERT INTO campaigns (slug, name, source_language, content_hashes, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(slug) DO UPDATE SET name = excluded.name, source_language = excluded.source_language, "
        "content_hashes = excluded.content_hashes",
        [slug, name, source_language, json.dumps(dict(content_hashes), sort_keys=True), now])


def record_sent_span(db: Database, slug: str, first: str, last: str) -> None:
    """Stretch the campaign's sent span: `first_sent_at` is set once, `last_sent_at` moves to `last`."""
    db.execute("UPDATE campaigns SET first_sent_at = coalesce(first_sent_at, ?), last_sent_at = ? WHERE slug = ?",
               [first, last, slug])


def get_campaign(db: Database, slug: str) -> CampaignRecord | None:
    """The campaign's row, or None before its first send."""
    row = db.execute("SELECT slug, name, source_language, created_at, first_sent_at, last_sent_at FROM campaigns "
                     "WHERE slug = ?", [slug]).fetchone()
    return CampaignRecord(*row) if row else None


def sent_campaigns(db: Database) -> list[SentCampaign]:
    """Campaigns that were sent (drafts never appear), newest first, with the languages they went out in."""
    return [_sent(db, row) for row in db.query(_SENT + " ORDER BY first_sent_at DESC, slug")]


def get_sent_campaign(db: Database, slug: str) -> SentCampaign | None:
    """The campaign `slug` if it was sent, else None (a draft or an unknown slug)."""
    rows = list(db.query(_SENT + " AND slug = ?", [slug]))
    return _sent(db, rows[0]) if rows else None


def campaign_exists(db: Database, slug: str) -> bool:
    """Whether `campaigns` has this slug (events may only name campaigns it knows)."""
    return db.execute("SELECT 1 FROM campaigns WHERE slug = ?", [slug]).fetchone() is not None


def _sent(db: Database, row: Mapping[str, Any]) -> SentCampaign:
    hashes = {str(language): str(value) for language, value in json.loads(row["content_hashes"] or "{}").items()}
    # A campaign sent before content hashes were kept: its languages are those of its deliveries.
    languages = sorted(hashes) or [str(r[0]) for r in db.execute(
        "SELECT DISTINCT language FROM deliveries WHERE campaign = ? ORDER BY language", [row["slug"]])]
    return SentCampaign(slug=row["slug"], name=row["name"], first_sent_at=row["first_sent_at"],
                        languages=tuple(languages), content_hashes=hashes)
