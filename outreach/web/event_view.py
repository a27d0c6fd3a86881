"""An event session as the pages and the event mails show it: texts in the reader's language, dates and times
formatted by Babel in the session's time zone, its state (open, full, closed, cancelled) and calendar links.

The session itself (times, place, texts, capacity, deadline) comes from campaign.toml through `outreach.events`;
the database says whether it was cancelled and how many places are taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from outreach.clock import Clock

if TYPE_CHECKING:
    from outreach.events.model import Session
    from outreach.events.sessions import OpenSession


class SessionState(StrEnum):
    """What a reader of the page may do with a session."""

    OPEN = "open"  # places left (or no limit)
    FULL = "full"  # every place taken: a registration goes to the waiting list
    CLOSED = "closed"  # the deadline has passed or the session has begun
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Occupancy:
    """How many places a session has taken (registered) and how many people wait."""

    registered: int = 0
    waiting: int = 0


def session_path(slug: str, code: str) -> str:
    """The session's page: /events/<campaign slug>/<session code>."""
    return f"/events/{quote(slug)}/{quote(code)}"


def session_state(opened: OpenSession, occupancy: Occupancy, clock: Clock) -> SessionState:
    """Cancelled, closed (deadline passed or begun), full, or open — as the registration functions will decide."""
    session = opened.session
    if opened.cancelled:
        return SessionState.CANCELLED
    now = clock.now()
    if now >= session.starts or (session.registration_deadline is not None and now > session.registration_deadline):
        return SessionState.CLOSED
    if session.capacity is not None and occupancy.registered >= session.capacity:
        return SessionState.FULL
    return SessionState.OPEN


def _lines(session: Session, language: str) -> dict[str, str]:
    """Date line, time line and zone name in the reader's language — worded as the event mails word them."""
    from outreach.events.mails import when_lines

    day, hours, zone = when_lines(session, language)
    return {"date": day, "time": hours, "zone": zone}


def _deadline(session: Session, language: str) -> str:
    """The registration deadline as a date and time in the session's zone ("" without one)."""
    from babel.dates import format_date, format_time, get_timezone

    if session.registration_deadline is None:
        return ""
    locale = "en_IE" if language == "en" else language  # English readers get day-month-year, as in the mails
    local = session.registration_deadline.astimezone(get_timezone(session.timezone))
    return f"{format_date(local.date(), 'full', locale=locale)}, {format_time(local, 'short', locale=locale)}"


def _utc_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_links(session: Session, title: str, location: str, page_url: str) -> dict[str, str]:
    """"Add to calendar" links for Google Calendar and Outlook.com (their documented URL templates)."""
    ends = session.ends or session.starts
    google = "https://calendar.google.com/calendar/render?" + urlencode({
        "action": "TEMPLATE", "text": title, "dates": f"{_utc_stamp(session.starts)}/{_utc_stamp(ends)}",
        "details": page_url, "location": location, "ctz": session.timezone})
    outlook = "https://outlook.live.com/calendar/0/action/compose?" + urlencode({
        "path": "/calendar/action/compose", "rru": "addevent", "subject": title,
        "startdt": session.starts.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "enddt": ends.astimezone(UTC).isoformat().replace("+00:00", "Z"), "location": location, "body": page_url})
    return {"google_url": google, "outlook_url": outlook}


def session_view(opened: OpenSession, language: str, state: SessionState, public_url: str,
                 *, with_online_url: bool = False) -> dict[str, object]:
    """What the templates see as `ev`: texts, dates, place, state, paths and calendar links.

    The online meeting link is shown only in mails to registered people (`with_online_url`); the public page
    says that it is sent to them.
    """
    from outreach.countries import country_name

    session, slug = opened.session, opened.campaign.slug
    text = session.text(language)
    path = session_path(slug, session.code)
    location = ", ".join(part for part in (text.venue, session.address) if part) or session.online_url
    heading = text.title
    if session.country:
        heading = f"{country_name(session.country, language)}: {text.title}"
    view: dict[str, object] = {
        "code": session.code, "title": text.title, "heading": heading, "venue": text.venue,
        "address": session.address, "notes": text.notes, "online": bool(session.online_url),
        "online_url": session.online_url if with_online_url else "", "deadline": _deadline(session, language),
        "state": state.value, "page_path": path, "ics_path": f"{path}.ics",
        "registration_url": session.registration_url,  # registration on an outside page: no form here
        **_lines(session, language),
        **calendar_links(session, text.title, location, public_url.rstrip("/") + path),
    }
    return view
