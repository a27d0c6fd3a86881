"""The words a spreadsheet uses for outreach's fields and kinds: the built-in ones, per language, and the user's own.

The built-in words are data (`aliases.toml` beside this module, one table per language); a workspace may add its
own in a file of the same name (`OUTREACH_ALIASES`), which wins over the built-in words:

    [headers]
    "Naziv tvrtke" = "organisation"     # a column header → the contact field it fills

    [kinds]
    "Zavod" = "authority"               # a value of the kind column → authority, supplier, subscriber or other

Everything is compared folded (no case, accents, spaces or punctuation). A kind value is recognised when it is one
of the words, or else when it starts with one ("Općina Sveta Nedelja"), or else when it ends with one ("Københavns
Kommune"); the longest match wins, the start before the end. Look-ups happen once per header and once per distinct
value of a sheet (`KindColumn`), never per cell.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from outreach.errors import ConfigError
from outreach.models import Kind

# The fields a column can fill (columns.FIELDS repeats them; kept here so that columns imports this module).
HEADER_FIELDS = ("email", "name", "first_name", "last_name", "organisation", "role", "kind", "country", "language",
                 "tags", "topics", "status", "consent_basis", "consent_source", "consent_at")
KINDS = tuple(kind.value for kind in Kind)
_WORD = re.compile(r"\S+")


def fold(text: str) -> str:
    """A header or value folded for comparison: no case, accents, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() and not unicodedata.combining(ch))


@dataclass(frozen=True)
class Aliases:
    """Folded header → field (or "-" / "attribute:NAME"), and folded kind word → Kind value."""

    headers: Mapping[str, str]
    kinds: Mapping[str, str]
    longest: int = 1  # the most words any kind alias has: how many leading or trailing words to try
    source: str = "built-in"

    def field_for(self, header: str) -> str | None:
        """The field a header names, or None."""
        return self.headers.get(fold(header))

    def kind_for(self, value: str) -> tuple[str, str] | None:
        """(Kind value, how it was recognised: "word", "start" or "end") for a cell of the kind column, or None."""
        whole = self.kinds.get(fold(value))
        if whole is not None:
            return whole, "word"
        words = [fold(word) for word in _WORD.findall(value)]
        words = [word for word in words if word]
        for count in range(min(self.longest, len(words) - 1), 0, -1):
            found = self.kinds.get("".join(words[:count]))
            if found is not None:
                return found, "start"
        for count in range(min(self.longest, len(words) - 1), 0, -1):
            found = self.kinds.get("".join(words[-count:]))
            if found is not None:
                return found, "end"
        return None


@dataclass
class KindValue:
    """One distinct value of a sheet's kind column: the kind its rows got, how, and how many rows hold it."""

    value: str
    kind: str | None  # None: unknown, and no --kind to fall back on (the rows were refused)
    how: str  # "word", "start", "end", or "default" (unknown: --kind applied)
    rows: int = 0


@dataclass
class KindColumn:
    """Reads one sheet's kind column: each distinct value is looked up once, and its rows are counted."""

    aliases: Aliases
    seen: dict[str, KindValue] = field(default_factory=dict)

    def read(self, text: str, default: str | None) -> str | None:
        """The Kind value for a cell (the default when the value is unknown), or None when neither exists.

        A value read to a kind counts one more row: call this last, once the rest of the row is known usable.
        """
        known = self.seen.get(text)
        if known is None:
            found = self.aliases.kind_for(text)
            known = KindValue(text, *found) if found else KindValue(text, default, "default")
            self.seen[text] = known
        if known.kind is not None:
            known.rows += 1
        return known.kind

    def values(self) -> list[KindValue]:
        """The distinct values of the imported rows, most frequent first."""
        return sorted((v for v in self.seen.values() if v.rows), key=lambda v: (-v.rows, v.value))


@cache
def builtin_aliases() -> Aliases:
    """The words outreach knows, from the package's aliases.toml (read once)."""
    data = tomllib.loads((Path(__file__).with_name("aliases.toml")).read_text(encoding="utf-8"))
    headers: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for tables in data.values():
        for target, words in tables.get("headers", {}).items():
            for word in words:
                headers.setdefault(fold(word), target)
        for target, words in tables.get("kinds", {}).items():
            for word in words:
                kinds.setdefault(fold(word), target)
    for name in HEADER_FIELDS:
        headers[fold(name)] = name
    for kind in KINDS:
        kinds[kind] = kind
    return Aliases(MappingProxyType(headers), MappingProxyType(kinds), _longest(data))


def _longest(data: Mapping[str, Any]) -> int:
    counts = [len(word.split()) for tables in data.values() for words in tables.get("kinds", {}).values()
              for word in words]
    return max(counts, default=1)


def load_aliases(path: Path | None) -> Aliases:
    """The built-in words with those of the user's alias file (which win); ConfigError naming the file and line."""
    base = builtin_aliases()
    if path is None:
        return base
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"The aliases file {path} does not exist",
                          "Create it (see docs/contacts.md), or correct OUTREACH_ALIASES.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"The aliases file {path} cannot be read ({error})", "Save it as UTF-8 text.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}",
                          'Each line is "word" = "target", under [headers] or [kinds]; quote words with spaces.'
                          ) from None
    unknown = sorted(set(data) - {"headers", "kinds"})
    if unknown:
        raise ConfigError(f"{path}, line {_line_of(text, None, unknown[0])}: unknown table or key {unknown[0]!r}",
                          "The file has two tables: [headers] and [kinds].")
    headers = dict(base.headers)
    kinds = dict(base.kinds)
    longest = base.longest
    for word, target in _entries(path, text, data, "headers"):
        headers[fold(word)] = _header_target(path, text, word, target)
    for word, target in _entries(path, text, data, "kinds"):
        if target.strip().lower() not in KINDS:
            raise ConfigError(f"{path}, line {_line_of(text, 'kinds', word)}: {target!r} is not a kind",
                              "Use one of: " + ", ".join(KINDS) + ".")
        kinds[fold(word)] = target.strip().lower()
        longest = max(longest, len(word.split()))
    return Aliases(MappingProxyType(headers), MappingProxyType(kinds), longest, str(path))


def _entries(path: Path, text: str, data: Mapping[str, Any], table: str) -> list[tuple[str, str]]:
    entries = data.get(table, {})
    if not isinstance(entries, dict):
        raise ConfigError(f"{path}, line {_line_of(text, None, table)}: {table} must be a table ([{table}])",
                          f'Write [{table}] on a line of its own and "word" = "target" lines below it.')
    for word, target in entries.items():
        if not isinstance(target, str) or not fold(word):
            raise ConfigError(f"{path}, line {_line_of(text, table, word)}: {word!r} = {target!r} is not "
                              '"word" = "target"', 'For example: "Naziv tvrtke" = "organisation".')
    return list(entries.items())


def _header_target(path: Path, text: str, word: str, target: str) -> str:
    value = target.strip()
    if value in HEADER_FIELDS or value == "-" or value.lower().startswith("attribute:"):
        return value
    raise ConfigError(f"{path}, line {_line_of(text, 'headers', word)}: {target!r} is not a contact field",
                      "Fields: " + ", ".join(HEADER_FIELDS) + "; '-' ignores the column; 'attribute:NAME' keeps it "
                      "as a custom attribute.")


def _line_of(text: str, table: str | None, key: str) -> int:
    """The line a key is written on (in `table`, when given): for messages, since TOML reports only syntax."""
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            current = stripped.strip("[] ")
            if table is None and current == key:
                return number
            continue
        name = stripped.split("=", 1)[0].strip().strip("\"'")
        if (table is None or current == table) and name == key and "=" in stripped:
            return number
    return 1
