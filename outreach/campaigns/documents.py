"""The language files of a campaign (`<lang>.md`): front matter, body, revisions and translation status.

A translator records in `translated_from` the revision of the source file they translated; a language whose
record differs from the current source revision is outdated. Errors name the file and the line to fix, as
the rest of the campaign folder's do (`line_of`, `toml_error` are shared with `outreach.campaigns.folder`).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach.errors import InputError

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign

FRONT_MATTER_KEYS = ("subject", "preheader", "name", "translated_from")


@dataclass(frozen=True)
class Document:
    """One `<lang>.md`: its front matter and its Markdown body (with the line the body starts on)."""

    language: str
    path: Path
    subject: str
    preheader: str
    translated_from: str | None  # the older form: the revision of the whole source file
    body: str
    body_line: int  # 1-based line of the file on which the body starts
    raw: bytes
    name: str | None = None  # the campaign's name in this language, for readers (the archive heading)
    pins: dict[str, str] = field(default_factory=dict)  # `[translated_from]`: segment id → its source revision


def line_of(text: str, key: str, table: str | None = None) -> int:
    """The line on which `key = …` is written (inside `[table]` when given), for error messages; 1 if unknown."""
    lines = text.splitlines()
    start = 0
    if table:
        header = re.compile(r"^\s*\[\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
        for number, line in enumerate(lines):
            if header.match(line):
                start = number
                break
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for number in range(start, len(lines)):
        if pattern.match(lines[number]):
            return number + 1
    return start + 1


def toml_error(path: Path, error: tomllib.TOMLDecodeError, offset: int = 0) -> InputError:
    """A TOML syntax error as `file:line: reason` (`offset`: lines of the file before the TOML text)."""
    message = str(error)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    where = f"{path}:{int(match.group(1)) + offset}" if match else str(path)
    reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
    return InputError(f"{where}: {reason}", "Fix the TOML syntax (strings in double quotes, one key = value a line).")


def revision_of(data: bytes) -> str:
    """A file's revision as translators record it: sha256 of its bytes, 12 hex chars."""
    return hashlib.sha256(data).hexdigest()[:12]


def source_revision(campaign: Campaign) -> str:
    """The revision translators record as `translated_from`: that of the source language file."""
    return revision_of(campaign.document(campaign.source_language).raw)


def read_document(path: Path, language: str) -> Document:
    """Parse a `<lang>.md`: TOML front matter between `+++` lines (subject required), then the body."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})",
                         "Save the file as UTF-8.") from None
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "+++":
        raise InputError(f"{path}:1: the file must start with front matter between +++ lines",
                         'Begin with:\n+++\nsubject = "…"\npreheader = "…"\n+++')
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "+++"), None)
    if end is None:
        raise InputError(f"{path}:1: the front matter is not closed", "Add a line with +++ after it.")
    front_text = "".join(lines[1:end])
    front = _front_matter(path, front_text)
    pinned = front.get("translated_from")
    return Document(language=language, path=path, subject=front["subject"].strip(),
                    preheader=str(front.get("preheader", "")).strip(),
                    translated_from=pinned if isinstance(pinned, str) else None,
                    body="".join(lines[end + 1:]), body_line=end + 2, raw=raw,
                    name=str(front["name"]).strip() if front.get("name") else None,
                    pins=dict(pinned) if isinstance(pinned, dict) else {})


def _front_matter(path: Path, front_text: str) -> dict[str, Any]:
    """The TOML between the `+++` lines (which starts on line 2), checked: subject, preheader, name,
    translated_from (a revision string, or a table of segment revisions)."""
    try:
        front = tomllib.loads(front_text)
    except tomllib.TOMLDecodeError as error:
        raise toml_error(path, error, offset=1) from None
    unknown = sorted(set(front) - set(FRONT_MATTER_KEYS))
    if unknown:
        raise InputError(f"{path}:{1 + line_of(front_text, unknown[0])}: unknown front matter key {unknown[0]!r}",
                         "Keys: subject, preheader, name, translated_from.")
    subject = front.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        line = 1 + line_of(front_text, "subject") if "subject" in front else 2
        raise InputError(f"{path}:{line}: the front matter has no subject", 'Add subject = "…" between the +++ lines.')
    for key in ("preheader", "name"):
        if key in front and not isinstance(front[key], str):
            raise InputError(f"{path}:{1 + line_of(front_text, key)}: {key} must be a string in double quotes")
    pinned = front.get("translated_from")
    if pinned is not None and not isinstance(pinned, str) and not (
            isinstance(pinned, dict) and all(isinstance(v, str) for v in pinned.values())):
        raise InputError(f"{path}:{1 + line_of(front_text, 'translated_from')}: translated_from must be a string "
                         "or a [translated_from] table of segment revisions",
                         "Let `outreach campaign pin` write it.")
    if re.search(r"[\r\n]", subject) or "{{" in subject or "{%" in subject:
        raise InputError(f"{path}:{1 + line_of(front_text, 'subject')}: the subject must be one line of plain text",
                         "Subjects cannot hold line breaks or template variables.")
    return front


@dataclass(frozen=True)
class TranslationStatus:
    """One language file of a campaign and whether its translation is current."""

    language: str
    is_source: bool
    translated_from: str | None
    outdated: bool  # records another revision than the current source
    changed: tuple[str, ...] = ()  # the segments changed in the source since (all of them for a whole-file pin)
    per_segment: bool = False  # revisions are recorded per segment (`[translated_from]`)

    @property
    def unrecorded(self) -> bool:
        """A translation that records no `translated_from`: whether it is current cannot be known."""
        return not self.is_source and self.translated_from is None and not self.per_segment


def translation_status(campaign: Campaign) -> list[TranslationStatus]:
    """Per language file: which source revision it was translated from and whether that is still current."""
    from outreach.campaigns.revisions import changed_segments

    result = []
    for language in campaign.languages:
        doc = campaign.documents[language]
        is_source = language == campaign.source_language
        changed = None if is_source else changed_segments(campaign, language)
        ids = tuple(segment.id for segment in changed or ())
        result.append(TranslationStatus(language, is_source, doc.translated_from, bool(ids), ids, bool(doc.pins)))
    return result
