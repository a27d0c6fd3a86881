"""Which of the 15 languages a page is shown in, and the page's translation functions.

Order: the `?lang=` the reader chose with the switcher, then the language of the link's contact, then the
browser's Accept-Language, then English.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outreach.countries import BSI_LANGUAGES, SOURCE_LANGUAGE


def N_(message: str) -> str:
    """Mark a msgid for extraction (`pybabel extract -k N_`); it is translated later, where it is shown."""
    return message


def parse_accept_language(header: str | None) -> list[str]:
    """BSI languages named in an Accept-Language header, most preferred first (q-values honoured, q=0 excluded).

    Tolerant of anything a browser or a bot may send: malformed parts are skipped, never an error.
    """
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:1000].split(",")):
        pieces = [piece.strip() for piece in part.split(";")]
        tag = pieces[0].lower().replace("_", "-")
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
                if quality != quality:  # NaN
                    quality = -1.0
        if quality <= 0 or not tag:
            continue
        primary = tag.split("-")[0]
        if primary in BSI_LANGUAGES:
            ranked.append((-quality, position, primary))
    ranked.sort()
    seen: list[str] = []
    for _, _, language in ranked:
        if language not in seen:
            seen.append(language)
    return seen


def choose_language(query_lang: str | None, contact_lang: str | None, accept_language: str | None) -> str:
    """The page language: explicit choice → contact's → browser's → English."""
    for candidate in (query_lang, contact_lang):
        if candidate and candidate.lower() in BSI_LANGUAGES:
            return candidate.lower()
    preferred = parse_accept_language(accept_language)
    return preferred[0] if preferred else SOURCE_LANGUAGE


@dataclass(frozen=True)
class PageText:
    """gettext for one language, as the templates call it: `_("Text %(name)s", name=…)`."""

    language: str

    @property
    def _translations(self) -> Any:
        from outreach.render.i18n import get_translations

        return get_translations(self.language, "web")

    def gettext(self, message: str, **values: Any) -> str:
        text = str(self._translations.gettext(message))
        return text % values if values else text

    def callables(self) -> dict[str, Callable[..., str]]:
        return {"_": self.gettext, "gettext": self.gettext}


def language_names() -> list[tuple[str, str]]:
    """(code, the language's own name) for the switcher and the language field, in BSI order."""
    from outreach.countries import language_name

    return [(code, language_name(code, code)) for code in BSI_LANGUAGES]
