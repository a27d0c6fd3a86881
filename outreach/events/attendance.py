"""Who came: a session's sign-in sheet (CSV or XLSX, read like a contact list) matched against those who
registered and the contacts; and the attendee list of a session for `outreach event attendees`.

Nobody is invented: a person on the sheet who is neither registered for the session nor a contact is listed,
with the row, for the coordinator to look at — never added as a contact. Importing the same sheet twice records
nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.clock import Clock, utcnow_iso
from outreach.db import registrations as store
from outreach.db.contacts import get_contact
from outreach.db.schema import Database
from outreach.db.sessions import get_session
from outreach.errors import InputError
from outreach.events.sessions import OpenSession, find_session, open_session

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign


@dataclass
class AttendanceReport:
    """What an import of a sign-in sheet did."""

    session: str
    recorded: int = 0
    already: int = 0
    walk_ins: list[tuple[int, str]] = field(default_factory=list)  # contacts who came without registering
    unknown: list[tuple[int, str, str]] = field(default_factory=list)  # (row, address, name): neither
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (row, what was wrong)


def choose_session(db: Database, clock: Clock, campaign: Campaign, code: str | None) -> OpenSession:
    """The session named, or the campaign's only one; InputError asking for --session otherwise."""
    if code:
        return open_session(db, clock, campaign, code)
    sessions = list(campaign.event)
    if len(sessions) != 1:
        raise InputError(f"Campaign {campaign.slug!r} has {len(sessions)} sessions: say which sheet this is",
                         f"Add --session with one of: {', '.join(sessions) or 'none'}.")
    return open_session(db, clock, campaign, sessions[0])


def import_attendance(db: Database, clock: Clock, campaign: Campaign, code: str | None, path: Path) -> AttendanceReport:
    """Record who signed in; see the module. The whole sheet is one transaction."""
    from outreach.contacts.importing.columns import plan_columns
    from outreach.contacts.importing.sheets import open_sheet
    from outreach.contacts.model import normalize_email

    opened = choose_session(db, clock, campaign, code)
    report = AttendanceReport(opened.session.code)
    now = utcnow_iso(clock)
    with open_sheet(path) as sheet:
        plan = plan_columns(path, sheet.header, {})
        email_at, name_at = plan.fields["email"], plan.fields.get("name")
        with db.atomic():
            for row, cells in sheet.rows:
                raw = cells[email_at].strip() if email_at < len(cells) else ""
                name = cells[name_at].strip() if name_at is not None and name_at < len(cells) else ""
                if not raw:
                    if any(cell.strip() for cell in cells):
                        report.invalid.append((row, f"{path}:{row}: no email address ({name or 'no name'})"))
                    continue
                try:
                    email = normalize_email(raw)
                except InputError as error:
                    report.invalid.append((row, f"{path}:{row}: {error.message}"))
                    continue
                _record(db, now, opened, report, row, email, name, str(path))
    return report


def _record(db: Database, now: str, opened: OpenSession, report: AttendanceReport, row: int, email: str,
            name: str, source: str) -> None:
    registration = store.get_registration(db, opened.row.id, email)
    contact = get_contact(db, email)
    if registration is None and contact is None:
        report.unknown.append((row, email, name))
        return
    if registration is None:
        report.walk_ins.append((row, email))
    added = store.record_attendance(db, now, opened.row.id, email, contact.id if contact else None,
                                    registration.id if registration else None, source)
    if added:
        report.recorded += 1
    else:
        report.already += 1


@dataclass(frozen=True)
class AttendeeRow:
    """One line of `outreach event attendees`."""

    session: str
    email: str
    name: str
    organisation: str
    language: str
    status: str  # registered | waiting | declined | cancelled | walk-in
    source: str
    answered_at: str
    attended: bool


def attendees(db: Database, campaign: Campaign, code: str | None) -> list[AttendeeRow]:
    """Everyone who answered, per session (registered first, then the waiting list in order), and who came."""
    rows: list[AttendeeRow] = []
    codes = [find_session(campaign, code).code] if code else sorted(campaign.event, key=lambda c: (
        campaign.event[c].starts, c))
    for session_code in codes:  # read only: a session never used has no row and no answers
        row = get_session(db, campaign.slug, session_code)
        if row is None:
            continue
        came = store.attended(db, row.id)
        seen = set()
        for r in store.list_registrations(db, row.id):
            seen.add(r.email)
            rows.append(AttendeeRow(session_code, r.email, r.name, r.organisation, r.language or "",
                                    r.status.value, r.source.value, r.updated_at, r.email in came))
        for email in sorted(set(came) - seen):
            contact = get_contact(db, email)
            rows.append(AttendeeRow(session_code, email, contact.name if contact else "",
                                    contact.organisation if contact else "", contact.language or "" if contact
                                    else "", "walk-in", "sheet", came[email], True))
    return rows
