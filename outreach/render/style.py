"""Style checks: what a professional translator's review finds that the structural checks do not.

Each language's style sheet (`stylesheet.py`, `outreach/locale/<lang>/style.toml`) says which form of address it
uses, which labels would show a gender, which glossary variants are wrong, and its typography. These checks read
a campaign's language files, the catalogs of the layouts and web pages, and the layouts' own text, and report
each problem with its file and line: French spacing before `: ; ? !`, straight apostrophes and quotes, a full
stop after a placeholder whose value already ends with one, register breaks, gendered labels, wrong terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from outreach.campaigns.folder import Campaign
from outreach.render.stylesheet import StyleSheet, date_in_text, load_style

PLACEHOLDER = "\ue000"  # stands for a Jinja expression or a %(name)s while the prose is checked
_SAMPLE_DAY = date(2027, 3, 9)  # any date: only whether the language's date ends with "." matters
_JINJA_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_JINJA_OTHER = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_PO_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_URL = re.compile(r"\b(?:https?://|mailto:|www\.)\S+")
_HTML_TAG = re.compile(r"<[^>]*>")
_QUOTE_CHARS = "„“”«»‘‚‹›\""
_NBSP = "\u00a0\u202f"


@dataclass(frozen=True)
class Finding:
    """One style problem: where (file:line) and what to write instead."""

    where: str
    message: str


@dataclass(frozen=True)
class Piece:
    """A stretch of prose in one language, with the placeholders that stand in it."""

    where: str
    text: str  # placeholders replaced by PLACEHOLDER
    dates: tuple[tuple[int, str], ...] = ()  # (offset in `text`, CLDR format or "") of placeholders printing a date
    source: str = ""  # the same prose with its placeholders as written, for rules that name one


# --- reading the pieces -------------------------------------------------------------------------------------

def prose(raw: str) -> tuple[str, tuple[tuple[int, str], ...], str]:
    """Jinja expressions and %(name)s become PLACEHOLDER (their offsets noted when they print a date); block tags,
    link targets, URLs and HTML tags go."""
    raw = _JINJA_OTHER.sub("", _HTML_TAG.sub("", _URL.sub("", _LINK_TARGET.sub("]", raw))))
    out: list[str] = []
    dates: list[tuple[int, str]] = []
    pos = 0
    for match in re.finditer(f"{_JINJA_EXPR.pattern}|{_PO_PLACEHOLDER.pattern}", raw, re.S):
        out.append(raw[pos:match.start()])
        inner = match.group(1) if match.group(1) is not None else (match.group(2) or "")
        written = re.search(r"\|\s*date\s*(?:\(\s*[\"']?(\w*)[\"']?\s*\))?$|^date$", inner.strip())
        if written:  # {{ d | date }}, {{ d | date("short") }}, %(date)s
            dates.append((sum(len(p) for p in out), written.group(1) or ""))
        out.append(PLACEHOLDER)
        pos = match.end()
    out.append(raw[pos:])
    return "".join(out), tuple(dates), raw


def document_pieces(path: Path) -> Iterator[Piece]:
    """The subject, preheader and body lines of a campaign's `<lang>.md`, each with its line number."""
    lines = path.read_text("utf-8").splitlines()
    in_front = bool(lines and lines[0].strip() == "+++")
    for number, line in enumerate(lines, 1):
        if number == 1 and in_front:
            continue
        if in_front:
            if line.strip() == "+++":
                in_front = False
                continue
            value = _front_matter_value(line)
            if value is None:
                continue
            line = value
        text, dates, source = prose(line)
        if text.strip():
            yield Piece(f"{path}:{number}", text, dates, source)


def _front_matter_value(line: str) -> str | None:
    """The text of a `subject = "…"` or `preheader = "…"` line (TOML escapes resolved), else None."""
    import tomllib

    if not re.match(r"\s*(subject|preheader)\s*=", line):
        return None
    try:
        value = next(iter(tomllib.loads(line).values()))
    except (tomllib.TOMLDecodeError, StopIteration):
        return None
    return value if isinstance(value, str) else None


def catalog_pieces(path: Path) -> Iterator[Piece]:
    """Every translated string of a .po catalog, with the line of its entry."""
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for string in strings:
            if string:
                text, dates, source = prose(str(string))
                yield Piece(f"{path}:{message.lineno}", text, dates, source)


def layout_pieces(path: Path) -> Iterator[Piece]:
    """The literal text of a layout (outside tags and Jinja), in the source language."""
    def blank(match: re.Match[str]) -> str:  # keep the line numbers of what follows
        return "\n" * match.group(0).count("\n")

    visible = re.sub(r"<style.*?</style>|\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}|<[^>]*>", blank, path.read_text("utf-8"),
                     flags=re.S)
    for number, line in enumerate(visible.splitlines(), 1):
        text, dates, source = prose(line)
        if text.strip():
            yield Piece(f"{path}:{number}", text, dates, source)


def value_pieces(where: str, values: Iterable[object]) -> Iterator[Piece]:
    """Plain values (an event's title, venue and address) as prose."""
    for value in values:
        if isinstance(value, str) and value.strip():
            text, dates, source = prose(value)
            yield Piece(where, text, dates, source)


# --- the rules ---------------------------------------------------------------------------------------------

def check_pieces(style: StyleSheet, pieces: Iterable[Piece]) -> list[Finding]:
    """Every problem the language's style sheet can see in these pieces of prose."""
    return [Finding(piece.where, message) for piece in pieces for message in piece_problems(style, piece)]


def sample_date(language: str, fmt: str = "") -> str:
    """How a date placeholder prints in a language: the running-text pattern, or a CLDR format ("short")."""
    from outreach.render.i18n import format_date

    return format_date(_SAMPLE_DAY, language, fmt) if fmt else date_in_text(_SAMPLE_DAY, language)


def piece_problems(style: StyleSheet, piece: Piece) -> Iterator[str]:
    """The problems of one piece, as messages that say what to write instead."""
    text = piece.text
    for offset, fmt in piece.dates:
        printed = sample_date(style.language, fmt)
        if text[offset + 1:offset + 2] == "." and printed.endswith("."):
            yield (f"a full stop after a date: the {style.language} date already ends with one "
                   f"(\"{printed}\"); write no second full stop")
    for double in re.finditer(r"(?<![.])([.?!:;,])\.(?!\.)", text):
        yield f"double punctuation {double.group(0)!r}: keep one"
    yield from _typography(style, text)
    for rule in style.rules:
        found = rule.pattern.search(piece.source or text)
        if found:
            yield f"{found.group(0)!r} {rule.message} (see docs/translation-style.md, {style.language})"


def _typography(style: StyleSheet, text: str) -> Iterator[str]:
    if style.apostrophe != "'":
        match = re.search(r"\w'\w", text)
        if match:
            yield f"straight apostrophe in {match.group(0)!r}: write {style.apostrophe}"
    allowed = {q.strip(_NBSP + " ") for q in style.quotes}
    if '"' not in allowed and '"' in text:
        yield f'straight quotes ("): write {style.quotes[0].strip()}…{style.quotes[1].strip()}'
    wrong = sorted({c for c in text if c in _QUOTE_CHARS and c != '"' and c not in allowed and c != style.apostrophe})
    if wrong:
        yield (f"quotation mark {''.join(wrong)!r} is not {style.language}'s: write "
               f"{style.quotes[0].strip()}…{style.quotes[1].strip()}")
    if style.nbsp_before:
        yield from _french_spacing(style, text)


def _french_spacing(style: StyleSheet, text: str) -> Iterator[str]:
    marks = re.escape(style.nbsp_before)
    for match in re.finditer(rf"(.)([{marks}])(?=\s|$|\*|{PLACEHOLDER}|[»)])", text):
        before, mark = match.group(1), match.group(2)
        if before == " ":
            yield f"an ordinary space before {mark!r}: write a no-break space (U+00A0 or U+202F)"
        elif before not in _NBSP and not (mark == ":" and before.isdigit()):
            yield f"no space before {mark!r}: write a no-break space (U+00A0 or U+202F) before it"
    if re.search(r"«(?![\u00a0\u202f])|(?<![\u00a0\u202f])»", text):
        yield "« » need a no-break space inside them (U+00A0 or U+202F)"


# --- what is shipped ---------------------------------------------------------------------------------------

def campaign_findings(campaign: Campaign, language: str) -> list[Finding]:
    """The style problems a campaign's reader of one language would see: the language file, the events held in
    that language's countries, and the layout strings of the emails catalog."""
    from outreach.render.i18n import catalog_path

    pieces = list(document_pieces(campaign.documents[language].path))
    for code, session in sorted(campaign.event.items()):
        texts = session.texts.get(language)  # the session's texts written in this language, if any
        if texts is not None:
            table = f"events.{code}" if language == session.language else f"events.{code}.{language}"
            pieces.extend(value_pieces(f"{campaign.toml_path} [{table}]",
                                       [texts.title, texts.venue, texts.venue_description, texts.notes]))
    emails = catalog_path(language, "emails")
    if emails.is_file():
        pieces.extend(catalog_pieces(emails))
    return language_findings(language, pieces)


def language_findings(language: str, pieces: Iterable[Piece]) -> list[Finding]:
    """Findings for prose in one language; nothing when the language has no style sheet yet."""
    style = load_style(language)
    return check_pieces(style, pieces) if style else []


def catalog_findings(language: str, root: Path | None = None) -> list[Finding]:
    """The style problems of a language's email and web catalogs."""
    from outreach.render.i18n import DOMAINS, catalog_path

    pieces: list[Piece] = []
    for domain in DOMAINS:
        path = catalog_path(language, domain, root)
        if path.is_file():
            pieces.extend(catalog_pieces(path))
    return language_findings(language, pieces)


def layout_findings(layout_dir: Path, source_language: str = "en") -> list[Finding]:
    """The style problems of the layouts' literal text (written in the source language)."""
    pieces = [p for path in sorted(layout_dir.glob("*.j2")) for p in layout_pieces(path)]
    return language_findings(source_language, pieces)
