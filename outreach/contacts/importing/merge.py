"""An imported row against the database: the new contact to write, or the changes to make to a stored one.

Both run once per row of a list of up to 100,000, so they work on the stored encoding: a new contact becomes an
`ImportRow` whose JSON columns are encoded once per distinct value (most rows share their tags and fields),
and a stored contact is compared as a `StoredForImport` whose JSON columns are decoded only for what the file
fills. Building a `Contact` per row, on either side, was a third of an import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from outreach.contacts.importing.rows import Record
from outreach.db.contacts import FieldValue
from outreach.models import ContactStatus, Kind
from outreach.models.contacts import (
    S_ATTRIBUTES,
    S_FIRST_SCALAR,
    S_TAGS,
    S_TOPICS,
    ImportRow,
    StoredForImport,
)

# The scalar fields a file fills, in the order ImportRow and StoredForImport hold them (IMPORT_COLUMNS,
# STORED_COLUMNS).
SCALARS = ("name", "organisation", "role", "kind", "country", "language", "consent_basis", "consent_source",
           "consent_at")
# Plain text and members as module constants: these run for every field of every row, where `Kind.OTHER` is a
# class-attribute lookup ten times slower than a global, and SQLite binds a StrEnum member through its slow
# adaptation path (4 µs a row for kind and status).
_OTHER = Kind.OTHER.value
_ACTIVE = ContactStatus.ACTIVE
_STATUS_TEXT: Mapping[ContactStatus, str] = MappingProxyType({status: status.value for status in ContactStatus})
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # stateless; one instance, not one per call


class RowEncoder:
    """Turns the new contacts of one import into ImportRows, each repeated JSON value encoded once."""

    def __init__(self, now: str) -> None:
        self.now = now
        self._stamps: dict[tuple[str, ...], str] = {}
        self._names: dict[str, str] = {}
        self._lists: dict[frozenset[str], str] = {}

    def new_row(self, record: Record) -> ImportRow:
        """The row that stores `record` as a new contact, every field it fills stamped with the import's time."""
        get = record.values.get
        # An empty field, or the default kind, is not "filled": it gets no timestamp.
        filled = [key for key in SCALARS if (value := get(key)) and value != _OTHER]
        if record.tags:
            filled.append("tags")
        if record.topics:
            filled.append("topics")
        if record.attributes:
            filled.append("attributes")
        stamps = self._stamps.get(which := tuple(filled))
        if stamps is None:  # most rows fill the same fields: encode that JSON once
            stamps = self._stamps[which] = _json(dict.fromkeys(filled, self.now))
        source = self._file_json(record.file)
        detail = f'{{"imported_at": "{self.now}", "imported_from": {source}, "row": {record.row}}}'
        return (record.email, get("name") or "", get("organisation") or "", get("role") or "", get("kind") or _OTHER,
                get("country") or None, get("language") or None, get("consent_basis") or None,
                get("consent_source") or None, get("consent_at") or None, self._set_json(record.tags),
                self._set_json(record.topics), _json(record.attributes), _STATUS_TEXT[record.status], detail, stamps,
                self.now, self.now)

    def _set_json(self, items: set[str]) -> str:
        """A sorted JSON list; tag sets repeat from row to row, so each is encoded once."""
        if not items:
            return "[]"
        key = frozenset(items)
        encoded = self._lists.get(key)
        if encoded is None:
            encoded = self._lists[key] = _json(sorted(items))
        return encoded

    def _file_json(self, file: str) -> str:
        if file not in self._names:
            self._names[file] = json.dumps(Path(file).name, ensure_ascii=False)
        return self._names[file]


def changes_for(stored: StoredForImport, record: Record, policy: str) -> dict[str, FieldValue]:
    """What the file changes in a stored contact as --on-duplicate (`policy`) says; empty when nothing.

    "fill" fills empty fields only, "update" overwrites, "skip" changes nothing. Tags and topics are merged,
    attributes filled (or overwritten). A restricting status (unsubscribed…) always applies: a file may only
    restrict, never re-activate.
    """
    if policy == "skip":
        return {}
    changes: dict[str, FieldValue] = {}
    values = record.values
    for index, key in enumerate(SCALARS, start=S_FIRST_SCALAR):
        new = values.get(key)
        if not new:
            continue
        old = stored[index]
        empty = not old or (key == "kind" and old == _OTHER)
        if new != old and (empty or policy == "update"):
            changes[key] = new
    tags = _merged_list(stored[S_TAGS], record.tags)
    if tags is not None:
        changes["tags"] = tags
    topics = _merged_list(stored[S_TOPICS], record.topics)
    if topics is not None:
        changes["topics"] = topics
    if record.attributes:  # without any, the stored attributes stay exactly as they are
        current = json_object(stored[S_ATTRIBUTES])
        attributes = dict(current)
        for key, value in record.attributes.items():
            if key not in attributes or policy == "update":
                attributes[key] = value
        if attributes != current:
            changes["attributes"] = attributes
    if record.status != _ACTIVE:
        changes["status"] = record.status
    return changes


def json_object(raw: str | None) -> dict[str, str]:
    """A JSON object column (attributes, field_updated_at) as Contact.from_row decodes it."""
    value = json.loads(raw or "{}")
    assert isinstance(value, dict)
    return value


@lru_cache(maxsize=4096)
def _stored_list(raw: str | None) -> tuple[tuple[str, ...], list[str], bool]:
    """A JSON list column (tags, topics), its sorted form, and whether that holds no repeats.

    The same few lists repeat from row to row, so each is decoded once.
    """
    items = json.loads(raw or "[]")
    ordered = sorted(items)
    return tuple(items), ordered, sorted(set(items)) == ordered


def _merged_list(raw: str | None, added: set[str]) -> list[str] | None:
    """The stored list with `added`, sorted, as the import writes it; None when that is what is stored."""
    items, ordered, canonical = _stored_list(raw)
    if not added and canonical:
        return None
    merged = sorted(set(items) | added)
    return None if merged == ordered else merged


def _json(value: dict[str, str] | list[str]) -> str:
    if not value:
        return "[]" if isinstance(value, list) else "{}"
    return _ENCODER.encode(value)
