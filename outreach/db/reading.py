"""A plain read-only connection for the everyday reading commands, opened without loading sqlite-utils.

Importing sqlite-utils (and the dateutil and plugin machinery it brings) is about a third of a short command's
start-up, while `outreach contacts count` needs one SELECT. `open_reader` gives such commands a bare `sqlite3`
connection (read-only, the same `casefold` function and busy timeout) when the file is exactly at this code's
schema; for anything else — a missing, older or newer schema, a damaged or locked file — it returns None, and the
caller opens the database the full way (`schema.open_database`), which migrates it or explains what is wrong.
Store functions that only read take a `Reader`: a sqlite-utils Database and a sqlite3 Connection both are one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

# The schema steps of `schema.migrations`, by name: a reader opens only a file that has exactly these
# (tests/test_db_reading.py checks that this list is the migrations' own).
SCHEMA_STEPS = ("m001_initial", "m003_report_indexes", "m004_event_sessions", "m005_link_clicks", "m007_delivery_relay",
                "m008_schedules")


class Reader(Protocol):
    """What a read-only store function needs of a connection."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> sqlite3.Cursor: ...


def casefold(value: str | None) -> str | None:
    """SQLite's lower() folds ASCII only; searches for "Żółkiewska" or "ΔΉΜΟΣ" need Unicode case folding."""
    return value.casefold() if isinstance(value, str) else value


def open_reader(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to `path` when it is an outreach database at this schema, else None."""
    try:
        conn = sqlite3.connect("file:" + quote(str(path.resolve())) + "?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        rows = conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'outreach' "
                            "ORDER BY id").fetchall()
        if {name for (name,) in rows} != set(SCHEMA_STEPS):
            conn.close()
            return None
        conn.create_function("casefold", 1, casefold, deterministic=True)
    except sqlite3.Error:
        conn.close()
        return None
    return conn
