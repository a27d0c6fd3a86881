"""Merging the event tables of another expert's database: sessions by (campaign, code), registrations and
attendance by (session, address), event mails by (registration, kind); nothing is added twice, so a merge can be
repeated. On a session both hold, the higher SEQUENCE and a cancellation win; on a registration both hold, the
later answer wins. A person erased here stays anonymous: their rows come in without name or address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.db import merge as store
from outreach.db import merge_sessions as sessions
from outreach.db.merge import ColumnRow, OtherDatabase
from outreach.db.schema import Database
from outreach.models import ContactStatus
from outreach.models.sessions import SessionStatus
from outreach.models.tracking import SQLValue

if TYPE_CHECKING:
    from outreach.tracking.merge import MergeSummary


def merge_events(db: Database, other: OtherDatabase, now: str, contact_ids: dict[SQLValue, int | None],
                 summary: MergeSummary) -> None:
    """Bring the other database's event tables in (it has them: it is at schema step m004 or later)."""
    session_ids = _sessions(db, other, now, summary)
    registration_ids = _registrations(db, other, session_ids, contact_ids, summary)
    for row in other.rows("attendance", _columns(db, other, "attendance")):
        row["session_id"] = session_ids[row["session_id"]]
        row["registration_id"] = registration_ids.get(row["registration_id"])
        row["contact_id"] = contact_ids.get(row["contact_id"]) if row["contact_id"] is not None else None
        if row["contact_id"] is None and _erased_here(db, row["email"]):
            row["email"] = "erased-merged-a" + str(row.get("id"))
        if store.insert_row(db, "attendance", _without_id(row), or_ignore=True) is not None:
            summary.attendance_added += 1
    for row in other.rows("event_mails", _columns(db, other, "event_mails")):
        if row["registration_id"] in registration_ids:
            row["registration_id"] = registration_ids[row["registration_id"]]
            store.insert_row(db, "event_mails", _without_id(row), or_ignore=True)


def _columns(db: Database, other: OtherDatabase, table: str) -> list[str]:
    return store.shared_columns(db, other, table)


def _without_id(row: ColumnRow) -> ColumnRow:
    return {key: value for key, value in row.items() if key != "id"}


def _erased_here(db: Database, email: SQLValue) -> bool:
    return store.suppression_reason(db, str(email)) == ContactStatus.ERASED.value


def _sessions(db: Database, other: OtherDatabase, now: str, summary: MergeSummary) -> dict[SQLValue, int]:
    ids: dict[SQLValue, int] = {}
    for row in other.rows("event_sessions", _columns(db, other, "event_sessions")):
        mine = sessions.session_state(db, str(row["campaign"]), str(row["code"]))
        if mine is None:
            ids[row["id"]] = store.insert_row(db, "event_sessions", _without_id(row)) or 0
            summary.sessions_added += 1
            continue
        ids[row["id"]] = mine[0]
        cancelled = row["status"] == SessionStatus.CANCELLED.value
        if sessions.widen_session(db, mine[0], int(row["sequence"] or 0), cancelled, now):
            summary.sessions_updated += 1
    return ids


def _registrations(db: Database, other: OtherDatabase, session_ids: dict[SQLValue, int],
                   contact_ids: dict[SQLValue, int | None], summary: MergeSummary) -> dict[SQLValue, int]:
    ids: dict[SQLValue, int] = {}
    for row in other.rows("registrations", _columns(db, other, "registrations")):
        theirs = row["id"]
        row["session_id"] = session_ids[row["session_id"]]
        row["contact_id"] = contact_ids.get(row["contact_id"]) if row["contact_id"] is not None else None
        if row["contact_id"] is None and _erased_here(db, row["email"]):
            row.update(email="erased-merged-" + str(theirs), name="", organisation="", consent_text="", client=None)
        mine = sessions.registration_state(db, int(str(row["session_id"])), str(row["email"]))
        if mine is None:
            ids[theirs] = store.insert_row(db, "registrations", _without_id(row)) or 0
            summary.registrations_added += 1
            continue
        ids[theirs] = mine[0]
        if str(row["updated_at"]) > mine[1]:
            sessions.replace_answer(db, mine[0], str(row["status"]), str(row["updated_at"]), row["waiting_since"],
                                    row["registered_at"])
            summary.registrations_updated += 1
    return ids
