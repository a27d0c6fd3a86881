"""Finding a campaign's session by its code and keeping its database row in step with campaign.toml.

A session is identified by (campaign slug, code): `("bsi-training", "HR")`, `("webinar-2027", "webinar")`.
Its calendar UID is made once from those and the sender's domain and then kept in the database, so that every
calendar file for the session — invitation, confirmation, update, cancellation — names the same entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outreach.clock import Clock, isoformat, utcnow_iso
from outreach.db import sessions as store
from outreach.db.schema import Database
from outreach.errors import NotFoundError
from outreach.events.model import Session
from outreach.models.sessions import SessionRow, SessionStatus
from outreach.suggest import did_you_mean

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign


@dataclass(frozen=True)
class OpenSession:
    """A session as campaign.toml defines it (`session`) with what the database keeps of it (`row`)."""

    campaign: Campaign
    session: Session
    row: SessionRow

    @property
    def cancelled(self) -> bool:
        return self.row.status is SessionStatus.CANCELLED


def make_uid(campaign: Campaign, code: str) -> str:
    """The calendar UID of a session: `<slug>-<code>@<sender's domain>` (stable, globally unique enough)."""
    domain = campaign.sender_address.rpartition("@")[2] or "outreach.invalid"
    return f"{campaign.slug}-{re.sub(r'[^a-z0-9-]', '-', code.lower())}@{domain.lower()}"


def find_session(campaign: Campaign, code: str) -> Session:
    """The campaign's session `code` (case of a country code forgiven); NotFoundError with a did-you-mean."""
    sessions = campaign.event
    found = sessions.get(code) or sessions.get(code.upper())
    if found is None:
        if not sessions:
            raise NotFoundError(f"Campaign {campaign.slug!r} has no event sessions",
                                f"Add [events.<CODE>] tables to {campaign.toml_path}.")
        raise NotFoundError(f"Campaign {campaign.slug!r} has no session {code!r}{did_you_mean(code, sessions)}",
                            f"Sessions: {', '.join(sessions)}.")
    return found


def sync(db: Database, clock: Clock, campaign: Campaign, session: Session) -> SessionRow:
    """Write (first use) or refresh the session's row; SEQUENCE rises when what a calendar shows has changed."""
    existing = store.get_session(db, campaign.slug, session.code)
    return store.sync_session(
        db, utcnow_iso(clock), campaign=campaign.slug, code=session.code,
        uid=existing.uid if existing else make_uid(campaign, session.code), fingerprint=session.fingerprint(),
        capacity=session.capacity, starts_at=isoformat(session.starts),
        deadline_at=isoformat(session.registration_deadline) if session.registration_deadline else None)


def open_session(db: Database, clock: Clock, campaign: Campaign, code: str) -> OpenSession:
    """The session `code` of a campaign with its (refreshed) database row — what registration and mail need."""
    session = find_session(campaign, code)
    return OpenSession(campaign, session, sync(db, clock, campaign, session))


def open_sessions(db: Database, clock: Clock, campaign: Campaign, code: str | None = None) -> list[OpenSession]:
    """Every session of the campaign (or only `code`), by start."""
    codes = [find_session(campaign, code).code] if code else list(campaign.event)
    found = [open_session(db, clock, campaign, c) for c in codes]
    return sorted(found, key=lambda s: (s.session.starts, s.session.code))
