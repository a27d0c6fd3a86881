"""What merging another expert's database needs of the event tables (`outreach.tracking.merge_events` decides)."""

from __future__ import annotations

from outreach.db.schema import Database
from outreach.models.sessions import SessionStatus

EVENT_TABLES = ("event_sessions", "registrations", "attendance", "event_mails")


def session_state(db: Database, campaign: str, code: str) -> tuple[int, int, str] | None:
    """(id, sequence, status) of our session, or None."""
    row = db.execute("SELECT id, sequence, status FROM event_sessions WHERE campaign = ? AND code = ?",
                     [campaign, code]).fetchone()
    return (int(row[0]), int(row[1]), str(row[2])) if row else None


def widen_session(db: Database, session_id: int, sequence: int, cancelled: bool, now: str) -> bool:
    """Take the other side's higher SEQUENCE and its cancellation; whether anything changed."""
    cursor = db.execute(
        "UPDATE event_sessions SET sequence = max(sequence, ?), status = CASE WHEN ? THEN ? ELSE status END, "
        "updated_at = ? WHERE id = ? AND (sequence < ? OR (? AND status != ?))",
        [sequence, cancelled, SessionStatus.CANCELLED.value, now, session_id, sequence, cancelled,
         SessionStatus.CANCELLED.value])
    return bool(cursor.rowcount)


def registration_state(db: Database, session_id: int, email: str) -> tuple[int, str] | None:
    """(id, updated_at) of our registration of this address for the session, or None."""
    row = db.execute("SELECT id, updated_at FROM registrations WHERE session_id = ? AND email = ?",
                     [session_id, email]).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def replace_answer(db: Database, registration_id: int, status: str, updated_at: str, waiting_since: object,
                   registered_at: object) -> None:
    """Take the other side's later answer for a registration we both hold."""
    db.execute("UPDATE registrations SET status = ?, updated_at = ?, waiting_since = ?, registered_at = ? "
               "WHERE id = ?", [status, updated_at, waiting_since, registered_at, registration_id])
