"""Seeing and erasing the data held — only through a fresh, short-lived link mailed to the address itself.

Every link in a mail may be forwarded, so the preferences page it opens shows no personal data and cannot
erase. Its "Email me a link" button (POST /preferences/<token>/data, with the page's CSRF token) mails a link
signed for the purpose `data` and valid for one hour to the address the preferences link names — as "subscribe
again" mails a confirmation link. That link (GET /data/<token>) shows what is held; its erase page asks first,
and only the POST (CSRF again) erases. Sending is limited per address (the sign-up limit, shared), so a
forwarded link cannot flood the owner's inbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from outreach.clock import isoformat
from outreach.contacts.model import Contact, erase
from outreach.errors import OutreachError
from outreach.mail.tokens import MAX_AGE, Purpose, email_fingerprint, make_token, public_link
from outreach.models import ContactStatus
from outreach.web.lang import N_, mail_language
from outreach.web.pages.links import LinkProblem, PreferencesForm, link_reason, preferences_form, resolve
from outreach.web.signups import mail_owner
from outreach.web.site import Site, masked_email, parse_stamp, site_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

DATA_SUBJECT = N_("Your link to see or delete your data")
DATA_LINK_AGE = timedelta(seconds=MAX_AGE[Purpose.DATA] or 3600)  # the pages and the mail say "1 hour"


def data_path(site: Site, contact: Contact) -> str:
    """/data/<token>: a link for this contact that expires an hour from now on the site's clock.

    The expiry is signed into the token (and read on the injected clock), on top of itsdangerous's own age check.
    """
    payload = {"c": contact.id, "e": email_fingerprint(contact.email),
               "x": isoformat(site.clock.now() + DATA_LINK_AGE)}
    return f"/{Purpose.DATA.value}/" + make_token(site.secret, Purpose.DATA, payload)


def send_data_link(site: Site, contact: Contact, language: str) -> None:
    """Mail a fresh `data` link to the contact's own address. Runs in the thread pool."""
    link = public_link(site.settings, data_path(site, contact))
    mail_owner(site, "email_data", DATA_SUBJECT, link, to_email=contact.email, to_name=contact.name,
               language=mail_language(contact.language, language))


async def request_link(request: Request) -> Response:
    """POST /preferences/<token>/data: mail the link to the data to the address (never show it here)."""
    site = site_of(request)
    checked = await preferences_form(request)
    if not isinstance(checked, PreferencesForm):
        return checked
    contact, language = checked.contact, checked.language
    if not site.address_limiter.hit(contact.email):
        retry = site.address_limiter.retry_after(contact.email)
        return site.error(request, 429, "too_many", language, headers={"retry-after": str(retry)})
    try:
        await site.run(send_data_link, site, contact, language)
    except OutreachError:
        return site.error(request, 503, "mail_failed", language)
    return site.render(request, "link_sent.html", language, email=masked_email(contact.email),
                       prefs_path=f"/preferences/{request.path_params['token']}")


async def data_link(request: Request) -> Contact | Response:
    """The contact of this request's data link, or the error page (an expired one says how to get a new one)."""
    site = site_of(request)
    link = await resolve(request, Purpose.DATA)
    if isinstance(link, LinkProblem):
        return site.link_error(request, link.state, reason=link_reason(Purpose.DATA, link.state))
    return link.contact


async def data_get(request: Request) -> Response:
    """GET /data/<token>: everything held about the contact, with the ways to leave or erase."""
    site = site_of(request)
    contact = await data_link(request)
    if not isinstance(contact, Contact):
        return contact
    language = site.page_language(request, contact.language)
    return site.render(request, "data.html", language, contact=contact, token=request.path_params["token"],
                       consent_at=_stamp(contact.consent_at), created_at=_stamp(contact.created_at),
                       active=contact.status == ContactStatus.ACTIVE,
                       unsubscribe_path=site.contact_path(Purpose.UNSUBSCRIBE, contact),
                       prefs_path=site.contact_path(Purpose.PREFERENCES, contact))


async def erase_get(request: Request) -> Response:
    """GET /data/<token>/erase: asks first (a link scanner's GET erases nothing)."""
    site = site_of(request)
    contact = await data_link(request)
    if not isinstance(contact, Contact):
        return contact
    language = site.page_language(request, contact.language)
    return site.render(request, "erase.html", language, email=contact.email, token=request.path_params["token"],
                       prefs_path=site.contact_path(Purpose.PREFERENCES, contact))


async def erase_post(request: Request) -> Response:
    """POST /data/<token>/erase: with the page's CSRF token and a data link that is still valid, erase it all."""
    site = site_of(request)
    checked = await preferences_form(request, Purpose.DATA)
    if not isinstance(checked, PreferencesForm):
        return checked
    await site.run(erase_contact, site, checked.contact)
    return site.render(request, "erased.html", checked.language)


def erase_contact(site: Site, contact: Contact) -> None:
    """GDPR erasure of the contact. Runs in the thread pool."""
    with site.database() as db:
        erase(db, site.clock, contact.email)


def _stamp(value: str | None) -> datetime | None:
    return parse_stamp(value) if value else None
