"""What a translator file carries, whatever its format: the campaign, the languages, the source revision, and per
segment its source, its current translation and whether that translation is current.

`export_units` builds it from a campaign folder; the format modules (`xliff`, `po`) write and read it; `importing`
checks what comes back and writes the language file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.campaigns.documents import source_revision
from outreach.campaigns.revisions import Segment, align, changed_segments, segments_of, source_segments
from outreach.campaigns.segments import Code, Part, join, tokenize

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign

FORMATS = ("xliff", "po")
TRANSLATED, CHANGED, NEW = "translated", "changed", "new"


@dataclass(frozen=True)
class Unit:
    """One segment in a translator file."""

    id: str
    kind: str
    source: list[Part]
    target: list[Part] | None  # None: no translation yet
    state: str  # TRANSLATED, CHANGED (the source changed since) or NEW
    note: str  # where the text sits, for the translator


@dataclass(frozen=True)
class Exchange:
    """A translator file's content."""

    slug: str
    source_language: str
    language: str
    revision: str  # the source file's revision when exported
    units: list[Unit] = field(default_factory=list)


def codes_legend(parts: list[Part]) -> str:
    """`<1/> = {{ event.title }}; <2>…</2> = a link to {{ event.registration_url }}` for notes."""
    entries = []
    for part in parts:
        if isinstance(part, Code) and part.role == "ph":
            entries.append(f"<{part.id}/> = {part.text}")
        elif isinstance(part, Code) and part.role == "close":
            entries.append(f"<{part.id}>…</{part.id}> = a link to {part.text[2:-1]}")
    return "; ".join(entries)


def _note(segment: Segment, source_language: str, state: str, parts: list[Part]) -> str:
    if segment.line:
        where = f"{segment.kind} in {source_language}.md line {segment.line}" + (
            f", in the branch {{% {segment.context} %}}" if segment.context else "")
    elif segment.context:
        where = f"{segment.kind} of the event session {segment.context} ([events.{segment.context}] in campaign.toml)"
    else:
        where = f"{segment.kind} (campaign.toml)"
    lines = [where + "."]
    legend = codes_legend(parts)
    if legend:
        lines.append(f"Locked codes, keep each exactly once: {legend}.")
    if state == CHANGED:
        lines.append("The source changed since the current translation was made: review it.")
    return "\n".join(lines)


def _items(parts: list[Part]) -> dict[str, tuple[Code, Code | None]]:
    """Code id → (the code, or the opening of a pair, and its closing)."""
    items: dict[str, tuple[Code, Code | None]] = {}
    for part in parts:
        if isinstance(part, Code) and part.role == "close":
            items[part.id] = (items[part.id][0], part)
        elif isinstance(part, Code):
            items[part.id] = (part, None)
    return items


def match_codes(source: list[Part], target: list[Part]) -> list[Part] | None:
    """The target's codes renumbered as the source's (same text first, then same kind in order), carrying the
    source's text: a link fixed in the source is fixed in the export. None when they cannot be matched."""
    free = _items(source)
    wanted = _items(target)
    if len(free) != len(wanted):
        return None
    mapping: dict[str, str] = {}
    for exact in (True, False):
        for tid, (first, second) in wanted.items():
            if tid in mapping:
                continue
            found = next((sid for sid, (a, b) in free.items() if a.role == first.role and a.text == first.text
                          and (not exact or (b is None and second is None) or (b is not None and second is not None
                                                                               and b.text == second.text))), None)
            if found is not None:
                mapping[tid] = found
                del free[found]
    if free:
        return None
    source_items = _items(source)
    result: list[Part] = []
    for part in target:
        if isinstance(part, str):
            result.append(part)
        else:
            first, second = source_items[mapping[part.id]]
            result.append(second if part.role == "close" and second is not None else first)
    return result


def event_translations(campaign: Campaign, language: str, source: list[Segment]) -> dict[str, Segment]:
    """The current translations of the event texts, as segments by source id."""
    from outreach.campaigns.event_texts import translation

    result = {}
    for segment in source:
        text = translation(campaign, language, segment.id)
        if text is not None:
            result[segment.id] = Segment(segment.id, segment.kind, text, 0, segment.context)
    return result


def exchange_revision(campaign: Campaign) -> str:
    """What a translator file was made from: the source file's revision, and the campaign.toml texts (name and
    event texts) by their segment revisions."""
    import hashlib

    extra = "".join(f"{s.id}={s.revision};" for s in source_segments(campaign) if not s.line)
    return f"{source_revision(campaign)}-{hashlib.sha256(extra.encode()).hexdigest()[:6]}"


def export_units(campaign: Campaign, language: str) -> Exchange:
    """The campaign's segments for a translator into `language`, with the current translation of each."""
    from outreach.errors import InputError

    if language == campaign.source_language:
        raise InputError(f"{language} is the source language of {campaign.slug!r}",
                         "Export for a language to translate into: --lang pl.")
    source = source_segments(campaign)
    doc = campaign.documents.get(language)
    aligned = align(source, segments_of(doc, doc.name)) if doc is not None else {}
    aligned.update(event_translations(campaign, language, source))
    changed = {s.id for s in (changed_segments(campaign, language) or [])} if doc is not None else set()
    units = []
    for segment in source:
        parts = tokenize(segment.text)
        current = aligned.get(segment.id)
        target = match_codes(parts, tokenize(current.text)) if current is not None else None
        state = NEW if target is None else CHANGED if segment.id in changed else TRANSLATED
        units.append(Unit(segment.id, segment.kind, parts, target, state,
                          _note(segment, campaign.source_language, state, parts)))
    return Exchange(campaign.slug, campaign.source_language, language, exchange_revision(campaign), units)


def markdown(parts: list[Part] | None) -> str:
    """The Markdown of a unit's parts ("" for none)."""
    return join(parts or [])


def export_file(campaign: Campaign, language: str, fmt: str, output: Path | None) -> tuple[Path, Exchange]:
    """Write the translator file (default name `<slug>.<lang>.xlf` or `.po` in the current folder)."""
    import os

    from outreach.campaigns.translator.po import write_po
    from outreach.campaigns.translator.xliff import write_xliff

    exchange = export_units(campaign, language)
    data = write_xliff(exchange) if fmt == "xliff" else write_po(exchange)
    path = output or Path(f"{campaign.slug}.{language}.{'xlf' if fmt == 'xliff' else 'po'}")
    temporary = path.with_name(f".{path.name}.writing")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        from outreach.errors import InputError

        temporary.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write the file ({error.strerror})",
                         "Give --output a file in a folder that exists and that you can write to.") from None
    return path, exchange
