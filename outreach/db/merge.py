"""Reading another outreach database (read-only) and copying its rows in (`outreach db merge`); backups.

Which side wins is `outreach.tracking.merge`'s job; this module opens the other file, reads its rows and writes
ours. Merging copies whatever columns both schemas share (an older or newer database may have more or fewer), so
rows travel as `ColumnRow`s — column → value maps whose columns are only known once both files are open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from outreach.db.schema import Database, migrations, suppression_hash
from outreach.errors import DatabaseError, InputError
from outreach.models import ContactStatus
from outreach.models.tracking import SQLValue

ColumnRow = dict[str, SQLValue]

REQUIRED_TABLES = ("contacts", "suppressions", "campaigns", "deliveries", "events")
# The tables merge writes; table names are written into SQL, so nothing else is accepted.
_TABLES = frozenset({*REQUIRED_TABLES, "inbound_messages", "event_sessions", "registrations", "attendance",
                     "event_mails"})
_NOT_OUTREACH = "Give the contacts.db file another outreach installation wrote."


def _table(name: str) -> str:
    if name not in _TABLES:
        raise ValueError(f"merge does not write the table {name!r}")
    return name


class OtherDatabase:
    """Another expert's database, opened read-only (the file is never modified)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def close(self) -> None:
        """Close the read-only connection."""
        self.conn.close()

    def columns(self, table: str) -> set[str]:
        """The columns the other database has in a table."""
        return {row[1] for row in self.conn.execute(f"PRAGMA table_info({_table(table)})").fetchall()}

    def rows(self, table: str, columns: list[str]) -> Iterator[ColumnRow]:
        """Every row of a table (those columns), in id order where the table has ids."""
        order = " ORDER BY id" if "id" in self.columns(table) else ""
        cursor = self.conn.execute(f"SELECT {', '.join(columns)} FROM {_table(table)}{order}")
        for row in cursor:
            yield dict(zip(columns, row, strict=True))


def open_other(path: Path, current: Path | None = None) -> OtherDatabase:
    """The other database, read-only, after checking it is an outreach database this code understands."""
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file", "Give the path of another expert's contacts.db.")
    if current is not None and path.resolve() == Path(current).resolve():
        raise InputError(f"{path} is the database in use", "Merge another expert's file, not this one.")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        other = OtherDatabase(conn)
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"{path} is not an outreach database ({error})", _NOT_OUTREACH) from None
    applied: set[str] = set()
    if "_sqlite_migrations" in other.tables:
        applied = {row[0] for row in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'outreach'")}
    if not applied or not set(REQUIRED_TABLES) <= other.tables:
        conn.close()
        raise DatabaseError(f"{path} is not an outreach database (no outreach schema in it)", _NOT_OUTREACH)
    unknown = sorted(applied - {m.name for m in migrations._migrations})
    if unknown:
        conn.close()
        raise DatabaseError(f"{path} was written by a newer outreach (schema steps {', '.join(unknown)})",
                            "Upgrade outreach here before merging that database.")
    return other


def shared_columns(db: Database, other: OtherDatabase, table: str) -> list[str]:
    """Columns both databases have in a table, in our column order."""
    theirs = other.columns(table)
    return [row[1] for row in db.execute(f"PRAGMA table_info({_table(table)})").fetchall() if row[1] in theirs]


# --- writing ours --------------------------------------------------------------------------------------------


def insert_row(db: Database, table: str, row: Mapping[str, SQLValue], *, or_ignore: bool = False) -> int | None:
    """Insert one row (its columns come from `shared_columns`); the new rowid, or None when ignored."""
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    cursor = db.execute(f"{verb} INTO {_table(table)} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                        list(row.values()))
    return int(cursor.lastrowid or 0) if cursor.rowcount > 0 else None


def update_row(db: Database, table: str, key: tuple[str, SQLValue], changes: Mapping[str, SQLValue]) -> None:
    """Set some columns of the row whose key column (`id`, `slug`) has the given value."""
    column, value = key
    if column not in ("id", "slug"):
        raise ValueError(f"not a key column: {column!r}")
    db.execute(f"UPDATE {_table(table)} SET {', '.join(f'{k} = ?' for k in changes)} WHERE {column} = ?",
               [*changes.values(), value])


@dataclass(frozen=True)
class CampaignDates:
    """What merging may widen on a campaign we have: its sending dates and its content hashes (JSON)."""

    first_sent_at: str | None
    last_sent_at: str | None
    content_hashes: str | None


def campaign_dates(db: Database, slug: str) -> CampaignDates | None:
    """Our campaign's sending dates and content hashes, or None when we do not have it."""
    row = db.execute("SELECT first_sent_at, last_sent_at, content_hashes FROM campaigns WHERE slug = ?",
                     [slug]).fetchone()
    return CampaignDates(*row) if row else None


def contact_row(db: Database, email: str) -> ColumnRow | None:
    """Our contact with exactly this (normalized) address, every column as stored (JSON columns as text)."""
    cursor = db.execute("SELECT * FROM contacts WHERE email = ?", [email])
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row, strict=True)) if row else None


def contact_email(db: Database, contact_id: int) -> str:
    """The address of one of our contacts."""
    return str(db.execute("SELECT email FROM contacts WHERE id = ?", [contact_id]).fetchone()[0])


def contact_stamps(db: Database, contact_id: int) -> str:
    """The per-field update times of one of our contacts (JSON text)."""
    return str(db.execute("SELECT field_updated_at FROM contacts WHERE id = ?", [contact_id]).fetchone()[0] or "{}")


def active_contacts(db: Database) -> list[tuple[int, str]]:
    """(id, address) of every contact that may be mailed."""
    return [(int(row[0]), str(row[1])) for row in db.execute(
        "SELECT id, email FROM contacts WHERE status = ?", [ContactStatus.ACTIVE.value]).fetchall()]


def suppression_reason(db: Database, email: str) -> str | None:
    """Why an address is on our suppression list, or None when it is not."""
    row = db.execute("SELECT reason FROM suppressions WHERE hash = ?", [suppression_hash(email)]).fetchone()
    return str(row[0]) if row else None


@dataclass(frozen=True)
class DeliveryState:
    """Our delivery that an incoming one is the same as: its id and how far it got."""

    id: int
    status: str


def delivery_to(db: Database, campaign: str, contact_id: int) -> DeliveryState | None:
    """Our delivery of a campaign to a contact."""
    row = db.execute("SELECT id, status FROM deliveries WHERE campaign = ? AND contact_id = ?",
                     [campaign, contact_id]).fetchone()
    return DeliveryState(int(row[0]), str(row[1])) if row else None


def anonymous_delivery(db: Database, campaign: str, message_id: SQLValue, queued_at: SQLValue) -> DeliveryState | None:
    """Our delivery of a campaign to an erased person that has this Message-ID and queue time."""
    row = db.execute("SELECT id, status FROM deliveries WHERE campaign = ? AND contact_id IS NULL "
                     "AND message_id IS ? AND queued_at = ?", [campaign, message_id, queued_at]).fetchone()
    return DeliveryState(int(row[0]), str(row[1])) if row else None


def event_exists(db: Database, event: Mapping[str, SQLValue]) -> bool:
    """Whether we hold this event already (same type, contact, campaign, source, time, bounce type, detail)."""
    return db.execute(
        "SELECT 1 FROM events WHERE type = ? AND contact_id IS ? AND campaign IS ? AND source IS ? "
        "AND source_id IS ? AND created_at = ? AND bounce_type IS ? AND detail = ?",
        [event["type"], event["contact_id"], event.get("campaign"), event.get("source"), event.get("source_id"),
         event["created_at"], event.get("bounce_type"), event.get("detail", "")]).fetchone() is not None


# --- backups -----------------------------------------------------------------------------------------------------


def backup_to(db: Database, path: Path) -> str:
    """Copy the open database into a new file (SQLite online backup API); SQLite's quick_check of the copy."""
    dest = sqlite3.connect(path)
    try:
        db.conn.backup(dest)
        return str(dest.execute("PRAGMA quick_check").fetchone()[0])
    finally:
        dest.close()
