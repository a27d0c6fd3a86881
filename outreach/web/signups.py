"""Double opt-in: who is mailed what on sign-up, which confirmation links work, what confirming does.

A sign-up keeps what the form said, the client address and time, and a random nonce (`outreach.db.signups`);
the confirmation link carries the nonce signed with the secret key. Only confirming (a POST from the page the
link opens) creates the contact or re-activates an unsubscribed, bounced or erased address, with a consent
record that can be shown later.

What is mailed depends on whether the address is known, but only the mailbox owner sees it: a new,
unsubscribed or erased address gets "confirm your subscription"; an address that is already subscribed gets
"you are already subscribed" with its preferences link. Sign-ups over the per-address limit mail nothing, so
the form cannot be used to flood someone's inbox.
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import timedelta

from outreach.clock import Clock, isoformat, utcnow_iso
from outreach.config import Settings
from outreach.contacts.model import (
    Contact,
    clean_fields,
    clean_text,
    get_contact,
    insert_contact,
    is_suppressed,
    normalize_email,
    unsuppress,
    update_contact,
)
from outreach.countries import COUNTRIES
from outreach.db import signups as store
from outreach.db.schema import Database
from outreach.errors import InputError
from outreach.mail.tokens import MAX_AGE, Purpose, TokenError, make_token, preferences_url, public_link, read_token
from outreach.models import ContactStatus, EventType, Kind
from outreach.models.signups import ConsentDetail, Signup, SignupData
from outreach.web.lang import N_, PageText, mail_language
from outreach.web.mailer import build_message, mail_context, render_mail, send_message
from outreach.web.site import LinkState, Site

# Bump when the form or its consent statement changes: the consent record names the version the person saw.
FORM_VERSION = "subscribe-form/2026-11"
SIGNUP_LIFETIME = timedelta(seconds=MAX_AGE[Purpose.CONFIRM] or 7 * 24 * 3600)
CONSENT_SOURCE = "web form"
KIND_CHOICES = (Kind.AUTHORITY, Kind.SUPPLIER, Kind.OTHER, Kind.SUBSCRIBER)
MAX_TEXT = 200  # characters of a name or an organisation in the forms


def check_person(email: str, name: str, organisation: str, kind: str, country: str
                 ) -> tuple[str, dict[str, str], dict[str, str]]:
    """The fields the sign-up form and an event's registration form both ask, checked: (the normalised address,
    the cleaned name and organisation, the errors by field as msgids — translated when shown)."""
    errors: dict[str, str] = {}
    address = ""
    try:
        address = normalize_email(email)
    except InputError:
        errors["email"] = N_("Enter a valid email address, such as name@example.org.")
    clean: dict[str, str] = {}
    for key, value in (("name", name), ("organisation", organisation)):
        try:
            clean[key] = clean_text(key, value)
        except InputError:
            clean[key] = ""
            errors[key] = N_("This field cannot contain line breaks.")
        if len(clean[key]) > MAX_TEXT:
            errors[key] = N_("This field is too long (at most 200 characters).")
    if kind not in KIND_CHOICES:
        errors["kind"] = N_("Choose whom you represent.")
    if country and country not in COUNTRIES:
        errors["country"] = N_("Choose a country from the list.")
    return address, clean, errors
CONSENT_STATEMENT = N_("I agree to receive the news of %(organisation)s by email. I can unsubscribe at any time "
                       "with the link in every email, and my data is used for nothing else.")


def consent_statement(settings: Settings, language: str) -> str:
    """The consent statement of the form in `language`, as the person reads it (and as it is recorded)."""
    return PageText(language).gettext(CONSENT_STATEMENT, organisation=settings.organisation or "—")


def start_signup(site: Site, data: SignupData, client: str) -> None:
    """Store the sign-up and mail the owner of the address (see the module docstring). Runs in the thread pool."""
    if not site.address_limiter.hit(data.email):
        return
    language = data.language or "en"
    with site.database() as db:
        store.purge_expired(db, site.clock)
        contact = get_contact(db, data.email)
        if contact is not None and contact.status == ContactStatus.ACTIVE:
            language = mail_language(contact.language, language)
            link = preferences_url(site.settings, site.secret, contact.id, contact.email)
            name, to_name = "email_already", contact.name
            subject = N_("You are already subscribed")
        else:
            signup = create_signup(db, site.clock, data, client)
            token = make_token(site.secret, Purpose.CONFIRM, {"s": signup.nonce})
            link = public_link(site.settings, f"confirm/{token}")
            name, to_name = "email_confirm", data.name
            subject = N_("Please confirm your subscription")
    mail_owner(site, name, subject, link, to_email=data.email, to_name=to_name, language=language)


def mail_owner(site: Site, template: str, subject: str, link: str, *, to_email: str, to_name: str,
               language: str) -> None:
    """Mail `link` to the owner of an address, with the `email_<…>` templates `template` in `language`.

    The pages' one way to reach a person: every action a forwarded link must not do alone (confirming a
    sign-up, seeing or erasing the data held) goes through a fresh link sent this way.
    """
    text = PageText(language)
    context = {**mail_context(site.settings, text, language, to_email), "link": link}
    plain, html = render_mail(site.templates, template, context)
    message = build_message(site.settings, site.clock, to_email=to_email, to_name=to_name, language=language,
                            subject=text.gettext(subject), text=plain, html=html)
    send_message(site.settings, message)


def create_signup(db: Database, clock: Clock, data: SignupData, client: str | None) -> Signup:
    """Store a sign-up waiting for confirmation, with a fresh nonce and its expiry."""
    now = clock.now()
    return store.insert_signup(db, nonce=secrets.token_urlsafe(18), data=data, form_version=FORM_VERSION,
                               client=client, created_at=isoformat(now), expires_at=isoformat(now + SIGNUP_LIFETIME))


def load_signup(site: Site, token: str) -> tuple[LinkState, Signup | None]:
    """The state of a confirmation link (OK, INVALID, EXPIRED or USED) and the sign-up it names, if any."""
    try:
        payload = read_token(site.secret, Purpose.CONFIRM, token)
    except TokenError as error:
        # tokens.read_token says "expired" for a good signature past its age: a clearer page than "invalid".
        return LinkState.of(error), None
    nonce = payload.get("s")
    if not isinstance(nonce, str):
        return LinkState.INVALID, None
    with site.database() as db:
        store.purge_expired(db, site.clock)
        signup = store.get_signup(db, nonce)
    if signup is None or signup.expires_at < utcnow_iso(site.clock):
        return LinkState.EXPIRED, None
    if signup.confirmed_at:
        return LinkState.USED, signup
    return LinkState.OK, signup


def confirm(site: Site, signup: Signup, client: str) -> Contact | None:
    """Confirm a sign-up (see `confirm_signup`); None when it was confirmed before and its contact is gone."""
    with site.database() as db:
        try:
            try:
                return confirm_signup(db, site.clock, signup, client)
            except sqlite3.IntegrityError:
                # A double click raced us to insert the same address: the second pass finds it.
                return confirm_signup(db, site.clock, signup, client)
        except LookupError:
            return None


def confirm_signup(db: Database, clock: Clock, signup: Signup, client: str | None) -> Contact:
    """Make the sign-up's address an active contact with a consent record; idempotent for a confirmed sign-up.

    New address → a new contact (a previously erased one is taken off the suppression list: this confirmation is
    the new consent). Known but not active (unsubscribed, bounced, complained) → re-activated through
    `tracking.resubscribe`. Known and active → its consent record is renewed and its fields updated.
    All of it is one transaction.
    """
    from outreach.tracking.events import record_event, resubscribe

    data = signup.data
    now = utcnow_iso(clock)
    detail = ConsentDetail(form_version=signup.form_version or FORM_VERSION, signup_at=signup.created_at,
                           signup_client=signup.client, confirmed_at=now, confirmed_client=client,
                           consent_text=data.consent_text, language=data.language)
    source_id = f"signup:{signup.nonce}"
    with db.atomic():
        if signup.confirmed_at is not None:
            contact = get_contact(db, data.email)
            if contact is not None:
                return contact
            # Confirmed, then erased: the old confirmation cannot bring the address back.
            raise LookupError("sign-up was confirmed before and the contact is gone")
        fields = contact_fields(data)
        fields.update(consent_basis="consent", consent_source=CONSENT_SOURCE, consent_at=now)
        contact = get_contact(db, data.email)
        if contact is None:
            was_suppressed = is_suppressed(db, data.email)
            contact = insert_contact(db, clock, data.email, fields, consent_detail=detail.as_dict())
            if was_suppressed:
                unsuppress(db, data.email)
            record_event(db, clock, EventType.SUBSCRIBED, contact.id, source="web", source_id=source_id,
                         detail=f"signed up {signup.created_at}")
        else:
            contact = update_contact(db, clock, contact, fields)
            store.set_consent_detail(db, contact.id, detail)
            if contact.status != ContactStatus.ACTIVE:
                contact = resubscribe(db, clock, contact, source="web", detail="confirmed web sign-up")
        record_event(db, clock, EventType.CONFIRMED, contact.id, source="web", source_id=source_id)
        store.mark_confirmed(db, signup.id, now)
    refreshed = get_contact(db, data.email)
    assert refreshed is not None  # confirmed in the transaction above
    return refreshed


def contact_fields(data: SignupData) -> dict[str, object]:
    """Contact fields to set on confirmation (empty ones left out so they never erase known values)."""
    values: dict[str, object] = {"kind": data.kind.value, "topics": list(data.topics)}
    for key, value in (("name", data.name), ("organisation", data.organisation), ("country", data.country),
                       ("language", data.language)):
        if value:
            values[key] = value
    return clean_fields(values)
