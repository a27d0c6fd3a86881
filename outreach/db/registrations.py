"""The `registrations`, `attendance` and `event_mails` tables.

The capacity of a session is decided here, by the database: a new answer gets its place or its place on the
waiting list in one conditional INSERT, inside the caller's BEGIN IMMEDIATE (`outreach.db.sessions.immediate`),
so two simultaneous registrations can never both take the last place. The rules (deadline, cancelled session,
who is told what) live in `outreach.events.registration`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from outreach.db.schema import Database
from outreach.models.sessions import (
    EventMailStatus,
    Person,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)

_COLUMNS = ("id, session_id, contact_id, email, name, organisation, language, status, source, consent_text, client, "
            "created_at, updated_at, waiting_since, registered_at")
_REGISTERED, _WAITING = RegistrationStatus.REGISTERED.value, RegistrationStatus.WAITING.value


def _registration(row: Mapping[str, Any] | tuple[Any, ...]) -> Registration:
    values = list(row.values()) if isinstance(row, Mapping) else list(row)
    values[7], values[8] = RegistrationStatus(values[7]), RegistrationSource(values[8])
    return Registration(*values)


def get_registration(db: Database, session_id: int, email: str) -> Registration | None:
    """One person's answer for a session (by normalised address), or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM registrations WHERE session_id = ? AND email = ?",
                     [session_id, email]).fetchone()
    return _registration(row) if row else None


def get_registration_by_id(db: Database, registration_id: int) -> Registration | None:
    """The registration with this id, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM registrations WHERE id = ?", [registration_id]).fetchone()
    return _registration(row) if row else None


def take_place(db: Database, now: str, session_id: int, person: Person, source: RegistrationSource,
               capacity: int | None) -> Registration:
    """Register the person, or put them on the waiting list when no place is left or others already wait.

    One statement: SQLite evaluates the count and writes the row under the same write lock. An earlier
    declined/cancelled answer of the same person is replaced (one row per person and session).
    """
    status_sql = ("CASE WHEN ?10 IS NULL OR ((SELECT count(*) FROM registrations WHERE session_id = ?1 AND status = "
                  f"'{_REGISTERED}') < ?10 AND NOT EXISTS (SELECT 1 FROM registrations WHERE session_id = ?1 AND "
                  f"status = '{_WAITING}')) THEN '{_REGISTERED}' ELSE '{_WAITING}' END")
    db.execute(
        "INSERT INTO registrations (session_id, contact_id, email, name, organisation, language, status, source, "
        "consent_text, client, created_at, updated_at, waiting_since, registered_at) "
        f"SELECT ?1, ?2, ?3, ?4, ?5, ?6, s, ?7, ?8, ?9, ?11, ?11, CASE WHEN s = '{_WAITING}' THEN ?11 END, "
        f"CASE WHEN s = '{_REGISTERED}' THEN ?11 END FROM (SELECT {status_sql} AS s) WHERE true "
        "ON CONFLICT(session_id, email) DO UPDATE SET status = excluded.status, source = excluded.source, "
        "contact_id = coalesce(excluded.contact_id, contact_id), name = coalesce(nullif(excluded.name, ''), name), "
        "organisation = coalesce(nullif(excluded.organisation, ''), organisation), "
        "language = coalesce(excluded.language, language), "
        "consent_text = coalesce(nullif(excluded.consent_text, ''), consent_text), "
        "client = coalesce(excluded.client, client), updated_at = excluded.updated_at, "
        "waiting_since = excluded.waiting_since, registered_at = excluded.registered_at",
        [session_id, person.contact_id, person.email, person.name, person.organisation, person.language,
         source.value, person.consent_text, person.client, capacity, now])
    found = get_registration(db, session_id, person.email)
    assert found is not None  # just written in this transaction
    return found


def record_declined(db: Database, now: str, session_id: int, person: Person, source: RegistrationSource) -> None:
    """Note "I cannot attend" from someone without an answer yet."""
    db.execute(
        "INSERT INTO registrations (session_id, contact_id, email, name, organisation, language, status, source, "
        "consent_text, client, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(session_id, email) DO NOTHING",
        [session_id, person.contact_id, person.email, person.name, person.organisation, person.language,
         RegistrationStatus.DECLINED.value, source.value, person.consent_text, person.client, now, now])


def set_status(db: Database, now: str, registration_id: int, status: RegistrationStatus) -> None:
    """Change an answer (a place given back: cancelled)."""
    db.execute("UPDATE registrations SET status = ?, updated_at = ? WHERE id = ?",
               [status.value, now, registration_id])


def promote_first(db: Database, now: str, session_id: int, capacity: int | None) -> Registration | None:
    """Give a free place to the first on the waiting list (FIFO), if a place is free; the promoted registration."""
    row = db.execute(
        f"UPDATE registrations SET status = '{_REGISTERED}', registered_at = ?1, updated_at = ?1 WHERE id = ("
        f"SELECT id FROM registrations WHERE session_id = ?2 AND status = '{_WAITING}' "
        "ORDER BY waiting_since, id LIMIT 1) AND (?3 IS NULL OR (SELECT count(*) FROM registrations "
        f"WHERE session_id = ?2 AND status = '{_REGISTERED}') < ?3) RETURNING id",
        [now, session_id, capacity]).fetchone()
    return get_registration_by_id(db, row[0]) if row else None


def count_by_status(db: Database, session_id: int) -> dict[RegistrationStatus, int]:
    """How many answers of each kind a session has."""
    counts = dict.fromkeys(RegistrationStatus, 0)
    for status, count in db.execute("SELECT status, count(*) FROM registrations WHERE session_id = ? "
                                    "GROUP BY status", [session_id]).fetchall():
        counts[RegistrationStatus(status)] = count
    return counts


def list_registrations(db: Database, session_id: int,
                       statuses: Iterable[RegistrationStatus] | None = None) -> list[Registration]:
    """A session's answers (of the given statuses), registered first, the waiting list in its order."""
    wanted = [s.value for s in (statuses or RegistrationStatus)]
    marks = ", ".join("?" for _ in wanted)
    rows = db.execute(f"SELECT {_COLUMNS} FROM registrations WHERE session_id = ? AND status IN ({marks}) "
                      f"ORDER BY status != '{_REGISTERED}', status != '{_WAITING}', "
                      "coalesce(waiting_since, registered_at, created_at), id", [session_id, *wanted]).fetchall()
    return [_registration(row) for row in rows]


def registrations_of(db: Database, contact_id: int | None, email: str) -> list[dict[str, Any]]:
    """A person's answers and attendance across every session (for `contacts history` and access requests)."""
    rows = db.query(
        "SELECT s.campaign, s.code, s.starts_at, r.status, r.source, r.created_at, r.updated_at, a.recorded_at "
        "AS attended_at FROM registrations r JOIN event_sessions s ON s.id = r.session_id "
        "LEFT JOIN attendance a ON a.session_id = r.session_id AND a.email = r.email "
        "WHERE r.email = ? OR (? IS NOT NULL AND r.contact_id = ?) "
        "UNION ALL SELECT s.campaign, s.code, s.starts_at, NULL, a.source, a.recorded_at, a.recorded_at, "
        "a.recorded_at FROM attendance a JOIN event_sessions s ON s.id = a.session_id "
        "WHERE (a.email = ? OR (? IS NOT NULL AND a.contact_id = ?)) AND a.registration_id IS NULL "
        "ORDER BY 3, 1, 2", [email, contact_id, contact_id, email, contact_id, contact_id])
    return [dict(row) for row in rows]


# --- attendance -----------------------------------------------------------------------------------------------

def record_attendance(db: Database, now: str, session_id: int, email: str, contact_id: int | None,
                      registration_id: int | None, source: str) -> bool:
    """Note that a person came; False when they already were (importing a sheet twice changes nothing)."""
    cursor = db.execute(
        "INSERT INTO attendance (session_id, email, contact_id, registration_id, source, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, email) DO NOTHING",
        [session_id, email, contact_id, registration_id, source, now])
    return bool(cursor.rowcount)


def attended(db: Database, session_id: int) -> dict[str, str]:
    """Who came to a session: address → when it was recorded."""
    return {email: at for email, at in db.execute("SELECT email, recorded_at FROM attendance WHERE session_id = ?",
                                                  [session_id]).fetchall()}


# --- event mails (recorded before they are sent) --------------------------------------------------------------

def claim_mail(db: Database, now: str, registration_id: int, kind: str, retry_unknown: bool = False) -> bool:
    """Record that the mail `kind` (e.g. "reminder:2d", "update:3") is about to go to this registration.

    False when it was sent before or is `sending` (a run that stopped after handing it over may have sent it), so
    that it never goes twice; a mail the server refused (`failed`) may be claimed again, and with `retry_unknown`
    one left `sending` too (the user accepts a possible second copy).
    """
    cursor = db.execute(
        "INSERT INTO event_mails (registration_id, kind, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4) "
        "ON CONFLICT(registration_id, kind) DO UPDATE SET status = ?3, updated_at = ?4 WHERE status = ?5 "
        "OR (?6 AND status = ?3)",
        [registration_id, kind, EventMailStatus.SENDING.value, now, EventMailStatus.FAILED.value, retry_unknown])
    return bool(cursor.rowcount)


def release_mail(db: Database, registration_id: int, kind: str) -> None:
    """Forget a claim whose mail certainly did not leave (no connection to the server): the next run sends it."""
    db.execute("DELETE FROM event_mails WHERE registration_id = ? AND kind = ? AND status = ?",
               [registration_id, kind, EventMailStatus.SENDING.value])


def settle_mail(db: Database, now: str, registration_id: int, kind: str, status: EventMailStatus,
                message_id: str | None, reply: str) -> None:
    """Record how sending an event mail ended."""
    db.execute("UPDATE event_mails SET status = ?, message_id = ?, last_reply = ?, updated_at = ? "
               "WHERE registration_id = ? AND kind = ?",
               [status.value, message_id, reply, now, registration_id, kind])


def mail_status(db: Database, registration_id: int, kind: str) -> EventMailStatus | None:
    """How the mail `kind` to this registration ended (SENDING: interrupted, not known to have gone), or None."""
    row = db.execute("SELECT status FROM event_mails WHERE registration_id = ? AND kind = ?",
                     [registration_id, kind]).fetchone()
    return EventMailStatus(row[0]) if row else None
