"""Which of the 15 languages a page is shown in, and the page's translation functions.

Order: the `?lang=` the reader chose with the switcher, then the language of the link's contact, then the
browser's Accept-Language, then English.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outreach.countries import EU_LANGUAGES, SOURCE_LANGUAGE

if TYPE_CHECKING:
    from babel.support import NullTranslations

MAX_HEADER = 1000  # a longer Accept-Language is a bot's; its tail is ignored


def N_(message: str) -> str:
    """Mark a msgid for extraction (`pybabel extract -k N_`); it is translated later, where it is shown."""
    return message


def ranked_tags(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, most preferred first (q=0 and malformed parts dropped).

    Babel matches tags to locales but does not read the header itself, so the q-values are read here. Tolerant
    of anything a browser or a bot may send: malformed parts are skipped, never an error.
    """
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_HEADER].split(",")):
        tag, *params = (piece.strip() for piece in part.split(";"))
        quality = _quality(params)
        if quality > 0 and tag:
            ranked.append((-quality, position, tag.lower().replace("_", "-")))
    ranked.sort()
    return [tag for _, _, tag in ranked]


def _quality(params: list[str]) -> float:
    """The q-value among a tag's parameters: 1 when absent, -1 (dropped) when unreadable."""
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = -1.0
            if math.isnan(quality):
                quality = -1.0
    return quality


def negotiate(tags: list[str]) -> str | None:
    """The first EU language the tags ask for; a region variant (`pl-PL`, `de-AT`) matches its language."""
    from babel import negotiate_locale

    # No aliases: Babel's map region-qualifies bare languages (de → de_DE), which our plain codes never match.
    return negotiate_locale(tags, EU_LANGUAGES, sep="-", aliases={})


def parse_accept_language(header: str | None) -> list[str]:
    """EU languages named in an Accept-Language header, most preferred first (q-values honoured, q=0 excluded)."""
    languages: list[str] = []
    for tag in ranked_tags(header):
        language = negotiate([tag])
        if language is not None and language not in languages:
            languages.append(language)
    return languages


def choose_language(query_lang: str | None, contact_lang: str | None, accept_language: str | None) -> str:
    """The page language: explicit choice → contact's → browser's → English."""
    for candidate in (query_lang, contact_lang):
        if candidate and candidate.lower() in EU_LANGUAGES:
            return candidate.lower()
    return negotiate(ranked_tags(accept_language)) or SOURCE_LANGUAGE


@dataclass(frozen=True)
class PageText:
    """gettext for one language, as the templates call it: `_("Text %(name)s", name=…)`."""

    language: str

    @property
    def _translations(self) -> NullTranslations:
        from outreach.render.i18n import get_translations

        return get_translations(self.language, "web")

    def gettext(self, message: str, **values: object) -> str:
        """The message in this language (English msgid when untranslated), with `%(name)s` values filled in."""
        text = str(self._translations.gettext(message))
        return text % values if values else text

    def callables(self) -> dict[str, Callable[..., str]]:
        """The translation functions as the templates call them."""
        return {"_": self.gettext, "gettext": self.gettext}


def language_names() -> list[tuple[str, str]]:
    """(code, the language's own name) for the switcher and the language field, in the EU's order."""
    from outreach.countries import language_name

    return [(code, language_name(code, code)) for code in EU_LANGUAGES]


def own_language_name(code: str) -> str:
    """A language's own name, capitalised ("Ελληνικά"), or the code itself when Babel does not know it."""
    from outreach.countries import language_name

    try:
        name = language_name(code, code)
    except Exception:  # an unusual code stored by an old version: show the code itself
        return code
    return name[:1].upper() + name[1:]


def mail_language(contact_language: str | None, page_language: str) -> str:
    """The language of a mail to a known contact: their own when the pages speak it, else the page's."""
    return contact_language if contact_language in EU_LANGUAGES else page_language
