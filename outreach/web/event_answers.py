"""Answers to an invitation: "I will attend" / "I cannot attend" from the signed links, and what follows them.

A link names an event session (campaign slug and session code) and either a contact (the links of an
invitation) or a registration (the "I cannot attend" link of a confirmation mail), bound to the address's
fingerprint, so a link dies when the address changes or is erased and cannot answer for another person. The
database decides places and the waiting list (`outreach.events.registration`); this module turns its answer into
the outcome a page shows and sends the mails that go with it — a confirmation with the calendar file, a
waiting-list notice, and the promotion of the first person waiting when a place is given back. Mail is sent after
the answer is committed; a mail that fails does not undo it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from outreach.contacts.model import get_contact_by_id
from outreach.errors import OutreachError
from outreach.events.registration import Answer, RegistrationResult, decline, register
from outreach.mail.tokens import Purpose, TokenError, email_fingerprint, read_token
from outreach.models import ContactStatus
from outreach.models.sessions import Person, Registration, RegistrationSource
from outreach.web.event_mail import send_event_mail
from outreach.web.event_sessions import SessionNotFound, load_session
from outreach.web.site import LinkState, Site

log = logging.getLogger("outreach.web")


class Outcome(StrEnum):
    """What the page after an answer says (the template `event_answered.html` has one text per outcome)."""

    REGISTERED = "registered"
    ALREADY = "already"
    WAITING = "waiting"
    DECLINED = "declined"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OUTCOMES = {
    Answer.REGISTERED: Outcome.REGISTERED, Answer.ALREADY_REGISTERED: Outcome.ALREADY,
    Answer.WAITING: Outcome.WAITING, Answer.ALREADY_WAITING: Outcome.WAITING,
    Answer.DECLINED: Outcome.DECLINED, Answer.ALREADY_DECLINED: Outcome.DECLINED,
    Answer.CANCELLED: Outcome.DECLINED, Answer.NOT_REGISTERED: Outcome.DECLINED,
    Answer.DEADLINE_PASSED: Outcome.CLOSED, Answer.SESSION_OVER: Outcome.CLOSED,
    Answer.SESSION_CANCELLED: Outcome.CANCELLED,
}


class AnswerProblem(Exception):
    """A link that cannot be used: INVALID (forged, damaged, another purpose), EXPIRED, or GONE."""

    def __init__(self, state: LinkState) -> None:
        super().__init__(state.value)
        self.state = state


@dataclass(frozen=True)
class AnswerLink:
    """A valid answer link: who answers (as the registration functions need them) and for which session."""

    person: Person
    slug: str
    code: str


def read_answer_link(site: Site, purpose: Purpose, token: str) -> AnswerLink:
    """The person and session an attend/decline token names; AnswerProblem when it cannot be used."""
    try:
        payload = read_token(site.secret, purpose, token)
    except TokenError as error:
        raise AnswerProblem(LinkState.of(error)) from None
    fingerprint, slug, code = payload.get("e"), payload.get("v"), payload.get("s")
    if not (isinstance(fingerprint, str) and isinstance(slug, str) and isinstance(code, str)):
        raise AnswerProblem(LinkState.INVALID)
    contact_id, registration_id = payload.get("c"), payload.get("r")
    if isinstance(contact_id, int):
        person = _contact_person(site, contact_id, fingerprint)
    elif isinstance(registration_id, int):
        person = _registration_person(site, registration_id, fingerprint)
    else:
        raise AnswerProblem(LinkState.INVALID)
    return AnswerLink(person, slug, code)


def _contact_person(site: Site, contact_id: int, fingerprint: str) -> Person:
    with site.database() as db:
        contact = get_contact_by_id(db, contact_id)
    if contact is None or contact.status == ContactStatus.ERASED or email_fingerprint(contact.email) != fingerprint:
        raise AnswerProblem(LinkState.GONE)
    return Person(email=contact.email, name=contact.name or "", contact_id=contact.id, language=contact.language,
                  organisation=contact.organisation or "")


def _registration_person(site: Site, registration_id: int, fingerprint: str) -> Person:
    from outreach.db.registrations import get_registration_by_id

    with site.database() as db:
        found = get_registration_by_id(db, registration_id)
    if found is None or email_fingerprint(found.email) != fingerprint:
        raise AnswerProblem(LinkState.GONE)
    return Person(email=found.email, name=found.name, contact_id=found.contact_id, language=found.language,
                  organisation=found.organisation)


def apply_answer(site: Site, purpose: Purpose, link: AnswerLink, language: str,
                 source: RegistrationSource = RegistrationSource.MAIL) -> Outcome:
    """Register (ATTEND, REGISTER) or decline (DECLINE) the link's person, then send the mails that follow.

    `language` is the language of the mail to the person; the promoted person gets their own. Runs in the
    thread pool. SessionNotFound when the campaign or session no longer exists.
    """
    with site.database() as db:
        opened = load_session(site, db, link.slug, link.code)
        act = decline if purpose is Purpose.DECLINE else register
        result = act(db, site.clock, opened.row.id, link.person, source)
    outcome = OUTCOMES.get(result.answer)
    if outcome is None:  # UNKNOWN_SESSION: the row vanished between loading and answering
        raise SessionNotFound(link.slug, link.code)
    if purpose is Purpose.DECLINE and outcome is Outcome.CLOSED:
        outcome = Outcome.DECLINED  # "I cannot attend" once it has begun: thanks, there is nothing to close
    _mail_after(site, link, result, language)
    return outcome


def _mail_after(site: Site, link: AnswerLink, result: RegistrationResult, language: str) -> None:
    """The mails an answer causes: confirmation or waiting notice to the person, promotion to the next one."""
    if result.answer in (Answer.REGISTERED, Answer.WAITING) and result.registration is not None:
        kind = "registered" if result.answer is Answer.REGISTERED else "waiting"
        try:
            send_event_mail(site, kind, link.slug, link.code, result.registration, language)
        except OutreachError as error:
            # The answer is committed and the page says so; the coordinator sees the failure in the log.
            log.warning("The %s mail for session %s/%s could not be sent: %s", kind, link.slug, link.code, error)
    if result.promoted is not None:
        promote_mail(site, link, result.promoted)


def promote_mail(site: Site, link: AnswerLink, promoted: Registration) -> None:
    """Tell the person moved up from the waiting list, through the events' own recorded mail (never twice)."""
    from outreach.delivery.transport import open_transport
    from outreach.events.mailing import send_promotion

    try:
        transport = open_transport(site.settings)
        try:
            with site.database() as db:
                opened = load_session(site, db, link.slug, link.code)
                report = send_promotion(site.settings, db, site.clock, opened, promoted, transport)
        finally:
            transport.close()
    except OutreachError as error:
        log.warning("The promotion mail for session %s/%s could not be sent: %s", link.slug, link.code, error)
        return
    for _, reply in report.failed:
        log.warning("A promotion mail for session %s/%s was refused: %s", link.slug, link.code, reply)
