"""Report queries for events: per campaign × country × kind × language, how many were invited (a delivery
sent), answered (registered, waiting, declined) and came (attendance). Read only.

A person's country, kind and language are those of their invitation (the delivery's snapshot), else of their
contact row, else — people who registered on the public page — the session's country, kind `other` and the
language they registered in.
"""

from __future__ import annotations

from outreach.db.schema import Database
from outreach.models import DeliveryStatus
from outreach.models.sessions import RegistrationStatus

Key = tuple[str, str | None, str | None, str | None]  # campaign, country, kind, language

_PERSON = ("LEFT JOIN contacts c ON c.id = coalesce({t}.contact_id, (SELECT id FROM contacts WHERE email = {t}.email)) "
           "LEFT JOIN deliveries d ON d.campaign = s.campaign AND d.contact_id = c.id ")
_DIMS = ("s.campaign, coalesce(d.country, c.country, CASE WHEN length(s.code) = 2 AND upper(s.code) = s.code "
         "THEN s.code END), coalesce(d.kind, c.kind, 'other'), coalesce(d.language, {lang}, c.language)")


def invited(db: Database, campaign: str | None = None) -> dict[Key, int]:
    """Sent invitations of the campaigns that have stored sessions, per breakdown cell."""
    where, params = ("AND d.campaign = ?", [campaign]) if campaign else ("", [])
    rows = db.execute(
        "SELECT d.campaign, d.country, d.kind, d.language, count(*) FROM deliveries d "
        f"WHERE d.status = '{DeliveryStatus.SENT.value}' AND d.campaign IN (SELECT campaign FROM event_sessions) "
        f"{where} GROUP BY 1, 2, 3, 4", params).fetchall()
    return {(row[0], row[1], row[2], row[3]): row[4] for row in rows}


def answers(db: Database, campaign: str | None = None) -> dict[Key, dict[RegistrationStatus, int]]:
    """Registrations per breakdown cell and status (each person once per session)."""
    where, params = ("WHERE s.campaign = ?", [campaign]) if campaign else ("", [])
    rows = db.execute(
        f"SELECT {_DIMS.format(lang='r.language')}, r.status, count(*) FROM registrations r "
        f"JOIN event_sessions s ON s.id = r.session_id {_PERSON.format(t='r')} {where} GROUP BY 1, 2, 3, 4, 5",
        params).fetchall()
    result: dict[Key, dict[RegistrationStatus, int]] = {}
    for row in rows:
        result.setdefault((row[0], row[1], row[2], row[3]), {})[RegistrationStatus(row[4])] = row[5]
    return result


def attended(db: Database, campaign: str | None = None) -> dict[Key, int]:
    """People who came, per breakdown cell."""
    where, params = ("WHERE s.campaign = ?", [campaign]) if campaign else ("", [])
    rows = db.execute(
        f"SELECT {_DIMS.format(lang='r.language')}, count(*) FROM attendance a "
        "JOIN event_sessions s ON s.id = a.session_id LEFT JOIN registrations r ON r.id = a.registration_id "
        f"{_PERSON.format(t='a')} {where} GROUP BY 1, 2, 3, 4", params).fetchall()
    return {(row[0], row[1], row[2], row[3]): row[4] for row in rows}
