"""The words of the event mails — a place freed up for you, a reminder, a change, a cancellation — in the
reader's language, from the `emails` catalogs (formal register, as the campaigns are written).

Each mail is short: greeting, one sentence saying why it comes, the session (title, when, where, online link,
time zone, practical notes) and the sender's footer. The text and HTML parts say the same; every value in the
HTML is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from html import escape
from typing import TYPE_CHECKING

from outreach.countries import BSI_LANGUAGES

if TYPE_CHECKING:
    from outreach.events.model import Session
    from outreach.events.sessions import OpenSession


class MailKind(StrEnum):
    """Which event mail: it decides the subject, the opening sentence and the calendar method."""

    PROMOTED = "promoted"
    REMINDER = "reminder"
    UPDATE = "update"
    CANCEL = "cancel"


# Marked for the catalogs with N_ (the msgids must stay literal here).
def N_(message: str) -> str:
    return message


SUBJECTS = {
    MailKind.PROMOTED: N_("A place is now available for you: %(title)s"),
    MailKind.REMINDER: N_("Reminder: %(title)s"),
    MailKind.UPDATE: N_("Changed: %(title)s"),
    MailKind.CANCEL: N_("Cancelled: %(title)s"),
}
OPENINGS = {
    MailKind.PROMOTED: N_("A place has become available, and it is yours: you are now registered for the event "
                          "below. The attached calendar file adds it to your calendar."),
    MailKind.REMINDER: N_("We look forward to welcoming you. This is a reminder that you are registered for the "
                          "event below."),
    MailKind.UPDATE: N_("The details of the event below have changed. Please note the updated information; the "
                        "attached calendar file updates the entry in your calendar."),
    MailKind.CANCEL: N_("We regret to inform you that the event below has been cancelled. The attached calendar "
                        "file removes it from your calendar."),
}
CAN_NO_LONGER_ATTEND = N_("If you can no longer attend, please let us know, so that your place can be offered to "
                          "someone on the waiting list.")
ONLINE = N_("Join online")


@dataclass(frozen=True)
class EventMailText:
    """The subject and the two bodies of one event mail."""

    subject: str
    text: str
    html: str


def mail_language(language: str | None, opened: OpenSession) -> str:
    """The language of a mail to a registered person: theirs if outreach speaks it, else the campaign's source."""
    return language if language in BSI_LANGUAGES else opened.campaign.source_language


def _babel_locale(language: str) -> str:
    # English readers get day-month-year (Irish English), as the house rules ask.
    return "en_IE" if language == "en" else language


def when_lines(session: Session, language: str) -> tuple[str, str, str]:
    """(date, time span, time-zone name) of a session, in its own zone, worded for `language`."""
    from babel.dates import format_date, format_interval, format_time, get_timezone, get_timezone_name

    locale = _babel_locale(language)
    zone = get_timezone(session.timezone)
    starts = session.starts.astimezone(zone)
    day = str(format_date(starts.date(), "full", locale=locale))
    if session.ends is None:
        hours = str(format_time(starts, "short", tzinfo=zone, locale=locale))
    else:
        ends = session.ends.astimezone(zone)
        if ends.date() != starts.date():
            day = str(format_interval(starts.date(), ends.date(), "yMMMMd", locale=locale))
        hours = str(format_interval(starts.replace(tzinfo=None), ends.replace(tzinfo=None), "Hm", locale=locale))
    return day, hours, str(get_timezone_name(zone, locale=locale))


def compose(kind: MailKind, opened: OpenSession, language: str, name: str, organisation_footer: str,
            now: datetime | None = None) -> EventMailText:
    """The subject, text and HTML of one event mail to one person."""
    from outreach.render.i18n import get_translations

    tr = get_translations(language, "emails")

    def _(message: str, **values: str) -> str:
        return str(tr.ugettext(message)) % values if values else str(tr.ugettext(message))

    session = opened.session
    text = session.text(language)
    title = text.title or opened.campaign.name
    day, hours, zone = when_lines(session, language)
    greeting = _("Dear %(name)s,", name=name) if name else _("Dear colleague,")
    rows = [(_("When"), f"{day}, {hours}")]
    where = ", ".join(part for part in (text.venue, session.address) if part)
    if where:
        rows.append((_("Where"), where))
    if session.online_url:
        rows.append((_(ONLINE), session.online_url))
    closing = [_(CAN_NO_LONGER_ATTEND)] if kind in (MailKind.REMINDER, MailKind.PROMOTED) else []
    notes = [note for note in (text.venue_description, text.notes) if note]
    zone_line = _("All times are local time (%(zone)s).", zone=zone)
    plain = [greeting, "", _(OPENINGS[kind]), "", title]
    plain += [_("%(label)s: %(value)s", label=label, value=value) for label, value in rows]
    plain += [zone_line, *[f"\n{note}" for note in notes], *[f"\n{line}" for line in closing]]
    plain += ["", "-- ", organisation_footer]
    html = [f"<p>{escape(greeting)}</p>", f"<p>{escape(_(OPENINGS[kind]))}</p>", f"<h2>{escape(title)}</h2>",
            "<p>" + "<br>".join(f"<strong>{escape(label)}</strong>: {escape(value)}" for label, value in rows)
            + "</p>", f"<p>{escape(zone_line)}</p>", *[f"<p>{escape(line)}</p>" for line in notes + closing],
            f"<hr><p>{escape(organisation_footer)}</p>"]
    page = (f'<!DOCTYPE html><html lang="{escape(language)}"><head><meta charset="utf-8"><title>'
            f"{escape(title)}</title></head><body>{''.join(html)}</body></html>")
    return EventMailText(_(SUBJECTS[kind], title=title), "\n".join(plain) + "\n", page)
