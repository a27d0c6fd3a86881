"""Pages behind the signed links in every email: unsubscribe (RFC 8058 one-click too), preferences, erasure.

A GET never changes anything: corporate link scanners open every link in a message. Changes happen on POST,
with the page's CSRF token, except the RFC 8058 one-click POST (`List-Unsubscribe=One-Click`) that mail
providers send without cookies; its unguessable token is the proof that the message was received.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from outreach.contacts.model import Contact, erase, get_contact_by_id, update_contact
from outreach.countries import BSI_LANGUAGES
from outreach.db.campaigns import campaign_exists
from outreach.errors import OutreachError
from outreach.mail.tokens import Purpose, TokenError, contact_token, email_fingerprint, read_token
from outreach.models import ContactStatus, Kind
from outreach.models.signups import SignupData
from outreach.web.lang import N_
from outreach.web.signups import KIND_CHOICES, consent_statement, start_signup
from outreach.web.site import LinkState, Site, client_address, form_text, parse_stamp, read_form, site_of

if TYPE_CHECKING:
    from starlette.datastructures import FormData
    from starlette.requests import Request
    from starlette.responses import Response


class LinkProblem(Exception):
    """A link that cannot be used: its state is INVALID (400), or EXPIRED or GONE (410)."""

    def __init__(self, state: LinkState) -> None:
        super().__init__(state.value)
        self.state = state


@dataclass(frozen=True)
class ContactLink:
    """What a valid link names: a contact, and the campaign whose mail carried the link (if known)."""

    contact: Contact
    campaign: str | None = None


@dataclass(frozen=True)
class PreferencesForm:
    """A POST to a preferences link that passed its checks: the contact, the form, the page language."""

    contact: Contact
    form: FormData
    language: str


def contact_for(site: Site, purpose: Purpose, token: str) -> ContactLink:
    """The contact a token names, checked against its address fingerprint; LinkProblem otherwise."""
    try:
        payload = read_token(site.secret, purpose, token)
    except TokenError as error:
        raise LinkProblem(LinkState.EXPIRED if "expired" in str(error) else LinkState.INVALID) from None
    contact_id, fingerprint, campaign = payload.get("c"), payload.get("e"), payload.get("k")
    if not isinstance(contact_id, int) or not isinstance(fingerprint, str):
        raise LinkProblem(LinkState.INVALID)
    with site.database() as db:
        contact = get_contact_by_id(db, contact_id)
    if contact is None or contact.status == ContactStatus.ERASED or email_fingerprint(contact.email) != fingerprint:
        raise LinkProblem(LinkState.GONE)  # erased, or the address changed: the link died with it
    return ContactLink(contact, campaign if isinstance(campaign, str) and campaign else None)


async def resolve(request: Request, purpose: Purpose) -> ContactLink | LinkProblem:
    """The link of this request (its `token` path parameter), or why it cannot be used."""
    site = site_of(request)
    try:
        return await site.run(contact_for, site, purpose, request.path_params["token"])
    except LinkProblem as problem:
        return problem


def unsubscribe_now(site: Site, link: ContactLink, source: str) -> Contact:
    """Unsubscribe the link's contact, naming its campaign when the database knows it. Runs in the thread pool."""
    from outreach.tracking.events import unsubscribe

    with site.database() as db:
        campaign = link.campaign if link.campaign and campaign_exists(db, link.campaign) else None
        return unsubscribe(db, site.clock, link.contact, campaign=campaign, source=source)


def done_page(request: Request, contact: Contact) -> Response:
    """The page saying the address is unsubscribed, with a way back in through the preferences."""
    site = site_of(request)
    language = site.page_language(request, contact.language)
    return site.render(request, "unsubscribed.html", language, email=contact.email,
                       prefs_path=site.contact_path(Purpose.PREFERENCES, contact))


async def unsubscribe_get(request: Request) -> Response:
    """GET /unsubscribe/<token>: a page with the button (a link scanner's GET changes nothing)."""
    site = site_of(request)
    link = await resolve(request, Purpose.UNSUBSCRIBE)
    if isinstance(link, LinkProblem):
        return site.link_error(request, link.state)
    contact = link.contact
    if contact.status == ContactStatus.UNSUBSCRIBED:
        return done_page(request, contact)
    language = site.page_language(request, contact.language)
    return site.render(request, "unsubscribe.html", language, email=contact.email,
                       token=request.path_params["token"],
                       prefs_path=site.contact_path(Purpose.PREFERENCES, contact))


async def unsubscribe_post(request: Request) -> Response:
    """POST /unsubscribe/<token>: RFC 8058 one-click (no cookie, tiny answer), or the page's button (CSRF)."""
    from starlette.responses import PlainTextResponse

    site = site_of(request)
    form = await read_form(request)
    one_click = form is not None and form.get("List-Unsubscribe") == "One-Click"
    link = await resolve(request, Purpose.UNSUBSCRIBE)
    if one_click:
        # RFC 8058: the provider only looks at the status; keep the body tiny and free of personal data.
        if isinstance(link, LinkProblem):
            if link.state.status == 410:
                # Erased (or the address changed): nothing is mailed there any more, which is what was asked.
                return PlainTextResponse("Not subscribed.\n")
            return PlainTextResponse("This link is not valid.\n", status_code=400)
        await site.run(unsubscribe_now, site, link, "one-click")
        return PlainTextResponse("Unsubscribed.\n")
    if isinstance(link, LinkProblem):
        return site.link_error(request, link.state)
    language = site.page_language(request, link.contact.language)
    if form is None or not site.csrf_ok(request, form):
        return site.error(request, 403, "csrf", language)
    contact = await site.run(unsubscribe_now, site, link, "web")
    return done_page(request, contact)


def prefs_page(request: Request, contact: Contact, status: int = 200, saved: bool = False,
               errors: dict[str, str] | None = None) -> Response:
    """The data held about the contact, and the form to change language, kind and topics."""
    site = site_of(request)
    language = site.page_language(request, contact.language)
    return site.render(request, "preferences.html", language, status=status, contact=contact, saved=saved,
                       errors=errors or {}, kinds=KIND_CHOICES, topics=site.settings.topics,
                       token=request.path_params["token"], consent_at=_stamp(contact.consent_at),
                       created_at=_stamp(contact.created_at),
                       unsubscribe_path=site.contact_path(Purpose.UNSUBSCRIBE, contact))


async def preferences_get(request: Request) -> Response:
    """GET /preferences/<token>."""
    link = await resolve(request, Purpose.PREFERENCES)
    if isinstance(link, LinkProblem):
        return site_of(request).link_error(request, link.state)
    return prefs_page(request, link.contact)


async def preferences_form(request: Request) -> PreferencesForm | Response:
    """The contact of a preferences link, its submitted form and the page language — or the error page."""
    site = site_of(request)
    link = await resolve(request, Purpose.PREFERENCES)
    if isinstance(link, LinkProblem):
        return site.link_error(request, link.state)
    language = site.page_language(request, link.contact.language)
    form = await read_form(request)
    if form is None or not site.csrf_ok(request, form):
        return site.error(request, 403, "csrf", language)
    return PreferencesForm(link.contact, form, language)


async def preferences_post(request: Request) -> Response:
    """POST /preferences/<token>: save language, kind and topics."""
    site = site_of(request)
    checked = await preferences_form(request)
    if not isinstance(checked, PreferencesForm):
        return checked
    contact, form = checked.contact, checked.form
    errors: dict[str, str] = {}
    language, kind = form_text(form, "language"), form_text(form, "kind")
    if language not in BSI_LANGUAGES:
        errors["language"] = N_("Choose a language from the list.")
    if kind not in KIND_CHOICES:
        errors["kind"] = N_("Choose whom you represent.")
    if errors:
        return prefs_page(request, contact, 400, errors=errors)
    offered = set(site.settings.topics)
    chosen = [str(t) for t in form.getlist("topics") if t in offered]
    kept = [t for t in contact.topics if t not in offered]  # topics this deployment no longer offers
    changes = {"language": language, "kind": kind, "topics": sorted(set(chosen + kept))}
    contact = await site.run(save_preferences, site, contact, changes)
    # The page follows the newly chosen language unless the reader picked one with the switcher.
    return prefs_page(request, contact, saved=True)


def save_preferences(site: Site, contact: Contact, changes: Mapping[str, object]) -> Contact:
    """Apply the preferences form to the contact. Runs in the thread pool."""
    with site.database() as db:
        return update_contact(db, site.clock, contact, changes)


async def resubscribe_post(request: Request) -> Response:
    """POST /preferences/<token>/resubscribe: mail a confirmation link; only confirming brings the address back."""
    site = site_of(request)
    checked = await preferences_form(request)
    if not isinstance(checked, PreferencesForm):
        return checked
    contact, language = checked.contact, checked.language
    if contact.status == ContactStatus.ACTIVE:
        return prefs_page(request, contact)
    # Back in only through a confirmed opt-in, like any other sign-up: the link may have been forwarded.
    mail_language = contact.language if contact.language in BSI_LANGUAGES else language
    data = SignupData(email=contact.email, name=contact.name, organisation=contact.organisation,
                      kind=Kind(contact.kind), country=contact.country, language=mail_language,
                      topics=tuple(contact.topics), consent_text=consent_statement(site.settings, mail_language))
    try:
        await site.run(start_signup, site, data, client_address(request))
    except OutreachError:
        return site.error(request, 503, "mail_failed", language)
    return site.render(request, "check_inbox.html", language, email=contact.email)


async def erase_get(request: Request) -> Response:
    """GET /preferences/<token>/erase: asks first, with a short-lived erase token in the form."""
    site = site_of(request)
    link = await resolve(request, Purpose.PREFERENCES)
    if isinstance(link, LinkProblem):
        return site.link_error(request, link.state)
    contact = link.contact
    language = site.page_language(request, contact.language)
    return site.render(request, "erase.html", language, email=contact.email, token=request.path_params["token"],
                       erase_token=contact_token(site.secret, Purpose.ERASE, contact.id, contact.email))


async def erase_post(request: Request) -> Response:
    """POST /preferences/<token>/erase: with the CSRF and erase tokens of this very contact, erase everything."""
    site = site_of(request)
    checked = await preferences_form(request)
    if not isinstance(checked, PreferencesForm):
        return checked
    contact, language = checked.contact, checked.language
    try:
        confirmation = await site.run(contact_for, site, Purpose.ERASE, form_text(checked.form, "erase_token"))
    except LinkProblem as problem:
        return site.link_error(request, problem.state, language)
    if confirmation.contact.id != contact.id:
        return site.link_error(request, LinkState.INVALID, language)
    await site.run(erase_contact, site, contact)
    return site.render(request, "erased.html", language)


def erase_contact(site: Site, contact: Contact) -> None:
    """GDPR erasure of the contact. Runs in the thread pool."""
    with site.database() as db:
        erase(db, site.clock, contact.email)


def _stamp(value: str | None) -> datetime | None:
    return parse_stamp(value) if value else None
