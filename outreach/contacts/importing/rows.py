"""Turning one spreadsheet row into a clean contact record, or a RowError naming the column and the reason.

Used by `outreach.contacts.importing.importer`; kept apart so that the rules for a single row (what an address
cell may look like, how a country or a kind is written, which cells are refused) can be read and tested on their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache

from outreach.contacts.importing.columns import ColumnPlan, column_letter, consent_basis_value, kind_value
from outreach.contacts.importing.limits import MAX_ATTRIBUTES, MAX_CELL
from outreach.contacts.importing.sheets import Sheet
from outreach.contacts.model import CONTROL, normalize_email
from outreach.countries import default_language, parse_country, parse_language
from outreach.errors import InputError
from outreach.models import ContactStatus, Kind

_CONTROL = CONTROL  # the one rule of contacts.model (C0 and C1 controls, line separators)
# Rows longer than this (all cells together) are rare: only then are the cell and attribute bounds checked.
_LONG_ROW = min(MAX_CELL, MAX_ATTRIBUTES)
# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"); `contacts export` guards these.
FORMULA_STARTS = frozenset("=+-@\t\r")
_NAME_ADDR = re.compile(r'\s*"?(?P<name>[^"<>]*?)"?\s*<\s*(?P<addr>[^<>\s]+)\s*>\s*')
_LIST_SPLIT = re.compile(r"[,;]")
# The shape of almost every real address: plain ASCII dot-atom at a letters-only TLD. For these the canonical
# form is simply the lower-cased address, exactly what normalize_email returns (a hypothesis test holds the two
# equal), at a hundredth of the cost: email-validator takes ~50 µs an address, too slow for 100,000 rows.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"(?!xn--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_FAST_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_FAST_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?P<tld>[A-Za-z]{{2,63}})")
_SPECIAL_TLDS = {"arpa", "invalid", "local", "localhost", "onion", "test"}
# A file may only restrict: an export's "unsubscribed" stays so; nothing in a file re-activates anyone.
_RESTRICTING = frozenset({ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.COMPLAINED})
_ROW_STATUS: Mapping[str, ContactStatus] = {status.value: status for status in (ContactStatus.ACTIVE, *_RESTRICTING)}
_ACTIVE = ContactStatus.ACTIVE.value  # a module constant: `ContactStatus.ACTIVE` is a slow lookup, once per row


class RowError(Exception):
    """This row cannot be imported (never leaves the importer: it becomes a Rejected entry)."""

    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Defaults:
    """Values for every row of an import that leaves the field empty (`--country`, `--kind`, …)."""

    country: str | None = None
    kind: str | None = None  # a Kind's value, as kind_value gives it
    language: str | None = None
    tags: frozenset[str] = frozenset()
    consent_basis: str | None = None
    source: str | None = None


def make_defaults(country: str | None, kind: str | None, language: str | None, tags: tuple[str, ...],
                  consent_basis: str | None, source: str | None) -> Defaults:
    """Validate the import options once, naming the option in the error."""
    try:
        code = parse_country(country) if country else None
        lang = parse_language(language) if language else None
    except InputError as error:
        option = "--country" if "country" in error.message.lower() else "--language"
        raise InputError(f"{option}: {error.message}", error.hint) from None
    kind_code = None
    if kind:
        kind_code = kind_value(kind)
        if kind_code is None:
            raise InputError(f"--kind: unknown kind {kind!r}", "Use one of: " + ", ".join(k.value for k in Kind))
    cleaned_tags = set()
    for value in tags:
        for tag in _LIST_SPLIT.split(value):
            if _CONTROL.search(tag):
                raise InputError(f"--tag {tag!r} contains a control character")
            if tag.strip():
                cleaned_tags.add(tag.strip())
    for option, given in (("--consent-basis", consent_basis), ("--source", source)):
        if given and _CONTROL.search(given):
            raise InputError(f"{option} {given!r} contains a line break or control character")
    return Defaults(code, kind_code, lang, frozenset(cleaned_tags),
                    consent_basis_value(consent_basis.strip()) if consent_basis else None,
                    source.strip() if source else None)


@dataclass
class Record:
    """One clean row, ready to be compared with the database.

    `values` holds the scalar fields by name, as the text they are stored as (kind as a Kind's value): the
    importer compares and merges them by name, and writes them as they are (SQLite binds a plain str fastest).
    """

    file: str
    row: int
    email: str
    values: dict[str, str | None]
    tags: set[str] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)
    attributes: dict[str, str] = field(default_factory=dict)
    status: ContactStatus = ContactStatus.ACTIVE
    duplicate: bool = False

    def merge(self, later: Record, policy: str) -> None:
        """Fold a later row with the same address into this one, as --on-duplicate says."""
        if policy == "skip":
            return
        for key, value in later.values.items():
            if value and (policy == "update" or not self.values.get(key)):
                self.values[key] = value
        self.tags |= later.tags
        self.topics |= later.topics
        for key, value in later.attributes.items():
            if policy == "update" or key not in self.attributes:
                self.attributes[key] = value
        if later.status in _RESTRICTING:
            self.status = later.status


def normalize_address(raw: str, check_dns: bool = False) -> str:
    """The canonical address, as `contacts.normalize_email`, with a fast path for plain ASCII addresses."""
    if not check_dns and len(raw) <= 254:
        # Neither part can hold an "@", so the address is plain exactly when the text before the first "@" is a
        # plain local part and the rest a plain domain; a list has few domains, so each is checked once.
        local, _, domain = raw.partition("@")
        if len(local) <= 64 and _plain_domain(domain) and _FAST_LOCAL.fullmatch(local):
            return raw.lower()
    return normalize_email(raw, check_dns=check_dns)


@lru_cache(maxsize=4096)
def _plain_domain(domain: str) -> bool:
    match = _FAST_DOMAIN.fullmatch(domain)
    return match is not None and match.group("tld").lower() not in _SPECIAL_TLDS


def read_record(sheet: Sheet, plan: ColumnPlan, number: int, cells: list[str], defaults: Defaults,
                check_dns: bool = False) -> Record:
    """One row as a Record; RowError (with the column) when the row cannot be imported."""
    # Runs once per row (100,000 times for a large list): the common path avoids closures, enum lookups and
    # copies; the error paths below it build their messages only when needed.
    if len(cells) != len(plan.header):
        cells = _fit_width(sheet, cells, len(plan.header))
    joined = "\ue000".join(cells)
    if "\ue000'" in joined or joined[:1] == "'":  # rare: a cell our CSV export protected from Excel
        cells = unquote_formula(cells)
    if len(joined) > _LONG_ROW:
        _check_long_row(sheet, plan, number, cells)
    if _CONTROL.search(joined):  # rare: find the cell and name its column
        _refuse_control(plan, cells)
    get = {name: cells[index].strip() for name, index in plan.fields.items()}
    email, display_name = _address(get["email"], plan, check_dns)
    name = get.get("name", "")
    if not name and ("first_name" in get or "last_name" in get):
        parts = sorted((plan.fields[key], get[key]) for key in ("first_name", "last_name") if key in get)
        name = " ".join(part for _, part in parts if part)
    text = get.get("country")
    country = (_coded(text, "country", plan, _country) if text else None) or defaults.country
    text = get.get("language")
    language = ((_coded(text, "language", plan, _language) if text else None) or defaults.language
                or _default_language(country))
    text = get.get("consent_basis")
    values: dict[str, str | None] = {
        "name": name or display_name,
        "organisation": get.get("organisation", ""),
        "role": get.get("role", ""),
        "kind": defaults.kind,
        "country": country,
        "language": language,
        "consent_basis": (consent_basis_value(text) if text else "") or defaults.consent_basis,
        "consent_source": get.get("consent_source") or defaults.source,
        "consent_at": _consent_date(get["consent_at"], plan) if "consent_at" in get else None,
    }
    text = get.get("status", "").lower() or _ACTIVE
    status = _ROW_STATUS.get(text)
    if status is None:
        column = _header(plan, "status")
        raise RowError(f"unknown status {text!r} in column {column!r} (use active, unsubscribed, "
                       "bounced or complained)", column)
    attributes = {}
    for key, index in plan.attributes.items():
        value = cells[index].strip()
        if value:
            attributes[key] = value
    kind_text = get.get("kind")
    if kind_text:  # last of the checks, so that the kind column counts only the rows imported
        values["kind"] = _kind(plan, kind_text, defaults.kind)
    text = get.get("tags")
    tags = _split(text) | defaults.tags if text else set(defaults.tags)
    text = get.get("topics")
    return Record(str(sheet.path), number, email, values, tags, _split(text) if text else set(), attributes,
                  status)


def _kind(plan: ColumnPlan, text: str, default: str | None) -> str:
    """The kind a cell names (by its words, or `--kind` for an unknown value); RowError when there is neither."""
    kind = plan.kinds.read(text, default)
    if kind is None:
        column = _header(plan, "kind")
        raise RowError(f"unknown kind {text!r} in column {column!r}: use authority, supplier, subscriber or other, "
                       "give --kind for such rows, or add the word to the aliases file", column)
    return kind


def _fit_width(sheet: Sheet, cells: list[str], width: int) -> list[str]:
    """The cells of a row that is not as wide as the header: XLSX rows padded, or RowError saying what is off."""
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        if sheet.format == "xlsx":
            first = next(i for i in range(width, len(cells)) if cells[i].strip())
            raise RowError(f"has a value in column {column_letter(first)}, which has no header")
        raise RowError(f"has {len(cells)} cells but the header has {width} "
                       "(a delimiter inside a value that is not in quotes?)")
    if len(cells) < width:
        if sheet.format == "csv":
            raise RowError(f"has {len(cells)} cells but the header has {width} (cells missing or a line "
                           "break inside a value?)")
        return cells + [""] * (width - len(cells))
    return cells


def unquote_formula(cells: list[str]) -> list[str]:
    """The cells without the apostrophe `contacts export` puts before `= + - @ TAB CR` (and nothing else).

    A leading apostrophe is how a spreadsheet marks text; an apostrophe before any other character is data
    ("'s-Hertogenbosch") and stays.
    """
    return [cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS else cell for cell in cells]


def _check_long_row(sheet: Sheet, plan: ColumnPlan, number: int, cells: list[str]) -> None:
    """A cell over the bound refuses the file (InputError); custom fields over MAX_ATTRIBUTES refuse the row."""
    from outreach.contacts.importing.limits import Limits

    if any(len(cell) > MAX_CELL for cell in cells):
        where = f"row {number}" if sheet.format == "xlsx" else f"line {number}"
        raise Limits().cell_too_long(sheet.path, where)
    size = sum(len(plan.header[index]) + len(cells[index].strip()) for index in plan.attributes.values())
    if size > MAX_ATTRIBUTES:
        raise RowError(f"its custom columns hold {size:,} characters together, more than the {MAX_ATTRIBUTES:,} "
                       "a contact may have")


def _refuse_control(plan: ColumnPlan, cells: list[str]) -> None:
    """RowError naming the first imported cell that holds a control character (unused columns may hold any)."""
    for index, value in enumerate(cells):
        used = index in plan.fields.values() or index in plan.attributes.values()
        if used and _CONTROL.search(value):
            column = plan.header[index] or column_letter(index)
            raise RowError(f"the {column!r} cell contains {_describe_control(value)}", column)


def _header(plan: ColumnPlan, name: str) -> str:
    """The header of the column a field is read from, for messages."""
    return plan.header[plan.fields[name]]


def split_name_address(raw: str) -> tuple[str, str]:
    """(display name, address) from "Name <addr>", "addr" or "mailto:addr"; the name may be empty."""
    display = ""
    match = _NAME_ADDR.fullmatch(raw) if "<" in raw else None
    if match:
        display, raw = match.group("name").strip(), match.group("addr")
    raw = raw.strip()
    if raw.lower().startswith("mailto:"):
        raw = raw[7:]
    return display, raw


def _address(raw: str, plan: ColumnPlan, check_dns: bool) -> tuple[str, str]:
    """(normalised address, display name) from "addr", "mailto:addr" or "Name <addr>"."""
    column = _header(plan, "email")
    if not raw:
        raise RowError(f"no email address in column {column!r}", column)
    display, raw = split_name_address(raw)
    if raw.count("@") > 1:
        raise RowError(f"the {column!r} cell holds more than one address ({raw!r}); give one per row", column)
    try:
        return normalize_address(raw, check_dns), display
    except InputError as error:
        raise RowError(error.message, column) from None


@cache
def _country(value: str) -> str:
    return parse_country(value)


@cache
def _language(value: str) -> str:
    return parse_language(value)


@cache
def _default_language(country: str | None) -> str | None:
    return default_language(country)


def _coded(value: str, what: str, plan: ColumnPlan, parse: Callable[[str], str]) -> str:
    try:
        return parse(value)
    except InputError:
        column = _header(plan, what)
        raise RowError(f"unknown {what} {value!r} in column {column!r}", column) from None


def _consent_date(value: str, plan: ColumnPlan) -> str | None:
    """An ISO date or timestamp from "2025-03-01", "2025-03-01T10:00:00Z", "01.03.2025" or "01/03/2025"."""
    if not value:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value
    except ValueError:
        pass
    for pattern in ("%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%d.%m.%Y."):
        try:
            return datetime.strptime(value, pattern).date().isoformat()
        except ValueError:
            continue
    column = _header(plan, "consent_at")
    raise RowError(f"{value!r} in column {column!r} is not a date (write 2025-03-01 or 01.03.2025)", column)


def _split(value: str) -> set[str]:
    return set(_split_cached(value)) if value else set()


@lru_cache(maxsize=4096)
def _split_cached(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in _LIST_SPLIT.split(value) if part.strip())


def _describe_control(value: str) -> str:
    if value.count("\n") >= 3:
        return (f"{value.count(chr(10))} line breaks: a quote (\") probably opens a value that never closes, "
                "swallowing the rows after it")
    if "\x00" in value:
        return "a NUL character"
    if "\n" in value or "\r" in value or "\u2028" in value or "\u2029" in value:
        return "a line break"
    return "a control character"

