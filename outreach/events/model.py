"""A campaign's sessions (`[events.<CODE>]` in campaign.toml), read and validated, with per-language texts.

A session is one occurrence of an event: a training day in one country (`[events.HR]`) or a webinar for
everyone (`[events.webinar]`). Which session a reader sees: the campaign's `session = "…"` when it names one
(everyone gets it), else the session of the reader's country, else the campaign's `default_session`.

Texts (title, venue, venue description, practical notes) are written in the session's own `language` (by
default the first language of its country, else the campaign's source language) and may be given in other
languages in sub-tables: `[events.HR.en] title = "…"`. A reader gets their language's text, else the campaign's
source language's, else the session's own — so an English reader in Croatia gets the English title when there is
one. This module imports no other part of outreach but countries and errors (campaigns.folder calls it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.countries import COUNTRIES, country_languages
from outreach.errors import InputError

TEXT_KEYS = ("title", "venue", "venue_description", "notes")
SESSION_KEYS = (*TEXT_KEYS, "language", "starts", "ends", "timezone", "address", "online_url", "capacity",
                "registration_deadline", "registration_url")
CODE_RE = re.compile(r"^(?:[A-Z]{2}|[a-z][a-z0-9-]{1,30})$")


class TomlLike(Protocol):
    """What the reader needs of a parsed campaign.toml: its data and a way to name the line of a key."""

    @property
    def data(self) -> dict[str, Any]: ...

    def error(self, key: str, message: str, hint: str | None = None, table: str | None = None) -> InputError: ...


@dataclass(frozen=True)
class SessionText:
    """The translatable fields of a session in one language (empty when not given)."""

    title: str = ""
    venue: str = ""
    venue_description: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Session:
    """One session of a campaign's event, as campaign.toml defines it. Times are aware, in `timezone`."""

    code: str  # "HR" (a country's session) or a lower-case name ("webinar")
    starts: datetime
    ends: datetime | None
    timezone: str
    language: str  # the language of the flat texts
    texts: Mapping[str, SessionText]  # language → texts; `language` always present
    address: str = ""
    online_url: str = ""
    capacity: int | None = None  # None: no limit
    registration_deadline: datetime | None = None
    registration_url: str = ""  # an outside registration page (older campaigns); "" when outreach registers
    fallback_languages: tuple[str, ...] = field(default=())  # after the reader's: the campaign's source language

    @property
    def country(self) -> str | None:
        """The country of a country's session, None for a session for everyone."""
        return self.code if self.code in COUNTRIES else None

    def text(self, language: str | None) -> SessionText:
        """Each field in the reader's language, else the source language's, else the session's own."""
        order = [lang for lang in (language, *self.fallback_languages, self.language) if lang and lang in self.texts]
        return SessionText(**{key: next((getattr(self.texts[lang], key) for lang in order
                                         if getattr(self.texts[lang], key)), "") for key in TEXT_KEYS})

    def fingerprint(self) -> str:
        """What a calendar shows of the session; when it changes, the calendar entry needs a higher SEQUENCE."""
        import hashlib
        import json

        data = {"starts": self.starts.isoformat(), "ends": self.ends.isoformat() if self.ends else None,
                "timezone": self.timezone, "address": self.address, "online_url": self.online_url,
                "texts": {lang: [getattr(t, k) for k in TEXT_KEYS] for lang, t in sorted(self.texts.items())}}
        return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]

    def view(self, language: str | None) -> dict[str, Any]:
        """The `event` a template sees: texts in the reader's language, times as local wall-clock times."""
        text = self.text(language)
        zone = ZoneInfo(self.timezone)

        def local(value: datetime | None) -> datetime | None:
            return value.astimezone(zone).replace(tzinfo=None) if value else None

        return {"code": self.code, "country": self.country or "", "title": text.title, "venue": text.venue,
                "venue_description": text.venue_description, "notes": text.notes, "address": self.address,
                "online_url": self.online_url, "starts": local(self.starts), "ends": local(self.ends),
                "timezone": self.timezone, "capacity": self.capacity,
                "registration_deadline": local(self.registration_deadline),
                "registration_url": self.registration_url}


@dataclass(frozen=True)
class Sessions:
    """All sessions of a campaign and the rule that picks one for a reader."""

    by_code: Mapping[str, Session] = field(default_factory=dict)
    session: str | None = None  # everyone gets this one
    default_session: str | None = None  # readers without a session in their country get this one

    def for_country(self, country: str | None) -> Session | None:
        """The session a reader living in `country` sees, or None."""
        if self.session:
            return self.by_code[self.session]
        found = self.by_code.get(country or "")
        if found is None and self.default_session:
            return self.by_code[self.default_session]
        return found


def read_sessions(toml: TomlLike, source_language: str, languages_known: set[str]) -> Sessions:
    """`[events.<CODE>]` tables and the `session`/`default_session` keys; errors name the line to fix."""
    table = toml.data.get("events", {})
    if not isinstance(table, dict):
        raise toml.error("events", "events must be tables like [events.PL]")
    sessions = {code: _read_session(toml, code, value, source_language, languages_known)
                for code, value in table.items()}
    chosen = {}
    for key in ("session", "default_session"):
        value = toml.data.get(key)
        if value is not None and value not in sessions:
            from outreach.suggest import did_you_mean

            raise toml.error(key, f"{key} = {value!r} names no [events.…] table{did_you_mean(str(value), sessions)}",
                             "Sessions: " + (", ".join(sessions) or "none") + ".")
        chosen[key] = value
    return Sessions(sessions, chosen["session"], chosen["default_session"])


def _read_session(toml: TomlLike, code: str, raw: Any, source_language: str,
                  languages_known: set[str]) -> Session:
    where = f"events.{code}"
    if not isinstance(raw, dict) or not CODE_RE.match(code) or (code.isupper() and code not in COUNTRIES):
        raise toml.error("title", f"[events.{code}] is neither an EU/EEA country code nor a session name",
                         "Use ISO codes in capitals ([events.PL], [events.GR]) or a lower-case name "
                         "([events.webinar]).", table=where)
    texts_raw = {key: value for key, value in raw.items() if key in languages_known and isinstance(value, dict)}
    for key in raw:
        if key not in SESSION_KEYS and key not in texts_raw:
            raise toml.error(key, f"unknown event key {key!r}", "Keys: " + ", ".join(SESSION_KEYS)
                             + f", and language tables such as [events.{code}.en].", table=where)
    for key in ("starts", "ends"):
        if key in raw and not isinstance(raw[key], datetime):
            raise toml.error(key, f"{key} must be a TOML date-time without quotes",
                             f"Write it as {key} = 2027-03-18T09:30:00", table=where)
    zone = _zone(toml, raw, where)
    starts = _moment(toml, raw, "starts", zone, where, required=True)
    assert starts is not None
    ends = _moment(toml, raw, "ends", zone, where)
    if ends is not None and ends <= starts:
        raise toml.error("ends", "the session ends before it starts", "Check starts and ends.", table=where)
    language = raw.get("language") or next(iter(country_languages(code)), None) or source_language
    if language not in languages_known:
        raise toml.error("language", f"unknown language {language!r}", "Use an ISO 639-1 code such as hr.",
                         table=where)
    texts = {language: _text(toml, raw, where)}
    for lang, sub in texts_raw.items():
        for key in sub:
            if key not in TEXT_KEYS:
                raise toml.error(key, f"{key!r} cannot be translated", "Language tables hold: "
                                 + ", ".join(TEXT_KEYS) + ".", table=f"{where}.{lang}")
        texts[lang] = _text(toml, sub, f"{where}.{lang}", base=texts.get(lang))
    if not any((raw.get("venue"), raw.get("address"), raw.get("online_url"))):
        raise toml.error("title", f"[events.{code}] has no venue, address or online_url",
                         "Say where it happens: address = \"…\" or online_url = \"https://…\".", table=where)
    capacity = raw.get("capacity")
    if capacity is not None and (not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1):
        raise toml.error("capacity", f"capacity must be a whole number of places, not {capacity!r}",
                         "Write capacity = 80, or leave it out for no limit.", table=where)
    deadline = _moment(toml, raw, "registration_deadline", zone, where)
    for key in ("address", "online_url", "registration_url"):
        if not isinstance(raw.get(key, ""), str):
            raise toml.error(key, f"{key} must be a string", table=where)
    for key in ("online_url", "registration_url"):
        if raw.get(key) and not str(raw[key]).startswith(("https://", "http://")):
            raise toml.error(key, f"{key} must be a web address", 'Write it as "https://…".', table=where)
    return Session(code=code, starts=starts, ends=ends, timezone=zone.key, language=language, texts=texts,
                   address=raw.get("address", ""), online_url=raw.get("online_url", ""), capacity=capacity,
                   registration_deadline=deadline, registration_url=raw.get("registration_url", ""),
                   fallback_languages=(source_language,))


def _text(toml: TomlLike, raw: Mapping[str, Any], where: str, base: SessionText | None = None) -> SessionText:
    values = {}
    for key in TEXT_KEYS:
        value = raw.get(key, getattr(base, key) if base else "")
        if not isinstance(value, str):
            raise toml.error(key, f"{key} must be a string", table=where)
        values[key] = value.strip()
    return SessionText(**values)


def _zone(toml: TomlLike, raw: Mapping[str, Any], where: str) -> ZoneInfo:
    name = raw.get("timezone")
    if not name:
        raise toml.error("starts", f"[{where}] has no timezone", 'Add timezone = "Europe/Warsaw" (an IANA name).',
                         table=where)
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise toml.error("timezone", f"unknown time zone {name!r}", 'Use an IANA name such as "Europe/Warsaw".',
                         table=where) from None


def _moment(toml: TomlLike, raw: Mapping[str, Any], key: str, zone: ZoneInfo, where: str,
            required: bool = False) -> datetime | None:
    """A TOML local date-time read in the session's zone (an offset date-time is converted to it)."""
    value = raw.get(key)
    if value is None:
        if required:
            raise toml.error("title", f"[{where}] has no {key}", f"Add {key} = 2027-03-18T09:30:00", table=where)
        return None
    if isinstance(value, date) and not isinstance(value, datetime) and key == "registration_deadline":
        value = datetime.combine(value, time(23, 59))  # a deadline date means "until the end of that day"
    if not isinstance(value, datetime):
        raise toml.error(key, f"{key} must be a TOML date-time without quotes",
                         f"Write it as {key} = 2027-03-18T09:30:00", table=where)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(UTC).astimezone(zone)
