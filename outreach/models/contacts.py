"""Contact row types: what `outreach.db.contacts` takes and returns, and the filter that selects contacts.

`Contact` is one person as stored. `ContactFilter` is a value: which contacts a command or a campaign's
audience means; `outreach.db.contacts.filter_sql` turns it into SQL. `ImportRow` and `StoredForImport` are the
importer's fast shapes (see the comments there).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any, Final

from outreach.countries import parse_country, parse_language
from outreach.errors import InputError
from outreach.models import ContactStatus, Kind

# Stored text → member, for decoding rows: an index is ten times cheaper than calling the enum, and Contact.from_row
# runs once per recipient of a send.
_KIND_OF: Mapping[str, Kind] = MappingProxyType({kind.value: kind for kind in Kind})
_STATUS_OF: Mapping[str, ContactStatus] = MappingProxyType({status.value: status for status in ContactStatus})


@dataclass
class Contact:
    """One person, as stored."""

    id: int
    email: str
    name: str = ""
    organisation: str = ""
    role: str = ""
    kind: Kind = Kind.OTHER
    country: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    status: ContactStatus = ContactStatus.ACTIVE
    consent_basis: str | None = None
    consent_source: str | None = None
    consent_at: str | None = None
    consent_detail: dict[str, Any] = field(default_factory=dict)  # free JSON: where and when the consent came from
    field_updated_at: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Contact:
        """A contact from a `contacts` row as SQLite returns it (JSON columns as text); other keys are ignored."""
        return cls(
            id=row["id"], email=row["email"], name=row["name"], organisation=row["organisation"], role=row["role"],
            kind=_KIND_OF[row["kind"]], country=row["country"], language=row["language"],
            tags=json.loads(row["tags"] or "[]"), topics=json.loads(row["topics"] or "[]"),
            attributes=json.loads(row["attributes"] or "{}"), status=_STATUS_OF[row["status"]],
            consent_basis=row["consent_basis"], consent_source=row["consent_source"], consent_at=row["consent_at"],
            consent_detail=json.loads(row["consent_detail"] or "{}"),
            field_updated_at=json.loads(row["field_updated_at"] or "{}"),
            created_at=row["created_at"], updated_at=row["updated_at"],
        )

    def public_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `contacts list --json` (plus attributes)."""
        data = asdict(self)
        for key in ("id", "consent_detail", "field_updated_at"):
            data.pop(key)
        return data


def parse_kind(value: str) -> Kind:
    """The kind a user wrote ("Supplier", " authority "); InputError naming the choices."""
    try:
        return Kind(value.strip().lower())
    except ValueError:
        raise InputError(f"Unknown kind {value!r}",
                         "Use one of: " + ", ".join(k.value for k in Kind) + ".") from None


def parse_status(value: str) -> ContactStatus:
    """The status a user wrote ("Bounced"); InputError naming the choices."""
    try:
        return ContactStatus(value.lower())
    except ValueError:
        raise InputError(f"Unknown status {value!r}",
                         "Use one of: " + ", ".join(s.value for s in ContactStatus)) from None


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


@dataclass(frozen=True)
class ContactFilter:
    """Which contacts a command works on. Empty tuples mean "any"."""

    countries: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()
    languages: tuple[str, ...] = ()
    statuses: tuple[ContactStatus, ...] = ()
    tags: tuple[str, ...] = ()  # every tag must be present
    search: str | None = None  # free text over email, name, organisation, role

    @classmethod
    def parse(cls, countries: list[str] | None = None, kinds: list[str] | None = None,
              languages: list[str] | None = None, statuses: list[str] | None = None,
              tags: list[str] | None = None, search: str | None = None) -> ContactFilter:
        """From user-given values (comma lists allowed, names and aliases accepted); InputError on unknown ones."""
        return cls(
            countries=tuple(parse_country(v) for v in _split(countries)),
            kinds=tuple(parse_kind(v) for v in _split(kinds)),
            languages=tuple(parse_language(v) for v in _split(languages)),
            statuses=tuple(parse_status(v) for v in _split(statuses)),
            tags=tuple(_split(tags)),
            search=search or None,
        )



# The importer's two fast shapes are plain tuples, typed position by position. They were NamedTuples once: an
# instance per row made a 10,000-row import 5 % slower (construction, and the garbage collector keeps tracking
# tuple subclasses), so names are given by the column tuples and the S_ positions below instead.

IMPORT_COLUMNS = ("email", "name", "organisation", "role", "kind", "country", "language", "consent_basis",
                  "consent_source", "consent_at", "tags", "topics", "attributes", "status", "consent_detail",
                  "field_updated_at", "created_at", "updated_at")
# A new contact as stored, in IMPORT_COLUMNS order: all text, the JSON columns (tags, topics, attributes,
# consent_detail, field_updated_at) encoded, kind and status as their values (SQLite binds a str subclass through
# its slow adaptation path). An import writes up to 100,000 of them with executemany, each repeated tag set or
# timestamp map encoded once; building a Contact per row and encoding it again cost a third more.
ImportRow = tuple[str, str, str, str, str, str | None, str | None, str | None, str | None, str | None,
                  str, str, str, str, str, str, str, str]

STORED_COLUMNS = ("id", "email", "status", "name", "organisation", "role", "kind", "country", "language",
                  "consent_basis", "consent_source", "consent_at", "tags", "topics", "attributes", "field_updated_at")
# What a re-imported row is compared with, in STORED_COLUMNS order: the stored contact as text. Re-importing a
# list is mostly rows that change nothing, so the importer decodes a JSON column only when the file fills that
# field (see `outreach.contacts.importing.merge`).
StoredForImport = tuple[int, str, str, str, str, str, str, str | None, str | None, str | None, str | None,
                        str | None, str, str, str, str]
S_ID: Final = 0
S_EMAIL: Final = 1
S_STATUS: Final = 2  # a ContactStatus's value
S_FIRST_SCALAR: Final = 3  # name … consent_at follow in the importer's SCALARS order
S_TAGS: Final = 12
S_TOPICS: Final = 13
S_ATTRIBUTES: Final = 14
S_STAMPS: Final = 15  # field_updated_at
