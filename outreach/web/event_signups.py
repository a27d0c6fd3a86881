"""Registration from the public event page, double opt-in (see `outreach.web.event_forms` for why).

The form's answer is kept as a sign-up (`outreach.db.signups`, the table the subscribe form uses: what the form
said, the client, the time, the consent statement as read) and the address is mailed a link signed for that
sign-up and the session (`Purpose.REGISTER`). The POST of the page the link opens confirms the sign-up and
registers the person — with the sign-up's consent statement and client kept on the registration. Only a person
who also ticked "send me the news" becomes a subscribed contact, through the subscribe form's own confirmation
(`outreach.web.signups.confirm_signup`); the others are registrations, not contacts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from outreach.clock import isoformat, utcnow_iso
from outreach.contacts.model import Contact, get_contact
from outreach.db import signups as store
from outreach.mail.tokens import MAX_AGE, Purpose, TokenError, make_token, public_link, read_token
from outreach.models.sessions import Person, RegistrationSource
from outreach.models.signups import Signup
from outreach.web.event_answers import AnswerLink, Outcome, apply_answer
from outreach.web.event_forms import FORM_VERSION, Registration
from outreach.web.event_mail import send_confirm_link
from outreach.web.event_sessions import load_session
from outreach.web.site import LinkState, Site

LIFETIME = MAX_AGE[Purpose.REGISTER] or 7 * 24 * 3600


@dataclass(frozen=True)
class PendingRegistration:
    """A registration link that can be used: the stored sign-up, its session, and whether news were asked for."""

    signup: Signup
    slug: str
    code: str
    news: bool


def start_registration(site: Site, slug: str, code: str, registration: Registration, client: str) -> None:
    """Store the sign-up and mail the confirmation link (nothing over the per-address limit). Thread pool."""
    from datetime import timedelta

    data = registration.data
    if not site.address_limiter.hit(data.email):
        return
    now = site.clock.now()
    with site.database() as db:
        opened = load_session(site, db, slug, code)
        store.purge_expired(db, site.clock)
        signup = store.insert_signup(db, nonce=secrets.token_urlsafe(18), data=data, form_version=FORM_VERSION,
                                     client=client, created_at=isoformat(now),
                                     expires_at=isoformat(now + timedelta(seconds=LIFETIME)))
    token = make_token(site.secret, Purpose.REGISTER,
                       {"s": signup.nonce, "v": slug, "x": code, "n": 1 if registration.news else 0})
    send_confirm_link(site, opened, public_link(site.settings, f"register/{token}"), to_email=data.email,
                      to_name=data.name, language=data.language or "en")


def load_pending(site: Site, token: str) -> tuple[LinkState, PendingRegistration | None]:
    """The state of a registration link (OK, USED, INVALID, EXPIRED) and what it names."""
    try:
        payload = read_token(site.secret, Purpose.REGISTER, token)
    except TokenError as error:
        return LinkState.of(error), None
    nonce, slug, code = payload.get("s"), payload.get("v"), payload.get("x")
    if not (isinstance(nonce, str) and isinstance(slug, str) and isinstance(code, str)):
        return LinkState.INVALID, None
    with site.database() as db:
        signup = store.get_signup(db, nonce)
    if signup is None or signup.expires_at < utcnow_iso(site.clock):
        return LinkState.EXPIRED, None
    pending = PendingRegistration(signup, slug, code, payload.get("n") == 1)
    return (LinkState.USED if signup.confirmed_at else LinkState.OK), pending


def confirm_registration(site: Site, pending: PendingRegistration, client: str) -> Outcome:
    """Confirm the sign-up (and the subscription, when asked for), then register. Thread pool.

    The confirmation is committed first: a click that raced this one finds it confirmed and registers nobody twice
    (the registration functions count one address once anyway).
    """
    from outreach.web.signups import confirm_signup

    signup, data = pending.signup, pending.signup.data
    with site.database() as db, db.atomic():
        fresh = store.get_signup(db, signup.nonce)
        if fresh is None or fresh.confirmed_at:
            return Outcome.ALREADY
        contact: Contact | None = None
        if pending.news:
            contact = confirm_signup(db, site.clock, fresh, client)
        else:
            store.mark_confirmed(db, fresh.id, utcnow_iso(site.clock))
            contact = get_contact(db, data.email)
    person = Person(email=data.email, name=data.name, contact_id=contact.id if contact else None,
                    language=data.language, organisation=data.organisation, consent_text=data.consent_text,
                    client=signup.client)
    link = AnswerLink(person, pending.slug, pending.code)
    return apply_answer(site, Purpose.REGISTER, link, data.language or "en", RegistrationSource.WEB)
