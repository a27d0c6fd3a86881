"""Which spreadsheet column holds which contact field: header aliases in English and the 15 BSI languages.

Headers are compared folded (case, accents, spaces and punctuation ignored), so "E-mail", "e-mail address",
"Adres e-mail", "E-mailová adresa" and "Ηλεκτρονικό ταχυδρομείο" all find the email column. `--map COLUMN=field`
overrides any guess; columns that map to no field become custom attributes under their header.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from outreach.contacts.importing.aliases import Aliases, KindColumn, builtin_aliases, fold
from outreach.errors import InputError
from outreach.suggest import did_you_mean

__all__ = ["ATTRIBUTE_PREFIX", "FIELDS", "IGNORE", "IGNORED_HEADERS", "ColumnPlan", "check_mapping", "column_letter",
           "consent_basis_value", "fold", "guess_field", "kind_value", "plan_columns"]

# The fields a column can fill. first_name/last_name are joined into name; status may only restrict (an
# exported unsubscribed contact stays unsubscribed when re-imported).
FIELDS = ("email", "name", "first_name", "last_name", "organisation", "role", "kind", "country", "language",
          "tags", "topics", "status", "consent_basis", "consent_source", "consent_at")
IGNORE = "-"
ATTRIBUTE_PREFIX = "attribute:"
# Columns an export or a rejects file adds that carry nothing to import.
IGNORED_HEADERS = ("created_at", "updated_at", "import_file", "import_row", "import_error")

# Headers that mean "name" alone but "first name" (or "last name") when the file also splits the name.
_SPLIT_MEANING = {"jméno": "first_name", "meno": "first_name", "vārds": "first_name", "nome": "first_name",
                  "όνομα": "first_name", "ime": "first_name", "nom": "last_name",
                  "navn": "first_name", "namn": "first_name", "naam": "last_name", "nume": "last_name"}

_FOLDED_SPLIT = {"".join(c for c in unicodedata.normalize("NFKD", k) if not unicodedata.combining(c)): v
                 for k, v in _SPLIT_MEANING.items()}


def guess_field(header: str, aliases: Aliases | None = None) -> str | None:
    """The contact field a header names (built-in words, or `aliases`), or None (→ a custom attribute)."""
    return (aliases or builtin_aliases()).field_for(header)


@dataclass
class ColumnPlan:
    """Where each field is read from: field → column index; attribute name → column index; columns ignored."""

    header: list[str]
    fields: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, int] = field(default_factory=dict)
    ignored: list[int] = field(default_factory=list)
    kinds: KindColumn = field(default_factory=lambda: KindColumn(builtin_aliases()))  # reads the kind column

    def describe(self) -> list[tuple[str, str]]:
        """(column header, what it fills) for the import report."""
        meaning: dict[int, str] = {i: name for name, i in self.fields.items()}
        meaning.update({i: f"attribute {name!r}" for name, i in self.attributes.items()})
        meaning.update({i: "ignored" for i in self.ignored})
        return [(self.header[i] or column_letter(i), meaning[i]) for i in sorted(meaning)]


def plan_columns(path: Path, header: list[str], mapping: dict[str, str],
                 aliases: Aliases | None = None) -> ColumnPlan:
    """Decide what each column of `path` holds; InputError naming the file and column for anything unclear.

    `aliases` are the words headers and kind values are read with (default: the built-in ones).
    """
    header = [cell.strip().lstrip("\ufeff") for cell in header]
    aliases = aliases or builtin_aliases()
    plan = ColumnPlan(header=header, kinds=KindColumn(aliases))
    chosen: dict[int, str] = {}
    for column, target in mapping.items():
        index = _find_column(header, column)
        if index is None:
            raise InputError(f"--map {column}={target}: {path} has no column {column!r}"
                             + did_you_mean(column, [h for h in header if h]),
                             "Its columns are: " + ", ".join(repr(h) for h in header if h) + ".")
        chosen[index] = target
    for index, text in enumerate(header):
        if index in chosen:
            continue
        if fold(text) in {fold(h) for h in IGNORED_HEADERS}:
            chosen[index] = IGNORE
        elif text.lower().startswith(ATTRIBUTE_PREFIX):
            chosen[index] = text
        else:
            chosen[index] = aliases.field_for(text) or f"{ATTRIBUTE_PREFIX}{text or column_letter(index)}"
    _resolve_split_names(header, chosen, set(mapping.values()))
    seen: dict[str, int] = {}
    for index, target in sorted(chosen.items()):
        if target == IGNORE:
            plan.ignored.append(index)
        elif target.lower().startswith(ATTRIBUTE_PREFIX):
            plan.attributes.setdefault(target[len(ATTRIBUTE_PREFIX):].strip() or column_letter(index), index)
        elif target in seen:
            raise InputError(
                f"{path}: the columns {header[seen[target]]!r} and {header[index]!r} both look like {target}",
                f"Say which one to use, e.g. --map {header[index]!r}=- to ignore the second.")
        else:
            seen[target] = index
            plan.fields[target] = index
    if "email" not in plan.fields:
        raise InputError(f"{path} has no email column (columns: {', '.join(repr(h) for h in header)})",
                         _no_email_hint(header))
    return plan


def check_mapping(items: list[str]) -> dict[str, str]:
    """Parse `--map COLUMN=field` values; InputError for a malformed one or an unknown field."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column:
            raise InputError(f"--map {item!r} is not COLUMN=field", "For example: --map 'Adres poczty=email'.")
        if target.lower() in ("ignore", "skip", "none"):
            target = IGNORE
        if target not in FIELDS and target != IGNORE and not target.lower().startswith(ATTRIBUTE_PREFIX):
            raise InputError(f"--map {item!r}: {target!r} is not a contact field",
                             "Fields: " + ", ".join(FIELDS) + "; '-' ignores the column; 'attribute:NAME' keeps "
                             "it as a custom attribute.")
        mapping[column] = target
    return mapping


def _find_column(header: list[str], column: str) -> int | None:
    """A column by its exact header, then ignoring case, then folded; or by its 1-based number."""
    for transform in (str.strip, str.casefold, fold):
        keys = [transform(h) for h in header]
        if transform(column) in keys:
            return keys.index(transform(column))
    if column.isdigit() and 1 <= int(column) <= len(header):
        return int(column) - 1
    return None


def _resolve_split_names(header: list[str], chosen: dict[int, str], explicit: set[str]) -> None:
    """"Nom" + "Prénom": when a file splits the name, an ambiguous "name" header is its other half."""
    split = {target for target in chosen.values() if target in ("first_name", "last_name")}
    if not split:
        return
    for index, target in chosen.items():
        other = _SPLIT_MEANING.get(header[index].strip().casefold()) or _FOLDED_SPLIT.get(fold(header[index]))
        if target == "name" and other and other not in split and "name" not in explicit:
            chosen[index] = other
            split.add(other)


def _no_email_hint(header: list[str]) -> str:
    if any("@" in cell for cell in header):
        return ("The first row holds an address, so the file seems to have no header row: add one (Email, Name, "
                "Organisation, …) or name the columns with --map.")
    return "Name the column holding the addresses with --map 'COLUMN=email'."


def column_letter(index: int) -> str:
    """0 → "A", 26 → "AA": how spreadsheets name a column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- values -----------------------------------------------------------------------------------------------------

_BASIS_VALUES = {
    "consent": "consent|zgoda|souhlas|súhlas|hozzájárulás|piekrišana|consimțământ|consenso|consentement|"
               "συγκατάθεση|samtykke|einwilligung|samtycke|toestemming|privola",
    "legitimate_interest": "legitimate interest|legitimate interests|legitimate_interest|art 6 1 f|6 1 f",
    "public_task": "public task|public interest|public_task|art 6 1 e|6 1 e",
    "contract": "contract|art 6 1 b|6 1 b",
    "legal_obligation": "legal obligation|legal_obligation|art 6 1 c|6 1 c",
}


@cache
def _basis_table() -> dict[str, str]:
    return {fold(alias): value for value, aliases in _BASIS_VALUES.items() for alias in aliases.split("|")}


def kind_value(text: str) -> str | None:
    """The Kind for a value ("authority", "Contracting authority", "Općina Sveta Nedelja"…), or None."""
    found = builtin_aliases().kind_for(text)
    return found[0] if found else None


@lru_cache(maxsize=4096)
def consent_basis_value(text: str) -> str:
    """A GDPR basis in its canonical spelling when recognised ("Legitimate interest" → legitimate_interest)."""
    return _basis_table().get(fold(text), text)
