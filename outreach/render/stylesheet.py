"""The style sheet of each language: the data translators and the style checks share.

One TOML file per language, `outreach/locale/<lang>/style.toml`, next to that language's catalogs: the form of
address and its capitalisation, the mood of buttons, labels to keep gender-neutral, how a date reads in running
text, typography (apostrophe, quotes, French no-break spaces) and the glossary's terms with the wrong variants
that must not appear. docs/translation-style.md explains each field; adding a language is adding one file.

Dates in campaign text (`{{ event.starts | date }}`) use the language's own `in_text` pattern, so Latvian gets
its locative ("2027. gada 22. aprīlī") and English readers day-month-year (`en_IE`), never US dates.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

from outreach.errors import InputError
from outreach.resources import locale_dir


@dataclass(frozen=True)
class Rule:
    """A form that must not appear in a language's text, and what to write instead."""

    pattern: re.Pattern[str]
    message: str


@dataclass(frozen=True)
class Term:
    """A glossary term of the directive in one language; `match` finds its inflected forms."""

    english: str
    term: str
    match: re.Pattern[str]


@dataclass(frozen=True)
class StyleSheet:
    """One language's style sheet, as read from its style.toml."""

    language: str
    address: str  # e.g. "Sie (capitalised)"
    capitalised: bool
    button_mood: str
    babel_locale: str  # the CLDR locale dates are formatted with (en → en_IE: day-month-year)
    date_in_text: str  # LDML pattern of a date in running text
    months: tuple[str, ...]  # month names in the case running text needs, or () for CLDR's
    time: str  # LDML pattern of a time of day, 24-hour where the language writes it so
    apostrophe: str
    quotes: tuple[str, str]
    nbsp_before: str  # characters that take a no-break space before them (French ": ; ? !")
    rules: tuple[Rule, ...] = ()  # register, gendered labels, wrong glossary variants
    glossary: tuple[Term, ...] = field(default=())

    def term(self, english: str) -> Term:
        """The glossary entry for an English term (KeyError when the language has none)."""
        for entry in self.glossary:
            if entry.english == english:
                return entry
        raise KeyError(english)


def style_path(language: str, root: Path | None = None) -> Path:
    """Where a language's style sheet lives (beside its catalogs)."""
    return (root or locale_dir()) / language / "style.toml"


def missing_styles(languages: tuple[str, ...], root: Path | None = None) -> list[str]:
    """The languages without a style sheet, so a test can name every one that still needs a table."""
    return [language for language in languages if not style_path(language, root).is_file()]


@cache
def load_style(language: str) -> StyleSheet | None:
    """The shipped style sheet of a language, or None when it has none yet (Babel's defaults then apply)."""
    path = style_path(language)
    return read_style(path, language) if path.is_file() else None


def read_style(path: Path, language: str) -> StyleSheet:
    """Parse one style.toml; a malformed file is refused naming the file and the field."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
        address, buttons, dates, typography = (data[k] for k in ("address", "buttons", "dates", "typography"))
        rules = [*_rules(address.get("avoid", []), f"breaks the register ({address['form']})"),
                 *_rules(data.get("labels", {}).get("avoid", []), "is a gendered label: use a neutral wording"),
                 *(Rule(_compile(w["wrong"], re.I), f"is not the glossary term: write {w['use']!r}")
                   for w in data.get("wrong_terms", []))]
        glossary = tuple(Term(english, str(_entry(value)[0]), _compile(_entry(value)[1], re.I))
                         for english, value in data.get("glossary", {}).items())
        months = tuple(str(m) for m in dates.get("months", ()))
        if months and len(months) != 12:
            raise ValueError("dates.months must list 12 month names")
        quotes = tuple(str(q) for q in typography.get("quotes", ['"', '"']))
        return StyleSheet(language=language, address=str(address["form"]), capitalised=bool(address["capitalised"]),
                          button_mood=str(buttons["mood"]), babel_locale=str(dates.get("locale", language)),
                          date_in_text=str(dates["in_text"]), months=months, time=str(dates["time"]),
                          apostrophe=str(typography["apostrophe"]), quotes=(quotes[0], quotes[1]),
                          nbsp_before=str(typography.get("nbsp_before", "")), rules=tuple(rules), glossary=glossary)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, re.error) as error:
        raise InputError(f"{path}: not a valid style sheet ({type(error).__name__}: {error})",
                         "See docs/translation-style.md for the fields of a style.toml.") from None


def _entry(value: object) -> tuple[str, str]:
    """(term, regex of its forms) from `"term"` or `{ term = "…", match = "…" }`."""
    if isinstance(value, str):
        return value, re.escape(value)
    if isinstance(value, dict) and isinstance(value.get("term"), str):
        return value["term"], str(value.get("match", re.escape(value["term"])))
    raise TypeError(f"glossary entry {value!r} must be a string or a table with term (and match)")


def _rules(patterns: list[str], why: str) -> list[Rule]:
    return [Rule(_compile(p), why) for p in patterns]


def _compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


# --- dates and times --------------------------------------------------------------------------------------

def babel_locale(language: str) -> str:
    """The CLDR locale a language's dates are written in (`en` → `en_IE`: day-month-year, 24-hour)."""
    style = load_style(language)
    return style.babel_locale if style else language


def date_in_text(value: date | datetime, language: str) -> str:
    """A date as it reads inside a sentence of that language ("2027. gada 22. aprīlī", "9. ožujka 2027.")."""
    from babel.dates import format_date

    day = value.date() if isinstance(value, datetime) else value
    style = load_style(language)
    if style is None:
        return str(format_date(day, "long", locale=language))
    pattern = style.date_in_text
    if style.months:  # a literal month name in the case running text needs, quoted for LDML
        pattern = re.sub(r"M{3,4}", "'" + style.months[day.month - 1].replace("'", "''") + "'", pattern)
    return str(format_date(day, pattern, locale=style.babel_locale))


def time_of_day(value: datetime, language: str) -> str:
    """A time as the language writes it (24-hour in all the languages shipped: "09:30", Danish "09.30")."""
    from babel.dates import format_time

    style = load_style(language)
    if style is None:
        return str(format_time(value, "short", locale=language))
    return str(format_time(value, style.time, locale=style.babel_locale))
