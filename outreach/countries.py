"""Countries and languages: the 15 BSI countries, every EU/EEA country, the 24 EU languages, and names in any
EU language.

A country may be written as an ISO 3166-1 alpha-2 code, EU usage ("EL" for Greece), or its name in any
official EU language (from CLDR via Babel), in any case and with or without accents: "Czechia", "Česko",
"Tschechien", "Ελλάδα", "Hellas".
"""

from __future__ import annotations

import unicodedata
from functools import cache

from outreach.errors import InputError

# The Buying for Social Impact countries and the language each national expert writes in, first one first.
BSI_COUNTRIES: dict[str, tuple[str, ...]] = {
    "HR": ("hr",), "CZ": ("cs",), "DK": ("da",), "FR": ("fr",), "DE": ("de",), "GR": ("el",),
    "HU": ("hu",), "IT": ("it",), "IE": ("en", "ga"), "LV": ("lv",), "NL": ("nl",), "PL": ("pl",),
    "RO": ("ro",), "SK": ("sk",), "SE": ("sv",),
}

# The other EU member states and the EEA EFTA states, with their official languages.
OTHER_EU_EEA: dict[str, tuple[str, ...]] = {
    "AT": ("de",), "BE": ("nl", "fr", "de"), "BG": ("bg",), "CY": ("el",), "EE": ("et",), "ES": ("es",),
    "FI": ("fi", "sv"), "LT": ("lt",), "LU": ("lb", "fr", "de"), "MT": ("mt", "en"), "PT": ("pt",),
    "SI": ("sl",), "IS": ("is",), "LI": ("de",), "NO": ("nb", "nn"),
}

COUNTRIES: dict[str, tuple[str, ...]] = {**BSI_COUNTRIES, **OTHER_EU_EEA}

# The 15 languages every layout string and web page exists in; English is the source and fallback.
BSI_LANGUAGES: tuple[str, ...] = ("hr", "cs", "da", "fr", "de", "el", "hu", "it", "en", "lv", "nl", "pl",
                                  "ro", "sk", "sv")
SOURCE_LANGUAGE = "en"

# The 24 official EU languages, in the EU's protocol order (by each language's own name). Every email layout
# string, web page and country/language name exists in all of them; the shipped campaigns stay in BSI_LANGUAGES.
EU_LANGUAGES: tuple[str, ...] = ("bg", "es", "cs", "da", "de", "et", "el", "en", "fr", "ga", "hr", "it", "lv",
                                 "lt", "hu", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "fi", "sv")

# Official EU languages (plus the EEA's), whose CLDR country names are accepted as aliases.
_NAME_LOCALES = (*EU_LANGUAGES, "is", "nb")

_EXTRA_ALIASES = {
    "EL": "GR", "UK": None, "HELLAS": "GR", "CZECH REPUBLIC": "CZ", "THE NETHERLANDS": "NL", "HOLLAND": "NL",
    "REPUBLIC OF IRELAND": "IE", "EIRE": "IE", "SLOVAK REPUBLIC": "SK", "ELLADA": "GR",
}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().replace("-", " ").replace(".", " ").split())


@cache
def _aliases() -> dict[str, str]:
    from babel import Locale

    table: dict[str, str] = {}
    for code in COUNTRIES:
        table[_fold(code)] = code
        for loc in _NAME_LOCALES:
            name = Locale.parse(loc).territories.get(code)
            if name:
                table.setdefault(_fold(name), code)
    for alias, target in _EXTRA_ALIASES.items():
        if target:
            table[_fold(alias)] = target
    return table


def parse_country(value: str) -> str:
    """The ISO alpha-2 code for a country code, alias or name; InputError for anything outside the EU/EEA."""
    if not value or not value.strip():
        raise InputError("Empty country", "Give an ISO code such as PL or a name such as Poland.")
    if (upper := value.strip().upper()) in COUNTRIES:
        return upper  # a code: no need to load the names in every language (Babel, ~0.2 s)
    code = _aliases().get(_fold(value))
    if code is None:
        raise InputError(
            f"Unknown country {value!r}",
            "Use an EU/EEA country as ISO code (PL, CZ, EL or GR, …) or its name in an EU language.",
        )
    return code


def country_languages(country: str) -> tuple[str, ...]:
    """Official languages of a country, the most used first."""
    return COUNTRIES.get(country, ())


def default_language(country: str | None) -> str | None:
    """The language a contact in this country gets when none is given."""
    if not country:
        return None
    languages = country_languages(country)
    return languages[0] if languages else None


@cache
def _language_codes() -> frozenset[str]:
    return frozenset(EU_LANGUAGES) | {lang for langs in COUNTRIES.values() for lang in langs}


@cache
def _language_aliases() -> dict[str, str]:
    from babel import Locale

    codes = _language_codes()
    table: dict[str, str] = {}
    for code in codes:
        table[code] = code
        locale = Locale.parse(code)
        for display in (locale.get_display_name("en"), locale.get_display_name(code)):
            if display:
                table.setdefault(_fold(display), code)
    return table


def parse_language(value: str) -> str:
    """An ISO 639-1 code from a code ("pl", "PL", "pl-PL", "pl_PL") or a name ("Polish", "polski")."""
    folded = _fold(value).replace("_", "-")
    if not folded:
        raise InputError("Empty language", "Give an ISO 639-1 code such as pl.")
    if folded in _language_codes():
        return folded  # a code: no need to load the names of every language (Babel)
    code = _language_aliases().get(folded) or _language_aliases().get(folded.split("-")[0].split(" ")[0])
    if code is None:
        raise InputError(
            f"Unknown language {value!r}",
            "Use an ISO 639-1 code of an EU/EEA language: " + ", ".join(EU_LANGUAGES) + ", …",
        )
    return code


def country_name(code: str, language: str = "en") -> str:
    """A country's name in a language (CLDR)."""
    from babel import Locale

    return str(Locale.parse(language).territories.get(code, code))


def language_name(code: str, language: str = "en") -> str:
    """A language's name in a language (CLDR), e.g. ("pl", "pl") → "polski"."""
    from babel import Locale

    return Locale.parse(code).get_display_name(language) or code
