"""Translations of layout and page strings: gettext catalogs read at run time through Babel.

Catalogs live in `outreach/locale/<lang>/LC_MESSAGES/<domain>.po` — domain `emails` for the email layouts,
`web` for the subscriber pages. They are read as `.po` (no compile step to forget) and cached per process.
English is the source language: a missing string falls back to its English msgid.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.countries import EU_LANGUAGES, SOURCE_LANGUAGE
from outreach.resources import locale_dir

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog
    from babel.support import NullTranslations

DOMAINS = ("emails", "web")


def catalog_path(language: str, domain: str, root: Path | None = None) -> Path:
    """The .po file of a language and domain (under `root`, or the catalogs shipped in the package)."""
    return (root or locale_dir()) / language / "LC_MESSAGES" / f"{domain}.po"


@cache
def get_translations(language: str, domain: str) -> NullTranslations:
    """The translations for a language and domain; English (or a missing catalog) gives the msgids back."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    path = catalog_path(language, domain)
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


@dataclass(frozen=True)
class CatalogStatus:
    """How complete one language's catalog of one domain is, against the English source."""

    language: str
    domain: str
    missing: tuple[str, ...]
    fuzzy: tuple[str, ...]
    exists: bool

    @property
    def ok(self) -> bool:
        """Whether the catalog exists and has every string translated, none fuzzy."""
        return self.exists and not self.missing and not self.fuzzy


def check_catalogs(domain: str, languages: tuple[str, ...] = EU_LANGUAGES,
                   root: Path | None = None) -> list[CatalogStatus]:
    """Per language: strings of the English catalog that are missing or fuzzy in that language."""
    from babel.messages.pofile import read_po

    def load(language: str) -> Catalog:
        with catalog_path(language, domain, root).open("rb") as handle:
            return read_po(handle, locale=language, domain=domain)

    source_path = catalog_path(SOURCE_LANGUAGE, domain, root)
    source_ids = [m.id for m in load(SOURCE_LANGUAGE) if m.id] if source_path.is_file() else []
    results = []
    for language in languages:
        if language == SOURCE_LANGUAGE:
            results.append(CatalogStatus(language, domain, (), (), source_path.is_file()))
            continue
        if not catalog_path(language, domain, root).is_file():
            results.append(CatalogStatus(language, domain, tuple(str(i) for i in source_ids), (), False))
            continue
        catalog = load(language)
        missing, fuzzy = [], []
        for msgid in source_ids:
            message = catalog.get(msgid)
            strings = message.string if message is not None else None
            filled = all(strings) if isinstance(strings, tuple | list) else bool(strings)
            if message is None or not filled:
                missing.append(str(msgid))
            elif message.fuzzy:
                fuzzy.append(str(msgid))
        results.append(CatalogStatus(language, domain, tuple(missing), tuple(fuzzy), True))
    return results


def missing_report(statuses: list[CatalogStatus]) -> str:
    """Per incomplete catalog, which msgids are missing or fuzzy: what a translator (or a failing test) needs."""
    lines = []
    for status in statuses:
        if status.ok:
            continue
        state = "no catalog" if not status.exists else f"{len(status.missing)} missing, {len(status.fuzzy)} fuzzy"
        lines.append(f"{status.domain}/{status.language}: {state}")
        lines += [f"    missing: {msgid}" for msgid in status.missing if status.exists]
        lines += [f"    fuzzy:   {msgid}" for msgid in status.fuzzy]
    return "\n".join(lines)


def format_date(value: date | datetime, language: str, fmt: str = "long") -> str:
    """A date in the reader's language and conventions (CLDR), e.g. "18 marca 2027"; English day-month-year."""
    from babel.dates import format_date as babel_format_date

    from outreach.render.stylesheet import babel_locale

    day = value.date() if isinstance(value, datetime) else value
    return str(babel_format_date(day, format=fmt, locale=babel_locale(language)))
