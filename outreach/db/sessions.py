"""The `event_sessions` table: what must survive between runs of a campaign.toml session — its calendar UID, its
SEQUENCE (raised whenever what a calendar shows changes), whether it was cancelled, its capacity and deadline.

The session's definition stays in campaign.toml; `outreach.events.sessions` keeps this row in step with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from outreach.db.schema import Database
from outreach.models.sessions import SessionRow, SessionStatus

_COLUMNS = ("id, campaign, code, uid, sequence, status, fingerprint, capacity, starts_at, deadline_at, created_at, "
            "updated_at")


@contextmanager
def immediate(db: Database) -> Iterator[None]:
    """A write transaction taken at once (BEGIN IMMEDIATE): two processes deciding on the same places take turns,
    so what one reads (places left) is still true when it writes. Inside an open transaction: a savepoint."""
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def _row(row: Mapping[str, Any] | tuple[Any, ...]) -> SessionRow:
    values = list(row.values()) if isinstance(row, Mapping) else list(row)
    values[5] = SessionStatus(values[5])
    return SessionRow(*values)


def get_session(db: Database, campaign: str, code: str) -> SessionRow | None:
    """The stored session `code` of a campaign, or None before it was first used."""
    row = db.execute(f"SELECT {_COLUMNS} FROM event_sessions WHERE campaign = ? AND code = ?",
                     [campaign, code]).fetchone()
    return _row(row) if row else None


def get_session_by_id(db: Database, session_id: int) -> SessionRow | None:
    """The stored session with this id (the one a registration link names), or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM event_sessions WHERE id = ?", [session_id]).fetchone()
    return _row(row) if row else None


def list_sessions(db: Database, campaign: str | None = None) -> list[SessionRow]:
    """Stored sessions (of one campaign, or all), by campaign and start."""
    where, args = ("WHERE campaign = ?", [campaign]) if campaign else ("", [])
    return [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM event_sessions {where} "
                                        "ORDER BY campaign, starts_at, code", args).fetchall()]


def sync_session(db: Database, now: str, *, campaign: str, code: str, uid: str, fingerprint: str,
                 capacity: int | None, starts_at: str, deadline_at: str | None) -> SessionRow:
    """Insert the session on first use; afterwards refresh capacity, start and deadline, and raise SEQUENCE by one
    when the fingerprint (what a calendar shows) changed. The UID, once stored, never changes."""
    db.execute(
        "INSERT INTO event_sessions (campaign, code, uid, fingerprint, capacity, starts_at, deadline_at, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(campaign, code) DO UPDATE SET "
        "sequence = sequence + (fingerprint != excluded.fingerprint), fingerprint = excluded.fingerprint, "
        "capacity = excluded.capacity, starts_at = excluded.starts_at, deadline_at = excluded.deadline_at, "
        "updated_at = CASE WHEN fingerprint != excluded.fingerprint OR capacity IS NOT excluded.capacity "
        "OR deadline_at IS NOT excluded.deadline_at THEN excluded.updated_at ELSE updated_at END",
        [campaign, code, uid, fingerprint, capacity, starts_at, deadline_at, now, now])
    found = get_session(db, campaign, code)
    assert found is not None  # just written in this connection
    return found


def bump_sequence(db: Database, now: str, session_id: int) -> None:
    """Raise SEQUENCE by one (an update mailed although the calendar fields did not change)."""
    db.execute("UPDATE event_sessions SET sequence = sequence + 1, updated_at = ? WHERE id = ?", [now, session_id])


def cancel_session(db: Database, now: str, session_id: int) -> bool:
    """Mark the session cancelled, raising SEQUENCE; False when it already was (nothing changes then)."""
    cursor = db.execute("UPDATE event_sessions SET status = ?, sequence = sequence + 1, updated_at = ? "
                        "WHERE id = ? AND status != ?",
                        [SessionStatus.CANCELLED.value, now, session_id, SessionStatus.CANCELLED.value])
    return bool(cursor.rowcount)
