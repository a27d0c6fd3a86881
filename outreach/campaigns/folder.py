"""Campaign folders: `campaigns/<slug>/campaign.toml` plus one `<lang>.md` per language.

A campaign is data an expert edits, so every problem in it is reported with the file and the line to fix.
This module reads and validates the folder and lists campaigns. The language files are read by
`outreach.campaigns.documents`, who gets which language is `outreach.campaigns.audience`, scaffolding is
`outreach.campaigns.workdir`, and rendering lives in `outreach.render.renderer`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from types import MappingProxyType
from typing import Any

# Audience and documents are re-exported: callers import them from here (`from outreach.campaigns.folder import
# iter_audience`), as they did before the module was split.
from outreach.campaigns.audience import Recipient, choose_language, iter_audience, recipient_for
from outreach.campaigns.documents import (
    Document,
    TranslationStatus,
    line_of,
    read_document,
    revision_of,
    source_revision,
    toml_error,
    translation_status,
)
from outreach.config import Settings
from outreach.countries import BSI_LANGUAGES, COUNTRIES
from outreach.errors import InputError, NotFoundError, OutreachError
from outreach.events.model import SESSION_KEYS, Session, Sessions, read_sessions
from outreach.models.contacts import ContactFilter
from outreach.suggest import closest

__all__ = [
    "EVENT_KEYS", "FALLBACKS", "LANGUAGE_FILE_RE", "LAYOUTS_HINT", "SLUG_RE", "Attachment", "Campaign", "Document",
    "Recipient", "TranslationStatus", "choose_language", "iter_audience", "layout_dirs", "layout_exists",
    "list_campaigns", "load_campaign", "read_document", "recipient_for", "revision_of", "source_revision",
    "translation_status",
]

LAYOUTS_HINT = ("Layouts are <name>.html.j2 + <name>.txt.j2 in OUTREACH_TEMPLATES or the shipped ones "
                "(base, newsletter, invitation).")
FALLBACKS = ("source", "skip")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LANGUAGE_FILE_RE = re.compile(r"^[A-Za-z]{2,3}$")  # other .md files (README.md, notes.md) are not languages
EVENT_KEYS = SESSION_KEYS
TOP_KEYS = ("name", "layout", "source_language", "fallback", "sender", "organisation", "postal_address",
            "audience", "attachments", "events", "session", "default_session", "track_clicks")
# One parser per `[audience]` key, so that an error names the line of its key.
_AUDIENCE: Mapping[str, Callable[[list[str]], ContactFilter]] = MappingProxyType({
    "countries": lambda values: ContactFilter.parse(countries=values),
    "kinds": lambda values: ContactFilter.parse(kinds=values),
    "languages": lambda values: ContactFilter.parse(languages=values),
    "tags": lambda values: ContactFilter.parse(tags=values),
})


@dataclass(frozen=True)
class Attachment:
    """A file sent with a language version of the campaign."""

    filename: str
    path: Path
    content_type: str


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
    sessions: Sessions = field(default_factory=Sessions)  # [events.<CODE>] tables and the rule picking one
    attachments: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "all" or a language → paths
    documents: dict[str, Document] = field(default_factory=dict, repr=False)
    track_clicks: bool = False  # links in the mail count clicks per variant (docs/tracking.md), never per person

    @property
    def toml_path(self) -> Path:
        """The campaign's `campaign.toml`, which error messages name."""
        return self.path / "campaign.toml"

    def document(self, language: str) -> Document:
        """The parsed `<language>.md`; NotFoundError if the campaign has no such file."""
        try:
            return self.documents[language]
        except KeyError:
            raise NotFoundError(f"Campaign {self.slug!r} has no {language}.md",
                                f"Languages with a file: {', '.join(self.languages)}.") from None

    def name_for(self, language: str) -> str:
        """The campaign's name as readers of `language` see it (the archive heading): the `name` of its
        `<lang>.md` front matter, else the name in campaign.toml."""
        document = self.documents.get(language)
        return document.name if document is not None and document.name else self.name

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

    @property
    def event(self) -> Mapping[str, Session]:
        """The sessions by code (`HR`, `webinar`); empty for a campaign without an event."""
        return self.sessions.by_code

    def session_for(self, country: str | None) -> Session | None:
        """The session a reader living in `country` sees (see outreach.events.model), or None."""
        return self.sessions.for_country(country)

    def event_for(self, country: str | None, language: str | None = None) -> dict[str, Any]:
        """What templates see as `event` for a reader of this country and language, or {} without a session."""
        session = self.sessions.for_country(country)
        return session.view(language or self.source_language) if session else {}


def _known_languages() -> set[str]:
    return set(BSI_LANGUAGES) | {code for codes in COUNTRIES.values() for code in codes}


def layout_dirs(settings: Settings) -> list[Path]:
    """Where layouts are looked up: OUTREACH_TEMPLATES first, then the layouts shipped with outreach."""
    from outreach.resources import bundled

    shipped = bundled("templates") / "emails"
    dirs = [Path(settings.templates_dir)]
    if shipped.resolve() != Path(settings.templates_dir).resolve():
        dirs.append(shipped)
    return dirs


def layout_exists(settings: Settings, layout: str) -> bool:
    """Whether a layout (its .html.j2 and .txt.j2 twins) exists in one of the layout folders."""
    return any((d / f"{layout}.html.j2").is_file() and (d / f"{layout}.txt.j2").is_file()
               for d in layout_dirs(settings))


@dataclass(frozen=True)
class _Toml:
    """A parsed `campaign.toml` with its text, to name the line of a key in errors."""

    path: Path
    text: str
    data: dict[str, Any]

    def error(self, key: str, message: str, hint: str | None = None, table: str | None = None) -> InputError:
        """An error at the line of `key` (inside `[table]` when given): `campaign.toml:7: message`."""
        return InputError(f"{self.path}:{line_of(self.text, key, table)}: {message}", hint)

    def strings(self, value: Any, key: str, table: str | None = None) -> tuple[str, ...]:
        """A string or a list of strings, as a tuple."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"{key} must be a list of strings", f'Write it as {key} = ["…", "…"].', table)
        return tuple(value)


def load_campaign(settings: Settings, slug: str) -> Campaign:
    """Read and validate `<OUTREACH_CAMPAIGNS>/<slug>/`; errors name the file and line to fix."""
    toml = _read_toml(settings, slug)
    folder = toml.path.parent
    data = toml.data
    for key in data:
        if key not in TOP_KEYS:
            raise toml.error(key, f"unknown key {key!r}", "Keys: " + ", ".join(sorted(TOP_KEYS)) + ".")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{toml.path}:1: the campaign has no name", 'Add name = "…" at the top.')
    layout = data.get("layout", "base")
    if not isinstance(layout, str) or not layout_exists(settings, layout):
        raise toml.error("layout", f"unknown layout {layout!r}", LAYOUTS_HINT)
    languages_known = _known_languages()
    source_language = data.get("source_language", "en")
    if source_language not in languages_known:
        raise toml.error("source_language", f"unknown language {source_language!r}",
                         "Use an ISO 639-1 code such as en.")
    fallback = data.get("fallback", "source")
    if fallback not in FALLBACKS:
        raise toml.error("fallback", f"fallback is {fallback!r}", 'Use "source" (send the source language) or "skip".')
    sender_name, sender_address, reply_to = _read_sender(toml, settings)
    audience = _read_audience(toml)
    documents = _read_documents(toml, source_language, languages_known)
    attachments = _read_attachments(toml, languages_known)
    sessions = read_sessions(toml, source_language, languages_known)
    track_clicks = data.get("track_clicks", False)
    if not isinstance(track_clicks, bool):
        raise toml.error("track_clicks", "track_clicks must be true or false", "Write track_clicks = true (no quotes).")
    return Campaign(
        slug=slug, path=folder, name=name.strip(), sender_name=sender_name, sender_address=sender_address,
        reply_to=reply_to, organisation=data.get("organisation", settings.organisation) or "",
        postal_address=data.get("postal_address", settings.postal_address) or "",
        audience=audience, source_language=source_language, fallback=fallback, layout=layout,
        languages=tuple(sorted(documents)), sessions=sessions, attachments=attachments, documents=documents,
        track_clicks=track_clicks,
    )


def _read_toml(settings: Settings, slug: str) -> _Toml:
    """The campaign's `campaign.toml`, parsed; NotFoundError naming the campaigns there are when it is missing."""
    if not slug or slug.startswith(".") or any(sep in slug for sep in "/\\"):
        raise InputError(f"{slug!r} is not a campaign name", "Give the name of a folder in OUTREACH_CAMPAIGNS.")
    toml_path = Path(settings.campaigns_dir) / slug / "campaign.toml"
    if not toml_path.is_file():
        slugs = sorted(p.parent.name for p in Path(settings.campaigns_dir).glob("*/campaign.toml"))
        match = closest(slug, slugs)
        if match is not None:
            raise NotFoundError(f"No campaign {slug!r} — did you mean {match}?",
                                f"Campaigns in {settings.campaigns_dir}: {', '.join(slugs)}.")
        raise NotFoundError(f"No campaign {slug!r}: {toml_path} does not exist",
                            f"Campaigns in {settings.campaigns_dir}: {', '.join(slugs) or 'none'}. "
                            f"Create one with: outreach campaign new {slug}")
    text = toml_path.read_text(encoding="utf-8-sig")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise toml_error(toml_path, error) from None
    return _Toml(toml_path, text, data)


def _read_sender(toml: _Toml, settings: Settings) -> tuple[str, str, str | None]:
    """(name, address, reply-to) from `[sender]`, each defaulting to the settings."""
    sender = toml.data.get("sender", {})
    if not isinstance(sender, dict):
        raise toml.error("sender", "sender must be a table", "Write [sender] with name, address, reply_to.")
    default_name, default_address = parseaddr(settings.sender or "")
    address = sender.get("address", default_address) or ""
    if address and "@" not in address:
        raise toml.error("address", f"sender address {address!r} is not an email address", table="sender")
    return sender.get("name", default_name) or "", address, sender.get("reply_to", settings.reply_to) or None


def _read_audience(toml: _Toml) -> ContactFilter:
    """The `[audience]` table as a filter; an unknown country, kind or language names its line."""
    table = toml.data.get("audience", {})
    if not isinstance(table, dict):
        raise toml.error("audience", "audience must be a table")
    for key in table:
        if key not in _AUDIENCE:
            raise toml.error(key, f"unknown audience key {key!r}", "Keys: countries, kinds, languages, tags.",
                             table="audience")
    values = {key: list(toml.strings(value, key, "audience")) for key, value in table.items()}
    for key, value in values.items():  # one key at a time, so that an error names its line
        try:
            _AUDIENCE[key](value)
        except InputError as error:
            raise toml.error(key, f"audience: {error.message}", error.hint, table="audience") from None
    return ContactFilter.parse(countries=values.get("countries"), kinds=values.get("kinds"),
                               languages=values.get("languages"), tags=values.get("tags"))


def _read_documents(toml: _Toml, source_language: str, languages_known: set[str]) -> dict[str, Document]:
    """Every `<lang>.md` of the folder, by language; the source language's must exist."""
    folder = toml.path.parent
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
                         f"Write {source_language}.md, or set source_language in {toml.path}.")
    return documents


def _read_attachments(toml: _Toml, languages_known: set[str]) -> dict[str, tuple[str, ...]]:
    """`[attachments]`: "all" or a language → paths inside the campaign folder, each checked to exist."""
    folder = toml.path.parent
    attachments: dict[str, tuple[str, ...]] = {}
    table = toml.data.get("attachments", {})
    if not isinstance(table, dict):
        raise toml.error("attachments", "attachments must be a table", 'Write [attachments] all = ["files/…"].')
    for key, value in table.items():
        if key != "all" and key not in languages_known:
            raise toml.error(key, f"attachments: {key!r} is neither 'all' nor a language", table="attachments")
        names = toml.strings(value, key, "attachments")
        for item in names:
            target = (folder / item).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise toml.error(key, f"attachment {item!r} is outside the campaign folder", table="attachments")
            if not target.is_file():
                raise toml.error(key, f"attachment {item!r} does not exist ({folder / item})",
                                 "Put the file in the campaign's files/ folder or fix the path.", table="attachments")
        attachments[key] = names
    return attachments


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
