"""The contact rules every part shares: normalise and clean what a user gives, add, update, change status, erase.

The row types live in `outreach.models.contacts` and the SQL in `outreach.db.contacts`; this module is what the
importer, the sender, the tracker and the web pages call, so that a status change or an erasure means the same
everywhere. Importing spreadsheets lives in `outreach.contacts.importing`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from outreach.clock import Clock, utcnow_iso
from outreach.contacts.importing.limits import MAX_ATTRIBUTES
from outreach.countries import default_language, parse_country, parse_language
from outreach.db import contacts as store
from outreach.db.contacts import count_contacts, is_suppressed, iter_contacts, unsuppress
from outreach.db.erasure import forget_person, record_erasure
from outreach.errors import InputError, NotFoundError
from outreach.models import ContactStatus, Kind
from outreach.models.contacts import Contact, ContactFilter, parse_kind

if TYPE_CHECKING:  # not at run time: `contacts count` reads without sqlite-utils (db/reading.py)
    from outreach.db.reading import Reader
    from outreach.db.schema import Database

__all__ = [
    "CONTROL", "EDITABLE_FIELDS", "GROUPS", "SUPPRESSING", "TEXT_FIELDS", "Contact", "ContactCounts", "ContactFilter",
    "clean_fields", "clean_kind", "clean_text", "count_by", "count_contacts", "counts_by_country_and_kind", "erase",
    "get_contact", "get_contact_by_id", "insert_contact", "is_suppressed", "iter_contacts", "normalize_email",
    "remove_contacts", "require_contact", "set_status", "suppress", "unsuppress", "update_contact",
]

# Fields a user may set on a contact (the rest are managed by outreach).
EDITABLE_FIELDS = ("name", "organisation", "role", "kind", "country", "language", "tags", "topics",
                   "attributes", "consent_basis", "consent_source", "consent_at")
TEXT_FIELDS = ("name", "organisation", "role", "consent_basis", "consent_source", "consent_at")
# Statuses that must never be mailed, and which of them also put the address on the suppression list.
SUPPRESSING = {ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED, ContactStatus.COMPLAINED, ContactStatus.ERASED}
# What `contacts count --by` may group by.
GROUPS = store.GROUPABLE

# What no field may hold: the C0 controls but TAB, DEL, the C1 controls (U+0080–U+009F: U+0085 is a line break
# to some readers, U+009B a terminal escape) and the Unicode line and paragraph separators. The importer, `add`,
# `edit`, the web pages and `db merge` all refuse what this matches.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL = CONTROL


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


def clean_text(field_name: str, value: object) -> str:
    """A single-line text value, stripped; control characters (CR, LF, NUL…) are refused, never stored."""
    if value is None:
        return ""
    text = str(value).strip()
    if _CONTROL.search(text):
        raise InputError(f"The {field_name} {text[:40]!r} contains a line break or control character",
                         "Remove line breaks from the cell; outreach keeps every field on one line.")
    return text


def clean_kind(value: str) -> Kind:
    """The kind a user wrote ("Supplier"); InputError naming the choices."""
    return parse_kind(value)


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
            size = sum(len(k) + len(v) for k, v in cleaned[key].items())
            if size > MAX_ATTRIBUTES:
                raise InputError(f"The attributes hold {size:,} characters together, more than the "
                                 f"{MAX_ATTRIBUTES:,} a contact may have", "Keep long texts outside outreach.")
    return cleaned


def suppress(db: Database, clock: Clock, email: str, reason: str) -> None:
    """Put an address on the suppression list (idempotent: a first reason is kept)."""
    store.suppress(db, email, reason, utcnow_iso(clock))


def get_contact(db: Database, email: str) -> Contact | None:
    """The contact with this address (any spelling that normalises to it), or None."""
    try:
        key = normalize_email(email)
    except InputError:
        return None
    return store.get_contact(db, key)


def get_contact_by_id(db: Database, contact_id: int) -> Contact | None:
    """The contact with this id, or None (erased or removed since)."""
    return store.get_contact_by_id(db, contact_id)


def require_contact(db: Database, email: str) -> Contact:
    """The contact with this address; NotFoundError, with a hint, when there is none."""
    contact = get_contact(db, email)
    if contact is None:
        raise NotFoundError(f"No contact with the address {email!r}",
                            "Check the spelling, or list contacts with: outreach contacts list --search …")
    return contact


def insert_contact(db: Database, clock: Clock, email: str, fields: Mapping[str, Any],
                   status: ContactStatus = ContactStatus.ACTIVE,
                   consent_detail: Mapping[str, Any] | None = None) -> Contact:
    """Add a new contact from already cleaned fields; the language defaults from the country."""
    now = utcnow_iso(clock)
    contact = Contact(id=0, email=email, status=status, consent_detail=dict(consent_detail or {}),
                      created_at=now, updated_at=now, field_updated_at=dict.fromkeys(fields, now))
    contact = replace(contact, **fields)
    if not contact.language and contact.country:
        contact.language = default_language(contact.country)
    stored = store.get_contact_by_id(db, store.insert_contact(db, contact))
    assert stored is not None
    return stored


def update_contact(db: Database, clock: Clock, contact: Contact, changes: Mapping[str, Any]) -> Contact:
    """Apply cleaned field changes; returns the updated contact. Unchanged values are not touched."""
    current = asdict(contact)
    effective = {k: v for k, v in changes.items() if current.get(k) != v}
    if not effective:
        return contact
    now = utcnow_iso(clock)
    stamps = dict(contact.field_updated_at, **dict.fromkeys(effective, now))
    store.update_contact(db, contact.id, effective, now, stamps)
    updated = store.get_contact_by_id(db, contact.id)
    assert updated is not None
    return updated


def set_status(db: Database, clock: Clock, contact: Contact, status: ContactStatus, reason: str = "") -> Contact:
    """Change whether a contact may be mailed; unsubscribes, bounces and complaints are also suppressed."""
    if status in SUPPRESSING:
        suppress(db, clock, contact.email, reason or status.value)
    elif status == ContactStatus.ACTIVE:
        unsuppress(db, contact.email)
    if contact.status == status:
        return contact
    now = utcnow_iso(clock)
    store.update_contact(db, contact.id, {"status": status}, now, dict(contact.field_updated_at, status=now))
    updated = store.get_contact_by_id(db, contact.id)
    assert updated is not None
    return updated


def erase(db: Database, clock: Clock, email: str) -> None:
    """GDPR art. 17: remove the person from every table, keeping only a salted hash so they are not re-added.

    Deliveries and events keep their counts for the coordinator's reports but lose every link to the person:
    the contact id, the address and any diagnostic text that could name them.
    """
    contact = require_contact(db, email)
    now = utcnow_iso(clock)
    with db.atomic():
        forget_person(db, contact.id, contact.email)
        store.delete_contact(db, contact.id)
        # An erasure outranks whatever suppressed the address before (an unsubscribe, a bounce).
        store.suppress(db, contact.email, ContactStatus.ERASED, now, overriding=True)
        record_erasure(db, now)


def remove_contacts(db: Database, emails: Sequence[str]) -> list[Contact]:
    """Delete these contacts (all or, if one is unknown, none); a later import may add them again.

    Unlike `erase`, nothing is suppressed and deliveries keep their address; they only lose the link.
    """
    with db.atomic():
        contacts = [require_contact(db, email) for email in emails]
        for contact in contacts:
            store.delete_contact(db, contact.id)
    return contacts


@dataclass(frozen=True)
class ContactCounts:
    """What `contacts count` shows: the total, and with `by` the count of each group."""

    total: int
    by: tuple[str, ...] = ()
    groups: tuple[tuple[tuple[str | None, ...], int], ...] = ()


def counts_by_country_and_kind(db: Database) -> dict[tuple[str | None, str], int]:
    """How many contacts (of any status) each country has of each kind; for `outreach countries`."""
    return store.counts_by_country_and_kind(db)


def count_by(db: Reader, contact_filter: ContactFilter | None, by: Sequence[str] = ()) -> ContactCounts:
    """Count the matching contacts, and per distinct value of the `by` columns (of GROUPS; repeats ignored)."""
    columns = tuple(dict.fromkeys(by))
    total = count_contacts(db, contact_filter)
    if not columns:
        return ContactCounts(total)
    return ContactCounts(total, columns, tuple(store.count_grouped(db, contact_filter, columns)))
