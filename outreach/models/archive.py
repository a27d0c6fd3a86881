"""Row type of the public archive: a campaign that was sent, as `outreach.db.campaigns` reads it for the web."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SentCampaign:
    """A campaign with a `first_sent_at`: the languages it went out in and their content hashes."""

    slug: str
    name: str
    first_sent_at: str
    languages: tuple[str, ...]
    content_hashes: dict[str, str] = field(default_factory=dict)
