"""Database helpers shared by tests of several parts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from outreach.db.schema import open_database


def make_newer_than_code(path: Path) -> Path:
    """An outreach database carrying a schema step this code does not know, as a newer outreach would leave it."""
    open_database(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('outreach', 'm999_future', '2030-01-01')")
    conn.commit()
    conn.close()
    return path
