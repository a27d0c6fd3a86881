"""The event mails the pages send: "confirm your registration" (public form), "your place is booked" (with the
session's calendar file) and "you are on the waiting list". The mail to the person who moves up from the waiting
list is the events' own (`outreach.events.mailing.send_promotion`), also sent by `outreach event` commands.

Transactional, like the subscribe mails (`outreach.web.mailer`): one per answer, `Auto-Submitted`, no List-*
headers, in the recipient's language. Every mail about a place carries the "I cannot attend" link, signed for
the registration, so that whoever cannot come frees the place for the next person waiting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.clock import utcnow_iso
from outreach.db import registrations as store
from outreach.mail.tokens import Purpose, answer_token, public_link
from outreach.models.sessions import EventMailStatus, Registration
from outreach.web.event_sessions import load_session, occupancy
from outreach.web.event_view import session_state, session_view
from outreach.web.lang import N_, PageText
from outreach.web.mailer import build_message, mail_context, render_mail, send_message
from outreach.web.site import Site

if TYPE_CHECKING:
    from outreach.events.sessions import OpenSession
    from outreach.mail.calendar import CalendarPart

SUBJECTS = {
    "registered": N_("Your registration is confirmed"),
    "waiting": N_("You are on the waiting list"),
    "confirm": N_("Please confirm your registration"),
}
WITH_CALENDAR = ("registered",)


def send_event_mail(site: Site, kind: str, slug: str, code: str, registration: Registration, language: str) -> None:
    """Mail `kind` ("registered" or "waiting") about a session to the person of `registration`, once: it is
    recorded in `event_mails` before it is sent (released again when it certainly did not leave)."""
    with site.database() as db:
        opened = load_session(site, db, slug, code)
        state = session_state(opened, occupancy(db, opened), site.clock)
    cancel = answer_token(site.secret, Purpose.DECLINE, registration.email, slug, code,
                          registration_id=registration.id)
    ev = session_view(opened, language, state, site.settings.public_url, with_online_url=kind in WITH_CALENDAR)
    context: dict[str, object] = {"ev": ev, "cancel_link": public_link(site.settings, f"decline/{cancel}"),
               "link": public_link(site.settings, str(ev["page_path"]) + f"?lang={language}")}
    calendar = calendar_part(site, opened, registration) if kind in WITH_CALENDAR else None
    key = f"{kind}:{registration.registered_at if kind in WITH_CALENDAR else registration.waiting_since}"
    with site.database() as db, db.atomic():
        if not store.claim_mail(db, utcnow_iso(site.clock), registration.id, key):
            return  # recorded before: this answer's mail has gone (or is going) already
    try:
        reply = _send(site, kind, language, registration.email, registration.name, context, calendar)
    except Exception:
        with site.database() as db, db.atomic():
            store.release_mail(db, registration.id, key)  # did not leave: a later answer may send it
        raise
    with site.database() as db, db.atomic():
        store.settle_mail(db, utcnow_iso(site.clock), registration.id, key, EventMailStatus.SENT, None, reply)


def send_confirm_link(site: Site, opened: OpenSession, link: str, *, to_email: str, to_name: str,
                      language: str) -> None:
    """Mail the link that confirms a registration from the public page (double opt-in)."""
    from outreach.web.event_view import SessionState

    ev = session_view(opened, language, SessionState.OPEN, site.settings.public_url)
    values: dict[str, object] = {"ev": ev, "link": link}
    _send(site, "confirm", language, to_email, to_name, values, None)


def calendar_part(site: Site, opened: OpenSession, registration: Registration) -> CalendarPart:
    """The session's calendar file for a person with a place (METHOD:REQUEST, they are its ATTENDEE)."""
    from outreach.events.calendar import session_calendar
    from outreach.mail.calendar import CalendarMethod

    return session_calendar(opened, registration.language, CalendarMethod.REQUEST, site.clock.now(),
                            attendee=(registration.name, registration.email))


def _send(site: Site, kind: str, language: str, to_email: str, to_name: str, values: dict[str, object],
          calendar: CalendarPart | None) -> str:
    text = PageText(language)
    context = {**mail_context(site.settings, text, language, to_email), **values}
    plain, html = render_mail(site.templates, f"email_event_{kind}", context)
    message = build_message(site.settings, site.clock, to_email=to_email, to_name=to_name, language=language,
                            subject=text.gettext(SUBJECTS[kind]), text=plain, html=html, calendar=calendar)
    return send_message(site.settings, message)
