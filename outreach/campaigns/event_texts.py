"""Event texts as translation segments: each session's title, venue, venue description and notes.

The source of a segment is the session's text in the campaign's source language (`[events.HR.en]`, or the flat
keys of a session written in it); a session without source-language texts is left out. A translation lives in
the session's language table, `[events.HR.pl]`, which `outreach campaign import` writes into campaign.toml.
Segment ids are `event-<CODE>-<field>` (bare TOML keys, so that `[translated_from]` can hold their revisions).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign

TEXT_FIELDS = ("title", "venue", "venue_description", "notes")
_HEADER = re.compile(r'^\s*\[\s*events\s*\.\s*"?([A-Za-z0-9-]+)"?\s*\.\s*"?([A-Za-z]{2,3})"?\s*\]\s*(?:#.*)?$')


def segment_id(code: str, field: str) -> str:
    """`event-HR-title`."""
    return f"event-{code}-{field}"


def parse_id(segment_id: str) -> tuple[str, str] | None:
    """(code, field) of an event segment id, None for any other segment."""
    match = re.fullmatch(r"event-([A-Za-z0-9-]+?)-(" + "|".join(TEXT_FIELDS) + ")", segment_id)
    return (match.group(1), match.group(2)) if match else None


def source_texts(campaign: Campaign) -> list[tuple[str, str, str, str]]:
    """(segment id, session code, field, source text) for every session text written in the source language."""
    result = []
    for code, session in sorted(campaign.event.items()):
        texts = session.texts.get(campaign.source_language)
        if texts is None:
            continue
        for field in TEXT_FIELDS:
            value = getattr(texts, field)
            if value:
                result.append((segment_id(code, field), code, field, value))
    return result


def translation(campaign: Campaign, language: str, segment: str) -> str | None:
    """The current translation of an event segment into `language`, None when there is none."""
    parsed = parse_id(segment)
    if parsed is None or parsed[0] not in campaign.event:
        return None
    texts = campaign.event[parsed[0]].texts.get(language)
    return (getattr(texts, parsed[1]) or None) if texts is not None else None


def with_event_texts(toml_text: str, language: str, tables: dict[str, dict[str, str]]) -> str:
    """campaign.toml's text with the `[events.<CODE>.<language>]` tables of `tables` replaced (the rest kept)."""
    from outreach.campaigns.revisions import toml_string

    kept: list[str] = []
    skipping = False
    for line in toml_text.splitlines(keepends=True):
        if re.match(r"^\s*\[", line):
            header = _HEADER.match(line)
            skipping = bool(header and header.group(2) == language and header.group(1) in tables)
        if not skipping:
            kept.append(line)
    text = "".join(kept).rstrip("\n") + "\n"
    for code, values in tables.items():
        text += f"\n[events.{code}.{language}]\n" + "".join(f"{key} = {toml_string(value)}\n"
                                                           for key, value in values.items())
    return text
