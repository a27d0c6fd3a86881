"""For `outreach demo`: one invitation of the shipped training campaign, written as a .eml file with its
calendar file next to it as .ics, so that a newcomer can open both (double-click the .ics to see the calendar
entry; open the .eml in a mail client to see the "add to calendar" part)."""

from __future__ import annotations

from pathlib import Path

from outreach.clock import Clock
from outreach.config import Settings
from outreach.db.schema import Database

INVITATION_CAMPAIGN = "bsi-training"


def write_invitation(db: Database, clock: Clock, settings: Settings, folder: Path) -> tuple[Path, Path] | None:
    """(.eml, .ics) of the invitation the first reader of the audience would get, or None without one.

    Nothing is queued or recorded as a delivery; the session's row (its UID and SEQUENCE) is written on first use,
    as a real send would.
    """
    from outreach.campaigns.folder import iter_audience, load_campaign
    from outreach.delivery.compose import MessageSource
    from outreach.events.invitations import InvitationCalendars
    from outreach.render.inline import cached_inliner
    from outreach.render.renderer import Renderer

    campaign = load_campaign(settings, INVITATION_CAMPAIGN)
    recipient = next((r for r in iter_audience(db, campaign) if r.language), None)
    if recipient is None or recipient.language is None:
        return None
    calendars = InvitationCalendars(campaign, clock, db)
    source = MessageSource(settings, campaign, Renderer(settings, campaign, cached_inliner(settings)),
                           calendars=calendars)
    contact, language = recipient.contact, recipient.language
    data = source.build(contact, language, contact.kind, source.message_id("demo"), clock.now())
    part = calendars.for_contact(contact, language)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{INVITATION_CAMPAIGN}-{contact.country or 'xx'}-{language}"
    eml, ics = folder / f"{stem}.eml", folder / f"{stem}.ics"
    eml.write_bytes(data)
    ics.write_bytes(part.data if part else b"")
    return eml, ics
