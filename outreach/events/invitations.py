"""What an invitation adds to a campaign's messages: the session's calendar file (METHOD:PUBLISH), and the rule
that an invitation to a session that has started or was cancelled is not sent without `--force`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from outreach.clock import Clock
from outreach.db.schema import Database
from outreach.errors import InputError
from outreach.events.calendar import entry_for
from outreach.events.sessions import make_uid, sync
from outreach.mail.calendar import CalendarMethod, CalendarPart, calendar_bytes
from outreach.models.sessions import SessionStatus

if TYPE_CHECKING:
    from outreach.campaigns.audience import Recipient
    from outreach.campaigns.folder import Campaign
    from outreach.contacts.model import Contact


class InvitationCalendars:
    """The calendar file of each recipient's session, built once per (session, language).

    With a database, the session's stored UID and SEQUENCE are used (its row is written on first use); without
    one (`--test-to` before anything was stored) the UID is the one the first use will store, SEQUENCE 0.
    """

    def __init__(self, campaign: Campaign, clock: Clock, db: Database | None = None) -> None:
        self.campaign = campaign
        self.clock = clock
        self.db = db
        self._parts: dict[tuple[str, str], CalendarPart] = {}
        # Read (and written) here, once: messages may be built in the sender's worker threads, which must not
        # use this thread's database connection.
        self._ids: dict[str, tuple[str, int]] = {}
        for session in campaign.event.values():
            row = sync(db, clock, campaign, session) if db is not None else None
            self._ids[session.code] = (row.uid, row.sequence) if row else (make_uid(campaign, session.code), 0)

    def for_contact(self, contact: Contact, language: str) -> CalendarPart | None:
        """The .ics for this recipient's session in their language, or None when they have no session."""
        session = self.campaign.session_for(contact.country)
        if session is None:
            return None
        key = (session.code, language)
        part = self._parts.get(key)
        if part is None:
            uid, sequence = self._ids[session.code]
            entry = entry_for(self.campaign, session, uid, sequence, language)
            part = self._parts[key] = calendar_bytes(entry, CalendarMethod.PUBLISH, self.clock.now())
        return part


def calendars_for(campaign: Campaign, clock: Clock, db: Database | None = None) -> InvitationCalendars | None:
    """The calendar source for a campaign's messages, or None for a campaign without sessions."""
    return InvitationCalendars(campaign, clock, db) if campaign.event else None


def refuse_past_sessions(db: Database, campaign: Campaign, recipients: Iterable[Recipient], now: datetime) -> None:
    """InputError when a recipient would be invited to a session that has started or was cancelled."""
    from outreach.db.sessions import get_session

    if not campaign.event:
        return
    reached: dict[str, int] = {}
    for recipient in recipients:
        session = campaign.session_for(recipient.contact.country) if recipient.language else None
        if session is not None:
            reached[session.code] = reached.get(session.code, 0) + 1
    problems = []
    for code, count in sorted(reached.items()):
        session = campaign.event[code]
        row = get_session(db, campaign.slug, code)
        if row is not None and row.status is SessionStatus.CANCELLED:
            problems.append(f"[events.{code}] was cancelled ({count} recipients)")
        elif session.starts <= now:
            problems.append(f"[events.{code}] started on {session.starts:%Y-%m-%d %H:%M} ({count} recipients)")
    if problems:
        raise InputError(f"Not sending invitations to a past or cancelled event: {'; '.join(problems)}",
                         f"Leave those countries out (--country), change the sessions in {campaign.toml_path}, or "
                         "add --force to send anyway.")
