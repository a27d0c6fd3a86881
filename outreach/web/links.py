"""Pages behind the signed links in every email: unsubscribe (RFC 8058 one-click too), preferences, erasure.

A GET never changes anything: corporate link scanners open every link in a message. Changes happen on POST,
with the page's CSRF token, except the RFC 8058 one-click POST (`List-Unsubscribe=One-Click`) that mail
providers send without cookies; its unguessable token is the proof that the message was received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outreach.contacts.model import Contact, erase, get_contact_by_id, update_contact
from outreach.countries import BSI_LANGUAGES
from outreach.errors import OutreachError
from outreach.mail.tokens import Purpose, TokenError, contact_token, email_fingerprint, read_token
from outreach.models import ContactStatus
from outreach.web.app import Site, client_address
from outreach.web.lang import N_
from outreach.web.signups import SignupData, parse_stamp
from outreach.web.subscribe import KIND_CHOICES, consent_statement, read_form, start_signup

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


class LinkProblem(Exception):
    """A link that cannot be used: `state` is invalid (400) or gone (410: expired, or its contact was erased)."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state
        self.status = 400 if state == "invalid" else 410


def contact_for(site: Site, purpose: Purpose, token: str) -> tuple[Contact, dict[str, Any]]:
    """The contact a token names, checked against its address fingerprint; LinkProblem otherwise."""
    try:
        payload = read_token(site.secret, purpose, token)
    except TokenError as error:
        raise LinkProblem("expired" if "expired" in str(error) else "invalid") from None
    contact_id, fingerprint = payload.get("c"), payload.get("e")
    if not isinstance(contact_id, int) or not isinstance(fingerprint, str):
        raise LinkProblem("invalid")
    with site.database() as db:
        contact = get_contact_by_id(db, contact_id)
    if contact is None or contact.status == ContactStatus.ERASED or email_fingerprint(contact.email) != fingerprint:
        raise LinkProblem("gone")  # erased, or the address changed: the link died with it
    return contact, payload


def routes(site: Site) -> list[Any]:
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def resolve(request: Request, purpose: Purpose) -> tuple[Contact | None, dict[str, Any], Response | None]:
        try:
            contact, payload = await site.run(contact_for, site, purpose, request.path_params["token"])
        except LinkProblem as problem:
            return None, {}, site.error(request, problem.status, f"link_{problem.state}")
        return contact, payload, None

    def unsubscribe_now(contact: Contact, payload: dict[str, Any], source: str) -> Contact:
        from outreach.tracking.events import unsubscribe

        with site.database() as db:
            campaign = payload.get("k")
            if campaign and not db.execute("SELECT 1 FROM campaigns WHERE slug = ?", [campaign]).fetchone():
                campaign = None  # the events table only names campaigns it knows
            return unsubscribe(db, site.clock, contact, campaign=campaign if isinstance(campaign, str) else None,
                               source=source)

    def done_page(request: Request, contact: Contact) -> Response:
        language = site.page_language(request, contact.language)
        return site.render(request, "unsubscribed.html", language, email=contact.email,
                           prefs_path=site.contact_path(Purpose.PREFERENCES, contact))

    async def unsubscribe_get(request: Request) -> Response:
        contact, _, problem = await resolve(request, Purpose.UNSUBSCRIBE)
        if problem is not None or contact is None:
            return problem  # type: ignore[return-value]
        if contact.status == ContactStatus.UNSUBSCRIBED:
            return done_page(request, contact)
        language = site.page_language(request, contact.language)
        return site.render(request, "unsubscribe.html", language, email=contact.email,
                           token=request.path_params["token"],
                           prefs_path=site.contact_path(Purpose.PREFERENCES, contact))

    async def unsubscribe_post(request: Request) -> Response:
        form = await read_form(request)
        one_click = form is not None and form.get("List-Unsubscribe") == "One-Click"
        contact, payload, problem = await resolve(request, Purpose.UNSUBSCRIBE)
        if one_click:
            # RFC 8058: the provider only looks at the status; keep the body tiny and free of personal data.
            if contact is None:
                if problem is not None and problem.status_code == 410:
                    # Erased (or the address changed): nothing is mailed there any more, which is what was asked.
                    return PlainTextResponse("Not subscribed.\n")
                return PlainTextResponse("This link is not valid.\n", status_code=400)
            await site.run(unsubscribe_now, contact, payload, "one-click")
            return PlainTextResponse("Unsubscribed.\n")
        if problem is not None or contact is None:
            return problem  # type: ignore[return-value]
        language = site.page_language(request, contact.language)
        if form is None or not site.csrf_ok(request, form):
            return site.error(request, 403, "csrf", language)
        contact = await site.run(unsubscribe_now, contact, payload, "web")
        return done_page(request, contact)

    def prefs_page(request: Request, contact: Contact, status: int = 200, saved: bool = False,
                   errors: dict[str, str] | None = None) -> Response:
        language = site.page_language(request, contact.language)
        return site.render(request, "preferences.html", language, status=status, contact=contact, saved=saved,
                           errors=errors or {}, kinds=KIND_CHOICES, topics=site.settings.topics,
                           token=request.path_params["token"], consent_at=_stamp(contact.consent_at),
                           created_at=_stamp(contact.created_at),
                           unsubscribe_path=site.contact_path(Purpose.UNSUBSCRIBE, contact))

    async def preferences_get(request: Request) -> Response:
        contact, _, problem = await resolve(request, Purpose.PREFERENCES)
        if problem is not None or contact is None:
            return problem  # type: ignore[return-value]
        return prefs_page(request, contact)

    async def preferences_form(request: Request) -> tuple[Contact, Any, str] | Response:
        """The contact of a preferences link, its submitted form and the page language — or the error page."""
        contact, _, problem = await resolve(request, Purpose.PREFERENCES)
        if problem is not None or contact is None:
            return problem  # type: ignore[return-value]
        language = site.page_language(request, contact.language)
        form = await read_form(request)
        if form is None or not site.csrf_ok(request, form):
            return site.error(request, 403, "csrf", language)
        return contact, form, language

    async def preferences_post(request: Request) -> Response:
        checked = await preferences_form(request)
        if not isinstance(checked, tuple):
            return checked
        contact, form, _ = checked
        errors: dict[str, str] = {}
        language, kind = str(form.get("language", "")), str(form.get("kind", ""))
        if language not in BSI_LANGUAGES:
            errors["language"] = N_("Choose a language from the list.")
        if kind not in KIND_CHOICES:
            errors["kind"] = N_("Choose whom you represent.")
        if errors:
            return prefs_page(request, contact, 400, errors=errors)
        offered = set(site.settings.topics)
        chosen = [t for t in form.getlist("topics") if t in offered]
        kept = [t for t in contact.topics if t not in offered]  # topics this deployment no longer offers
        current = contact

        def save() -> Contact:
            with site.database() as db:
                return update_contact(db, site.clock, current,
                                      {"language": language, "kind": kind, "topics": sorted(set(chosen + kept))})

        contact = await site.run(save)
        # The page follows the newly chosen language unless the reader picked one with the switcher.
        return prefs_page(request, contact, saved=True)

    async def resubscribe_post(request: Request) -> Response:
        checked = await preferences_form(request)
        if not isinstance(checked, tuple):
            return checked
        contact, _, language = checked
        if contact.status == ContactStatus.ACTIVE:
            return prefs_page(request, contact)
        # Back in only through a confirmed opt-in, like any other sign-up: the link may have been forwarded.
        mail_language = contact.language if contact.language in BSI_LANGUAGES else language
        data = SignupData(email=contact.email, name=contact.name, organisation=contact.organisation,
                          kind=contact.kind, country=contact.country, language=mail_language,
                          topics=list(contact.topics), consent_text=consent_statement(site, mail_language))
        try:
            await site.run(start_signup, site, data, client_address(request))
        except OutreachError:
            return site.error(request, 503, "mail_failed", language)
        return site.render(request, "check_inbox.html", language, email=contact.email)

    async def erase_get(request: Request) -> Response:
        contact, _, problem = await resolve(request, Purpose.PREFERENCES)
        if problem is not None or contact is None:
            return problem  # type: ignore[return-value]
        language = site.page_language(request, contact.language)
        return site.render(request, "erase.html", language, email=contact.email, token=request.path_params["token"],
                           erase_token=contact_token(site.secret, Purpose.ERASE, contact.id, contact.email))

    async def erase_post(request: Request) -> Response:
        checked = await preferences_form(request)
        if not isinstance(checked, tuple):
            return checked
        contact, form, language = checked
        try:
            confirmation, _ = await site.run(contact_for, site, Purpose.ERASE, str(form.get("erase_token", "")))
        except LinkProblem as problem_:
            return site.error(request, problem_.status, f"link_{problem_.state}", language)
        if confirmation.id != contact.id:
            return site.error(request, 400, "link_invalid", language)

        def do_erase() -> None:
            with site.database() as db:
                erase(db, site.clock, contact.email)

        await site.run(do_erase)
        return site.render(request, "erased.html", language)

    return [
        Route("/unsubscribe/{token}", unsubscribe_get, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe_post, methods=["POST"]),
        Route("/preferences/{token}", preferences_get, methods=["GET"]),
        Route("/preferences/{token}", preferences_post, methods=["POST"]),
        Route("/preferences/{token}/resubscribe", resubscribe_post, methods=["POST"]),
        Route("/preferences/{token}/erase", erase_get, methods=["GET"]),
        Route("/preferences/{token}/erase", erase_post, methods=["POST"]),
    ]


def _stamp(value: str | None) -> Any:
    return parse_stamp(value) if value else None
