"""The `campaigns` row: what was sent under a slug, and when."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """A `campaigns` row (content hashes left out: nothing reads them back yet)."""

    slug: str
    name: str
    source_language: str
    created_at: str
    first_sent_at: str | None
    last_sent_at: str | None
