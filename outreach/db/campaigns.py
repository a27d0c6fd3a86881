"""The `campaigns` table: one row per campaign ever sent — its name, source language, content hash per language,
and when its first and last messages went."""

from __future__ import annotations

import json
from collections.abc import Mapping

from outreach.db.schema import Database
from outreach.models.campaigns import CampaignRecord


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
