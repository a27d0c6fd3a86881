"""Pages behind the signed links in every email: unsubscribe (RFC 8058 one-click too) and preferences.

A GET never changes anything: corporate link scanners open every link in a message. Changes happen on POST,
with the page's CSRF token, except the RFC 8058 one-click POST (`List-Unsubscribe=One-Click`) that mail
providers send without cookies; its unguessable token is the proof that the message was received.

Every link in a mail may be forwarded, so these pages show no personal data (the address only masked,
`e•••@example.org`): whoever holds the link may unsubscribe, choose the language, kind and topics, or ask for a
confirmation mail — to the address itself — to subscribe again or to see and erase the data (`pages.data`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outreach.clock import utcnow_iso
from outreach.contacts.model import Contact, get_contact_by_id, update_contact
from outreach.countries import EU_LANGUAGES
from outreach.db.campaigns import campaign_exists
from outreach.errors import OutreachError
from outreach.mail.tokens import Purpose, TokenError, email_fingerprint, read_token
from outreach.models import ContactStatus, Kind
from outreach.models.signups import SignupData
from outreach.web.lang import N_, mail_language
from outreach.web.signups import KIND_CHOICES, consent_statement, start_signup
from outreach.web.site import LinkState, Site, client_address, form_text, masked_email, read_form, site_of

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
        raise LinkProblem(LinkState.of(error)) from None
    contact_id, fingerprint, campaign = payload.get("c"), payload.get("e"), payload.get("k")
    if not isinstance(contact_id, int) or not isinstance(fingerprint, str):
        raise LinkProblem(LinkState.INVALID)
    if purpose is Purpose.DATA:  # short-lived: its expiry is signed in, and read on the site's clock
        expires = payload.get("x")
        if not isinstance(expires, str):
            raise LinkProblem(LinkState.INVALID)
        if expires < utcnow_iso(site.clock):
            raise LinkProblem(LinkState.EXPIRED)
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


def link_reason(purpose: Purpose, state: LinkState) -> str | None:
    """The error page's reason for an expired data link (valid 1 hour, not 7 days); None for the usual one."""
    return "data_expired" if purpose is Purpose.DATA and state is LinkState.EXPIRED else None


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
    return site.render(request, "unsubscribed.html", language, email=masked_email(contact.email),
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
    return site.render(request, "unsubscribe.html", language, email=masked_email(contact.email),
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
    """The form to change language, kind and topics, and the way to ask for a link to the data held.

    The page gets the choices only (language, kind, topics, whether mail is sent), never the contact's name,
    organisation, address or consent record: whoever holds a forwarded link sees this page.
    """
    site = site_of(request)
    language = site.page_language(request, contact.language)
    choices = {"language": contact.language, "kind": contact.kind, "topics": list(contact.topics),
               "active": contact.status == ContactStatus.ACTIVE}
    return site.render(request, "preferences.html", language, status=status, choices=choices, saved=saved,
                       errors=errors or {}, kinds=KIND_CHOICES, topics=site.settings.topics,
                       token=request.path_params["token"], email=masked_email(contact.email),
                       unsubscribe_path=site.contact_path(Purpose.UNSUBSCRIBE, contact))


async def preferences_get(request: Request) -> Response:
    """GET /preferences/<token>."""
    link = await resolve(request, Purpose.PREFERENCES)
    if isinstance(link, LinkProblem):
        return site_of(request).link_error(request, link.state)
    return prefs_page(request, link.contact)


async def preferences_form(request: Request, purpose: Purpose = Purpose.PREFERENCES) -> PreferencesForm | Response:
    """The contact of a link (preferences, or data), its submitted form and the page language — or the error page."""
    site = site_of(request)
    link = await resolve(request, purpose)
    if isinstance(link, LinkProblem):
        return site.link_error(request, link.state, reason=link_reason(purpose, link.state))
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
    if language not in EU_LANGUAGES:
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
    to_language = mail_language(contact.language, language)
    data = SignupData(email=contact.email, name=contact.name, organisation=contact.organisation,
                      kind=Kind(contact.kind), country=contact.country, language=to_language,
                      topics=tuple(contact.topics), consent_text=consent_statement(site.settings, to_language))
    try:
        await site.run(start_signup, site, data, client_address(request))
    except OutreachError:
        return site.error(request, 503, "mail_failed", language)
    return site.render(request, "check_inbox.html", language, email=masked_email(contact.email))
