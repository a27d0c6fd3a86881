"""Campaign folders: `campaigns/<slug>/campaign.toml` plus one `<lang>.md` per language, and who gets which.

A campaign is data an expert edits, so every problem in it is reported with the file and the line to fix.
This module reads and validates the folder, lists and scaffolds campaigns, picks each recipient's language
(the contact's own → their country's → the campaign's fallback) and tells which translations are outdated.
Rendering lives in `outreach.render.renderer`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from outreach.config import Settings
from outreach.contacts.model import Contact, ContactFilter
from outreach.countries import COUNTRIES, country_languages
from outreach.db.schema import Database, suppression_hash
from outreach.errors import InputError, NotFoundError, OutreachError
from outreach.models import ContactStatus

LAYOUTS_HINT = ("Layouts are <name>.html.j2 + <name>.txt.j2 in OUTREACH_TEMPLATES or the shipped ones "
                "(base, newsletter, invitation).")
FALLBACKS = ("source", "skip")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LANGUAGE_FILE_RE = re.compile(r"^[A-Za-z]{2,3}$")  # other .md files (README.md, notes.md) are not languages
EVENT_KEYS = ("title", "starts", "ends", "timezone", "venue", "address", "registration_url")


@dataclass(frozen=True)
class Attachment:
    """A file sent with a language version of the campaign."""

    filename: str
    path: Path
    content_type: str


@dataclass(frozen=True)
class Document:
    """One `<lang>.md`: its front matter and its Markdown body (with the line the body starts on)."""

    language: str
    path: Path
    subject: str
    preheader: str
    translated_from: str | None
    body: str
    body_line: int  # 1-based line of the file on which the body starts
    raw: bytes


@dataclass
class Campaign:
    """A campaign folder, validated."""

    slug: str
    path: Path
    name: str
    sender_name: str
    sender_address: str
    reply_to: str | None
    organisation: str
    postal_address: str
    audience: ContactFilter
    source_language: str
    fallback: str
    layout: str
    languages: tuple[str, ...]
    event: dict[str, dict[str, Any]] = field(default_factory=dict)  # [events.<CC>] tables by country
    attachments: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "all" or a language → paths
    documents: dict[str, Document] = field(default_factory=dict, repr=False)

    @property
    def toml_path(self) -> Path:
        return self.path / "campaign.toml"

    def document(self, language: str) -> Document:
        """The parsed `<language>.md`; NotFoundError if the campaign has no such file."""
        try:
            return self.documents[language]
        except KeyError:
            raise NotFoundError(f"Campaign {self.slug!r} has no {language}.md",
                                f"Languages with a file: {', '.join(self.languages)}.") from None

    def attachments_for(self, language: str) -> list[Attachment]:
        """The files to attach for this language: its own list if it has one, else the `all` list."""
        import mimetypes

        names = self.attachments.get(language, self.attachments.get("all", ()))
        result = []
        for name in names:
            path = self.path / name
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            result.append(Attachment(path.name, path, content_type))
        return result

    def event_for(self, country: str | None) -> dict[str, Any]:
        """The `[events.<CC>]` table for a recipient's country, or {} when there is none."""
        return self.event.get(country or "", {})


def _line_of(text: str, key: str, table: str | None = None) -> int:
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


def _toml_error(path: Path, error: tomllib.TOMLDecodeError, offset: int = 0) -> InputError:
    message = str(error)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    where = f"{path}:{int(match.group(1)) + offset}" if match else str(path)
    reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
    return InputError(f"{where}: {reason}", "Fix the TOML syntax (strings in double quotes, one key = value a line).")


def source_revision(campaign: Campaign) -> str:
    """The revision translators record as `translated_from`: sha256 of the source file's bytes, 12 hex chars."""
    return revision_of(campaign.document(campaign.source_language).raw)


def revision_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


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
    try:
        front = tomllib.loads(front_text)
    except tomllib.TOMLDecodeError as error:
        raise _toml_error(path, error, offset=1) from None
    unknown = sorted(set(front) - {"subject", "preheader", "translated_from"})
    if unknown:
        raise InputError(f"{path}:{1 + _line_of(front_text, unknown[0])}: unknown front matter key {unknown[0]!r}",
                         "Keys: subject, preheader, translated_from.")
    subject = front.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        line = 1 + _line_of(front_text, "subject") if "subject" in front else 2
        raise InputError(f"{path}:{line}: the front matter has no subject", 'Add subject = "…" between the +++ lines.')
    for key in ("preheader", "translated_from"):
        if key in front and not isinstance(front[key], str):
            raise InputError(f"{path}:{1 + _line_of(front_text, key)}: {key} must be a string in double quotes")
    if re.search(r"[\r\n]", subject) or "{{" in subject or "{%" in subject:
        raise InputError(f"{path}:{1 + _line_of(front_text, 'subject')}: the subject must be one line of plain text",
                         "Subjects cannot hold line breaks or template variables.")
    return Document(language=language, path=path, subject=subject.strip(),
                    preheader=str(front.get("preheader", "")).strip(),
                    translated_from=front.get("translated_from"), body="".join(lines[end + 1:]),
                    body_line=end + 2, raw=raw)


def _known_languages() -> set[str]:
    from outreach.countries import BSI_LANGUAGES

    return set(BSI_LANGUAGES) | {code for codes in COUNTRIES.values() for code in codes}


def _strings(value: Any, path: Path, text: str, key: str, table: str | None = None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{path}:{_line_of(text, key, table)}: {key} must be a list of strings",
                         f'Write it as {key} = ["…", "…"].')
    return tuple(value)


def layout_dirs(settings: Settings) -> list[Path]:
    """Where layouts are looked up: OUTREACH_TEMPLATES first, then the layouts shipped with outreach."""
    from outreach.resources import bundled

    shipped = bundled("templates") / "emails"
    dirs = [Path(settings.templates_dir)]
    if shipped.resolve() != Path(settings.templates_dir).resolve():
        dirs.append(shipped)
    return dirs


def layout_exists(settings: Settings, layout: str) -> bool:
    return any((d / f"{layout}.html.j2").is_file() and (d / f"{layout}.txt.j2").is_file()
               for d in layout_dirs(settings))


def load_campaign(settings: Settings, slug: str) -> Campaign:
    """Read and validate `<OUTREACH_CAMPAIGNS>/<slug>/`; errors name the file and line to fix."""
    if not slug or slug.startswith(".") or any(sep in slug for sep in "/\\"):
        raise InputError(f"{slug!r} is not a campaign name", "Give the name of a folder in OUTREACH_CAMPAIGNS.")
    folder = Path(settings.campaigns_dir) / slug
    toml_path = folder / "campaign.toml"
    if not toml_path.is_file():
        known = ", ".join(sorted(p.parent.name for p in Path(settings.campaigns_dir).glob("*/campaign.toml")))
        raise NotFoundError(f"No campaign {slug!r}: {toml_path} does not exist",
                            f"Campaigns in {settings.campaigns_dir}: {known or 'none'}. "
                            f"Create one with: outreach campaign new {slug}")
    text = toml_path.read_text(encoding="utf-8-sig")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _toml_error(toml_path, error) from None

    def fail(key: str, message: str, hint: str | None = None, table: str | None = None) -> InputError:
        return InputError(f"{toml_path}:{_line_of(text, key, table)}: {message}", hint)

    allowed = {"name", "layout", "source_language", "fallback", "sender", "organisation", "postal_address",
               "audience", "attachments", "events"}
    for key in data:
        if key not in allowed:
            raise fail(key, f"unknown key {key!r}", "Keys: " + ", ".join(sorted(allowed)) + ".")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{toml_path}:1: the campaign has no name", 'Add name = "…" at the top.')
    layout = data.get("layout", "base")
    if not isinstance(layout, str) or not layout_exists(settings, layout):
        raise fail("layout", f"unknown layout {layout!r}", LAYOUTS_HINT)
    languages_known = _known_languages()
    source_language = data.get("source_language", "en")
    if source_language not in languages_known:
        raise fail("source_language", f"unknown language {source_language!r}", "Use an ISO 639-1 code such as en.")
    fallback = data.get("fallback", "source")
    if fallback not in FALLBACKS:
        raise fail("fallback", f"fallback is {fallback!r}", 'Use "source" (send the source language) or "skip".')

    sender = data.get("sender", {})
    if not isinstance(sender, dict):
        raise fail("sender", "sender must be a table", "Write [sender] with name, address, reply_to.")
    default_name, default_address = parseaddr(settings.sender or "")
    sender_address = sender.get("address", default_address) or ""
    if sender_address and "@" not in sender_address:
        raise fail("address", f"sender address {sender_address!r} is not an email address", table="sender")

    audience_table = data.get("audience", {})
    if not isinstance(audience_table, dict):
        raise fail("audience", "audience must be a table")
    for key in audience_table:
        if key not in ("countries", "kinds", "languages", "tags"):
            raise fail(key, f"unknown audience key {key!r}", "Keys: countries, kinds, languages, tags.",
                       table="audience")
    values = {key: list(_strings(value, toml_path, text, key, "audience")) for key, value in audience_table.items()}
    for key, value in values.items():  # one key at a time, so that an error names its line
        try:
            ContactFilter.parse(**{key: value})  # type: ignore[arg-type]
        except InputError as error:
            raise fail(key, f"audience: {error.message}", error.hint, table="audience") from None
    audience = ContactFilter.parse(countries=values.get("countries"), kinds=values.get("kinds"),
                                   languages=values.get("languages"), tags=values.get("tags"))

    documents: dict[str, Document] = {}
    for md in sorted(folder.glob("*.md")):
        if not LANGUAGE_FILE_RE.match(md.stem):
            continue
        if md.stem not in languages_known:
            raise InputError(f"{md}:1: {md.name} is not named after a known language",
                             "Name language files with an ISO 639-1 code: pl.md, de.md, el.md …")
        documents[md.stem] = read_document(md, md.stem)
    if source_language not in documents:
        raise InputError(f"{folder}: the source language file {source_language}.md is missing",
                         f"Write {source_language}.md, or set source_language in {toml_path}.")

    attachments: dict[str, tuple[str, ...]] = {}
    attachments_table = data.get("attachments", {})
    if not isinstance(attachments_table, dict):
        raise fail("attachments", "attachments must be a table", 'Write [attachments] all = ["files/…"].')
    for key, value in attachments_table.items():
        if key != "all" and key not in languages_known:
            raise fail(key, f"attachments: {key!r} is neither 'all' nor a language", table="attachments")
        names = _strings(value, toml_path, text, key, "attachments")
        for item in names:
            target = (folder / item).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise fail(key, f"attachment {item!r} is outside the campaign folder", table="attachments")
            if not target.is_file():
                raise fail(key, f"attachment {item!r} does not exist ({folder / item})",
                           "Put the file in the campaign's files/ folder or fix the path.", table="attachments")
        attachments[key] = names

    events = _read_events(data.get("events", {}), toml_path, text)
    return Campaign(
        slug=slug, path=folder, name=name.strip(),
        sender_name=sender.get("name", default_name) or "", sender_address=sender_address,
        reply_to=sender.get("reply_to", settings.reply_to) or None,
        organisation=data.get("organisation", settings.organisation) or "",
        postal_address=data.get("postal_address", settings.postal_address) or "",
        audience=audience, source_language=source_language, fallback=fallback, layout=layout,
        languages=tuple(sorted(documents)), event=events, attachments=attachments, documents=documents,
    )


def _read_events(table: Any, path: Path, text: str) -> dict[str, dict[str, Any]]:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(table, dict):
        raise InputError(f"{path}:{_line_of(text, 'events')}: events must be tables like [events.PL]")
    events: dict[str, dict[str, Any]] = {}
    for country, event in table.items():
        where = f"{path}:{_line_of(text, 'title', f'events.{country}')}"
        if country not in COUNTRIES or not isinstance(event, dict):
            raise InputError(f"{where}: [events.{country}] is not an EU/EEA country code",
                             "Use ISO codes in capitals: [events.PL], [events.GR] …")
        for key in event:
            if key not in EVENT_KEYS:
                raise InputError(f"{path}:{_line_of(text, key, f'events.{country}')}: unknown event key {key!r}",
                                 "Keys: " + ", ".join(EVENT_KEYS) + ".")
        for key in ("starts", "ends"):
            if key in event and not isinstance(event[key], datetime | date):
                raise InputError(f"{path}:{_line_of(text, key, f'events.{country}')}: {key} must be a TOML "
                                 "date-time without quotes", "Write it as starts = 2027-03-18T09:30:00")
        if "timezone" in event:
            try:
                ZoneInfo(str(event["timezone"]))
            except (ZoneInfoNotFoundError, ValueError):
                raise InputError(f"{path}:{_line_of(text, 'timezone', f'events.{country}')}: unknown time zone "
                                 f"{event['timezone']!r}", 'Use an IANA name such as "Europe/Warsaw".') from None
        events[country] = dict(event)
    return events


def list_campaigns(settings: Settings, errors: list[OutreachError] | None = None) -> list[Campaign]:
    """Every valid campaign folder, by slug; broken ones are left out (and added to `errors` when given)."""
    root = Path(settings.campaigns_dir)
    campaigns = []
    for toml_path in sorted(root.glob("*/campaign.toml")):
        try:
            campaigns.append(load_campaign(settings, toml_path.parent.name))
        except OutreachError as error:
            if errors is not None:
                errors.append(error)
    return campaigns


def choose_language(campaign: Campaign, contact: Contact) -> tuple[str | None, bool]:
    """(language, is_fallback): the contact's language if written, else their country's, else the fallback."""
    if contact.language and contact.language in campaign.documents:
        return contact.language, False
    for language in country_languages(contact.country or ""):
        if language in campaign.documents:
            return language, False
    if campaign.fallback == "source":
        return campaign.source_language, True
    return None, True


@dataclass(frozen=True)
class Recipient:
    """A contact of the audience and the language they will get (None, with a reason, when skipped)."""

    contact: Contact
    language: str | None
    fallback: bool
    skip_reason: str | None


def recipient_for(campaign: Campaign, contact: Contact) -> Recipient:
    """Decide language, fallback and skipping for one contact."""
    language, fallback = choose_language(campaign, contact)
    if language is None:
        wanted = contact.language or "/".join(country_languages(contact.country or "")) or "unknown"
        return Recipient(contact, None, True, f"no {wanted} translation and the campaign's fallback is skip")
    if campaign.event and not campaign.event_for(contact.country):
        return Recipient(contact, None, fallback, f"no [events.{contact.country or '?'}] for the contact's country")
    return Recipient(contact, language, fallback, None)


def iter_audience(db: Database, campaign: Campaign, extra: ContactFilter | None = None) -> Iterator[Recipient]:
    """Stream the active, non-suppressed contacts matching the campaign's audience and `extra`.

    Skipped contacts are included (language None and a reason) so that `send` and `check` can report them.
    """
    where_a, params_a = campaign.audience.where()
    where_b, params_b = (extra or ContactFilter()).where()
    suppressed = {row[0] for row in db.execute("SELECT hash FROM suppressions").fetchall()}
    sql = (f"SELECT * FROM contacts WHERE status = ? AND ({where_a}) AND ({where_b}) ORDER BY id")
    for row in db.query(sql, [ContactStatus.ACTIVE.value, *params_a, *params_b]):
        contact = Contact.from_row(row)
        if suppressed and suppression_hash(contact.email) in suppressed:
            continue
        yield recipient_for(campaign, contact)


@dataclass(frozen=True)
class TranslationStatus:
    language: str
    is_source: bool
    translated_from: str | None
    outdated: bool  # records another revision than the current source (or none at all)


def translation_status(campaign: Campaign) -> list[TranslationStatus]:
    """Per language file: which source revision it was translated from and whether that is still current."""
    current = source_revision(campaign)
    result = []
    for language in campaign.languages:
        doc = campaign.documents[language]
        is_source = language == campaign.source_language
        outdated = not is_source and doc.translated_from != current
        result.append(TranslationStatus(language, is_source, doc.translated_from, outdated))
    return result
