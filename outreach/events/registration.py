"""Registering for a session, declining, giving a place back, and the waiting list.

Every function returns a `RegistrationResult` whose `answer` says what happened — including the refusals a page
must explain (deadline passed, session cancelled or over) — instead of raising: the web pages and the CLI turn
the answer into a page or a line. When a place is given back, the first person on the waiting list gets it, and
the result names them in `promoted` so that the caller mails them (`outreach.events.mailing.send_promotion`).

Capacity is decided by the database (one conditional INSERT inside BEGIN IMMEDIATE, see
`outreach.db.registrations.take_place`): two processes registering at once never exceed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from outreach.clock import Clock, isoformat, parse_isoformat
from outreach.db import registrations as store
from outreach.db.schema import Database
from outreach.db.sessions import get_session_by_id, immediate
from outreach.models.sessions import (
    Person,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    SessionRow,
    SessionStatus,
)

__all__ = ["Answer", "RegistrationResult", "cancel", "decline", "places_left", "promote_waiting", "register"]


class Answer(StrEnum):
    """What became of a registration request; the first four change something."""

    REGISTERED = "registered"  # has a place
    WAITING = "waiting"  # on the waiting list
    DECLINED = "declined"  # "I cannot attend" noted
    CANCELLED = "cancelled"  # a place (or a place on the waiting list) given back
    ALREADY_REGISTERED = "already_registered"  # a second registration counts once
    ALREADY_WAITING = "already_waiting"
    ALREADY_DECLINED = "already_declined"
    NOT_REGISTERED = "not_registered"  # nothing to cancel
    DEADLINE_PASSED = "deadline_passed"
    SESSION_OVER = "session_over"  # the session has started or is over
    SESSION_CANCELLED = "session_cancelled"
    UNKNOWN_SESSION = "unknown_session"


@dataclass(frozen=True)
class RegistrationResult:
    """The answer, the person's registration as it now stands (if any), and who moved up from the waiting list."""

    answer: Answer
    registration: Registration | None = None
    promoted: Registration | None = None

    @property
    def changed(self) -> bool:
        """Whether something was written."""
        return self.answer in (Answer.REGISTERED, Answer.WAITING, Answer.DECLINED, Answer.CANCELLED)


def _refusal(session: SessionRow | None, clock: Clock, for_registering: bool) -> Answer | None:
    if session is None:
        return Answer.UNKNOWN_SESSION
    if session.status is SessionStatus.CANCELLED:
        return Answer.SESSION_CANCELLED
    now = clock.now()
    if now >= parse_isoformat(session.starts_at):
        return Answer.SESSION_OVER
    if for_registering and session.deadline_at and now > parse_isoformat(session.deadline_at):
        return Answer.DEADLINE_PASSED
    return None


def register(db: Database, clock: Clock, session_id: int, person: Person,
             source: RegistrationSource = RegistrationSource.MAIL) -> RegistrationResult:
    """Give the person a place, or a place on the waiting list when the session is full.

    A second registration of the same address counts once (ALREADY_REGISTERED / ALREADY_WAITING).
    """
    with immediate(db):
        session = get_session_by_id(db, session_id)
        refusal = _refusal(session, clock, for_registering=True)
        if refusal is not None or session is None:
            return RegistrationResult(refusal or Answer.UNKNOWN_SESSION)
        existing = store.get_registration(db, session_id, person.email)
        if existing is not None and existing.status is RegistrationStatus.REGISTERED:
            return RegistrationResult(Answer.ALREADY_REGISTERED, existing)
        if existing is not None and existing.status is RegistrationStatus.WAITING:
            return RegistrationResult(Answer.ALREADY_WAITING, existing)
        placed = store.take_place(db, isoformat(clock.now()), session_id, person, source, session.capacity)
    answer = Answer.REGISTERED if placed.status is RegistrationStatus.REGISTERED else Answer.WAITING
    return RegistrationResult(answer, placed)


def decline(db: Database, clock: Clock, session_id: int, person: Person,
            source: RegistrationSource = RegistrationSource.MAIL) -> RegistrationResult:
    """"I cannot attend": noted for someone without an answer; a held place is given back (see `cancel`)."""
    with immediate(db):
        session = get_session_by_id(db, session_id)
        if session is None:
            return RegistrationResult(Answer.UNKNOWN_SESSION)
        existing = store.get_registration(db, session_id, person.email)
        if existing is None:
            refusal = _refusal(session, clock, for_registering=False)
            if refusal is not None:
                return RegistrationResult(refusal)
            store.record_declined(db, isoformat(clock.now()), session_id, person, source)
            return RegistrationResult(Answer.DECLINED, store.get_registration(db, session_id, person.email))
        if existing.status is RegistrationStatus.DECLINED:
            return RegistrationResult(Answer.ALREADY_DECLINED, existing)
        return _give_back(db, clock, session, existing)


def cancel(db: Database, clock: Clock, session_id: int, email: str) -> RegistrationResult:
    """Give a place (or a place on the waiting list) back; the first waiting person then gets the place."""
    with immediate(db):
        session = get_session_by_id(db, session_id)
        if session is None:
            return RegistrationResult(Answer.UNKNOWN_SESSION)
        existing = store.get_registration(db, session_id, email)
        if existing is None or existing.status not in (RegistrationStatus.REGISTERED, RegistrationStatus.WAITING):
            return RegistrationResult(Answer.NOT_REGISTERED, existing)
        return _give_back(db, clock, session, existing)


def _give_back(db: Database, clock: Clock, session: SessionRow, existing: Registration) -> RegistrationResult:
    """Inside the caller's transaction: cancel a held place and promote the first waiting person."""
    if existing.status not in (RegistrationStatus.REGISTERED, RegistrationStatus.WAITING):
        return RegistrationResult(Answer.NOT_REGISTERED, existing)
    now = isoformat(clock.now())
    store.set_status(db, now, existing.id, RegistrationStatus.CANCELLED)
    promoted = None
    if existing.status is RegistrationStatus.REGISTERED and session.status is SessionStatus.SCHEDULED \
            and clock.now() < parse_isoformat(session.starts_at):
        promoted = store.promote_first(db, now, session.id, session.capacity)
    return RegistrationResult(Answer.CANCELLED, store.get_registration_by_id(db, existing.id), promoted)


def promote_waiting(db: Database, clock: Clock, session_id: int) -> list[Registration]:
    """Fill every free place from the waiting list, in order (after the capacity was raised); who moved up."""
    promoted: list[Registration] = []
    with immediate(db):
        session = get_session_by_id(db, session_id)
        if session is None or _refusal(session, clock, for_registering=False) is not None:
            return promoted
        now = isoformat(clock.now())
        while (moved := store.promote_first(db, now, session_id, session.capacity)) is not None:
            promoted.append(moved)
    return promoted


def places_left(db: Database, session: SessionRow) -> int | None:
    """Free places of a session now (None: no limit); 0 means a new registration goes on the waiting list."""
    if session.capacity is None:
        return None
    counts = store.count_by_status(db, session.id)
    if counts[RegistrationStatus.WAITING]:
        return 0
    return max(0, session.capacity - counts[RegistrationStatus.REGISTERED])
