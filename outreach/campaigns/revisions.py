"""Which segments of a translation changed in the source since it was made, and pinning a reviewed translation.

A translation records, per segment, the revision of the source segment it was made from — the `[translated_from]`
table of its front matter (`b3 = "1f0c9a2e"`), written by `outreach campaign import` and `outreach campaign pin`.
A file that still records one `translated_from = "…"` string (the revision of the whole source file, the older
form) keeps working: it is current when that string is the source file's revision, and wholly outdated otherwise.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outreach.campaigns.documents import line_of, source_revision
from outreach.campaigns.segments import Block, blocks_of, parse_body, prose_revision, tokenize

if TYPE_CHECKING:
    from outreach.campaigns.documents import Document
    from outreach.campaigns.folder import Campaign


@dataclass(frozen=True)
class Segment:
    """One translatable unit of a language file."""

    id: str  # "subject", "preheader", "name", "b1", "b2" …
    kind: str  # "subject", "preheader", "campaign name", "paragraph", "heading 2", "list item" …
    text: str
    line: int  # in the language file (0 for the name, which campaign.toml holds for the source)
    context: str = ""  # the {% if %} branch it sits in
    prefix: str = ""  # the Markdown before a block's text ("## ", "- ")

    @property
    def revision(self) -> str:
        """The segment's prose revision (link targets and URLs left out)."""
        return prose_revision(self.text)

    def describe(self) -> str:
        """`b3 (paragraph, line 12: "We are pleased…")` for messages."""
        words = " ".join(self.text.split())
        excerpt = words if len(words) <= 40 else words[:39] + "…"
        where = f", line {self.line}" if self.line else ""
        return f'{self.id} ({self.kind}{where}: "{excerpt}")'


def segments_of(doc: Document, name: str | None) -> list[Segment]:
    """The segments of a language file: subject, preheader, the campaign's name (when given), the body's blocks."""
    front = doc.raw.decode("utf-8-sig", "replace")
    result = [Segment("subject", "subject", doc.subject, line_of(front, "subject"))]
    if doc.preheader:
        result.append(Segment("preheader", "preheader", doc.preheader, line_of(front, "preheader")))
    if name:
        result.append(Segment("name", "campaign name", name, line_of(front, "name") if doc.name else 0))
    result.extend(_body_segment(number, block, doc.body_line)
                  for number, block in enumerate(blocks_of(parse_body(doc.body)), 1))
    return result


def _body_segment(number: int, block: Block, body_line: int) -> Segment:
    return Segment(f"b{number}", block.kind, block.text, block.line + body_line - 1, block.context, block.prefix)


def source_segments(campaign: Campaign) -> list[Segment]:
    """The segments of the source language file, with the campaign's name and the event sessions' texts from
    campaign.toml."""
    from outreach.campaigns.event_texts import source_texts

    segments = segments_of(campaign.document(campaign.source_language), campaign.name)
    segments += [Segment(sid, f"event {field.replace('_', ' ')}", text, 0, code)
                 for sid, code, field, text in source_texts(campaign)]
    return segments


def has_translation(campaign: Campaign, language: str, segment_id: str) -> bool:
    """Whether the translation has its own text for a segment: the body and front matter always; the name and
    event texts only when given (readers get the source's otherwise, so a missing one is not "changed")."""
    from outreach.campaigns.event_texts import parse_id, translation

    if segment_id == "name":
        return bool(campaign.document(language).name)
    if parse_id(segment_id) is not None:
        return translation(campaign, language, segment_id) is not None
    return True


def changed_segments(campaign: Campaign, language: str) -> list[Segment] | None:
    """The source segments changed since the translation into `language` was made; None when it records nothing.

    A translation without its own name does not count the name as changed: readers get the source's name.
    """
    doc = campaign.document(language)
    source = source_segments(campaign)
    if doc.pins:
        return [s for s in source if doc.pins.get(s.id) != s.revision and has_translation(campaign, language, s.id)]
    if doc.translated_from is None:
        return None
    if doc.translated_from == source_revision(campaign):
        return []
    # a whole-file revision cannot tell which segment changed
    return [s for s in source if s.line and has_translation(campaign, language, s.id)]


def current_pins(campaign: Campaign, language: str) -> dict[str, str]:
    """The per-segment revisions a translation records, reading the older whole-file form as well."""
    doc = campaign.document(language)
    if doc.pins:
        return dict(doc.pins)
    if doc.translated_from is not None and doc.translated_from == source_revision(campaign):
        return {s.id: s.revision for s in source_segments(campaign)
                if s.line and has_translation(campaign, language, s.id)}
    return {}


def _signature(segment: Segment) -> tuple[str, tuple[str, ...]]:
    """What must match between a source block and its translation: the kind and the Jinja (not the words)."""
    return segment.kind, tuple(sorted(p.text for p in tokenize(segment.text) if not isinstance(p, str) and not p.url
                                      and p.role == "ph"))


def align(source: list[Segment], target: list[Segment]) -> dict[str, Segment]:
    """Source segment id → the translation's segment for it. Front matter by name; body blocks by position when
    both files have the same blocks, else by matching kinds and Jinja (blocks added in the source get none)."""
    result = {s.id: t for s in source for t in target if s.id == t.id and not s.id.startswith("b")}
    body_s = [s for s in source if s.id.startswith("b")]
    body_t = [t for t in target if t.id.startswith("b")]
    if [s.kind for s in body_s] == [t.kind for t in body_t]:
        result.update({s.id: t for s, t in zip(body_s, body_t, strict=True)})
        return result
    matcher = difflib.SequenceMatcher(None, [_signature(s) for s in body_s], [_signature(t) for t in body_t],
                                      autojunk=False)
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            result[body_s[block.a + offset].id] = body_t[block.b + offset]
    return result


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def pins_table(pins: dict[str, str]) -> str:
    """The `[translated_from]` table, in the order of the segments."""
    return "[translated_from]\n" + "".join(f"{key} = {toml_string(value)}\n" for key, value in pins.items())


def with_pins(text: str, pins: dict[str, str]) -> str:
    """A language file's text with its translated_from (string or table) replaced by `pins`; the rest unchanged."""
    lines = text.splitlines(keepends=True)
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    kept: list[str] = []
    in_table = False
    for line in lines[1:end]:
        if re.match(r"\s*\[\s*translated_from\s*\]", line):
            in_table = True
        elif in_table and re.match(r"\s*\[", line):
            in_table = False
        if not in_table and not re.match(r"\s*translated_from\s*=", line):
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    table = ["\n", pins_table(pins)] if pins else []
    return "".join([lines[0], *kept, *table, *lines[end:]])


def pin(campaign: Campaign, language: str, segment_ids: list[str] | None = None) -> list[Segment]:
    """Record that the translation into `language` is current for the given segments (all when None): after a
    review, or after a change (a link) that needed no new translation. Returns the segments pinned."""
    from outreach.errors import InputError

    if language == campaign.source_language:
        raise InputError(f"{language}.md is the source language file of {campaign.slug!r}: it records no revisions",
                         "Pin a translation: --lang pl.")
    doc = campaign.document(language)
    source = {s.id: s for s in source_segments(campaign) if has_translation(campaign, language, s.id)}
    wanted = segment_ids or list(source)
    unknown = [sid for sid in wanted if sid not in source]
    if unknown:
        raise InputError(f"{campaign.slug}: no segment {unknown[0]!r} in {campaign.source_language}.md",
                         f"Segments: {', '.join(source)}.")
    pins = current_pins(campaign, language)
    pins.update({sid: source[sid].revision for sid in wanted})
    ordered = {sid: pins[sid] for sid in source if sid in pins}
    text = with_pins(doc.raw.decode("utf-8-sig"), ordered)
    temporary = doc.path.with_name(f".{doc.path.name}.pinning")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, doc.path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{doc.path}: cannot write it ({error.strerror})",
                         "Check that you can write to the campaign folder.") from None
    return [source[sid] for sid in wanted]
