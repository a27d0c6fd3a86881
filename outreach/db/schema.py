"""The database: opening `contacts.db`, its schema and migrations, transactions.

This is the only module that imports sqlite_utils. Other parts receive the `Database` it returns and use
its table API, and wrap multi-row writes in `db.atomic()`.

Schema changes are append-only steps of one `Migrations("outreach")` set: never edit a step that has shipped,
add `m00N_…` after it. A database that has steps this code does not know is newer than the code and is refused.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from outreach.db.contacts_hash import suppression_hash
from outreach.db.reading import casefold
from outreach.db.trouble import explain, read_only, read_only_reason
from outreach.errors import DatabaseError, ExitCode
from outreach.models import BounceType, ContactStatus, DeliveryStatus, EventType, Kind, sql_in
from outreach.models.sessions import EventMailStatus, RegistrationSource, RegistrationStatus, SessionStatus

__all__ = ["Database", "connect", "open_database", "schema_version", "suppression_hash"]

migrations = Migrations("outreach")


@migrations()
def m001_initial(db: Database) -> None:
    """Contacts, suppressions, campaigns, deliveries, events, locks, sign-ups and inbound-mail bookkeeping."""
    db.executescript(f"""
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL DEFAULT '',
        organisation TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT 'other' CHECK (kind IN ({sql_in(Kind)})),
        country TEXT,
        language TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        topics TEXT NOT NULL DEFAULT '[]',
        attributes TEXT NOT NULL DEFAULT '{{}}',
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ({sql_in(ContactStatus)})),
        consent_basis TEXT,
        consent_source TEXT,
        consent_at TEXT,
        consent_detail TEXT NOT NULL DEFAULT '{{}}',
        field_updated_at TEXT NOT NULL DEFAULT '{{}}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX contacts_country_kind ON contacts(country, kind);
    CREATE INDEX contacts_language ON contacts(language);
    CREATE INDEX contacts_status ON contacts(status);

    CREATE TABLE suppressions (
        hash TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE campaigns (
        slug TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        source_language TEXT NOT NULL,
        content_hashes TEXT NOT NULL DEFAULT '{{}}',
        created_at TEXT NOT NULL,
        first_sent_at TEXT,
        last_sent_at TEXT
    ) STRICT;

    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        campaign TEXT NOT NULL REFERENCES campaigns(slug),
        contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        email TEXT,
        country TEXT,
        kind TEXT NOT NULL,
        language TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ({sql_in(DeliveryStatus)})),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_reply TEXT,
        message_id TEXT,
        queued_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        next_attempt_at TEXT,
        UNIQUE (campaign, contact_id)
    ) STRICT;
    CREATE INDEX deliveries_campaign_status ON deliveries(campaign, status);
    CREATE INDEX deliveries_message_id ON deliveries(message_id);
    CREATE INDEX deliveries_contact ON deliveries(contact_id);
    CREATE INDEX deliveries_sent_at ON deliveries(sent_at);

    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL CHECK (type IN ({sql_in(EventType)})),
        contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        campaign TEXT REFERENCES campaigns(slug),
        delivery_id INTEGER REFERENCES deliveries(id) ON DELETE SET NULL,
        bounce_type TEXT CHECK (bounce_type IS NULL OR bounce_type IN ({sql_in(BounceType)})),
        detail TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        source_id TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (type, source_id, contact_id)
    ) STRICT;
    CREATE INDEX events_contact ON events(contact_id);
    CREATE INDEX events_campaign_type ON events(campaign, type);
    CREATE INDEX events_delivery ON events(delivery_id);

    CREATE TABLE send_locks (
        campaign TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        acquired_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE signups (
        id INTEGER PRIMARY KEY,
        nonce TEXT NOT NULL UNIQUE,
        email TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{{}}',
        client TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        confirmed_at TEXT
    ) STRICT;
    CREATE INDEX signups_email ON signups(email);

    CREATE TABLE inbound_messages (
        key TEXT PRIMARY KEY,
        mailbox TEXT NOT NULL DEFAULT '',
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        processed_at TEXT NOT NULL
    ) STRICT;
    """)


@migrations()
def m003_report_indexes(db: Database) -> None:
    """Covering indexes for the coordinator's reports: per campaign × country × kind × language, and reach."""
    db.executescript("""
    CREATE INDEX IF NOT EXISTS deliveries_report
        ON deliveries(campaign, country, kind, language, status, sent_at, queued_at);
    CREATE INDEX IF NOT EXISTS deliveries_reach ON deliveries(status, country, kind, contact_id, sent_at, campaign);
    """)


@migrations()
def m004_event_sessions(db: Database) -> None:
    """Event sessions (UID, SEQUENCE, cancelled or not), registrations with a waiting list, attendance, and the
    event mails (reminders, updates, cancellations, promotions) recorded before they are sent."""
    db.executescript(f"""
    CREATE TABLE event_sessions (
        id INTEGER PRIMARY KEY,
        campaign TEXT NOT NULL,
        code TEXT NOT NULL,
        uid TEXT NOT NULL UNIQUE,
        sequence INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ({sql_in(SessionStatus)})),
        fingerprint TEXT NOT NULL,
        capacity INTEGER CHECK (capacity IS NULL OR capacity > 0),
        starts_at TEXT NOT NULL,
        deadline_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (campaign, code)
    ) STRICT;

    CREATE TABLE registrations (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES event_sessions(id),
        contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        email TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        organisation TEXT NOT NULL DEFAULT '',
        language TEXT,
        status TEXT NOT NULL CHECK (status IN ({sql_in(RegistrationStatus)})),
        source TEXT NOT NULL CHECK (source IN ({sql_in(RegistrationSource)})),
        consent_text TEXT NOT NULL DEFAULT '',
        client TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        waiting_since TEXT,
        registered_at TEXT,
        UNIQUE (session_id, email)
    ) STRICT;
    CREATE INDEX registrations_session_status ON registrations(session_id, status, waiting_since, id);
    CREATE INDEX registrations_contact ON registrations(contact_id);

    CREATE TABLE attendance (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES event_sessions(id),
        email TEXT NOT NULL,
        contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        registration_id INTEGER REFERENCES registrations(id) ON DELETE SET NULL,
        source TEXT NOT NULL DEFAULT '',
        recorded_at TEXT NOT NULL,
        UNIQUE (session_id, email)
    ) STRICT;
    CREATE INDEX attendance_contact ON attendance(contact_id);

    CREATE TABLE event_mails (
        id INTEGER PRIMARY KEY,
        registration_id INTEGER NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ({sql_in(EventMailStatus)})),
        message_id TEXT,
        last_reply TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (registration_id, kind)
    ) STRICT;
    """)


@migrations()
def m005_link_clicks(db: Database) -> None:
    """Click counts of tracked links, aggregated: per campaign × link × language × country × kind × day, with
    the requests taken for scanners counted apart. No contact, address, IP address or user agent."""
    db.executescript("""
    CREATE TABLE link_clicks (
        campaign TEXT NOT NULL,
        url TEXT NOT NULL,
        language TEXT NOT NULL,
        country TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        day TEXT NOT NULL,
        clicks INTEGER NOT NULL DEFAULT 0,
        scanner_hits INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign, url, language, country, kind, day)
    ) STRICT;
    """)


@migrations()
def m007_delivery_relay(db: Database) -> None:
    """Which relay (OUTREACH_RELAYS) answered for a delivery; NULL with the one relay of OUTREACH_SMTP_*."""
    db.execute("ALTER TABLE deliveries ADD COLUMN relay TEXT")


@migrations()
def m008_schedules(db: Database) -> None:
    """Scheduled sends: a campaign, when (UTC, and the local time and zone it was asked in), the send's filters."""
    db.executescript("""
    CREATE TABLE schedules (
        id INTEGER PRIMARY KEY,
        campaign TEXT NOT NULL,
        due_at TEXT NOT NULL,
        local_time TEXT NOT NULL,
        timezone TEXT NOT NULL,
        request TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'scheduled'
            CHECK (status IN ('scheduled', 'running', 'done', 'failed', 'cancelled')),
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        runner TEXT,
        note TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX schedules_due ON schedules(status, due_at);
    """)


def connect(path: Path | str) -> Database:
    """Open a SQLite file with outreach's pragmas, without touching the schema.

    A file that cannot be written (read-only mount, file or folder) is opened read-only, so that reading
    commands work; a write then fails with SQLite's "readonly" error, which `trouble.explain` words.
    """
    path = Path(path)
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database file", "Give --db a file path.")
    reason = read_only_reason(path.resolve())
    if reason and not path.exists():
        raise DatabaseError(f"Cannot create the database {path}: {reason}",
                            "Point --db or OUTREACH_DB at a file in a folder you can write to.",
                            exit_code=ExitCode.CONFIG)
    try:
        db = _open_read_only(path) if reason else _open_read_write(path)
        # Erased people must not stay readable in the file's free pages, whatever SQLite's compiled default.
        db.conn.execute("PRAGMA secure_delete = ON")
        db.conn.execute("PRAGMA busy_timeout = 10000")
        db.conn.execute("PRAGMA foreign_keys = ON")
        db.conn.create_function("casefold", 1, casefold, deterministic=True)
    except sqlite3.DatabaseError as error:
        raise _not_usable(path, error) from None
    return db


def _open_read_write(path: Path) -> Database:
    db = Database(path)
    db.conn.execute("PRAGMA journal_mode = WAL")
    # WAL + NORMAL survives any process crash (SIGKILL included); only a power cut can lose the last commit.
    db.conn.execute("PRAGMA synchronous = NORMAL")
    return db


def _open_read_only(path: Path) -> Database:
    """`mode=ro`, or `immutable=1` when SQLite cannot make the WAL index (a read-only mount) and no WAL is left."""
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        wal = Path(str(path) + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise DatabaseError(
                f"The database {path} is read-only and its last changes are still in {wal.name}, which SQLite "
                "cannot read without writing next to it",
                "Copy the database and its -wal and -shm files to a writable folder and point --db at the copy.",
                exit_code=ExitCode.CONFIG) from None
        conn = sqlite3.connect(uri + "&immutable=1", uri=True, check_same_thread=False)
    return Database(conn)


def _not_usable(path: Path, error: sqlite3.DatabaseError) -> DatabaseError:
    explained = explain(error, path)
    if explained is not None:
        return explained
    return DatabaseError(
        f"{path} is not an outreach database ({error})",
        "Point --db or OUTREACH_DB at a contacts.db made by outreach, or at a new file name.")


def open_database(path: Path | str) -> Database:
    """Open (creating on first use) and migrate the database, refusing one newer than this code."""
    path = Path(path)
    db = connect(path)
    try:
        known = {m.name for m in migrations._migrations}
        applied = {m.name for m in migrations.applied(db)}
        unknown = sorted(applied - known)
        if unknown:
            raise DatabaseError(
                f"{path} was written by a newer outreach (schema steps {', '.join(unknown)})",
                "Upgrade outreach (pip install -U outreach) before using this database.",
            )
        if migrations.pending(db):
            reason = read_only_reason(path.resolve())
            if reason:
                raise read_only(path, f"{reason}; this version of outreach must first add to its tables")
            migrations.apply(db)
    except sqlite3.DatabaseError as error:
        db.close()
        raise _not_usable(path, error) from None
    except DatabaseError:
        db.close()
        raise
    return db


def schema_version(db: Database) -> list[str]:
    """The names of the schema steps applied to this database, oldest first."""
    return [m.name for m in migrations.applied(db)]


def ping(db: Database) -> bool:
    """Whether the database answers a trivial query (for the web pages' /healthz)."""
    row = db.execute("SELECT 1").fetchone()
    return row is not None and row[0] == 1
