"""The contact model and the operations every part shares: normalise, add, update, find, filter, suppress, erase.

Importing spreadsheets lives in `outreach.contacts.importing`; this module is what the importer, the sender, the
tracker and the web pages all call, so that a status change or an erasure means the same everywhere.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from outreach.clock import Clock, utcnow_iso
from outreach.countries import default_language, parse_country, parse_language
from outreach.db.schema import Database, suppression_hash
from outreach.errors import InputError, NotFoundError
from outreach.models import ContactStatus, EventType, Kind

# Fields a user may set on a contact (the rest are managed by outreach).
EDITABLE_FIELDS = ("name", "organisation", "role", "kind", "country", "language", "tags", "topics",
                   "attributes", "consent_basis", "consent_source", "consent_at")
TEXT_FIELDS = ("name", "organisation", "role", "consent_basis", "consent_source", "consent_at")
# Statuses that must never be mailed, and which of them also put the address on the suppression list.
SUPPRESSING = {ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.COMPLAINED, ContactStatus.ERASED}

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]")


@dataclass
class Contact:
    """One person, as stored."""

    id: int
    email: str
    name: str = ""
    organisation: str = ""
    role: str = ""
    kind: str = Kind.OTHER.value
    country: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = ContactStatus.ACTIVE.value
    consent_basis: str | None = None
    consent_source: str | None = None
    consent_at: str | None = None
    consent_detail: dict[str, Any] = field(default_factory=dict)
    field_updated_at: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Contact:
        data = dict(row)
        for key in ("tags", "topics"):
            data[key] = json.loads(data.get(key) or "[]")
        for key in ("attributes", "consent_detail", "field_updated_at"):
            data[key] = json.loads(data.get(key) or "{}")
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def public_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `contacts list --json` (plus attributes)."""
        data = asdict(self)
        for key in ("id", "consent_detail", "field_updated_at"):
            data.pop(key)
        return data

    @property
    def mailable(self) -> bool:
        return self.status == ContactStatus.ACTIVE


def normalize_email(raw: str, *, check_dns: bool = False) -> str:
    """The canonical form of an address: validated (syntax, IDN), domain in Unicode NFC, lower-cased.

    Lower-casing the local part is what every real mail system does in practice and what makes
    "Jan.Kowalski@Gmina.example.org" and "jan.kowalski@gmina.example.org" one contact.
    """
    from email_validator import EmailNotValidError, validate_email

    candidate = unicodedata.normalize("NFC", (raw or "").strip())
    if not candidate:
        raise InputError("The email address is empty")
    if _CONTROL.search(candidate):
        raise InputError(f"The email address {candidate!r} contains a line break or control character")
    try:
        result = validate_email(candidate, check_deliverability=check_dns)
    except EmailNotValidError as error:
        raise InputError(f"{candidate!r} is not a valid email address: {error}") from None
    return unicodedata.normalize("NFC", result.normalized).lower()


def clean_text(field_name: str, value: Any) -> str:
    """A single-line text value, stripped; control characters (CR, LF, NUL…) are refused, never stored."""
    if value is None:
        return ""
    text = str(value).strip()
    if _CONTROL.search(text):
        raise InputError(f"The {field_name} {text[:40]!r} contains a line break or control character",
                         "Remove line breaks from the cell; outreach keeps every field on one line.")
    return text


def clean_kind(value: str) -> str:
    try:
        return Kind(value.strip().lower()).value
    except ValueError:
        raise InputError(f"Unknown kind {value!r}",
                         "Use one of: " + ", ".join(k.value for k in Kind) + ".") from None


def clean_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise editable fields; country and language accept names and aliases."""
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        if key not in EDITABLE_FIELDS:
            raise InputError(f"Unknown contact field {key!r}", "Fields: " + ", ".join(EDITABLE_FIELDS))
        if key in TEXT_FIELDS:
            cleaned[key] = clean_text(key, value) or (None if key.startswith("consent") else "")
        elif key == "kind":
            cleaned[key] = clean_kind(value)
        elif key == "country":
            cleaned[key] = parse_country(value) if value else None
        elif key == "language":
            cleaned[key] = parse_language(value) if value else None
        elif key in ("tags", "topics"):
            items = value if isinstance(value, list | tuple) else str(value).split(",")
            cleaned[key] = sorted({clean_text(key[:-1], item) for item in items if str(item).strip()})
        elif key == "attributes":
            cleaned[key] = {clean_text("attribute name", k): clean_text(k, v) for k, v in dict(value).items()}
    return cleaned


def _encode(data: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(data)
    for key in ("tags", "topics", "attributes", "consent_detail", "field_updated_at"):
        if key in row and not isinstance(row[key], str):
            row[key] = json.dumps(row[key], ensure_ascii=False, sort_keys=True)
    return row


def is_suppressed(db: Database, email: str) -> bool:
    """Whether a normalised address is on the suppression list (erased, unsubscribed, hard-bounced…)."""
    return bool(db.execute("SELECT 1 FROM suppressions WHERE hash = ?", [suppression_hash(email)]).fetchone())


def suppress(db: Database, clock: Clock, email: str, reason: str) -> None:
    """Put an address on the suppression list (idempotent)."""
    db.execute("INSERT OR IGNORE INTO suppressions (hash, reason, created_at) VALUES (?, ?, ?)",
               [suppression_hash(email), reason, utcnow_iso(clock)])


def unsuppress(db: Database, email: str) -> None:
    """Take an address off the suppression list (only after a confirmed re-subscription)."""
    db.execute("DELETE FROM suppressions WHERE hash = ?", [suppression_hash(email)])


def get_contact(db: Database, email: str) -> Contact | None:
    """The contact with this address (any spelling that normalises to it), or None."""
    try:
        key = normalize_email(email)
    except InputError:
        return None
    rows = list(db.query("SELECT * FROM contacts WHERE email = ?", [key]))
    return Contact.from_row(rows[0]) if rows else None


def require_contact(db: Database, email: str) -> Contact:
    contact = get_contact(db, email)
    if contact is None:
        raise NotFoundError(f"No contact with the address {email!r}",
                            "Check the spelling, or list contacts with: outreach contacts list --search …")
    return contact


def get_contact_by_id(db: Database, contact_id: int) -> Contact | None:
    rows = list(db.query("SELECT * FROM contacts WHERE id = ?", [contact_id]))
    return Contact.from_row(rows[0]) if rows else None


def insert_contact(db: Database, clock: Clock, email: str, fields: Mapping[str, Any],
                   status: ContactStatus = ContactStatus.ACTIVE,
                   consent_detail: Mapping[str, Any] | None = None) -> Contact:
    """Add a new contact from already cleaned fields; the language defaults from the country."""
    now = utcnow_iso(clock)
    row: dict[str, Any] = {"email": email, "status": status.value, "created_at": now, "updated_at": now,
                           "consent_detail": dict(consent_detail or {})}
    row.update(fields)
    if not row.get("language") and row.get("country"):
        row["language"] = default_language(row["country"])
    row["field_updated_at"] = {key: now for key in fields}
    contact_id = db.table("contacts").insert(_encode(row)).last_pk
    contact = get_contact_by_id(db, int(str(contact_id)))
    assert contact is not None
    return contact


def update_contact(db: Database, clock: Clock, contact: Contact, changes: Mapping[str, Any]) -> Contact:
    """Apply cleaned field changes; returns the updated contact. Unchanged values are not touched."""
    current = asdict(contact)
    effective = {k: v for k, v in changes.items() if current.get(k) != v}
    if not effective:
        return contact
    now = utcnow_iso(clock)
    stamps = dict(contact.field_updated_at)
    stamps.update({key: now for key in effective})
    row = dict(effective, updated_at=now, field_updated_at=stamps)
    db.table("contacts").update(contact.id, _encode(row))
    updated = get_contact_by_id(db, contact.id)
    assert updated is not None
    return updated


def set_status(db: Database, clock: Clock, contact: Contact, status: ContactStatus, reason: str = "") -> Contact:
    """Change whether a contact may be mailed; unsubscribes, bounces and complaints are also suppressed."""
    if status in SUPPRESSING:
        suppress(db, clock, contact.email, reason or status.value)
    elif status == ContactStatus.ACTIVE:
        unsuppress(db, contact.email)
    if contact.status == status.value:
        return contact
    now = utcnow_iso(clock)
    stamps = dict(contact.field_updated_at, status=now)
    db.table("contacts").update(contact.id, _encode({"status": status.value, "updated_at": now,
                                               "field_updated_at": stamps}))
    updated = get_contact_by_id(db, contact.id)
    assert updated is not None
    return updated


def erase(db: Database, clock: Clock, email: str) -> None:
    """GDPR art. 17: remove the person from every table, keeping only a salted hash so they are not re-added.

    Deliveries and events keep their counts for the coordinator's reports but lose every link to the person:
    the contact id, the address and any diagnostic text that could name them.
    """
    contact = require_contact(db, email)
    with db.atomic():
        db.execute("UPDATE deliveries SET contact_id = NULL, email = NULL, last_reply = NULL WHERE contact_id = ?",
                   [contact.id])
        db.execute("UPDATE events SET contact_id = NULL, detail = '', source_id = NULL WHERE contact_id = ?",
                   [contact.id])
        db.execute("DELETE FROM signups WHERE email = ?", [contact.email])
        db.execute("DELETE FROM contacts WHERE id = ?", [contact.id])
        # An erasure outranks whatever suppressed the address before (an unsubscribe, a bounce).
        db.execute("INSERT INTO suppressions (hash, reason, created_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (hash) DO UPDATE SET reason = excluded.reason",
                   [suppression_hash(contact.email), ContactStatus.ERASED.value, utcnow_iso(clock)])
        db.execute("INSERT INTO events (type, source, created_at) VALUES (?, 'erase', ?)",
                   [EventType.ERASED.value, utcnow_iso(clock)])


@dataclass(frozen=True)
class ContactFilter:
    """Which contacts a command works on. Empty tuples mean "any"."""

    countries: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # every tag must be present
    search: str | None = None  # free text over email, name, organisation, role

    @classmethod
    def parse(cls, countries: list[str] | None = None, kinds: list[str] | None = None,
              languages: list[str] | None = None, statuses: list[str] | None = None,
              tags: list[str] | None = None, search: str | None = None) -> ContactFilter:
        """From user-given values (comma lists allowed, names and aliases accepted)."""

        def split(values: list[str] | None) -> list[str]:
            return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]

        statuses_out = []
        for value in split(statuses):
            try:
                statuses_out.append(ContactStatus(value.lower()).value)
            except ValueError:
                raise InputError(f"Unknown status {value!r}",
                                 "Use one of: " + ", ".join(s.value for s in ContactStatus)) from None
        return cls(
            countries=tuple(parse_country(v) for v in split(countries)),
            kinds=tuple(clean_kind(v) for v in split(kinds)),
            languages=tuple(parse_language(v) for v in split(languages)),
            statuses=tuple(statuses_out),
            tags=tuple(split(tags)),
            search=search or None,
        )

    def where(self, alias: str = "") -> tuple[str, list[Any]]:
        """An SQL condition (always valid, "1" when empty) and its parameters."""
        prefix = f"{alias}." if alias else ""
        clauses: list[str] = []
        params: list[Any] = []
        for column, values in (("country", self.countries), ("kind", self.kinds),
                               ("language", self.languages), ("status", self.statuses)):
            if values:
                clauses.append(f"{prefix}{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        for tag in self.tags:
            clauses.append(f"EXISTS (SELECT 1 FROM json_each({prefix}tags) WHERE value = ?)")
            params.append(tag)
        if self.search:
            needle = f"%{self.search.casefold()}%"  # casefold(): registered by db.connect, Unicode-aware
            clauses.append(f"(casefold({prefix}email) LIKE ? OR casefold({prefix}name) LIKE ? "
                           f"OR casefold({prefix}organisation) LIKE ? OR casefold({prefix}role) LIKE ?)")
            params.extend([needle] * 4)
        return (" AND ".join(clauses) or "1"), params


def iter_contacts(db: Database, contact_filter: ContactFilter | None = None,
                  order_by: str = "country, kind, email") -> Iterator[Contact]:
    """Stream the matching contacts (never loads them all at once)."""
    where, params = (contact_filter or ContactFilter()).where()
    for row in db.query(f"SELECT * FROM contacts WHERE {where} ORDER BY {order_by}", params):
        yield Contact.from_row(row)


def count_contacts(db: Database, contact_filter: ContactFilter | None = None) -> int:
    where, params = (contact_filter or ContactFilter()).where()
    return int(db.execute(f"SELECT count(*) FROM contacts WHERE {where}", params).fetchone()[0])
