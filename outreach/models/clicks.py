"""Row types of the `link_clicks` table: click counts per link and variant and day — never per person."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClickVariant:
    """What a tracked link names: campaign, link, language, country ("" for none) and kind. No contact."""

    campaign: str
    url: str
    language: str
    country: str
    kind: str


@dataclass(frozen=True)
class ClickCount:
    """Clicks on one link from one language × country (summed over kinds and days of the period asked for).

    `clicks` are people's clicks; `scanner_hits` the requests counted apart (HEAD, a known security scanner, or a
    hit within seconds of a message going to that variant)."""

    campaign: str
    url: str
    country: str
    language: str
    clicks: int
    scanner_hits: int
