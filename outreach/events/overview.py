"""What `outreach event list` and `event show` print: each session with its place, dates and answers.

Reading only: a session that was never used (no invitation sent, nobody registered) has no database row yet and
shows zero answers; nothing is written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outreach.db import registrations as store
from outreach.db.schema import Database
from outreach.db.sessions import get_session
from outreach.models.sessions import RegistrationStatus, SessionStatus

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign


@dataclass(frozen=True)
class SessionSummary:
    """One session of a campaign, as shown by `event show`."""

    code: str
    title: str
    starts: str  # local, "2027-03-09 09:30"
    ends: str
    timezone: str
    place: str
    capacity: int | None
    deadline: str
    status: str  # scheduled | cancelled
    sequence: int
    uid: str
    registered: int
    waiting: int
    declined: int
    cancelled: int
    attended: int

    def as_dict(self) -> dict[str, Any]:
        """For `--json`."""
        return dict(self.__dict__)


def summaries(db: Database | None, campaign: Campaign) -> list[SessionSummary]:
    """Every session of the campaign by start, with its answers (zero without a database or a stored row)."""
    result = []
    for session in sorted(campaign.event.values(), key=lambda s: (s.starts, s.code)):
        view = session.view(campaign.source_language)
        row = get_session(db, campaign.slug, session.code) if db is not None else None
        counts = store.count_by_status(db, row.id) if db is not None and row else {}
        came = len(store.attended(db, row.id)) if db is not None and row else 0
        place = ", ".join(p for p in (view["venue"], session.address) if p) or session.online_url
        deadline = view["registration_deadline"]
        result.append(SessionSummary(
            code=session.code, title=view["title"], starts=f"{view['starts']:%Y-%m-%d %H:%M}",
            ends=f"{view['ends']:%Y-%m-%d %H:%M}" if view["ends"] else "", timezone=session.timezone, place=place,
            capacity=session.capacity, deadline=f"{deadline:%Y-%m-%d %H:%M}" if deadline else "",
            status=row.status.value if row else SessionStatus.SCHEDULED.value, sequence=row.sequence if row else 0,
            uid=row.uid if row else "", registered=counts.get(RegistrationStatus.REGISTERED, 0),
            waiting=counts.get(RegistrationStatus.WAITING, 0), declined=counts.get(RegistrationStatus.DECLINED, 0),
            cancelled=counts.get(RegistrationStatus.CANCELLED, 0), attended=came))
    return result
