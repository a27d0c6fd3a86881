"""Reading a translator file back into `<lang>.md`: the code and links come from the source, the words from the file.

Refused, with nothing written: a file over the size bounds, for a campaign, language or source revision other than
the one named (or current), with a segment the campaign does not have, or whose locked codes were changed, dropped,
repeated or added to (the segment is named). A segment the translator did not finish keeps its current translation
(or the source text when there is none) and records no revision, so `campaign check` keeps listing it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.campaigns.documents import read_document
from outreach.campaigns.revisions import (
    Segment,
    align,
    current_pins,
    pins_table,
    segments_of,
    source_segments,
    toml_string,
)
from outreach.campaigns.segments import Code, Part, blocks_of, join, parse_body, rebuild, tokenize
from outreach.campaigns.translator.units import Exchange, event_translations, exchange_revision
from outreach.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign
    from outreach.config import Settings

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_UNITS = 5000
MAX_SEGMENT_CHARS = 100_000


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote."""

    slug: str
    language: str
    path: Path
    translated: list[str]  # segment ids written and pinned
    untranslated: list[str]  # segment ids left as they were (or the source text), still marked


def read_translator_file(path: Path) -> tuple[Exchange, dict[str, bool]]:
    """An XLIFF (.xlf/.xliff) or PO (.po) file, read within the size bounds."""
    from outreach.campaigns.translator.po import read_po
    from outreach.campaigns.translator.xliff import read_xliff

    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"{path}: {size // 1024} KB is over the {MAX_FILE_BYTES // 1024 // 1024} MB bound for "
                             "a translator file", "Import the file outreach campaign export wrote for one language.")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file", "Give the path of the translated .xlf or .po file.") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder", "Give the path of the translated .xlf or .po file.") from None
    is_xml = path.suffix.lower() in (".xlf", ".xliff", ".xml") or data.lstrip()[:5] in (b"<?xml", b"<xlif")
    exchange, done = read_xliff(data, path) if is_xml else read_po(data, path)
    if len(exchange.units) > MAX_UNITS:
        raise InputError(f"{path}: {len(exchange.units)} segments is over the bound of {MAX_UNITS}")
    for unit in exchange.units:
        if len(join(unit.target or [])) > MAX_SEGMENT_CHARS:
            raise InputError(f"{path}: segment {unit.id} is over the bound of {MAX_SEGMENT_CHARS} characters")
    return exchange, done


def _campaign_for(settings: Settings, exchange: Exchange, path: Path, slug: str | None,
                  language: str | None) -> Campaign:
    """The campaign the file is for, checked against what the command line expects and the current source."""
    from outreach.campaigns.folder import load_campaign

    if not exchange.slug or not exchange.language or not exchange.revision:
        raise InputError(f"{path}: the file does not say which campaign, language and revision it is for",
                         "Import a file written by outreach campaign export (its header or metadata name them).")
    if slug is not None and slug != exchange.slug:
        raise InputError(f"{path} is for campaign {exchange.slug!r}, not {slug!r}",
                         f"Import it for {exchange.slug}, or export {slug} again.")
    if language is not None and language != exchange.language:
        raise InputError(f"{path} is a translation into {exchange.language!r}, not {language!r}",
                         f"Import the {language} file, or leave out --lang.")
    campaign = load_campaign(settings, exchange.slug)
    if exchange.language == campaign.source_language or exchange.source_language not in ("", campaign.source_language):
        raise InputError(f"{path}: translates {exchange.source_language or '?'} into {exchange.language}, but "
                         f"{campaign.slug!r} is written in {campaign.source_language}",
                         "Export the campaign again and translate that file.")
    current = exchange_revision(campaign)
    if exchange.revision != current:
        raise InputError(f"{path} was exported from revision {exchange.revision} of {campaign.slug} (its "
                         f"{campaign.source_language}.md and the texts of campaign.toml); it is now at revision "
                         f"{current}",
                         f"Export again (outreach campaign export {campaign.slug} --lang {exchange.language}) and "
                         "carry your translations over: the new file shows which segments changed.")
    return campaign


def checked_target(segment: Segment, target: list[Part], path: Path) -> str:
    """The Markdown of a translated segment, its codes taken from the source; InputError naming the segment when
    a locked code was changed, dropped, repeated or added."""
    source_parts = tokenize(segment.text)
    source_codes = {(p.id, p.role): p for p in source_parts if isinstance(p, Code)}
    seen = Counter((p.id, p.role) for p in target if isinstance(p, Code))
    where = f"{path}: segment {segment.id} ({segment.kind})"
    for key, count in seen.items():
        if key not in source_codes:
            raise InputError(f"{where}: the code {_show(key)} is not in the source", _keep_hint(source_parts))
        if count > 1:
            raise InputError(f"{where}: the locked code {_show(key)} appears {count} times", _keep_hint(source_parts))
    missing = [key for key in source_codes if key not in seen]
    if missing:
        raise InputError(f"{where}: the locked code {_show(missing[0])} ({source_codes[missing[0]].text}) was "
                         "removed", _keep_hint(source_parts))
    result: list[Part] = []
    opened: list[str] = []
    for part in target:
        if isinstance(part, Code):
            original = source_codes[(part.id, part.role)]
            if part.text and part.text != original.text:
                raise InputError(f"{where}: the locked code {_show((part.id, part.role))} was changed from "
                                 f"{original.text!r} to {part.text!r}", _keep_hint(source_parts))
            if part.role == "open":
                opened.append(part.id)
            elif part.role == "close" and (not opened or opened.pop() != part.id):
                raise InputError(f"{where}: the paired code {part.id} is not opened and closed in order",
                                 _keep_hint(source_parts))
            part = original
        result.append(part)
    text = join(result)
    added = Counter(p.text for p in tokenize(text) if isinstance(p, Code)) - Counter(
        p.text for p in source_parts if isinstance(p, Code))
    if added:
        raise InputError(f"{where}: the translation adds code outside the locked codes: {next(iter(added))!r}",
                         "Template tags, links and URLs come from the source: use its numbered codes.")
    if segment.id in ("subject", "preheader", "name") and ("\n" in text or "\r" in text):
        raise InputError(f"{where}: the {segment.kind} must be one line")
    if segment.id.startswith("b"):
        blocks = blocks_of(parse_body(segment.prefix + text + "\n"))
        if len(blocks) != 1 or blocks[0].kind != segment.kind or not text.strip():
            raise InputError(f"{where}: the translation does not stay one {segment.kind} (a blank line, or a line "
                             "starting with #, - or a number, changes the structure)",
                             "Translate the segment as one block; the structure comes from the source.")
    return text


def _show(key: tuple[str, str]) -> str:
    code_id, role = key
    return {"ph": f"<{code_id}/>", "open": f"<{code_id}>", "close": f"</{code_id}>"}[role]


def _keep_hint(parts: list[Part]) -> str:
    from outreach.campaigns.translator.units import codes_legend

    return f"Keep every locked code of the source exactly once ({codes_legend(parts)}), then import again."


def import_file(settings: Settings, path: Path, slug: str | None = None,
                language: str | None = None) -> ImportReport:
    """Check a translator file and write its translations into the campaign's `<lang>.md`."""
    exchange, done = read_translator_file(path)
    campaign = _campaign_for(settings, exchange, path, slug, language)
    source = source_segments(campaign)
    by_id = {s.id: s for s in source}
    targets: dict[str, str] = {}
    for unit in exchange.units:
        if unit.id not in by_id:
            raise InputError(f"{path}: segment {unit.id!r} is not in campaign {campaign.slug!r}",
                             "The file was made for another campaign or revision: export again.")
        if unit.target and join(unit.target).strip():
            targets[unit.id] = checked_target(by_id[unit.id], unit.target, path)
    texts, pins, translated = _merge(campaign, exchange.language, source, targets, done)
    written = _write(settings, campaign, exchange.language, source, texts, pins)
    return ImportReport(campaign.slug, exchange.language, written, translated,
                        [s.id for s in source if s.id not in translated and (s.line or s.id in texts)])


def _merge(campaign: Campaign, language: str, source: list[Segment], targets: dict[str, str],
           done: dict[str, bool]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Per segment the text to write and its pin: done → the file's text, pinned; otherwise the file's draft, else
    the current translation (with its pin), else the source text; a name nobody translated is left out."""
    existing = campaign.documents.get(language)
    current = align(source, segments_of(existing, existing.name)) if existing is not None else {}
    current.update(event_translations(campaign, language, source))
    old_pins = current_pins(campaign, language) if existing is not None else {}
    texts: dict[str, str] = {}
    pins: dict[str, str] = {}
    translated = []
    for segment in source:
        if segment.id in targets and done.get(segment.id):
            texts[segment.id], pins[segment.id] = targets[segment.id], segment.revision
            translated.append(segment.id)
        elif segment.id in targets:
            texts[segment.id] = targets[segment.id]
        elif segment.id in current:
            texts[segment.id] = current[segment.id].text
            if segment.id in old_pins:
                pins[segment.id] = old_pins[segment.id]
        elif segment.line:  # the name and event texts fall back to the source's by themselves
            texts[segment.id] = segment.text
    return texts, pins, translated


def _write(settings: Settings, campaign: Campaign, language: str, source: list[Segment], texts: dict[str, str],
           pins: dict[str, str]) -> Path:
    """Write `<lang>.md` (the source's body skeleton with the translated blocks) and, when event texts changed,
    campaign.toml's `[events.<CODE>.<lang>]` tables; each file replaced whole, both put back if the result does
    not read as a valid campaign."""
    source_doc = campaign.document(campaign.source_language)
    layout = parse_body(source_doc.body)
    body = rebuild(layout, [texts[f"b{n}"] for n in range(1, len(blocks_of(layout)) + 1)])
    front = [f"subject = {toml_string(texts['subject'])}\n"]
    if "preheader" in texts:
        front.append(f"preheader = {toml_string(texts['preheader'])}\n")
    if "name" in texts:
        front.append(f"name = {toml_string(texts['name'])}\n")
    ordered = {s.id: pins[s.id] for s in source if s.id in pins and s.id in texts}
    table = ["\n", pins_table(ordered)] if ordered else []
    text = "".join(["+++\n", *front, *table, "+++\n", body])
    path = campaign.path / f"{language}.md"
    toml_text = _event_tables(campaign, language, source, texts)
    saved = {p: p.read_bytes() if p.is_file() else None for p in (path, campaign.toml_path)}
    try:
        if toml_text is not None:
            _replace(campaign.toml_path, toml_text)
        _replace(path, text)
        read_document(path, language)
        if toml_text is not None:
            from outreach.campaigns.folder import load_campaign

            load_campaign(settings, campaign.slug)
    except (InputError, OSError) as error:
        for original, data in saved.items():  # both files as they were, or neither written
            if data is None:
                original.unlink(missing_ok=True)
            else:
                _replace(original, data.decode("utf-8-sig"))
        if isinstance(error, OSError):
            raise InputError(f"{path}: cannot write the translation ({error.strerror})",
                             "Check that the campaign folder exists and that you can write to it.") from None
        raise InputError(f"{path}: the imported translation would not be a valid campaign ({error.message})",
                         error.hint) from None
    return path


def _replace(path: Path, text: str) -> None:
    """Write a file through a temporary file in its folder, so that it is either old or new, never half."""
    temporary = path.with_name(f".{path.name}.importing")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _event_tables(campaign: Campaign, language: str, source: list[Segment], texts: dict[str, str]) -> str | None:
    """campaign.toml's new text with the `[events.<CODE>.<language>]` tables, or None when no event text changes."""
    from outreach.campaigns.event_texts import TEXT_FIELDS, parse_id, with_event_texts

    tables: dict[str, dict[str, str]] = {}
    for segment in source:
        parsed = parse_id(segment.id)
        if parsed is None or segment.id not in texts:
            continue
        code, _ = parsed
        if code not in tables:
            own = campaign.event[code].texts.get(language)
            tables[code] = {f: getattr(own, f) for f in TEXT_FIELDS if own is not None and getattr(own, f)}
        tables[code][parsed[1]] = texts[segment.id]
    changed = {code: values for code, values in tables.items()
               if any(getattr(campaign.event[code].texts.get(language), f, None) != v for f, v in values.items())}
    if not changed:
        return None
    return with_event_texts(campaign.toml_path.read_text("utf-8-sig"), language, changed)
