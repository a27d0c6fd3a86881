"""Finding the event session a page or a link names, and how full it is.

An event is a campaign with `[events.<CODE>]` sessions (`outreach.events.model`); its public pages are
`/events/<campaign slug>` and `/events/<campaign slug>/<code>`. A campaign folder that is missing, broken or has
no sessions is simply "not found" for the pages: what is wrong with it is for `outreach campaign check` to say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.db.schema import Database
from outreach.errors import OutreachError
from outreach.web.event_view import Occupancy
from outreach.web.site import Site

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign
    from outreach.events.sessions import OpenSession


class SessionNotFound(Exception):
    """No event (campaign with sessions) or no session of that code: the page answers 404."""

    def __init__(self, slug: str, code: str | None = None) -> None:
        super().__init__(f"{slug}/{code or ''}")


def load_event(site: Site, slug: str) -> Campaign:
    """The campaign `slug` when it is an event (has sessions); SessionNotFound otherwise."""
    from outreach.campaigns.folder import SLUG_RE, load_campaign

    if not SLUG_RE.match(slug):
        raise SessionNotFound(slug)
    try:
        campaign = load_campaign(site.settings, slug)
    except OutreachError:
        raise SessionNotFound(slug) from None
    if not campaign.event:
        raise SessionNotFound(slug)
    return campaign


def load_session(site: Site, db: Database, slug: str, code: str) -> OpenSession:
    """The session `code` of the event `slug` with its database row (created on first use)."""
    from outreach.events.sessions import open_session

    campaign = load_event(site, slug)
    if code not in campaign.event:  # no case folding here: one URL per session
        raise SessionNotFound(slug, code)
    return open_session(db, site.clock, campaign, code)


def load_sessions(site: Site, db: Database, slug: str) -> list[OpenSession]:
    """Every session of the event `slug`, by start."""
    from outreach.events.sessions import open_sessions

    return open_sessions(db, site.clock, load_event(site, slug))


def occupancy(db: Database, opened: OpenSession) -> Occupancy:
    """How many places the session has taken and how many people wait."""
    from outreach.db.registrations import count_by_status
    from outreach.models.sessions import RegistrationStatus

    counts = count_by_status(db, opened.row.id)
    return Occupancy(counts.get(RegistrationStatus.REGISTERED, 0), counts.get(RegistrationStatus.WAITING, 0))
