"""The `send_locks` table: at most one row per campaign, naming the process that sends it.

Taking a lock is an INSERT (the primary key decides a race); taking over a dead holder's lock is a
compare-and-swap UPDATE on the old owner; every write names the owner, so a process can only move its own lock.
"""

from __future__ import annotations

import sqlite3

from outreach.db.schema import Database
from outreach.models.deliveries import LockHolder


def get_lock(db: Database, campaign: str) -> LockHolder | None:
    """Who holds the campaign's lock now (alive or not), or None."""
    row = db.execute("SELECT owner, host, pid, acquired_at, heartbeat_at FROM send_locks WHERE campaign = ?",
                     [campaign]).fetchone()
    return LockHolder(*row) if row else None


def insert_lock(db: Database, campaign: str, holder: LockHolder) -> bool:
    """Take the free lock; False when some process holds it already."""
    try:
        db.execute("INSERT INTO send_locks (campaign, owner, host, pid, acquired_at, heartbeat_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", [campaign, holder.owner, holder.host, holder.pid,
                                                 holder.acquired_at, holder.heartbeat_at])
    except sqlite3.IntegrityError:
        return False
    return True


def take_over_lock(db: Database, campaign: str, holder: LockHolder, previous_owner: str) -> bool:
    """Take the lock from `previous_owner`; False when someone else took it first."""
    cursor = db.execute(
        "UPDATE send_locks SET owner = ?, host = ?, pid = ?, acquired_at = ?, heartbeat_at = ? "
        "WHERE campaign = ? AND owner = ?",
        [holder.owner, holder.host, holder.pid, holder.acquired_at, holder.heartbeat_at, campaign, previous_owner])
    return cursor.rowcount == 1


def beat_lock(db: Database, campaign: str, owner: str, now: str) -> bool:
    """Refresh the owner's heartbeat; False when the lock is no longer this owner's."""
    cursor = db.execute("UPDATE send_locks SET heartbeat_at = ? WHERE campaign = ? AND owner = ?",
                        [now, campaign, owner])
    return cursor.rowcount == 1


def release_lock(db: Database, campaign: str, owner: str) -> None:
    """Give the lock up (nothing happens when it is not this owner's)."""
    db.execute("DELETE FROM send_locks WHERE campaign = ? AND owner = ?", [campaign, owner])
