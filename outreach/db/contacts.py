"""The `contacts` and `suppressions` tables: every SQL statement over them, typed rows in and out.

Addresses reach this module normalised (`outreach.contacts.model.normalize_email`); the cleaning rules and the
meaning of a status change (which statuses suppress, what an erasure forgets) live in `outreach.contacts`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING

from outreach.db.contacts_hash import suppression_hash
from outreach.models import ContactStatus, Kind
from outreach.models.contacts import (
    IMPORT_COLUMNS,
    S_EMAIL,
    STORED_COLUMNS,
    Contact,
    ContactFilter,
    ImportRow,
    StoredForImport,
)

if TYPE_CHECKING:  # not at run time: the reading commands open the file without sqlite-utils (db/reading.py)
    from outreach.db.reading import Reader
    from outreach.db.schema import Database

# Columns a caller may change through `update_contact` (the rest are set by outreach when a row is made).
UPDATABLE = frozenset({"name", "organisation", "role", "kind", "country", "language", "tags", "topics",
                       "attributes", "status", "consent_basis", "consent_source", "consent_at", "consent_detail"})
# Columns `count_grouped` may group by.
GROUPABLE = ("country", "kind", "language", "status")
# SQLite allows 999 parameters in older builds; look-ups by address go in chunks well below that.
_CHUNK = 500
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # stateless; one instance avoids a new one per call
_INSERT_SQL = f"INSERT INTO contacts ({', '.join(IMPORT_COLUMNS)}) VALUES ({', '.join('?' for _ in IMPORT_COLUMNS)})"
_STORED_SQL = ", ".join(STORED_COLUMNS)

FieldValue = str | None | list[str] | dict[str, str] | dict[str, object]


def filter_sql(contact_filter: ContactFilter | None, alias: str = "") -> tuple[str, list[str]]:
    """An SQL condition over `contacts` (always valid, "1" when the filter is empty) and its parameters.

    `alias` is the table's alias in the caller's query ("c" for `FROM contacts AS c`).
    """
    if contact_filter is None:
        return "1", []
    prefix = f"{alias}." if alias else ""
    clauses: list[str] = []
    params: list[str] = []
    columns: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("country", contact_filter.countries), ("kind", contact_filter.kinds),
        ("language", contact_filter.languages), ("status", contact_filter.statuses))
    for column, values in columns:
        if values:
            clauses.append(f"{prefix}{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    for tag in contact_filter.tags:
        clauses.append(f"EXISTS (SELECT 1 FROM json_each({prefix}tags) WHERE value = ?)")
        params.append(tag)
    if contact_filter.search:
        needle = f"%{contact_filter.search.casefold()}%"  # casefold(): registered by db.connect, Unicode-aware
        clauses.append(f"(casefold({prefix}email) LIKE ? OR casefold({prefix}name) LIKE ? "
                       f"OR casefold({prefix}organisation) LIKE ? OR casefold({prefix}role) LIKE ?)")
        params.extend([needle] * 4)
    return (" AND ".join(clauses) or "1"), params


def _encode(value: FieldValue) -> str | None:
    """A column value as stored: lists and objects as sorted JSON text."""
    if isinstance(value, list | dict):
        return _JSON.encode(value)
    return value


# --- single contacts -------------------------------------------------------------------------------------------


def get_contact(db: Database, email: str) -> Contact | None:
    """The contact with this normalised address, or None."""
    rows = list(db.query("SELECT * FROM contacts WHERE email = ?", [email]))
    return Contact.from_row(rows[0]) if rows else None


def get_contact_by_id(db: Database, contact_id: int) -> Contact | None:
    """The contact with this id, or None (erased or removed)."""
    rows = list(db.query("SELECT * FROM contacts WHERE id = ?", [contact_id]))
    return Contact.from_row(rows[0]) if rows else None


def insert_contact(db: Database, contact: Contact) -> int:
    """Store a new contact (its `id` is ignored) and return the id it got."""
    row: ImportRow = (
        contact.email, contact.name, contact.organisation, contact.role, str(contact.kind), contact.country,
        contact.language, contact.consent_basis, contact.consent_source, contact.consent_at,
        _JSON.encode(contact.tags), _JSON.encode(contact.topics), _JSON.encode(contact.attributes), str(contact.status),
        _JSON.encode(contact.consent_detail), _JSON.encode(contact.field_updated_at), contact.created_at,
        contact.updated_at)
    cursor = db.execute(_INSERT_SQL, row)
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def update_contact(db: Database, contact_id: int, changes: Mapping[str, FieldValue], updated_at: str,
                   field_updated_at: Mapping[str, str]) -> None:
    """Write changed columns of one contact with its new timestamps; the one UPDATE of a contact's fields.

    `changes` maps column names (of UPDATABLE) to new values; lists and objects are stored as sorted JSON.
    """
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not an updatable contacts column: {', '.join(sorted(unknown))}")
    assignments = "".join(f"{key} = ?, " for key in changes)
    db.execute(f"UPDATE contacts SET {assignments}updated_at = ?, field_updated_at = ? WHERE id = ?",
               [*(_encode(value) for value in changes.values()), updated_at, _JSON.encode(dict(field_updated_at)),
                contact_id])


def delete_contact(db: Database, contact_id: int) -> None:
    """Remove one contact row; deliveries and events keep their counts (their link is set to NULL)."""
    db.execute("DELETE FROM contacts WHERE id = ?", [contact_id])


# --- many contacts ---------------------------------------------------------------------------------------------


def iter_contacts(db: Database, contact_filter: ContactFilter | None = None,
                  order_by: str = "country, kind, email") -> Iterator[Contact]:
    """Stream the matching contacts (never loads them all at once). `order_by` is SQL, never user input."""
    where, params = filter_sql(contact_filter)
    for row in db.query(f"SELECT * FROM contacts WHERE {where} ORDER BY {order_by}", params):
        yield Contact.from_row(row)


def count_contacts(db: Reader, contact_filter: ContactFilter | None = None) -> int:
    """How many contacts match."""
    where, params = filter_sql(contact_filter)
    return int(db.execute(f"SELECT count(*) FROM contacts WHERE {where}", params).fetchone()[0])


def count_grouped(db: Reader, contact_filter: ContactFilter | None,
                  columns: Sequence[str]) -> list[tuple[tuple[str | None, ...], int]]:
    """Matching contacts counted per distinct value of `columns` (of GROUPABLE), ordered by them.

    Each entry is (the group's values in the order of `columns`, its count); a NULL country or language is None.
    """
    if not columns or any(column not in GROUPABLE for column in columns):
        raise ValueError(f"group by one or more of {', '.join(GROUPABLE)}, not {columns!r}")
    where, params = filter_sql(contact_filter)
    names = ", ".join(columns)
    rows = db.execute(f"SELECT {names}, count(*) FROM contacts WHERE {where} GROUP BY {names} ORDER BY {names}",
                      params).fetchall()
    return [(tuple(row[:-1]), int(row[-1])) for row in rows]


def attribute_names(db: Database, contact_filter: ContactFilter | None) -> list[str]:
    """The custom attribute names held by the matching contacts, in order of first appearance."""
    where, params = filter_sql(contact_filter, "c")
    rows = db.execute(f"SELECT j.key FROM contacts AS c, json_each(c.attributes) AS j WHERE {where} "
                      "GROUP BY j.key ORDER BY min(c.id), j.key", params).fetchall()
    return [str(row[0]) for row in rows]


def iter_mailable(db: Database, audience: ContactFilter, extra: ContactFilter | None = None) -> Iterator[Contact]:
    """Stream, by id, the active contacts matching both filters whose address is not suppressed.

    The suppression list is read once and compared in Python: a join cannot match a keyed hash.
    """
    where_a, params_a = filter_sql(audience)
    where_b, params_b = filter_sql(extra)
    suppressed = {row[0] for row in db.execute("SELECT hash FROM suppressions").fetchall()}
    sql = f"SELECT * FROM contacts WHERE status = ? AND ({where_a}) AND ({where_b}) ORDER BY id"
    for row in db.query(sql, [ContactStatus.ACTIVE, *params_a, *params_b]):
        contact = Contact.from_row(row)
        if suppressed and suppression_hash(contact.email) in suppressed:
            continue
        yield contact


def counts_by_country_and_kind(db: Database) -> dict[tuple[str | None, str], int]:
    """How many contacts each (country, kind) has, all statuses; for `outreach countries`. Kinds are Kind members."""
    rows = db.execute("SELECT country, kind, count(*) FROM contacts GROUP BY country, kind").fetchall()
    return {(country, Kind(kind)): int(n) for country, kind, n in rows}


# --- the importer's bulk paths ---------------------------------------------------------------------------------


def stored_for_import(db: Database, emails: Sequence[str]) -> dict[str, StoredForImport]:
    """The stored contacts among these normalised addresses, by address, in the importer's comparison shape."""
    found: dict[str, StoredForImport] = {}
    for chunk in _chunks(emails):
        marks = ", ".join("?" for _ in chunk)
        for row in db.execute(f"SELECT {_STORED_SQL} FROM contacts WHERE email IN ({marks})", chunk):
            found[row[S_EMAIL]] = row
    return found


def stored_for_import_by_id(db: Database, contact_id: int) -> StoredForImport:
    """One stored contact in the importer's comparison shape (after the importer changed it)."""
    row: StoredForImport = db.execute(f"SELECT {_STORED_SQL} FROM contacts WHERE id = ?", [contact_id]).fetchone()
    return row


def insert_many(db: Database, rows: Iterable[ImportRow]) -> None:
    """Store new contacts in one executemany (the importer's batches)."""
    db.conn.executemany(_INSERT_SQL, rows)


# --- suppressions ----------------------------------------------------------------------------------------------


def is_suppressed(db: Database, email: str) -> bool:
    """Whether a normalised address is on the suppression list."""
    return bool(db.execute("SELECT 1 FROM suppressions WHERE hash = ?", [suppression_hash(email)]).fetchone())


def suppress(db: Database, email: str, reason: str, created_at: str, *, overriding: bool = False) -> None:
    """Put an address on the suppression list; an existing entry keeps its reason unless `overriding`."""
    if overriding:
        db.execute("INSERT INTO suppressions (hash, reason, created_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (hash) DO UPDATE SET reason = excluded.reason",
                   [suppression_hash(email), reason, created_at])
    else:
        db.execute("INSERT OR IGNORE INTO suppressions (hash, reason, created_at) VALUES (?, ?, ?)",
                   [suppression_hash(email), reason, created_at])


def unsuppress(db: Database, email: str) -> None:
    """Take an address off the suppression list."""
    db.execute("DELETE FROM suppressions WHERE hash = ?", [suppression_hash(email)])


def any_suppressed(db: Database) -> bool:
    """Whether the suppression list holds anything (a new database, a list never mailed: it does not)."""
    return bool(db.execute("SELECT EXISTS (SELECT 1 FROM suppressions)").fetchone()[0])


def suppressed_among(db: Database, emails: Sequence[str]) -> set[str]:
    """Which of these normalised addresses are on the suppression list (an HMAC each, so ask any_suppressed first)."""
    found: set[str] = set()
    for chunk in _chunks(emails):
        hashes = {suppression_hash(email): email for email in chunk}
        marks = ", ".join("?" for _ in hashes)
        for (hashed,) in db.execute(f"SELECT hash FROM suppressions WHERE hash IN ({marks})", list(hashes)):
            found.add(hashes[hashed])
    return found


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, _CHUNK)):
        yield chunk


# --- bulk edits ------------------------------------------------------------------------------------------------

# Columns `set_matching` may set on many contacts at once.
BULK_SETTABLE = ("kind", "organisation", "country", "language")


def set_matching(db: Database, contact_filter: ContactFilter | None, values: Mapping[str, str | None],
                 updated_at: str, *, write: bool = True) -> tuple[int, int]:
    """Set columns (of BULK_SETTABLE) on every contact matching the filter; (matching, changed) counts.

    A contact already holding every value is left alone; a changed one gets its changed fields stamped. With
    `write=False` nothing is written (a dry run). The caller holds the transaction.
    """
    unknown = set(values) - set(BULK_SETTABLE)
    if unknown or not values:
        raise ValueError(f"set one or more of {', '.join(BULK_SETTABLE)}, not {sorted(values)!r}")
    where, params = filter_sql(contact_filter)
    columns = list(values)
    rows = db.execute(f"SELECT id, field_updated_at, {', '.join(columns)} FROM contacts WHERE {where}",
                      params).fetchall()
    groups: dict[tuple[str, ...], list[list[object]]] = {}
    for row in rows:
        changed = tuple(column for i, column in enumerate(columns) if row[2 + i] != values[column])
        if not changed:
            continue
        stamps = dict(json.loads(row[1] or "{}"), **dict.fromkeys(changed, updated_at))
        groups.setdefault(changed, []).append([*(values[c] for c in changed), updated_at, _JSON.encode(stamps),
                                               row[0]])
    if write:
        for changed, batch in groups.items():
            assignments = "".join(f"{column} = ?, " for column in changed)
            db.conn.executemany(f"UPDATE contacts SET {assignments}updated_at = ?, field_updated_at = ? WHERE id = ?",
                                batch)
    return len(rows), sum(len(batch) for batch in groups.values())
