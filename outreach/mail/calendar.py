"""Calendar files (RFC 5545 iCalendar, with RFC 5546 methods) for event mail, built with `icalendar`.

One `CalendarEntry` describes what a calendar should show of a session; `calendar_bytes` writes it as a
VCALENDAR with the session's VTIMEZONE (times are given with TZID, so a calendar shows them right wherever the
reader is), a UID that never changes for the session and a SEQUENCE that grows with each change, so that a
calendar replaces its entry instead of adding a second one:

- PUBLISH: the invitation (the reader has not answered; the file is for "add to my calendar");
- REQUEST: the confirmation of a place and every later update, to the registered person (ORGANIZER + ATTENDEE);
- CANCEL: the session is cancelled (STATUS:CANCELLED), to everyone who had a place or waited for one.

This module knows nothing of campaigns: `outreach.events.calendar` fills the entry in from a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

PRODID = "-//outreach//events//EN"


class CalendarMethod(StrEnum):
    """The iTIP method of a calendar file (RFC 5546 §1.4), also the `method=` of its text/calendar part."""

    PUBLISH = "PUBLISH"
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True)
class CalendarEntry:
    """What a calendar shows of one session, in one language. `starts`/`ends` are aware datetimes."""

    uid: str
    sequence: int
    summary: str
    starts: datetime
    ends: datetime | None
    timezone: str  # IANA name; the times are written in this zone with its VTIMEZONE
    location: str = ""
    description: str = ""
    url: str = ""
    organizer_name: str = ""
    organizer_address: str = ""
    language: str | None = None


@dataclass(frozen=True)
class CalendarPart:
    """A built calendar file and the method it was built for (the MIME part's `method=` parameter)."""

    method: CalendarMethod
    data: bytes
    filename: str = "invite.ics"


def calendar_bytes(entry: CalendarEntry, method: CalendarMethod, stamp: datetime,
                   attendee: tuple[str, str] | None = None) -> CalendarPart:
    """The iCalendar file for `entry`; `attendee` (name, address) for REQUEST and CANCEL, `stamp` is DTSTAMP."""
    from icalendar import Calendar, Event, vCalAddress, vText

    zone = ZoneInfo(entry.timezone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method.value)
    event = Event()
    event.add("uid", entry.uid)
    event.add("sequence", entry.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", entry.starts.astimezone(zone))
    event.add("dtend", (entry.ends or entry.starts + timedelta(hours=1)).astimezone(zone))
    event.add("summary", _text(entry.summary, entry.language, vText))
    if entry.location:
        event.add("location", _text(entry.location, entry.language, vText))
    if entry.description:
        event.add("description", entry.description)
    if entry.url:
        event.add("url", entry.url)
    event.add("status", "CANCELLED" if method is CalendarMethod.CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if entry.organizer_address:
        organizer = vCalAddress(f"mailto:{entry.organizer_address}")
        if entry.organizer_name:
            organizer.params["CN"] = entry.organizer_name
        event.add("organizer", organizer)
    if attendee is not None and method is not CalendarMethod.PUBLISH:
        person = vCalAddress(f"mailto:{attendee[1]}")
        if attendee[0]:
            person.params["CN"] = attendee[0]
        person.params["ROLE"] = "REQ-PARTICIPANT"
        person.params["PARTSTAT"] = "ACCEPTED"
        person.params["RSVP"] = "FALSE"
        event.add("attendee", person)
    calendar.add_component(event)
    first = entry.starts.date() - timedelta(days=366)
    calendar.add_missing_timezones(first_date=first, last_date=entry.starts.date() + timedelta(days=366))
    return CalendarPart(method, calendar.to_ical())


def _text(value: str, language: str | None, kind: type) -> object:
    """A TEXT value with its LANGUAGE parameter (RFC 5545 §3.2.10), so a calendar can tell the language."""
    text = kind(value)
    if language:
        text.params["LANGUAGE"] = language
    return text
