"""The `campaigns` table.

Reads for the web pages (the archive of sent campaigns, and whether an unsubscribe link's campaign is known).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from outreach.db.schema import Database
from outreach.models.archive import SentCampaign

_SENT = "SELECT slug, name, content_hashes, first_sent_at FROM campaigns WHERE first_sent_at IS NOT NULL"


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
