"""A session's calendar file in a reader's language: the `CalendarEntry` of `outreach.mail.calendar`, filled in
from campaign.toml (texts, times, place) and the database (UID, SEQUENCE, cancelled or not)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from outreach.events.model import Session
from outreach.mail.calendar import CalendarEntry, CalendarMethod, CalendarPart, calendar_bytes

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign
    from outreach.events.sessions import OpenSession


def entry_for(campaign: Campaign, session: Session, uid: str, sequence: int, language: str | None) -> CalendarEntry:
    """What a calendar shows of the session for a reader of `language` (texts fall back as in the mail)."""
    text = session.text(language)
    place = ", ".join(part for part in (text.venue, session.address) if part) or session.online_url
    description = "\n\n".join(part for part in (text.venue_description, text.notes, session.online_url) if part)
    return CalendarEntry(uid=uid, sequence=sequence, summary=text.title or campaign.name, starts=session.starts,
                         ends=session.ends, timezone=session.timezone, location=place, description=description,
                         url=session.online_url or session.registration_url, organizer_name=campaign.sender_name,
                         organizer_address=campaign.sender_address, language=language)


def session_calendar(opened: OpenSession, language: str | None, method: CalendarMethod, stamp: datetime,
                     attendee: tuple[str, str] | None = None) -> CalendarPart:
    """The .ics of a stored session (its UID and current SEQUENCE) for one reader; CANCEL marks it cancelled."""
    entry = entry_for(opened.campaign, opened.session, opened.row.uid, opened.row.sequence, language)
    return calendar_bytes(entry, method, stamp, attendee)
