"""Sign-up and confirmation pages: GET/POST /subscribe, GET/POST /confirm/<token>.

What the page answers never depends on whether the address is known (no enumeration); what is mailed does, and
only the mailbox owner sees it (see `outreach.web.signups`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from outreach.config import Settings
from outreach.countries import BSI_COUNTRIES, COUNTRIES, EU_LANGUAGES, country_name
from outreach.errors import OutreachError
from outreach.mail.tokens import Purpose
from outreach.models import Kind
from outreach.models.signups import SignupData
from outreach.web.lang import N_
from outreach.web.signups import (
    KIND_CHOICES,
    MAX_TEXT,
    check_person,
    confirm,
    consent_statement,
    load_signup,
    start_signup,
)
from outreach.web.site import LinkState, client_address, form_text, parse_stamp, read_form, site_of

if TYPE_CHECKING:
    from starlette.datastructures import FormData
    from starlette.requests import Request
    from starlette.responses import Response



@dataclass
class FormValues:
    """The subscribe form's fields as typed, shown again when the form comes back with errors."""

    email: str = ""
    name: str = ""
    organisation: str = ""
    kind: str = Kind.SUBSCRIBER.value
    country: str = ""
    language: str = ""
    topics: list[str] = field(default_factory=list)
    consent: bool = False


def country_choices(language: str) -> list[tuple[str, str]]:
    """Every EU/EEA country, BSI countries included, sorted by its name in the page language."""
    from babel import Locale

    names = Locale.parse(language).territories
    choices = [(code, str(names.get(code) or country_name(code))) for code in COUNTRIES]
    return sorted(choices, key=lambda item: item[1].casefold())


def form_values(form: FormData, language: str) -> FormValues:
    """The submitted fields, cut to sane lengths, before any validation."""
    return FormValues(
        email=form_text(form, "email")[:320], name=form_text(form, "name")[:MAX_TEXT * 2],
        organisation=form_text(form, "organisation")[:MAX_TEXT * 2],
        kind=form_text(form, "kind", Kind.SUBSCRIBER.value), country=form_text(form, "country"),
        language=form_text(form, "language", language), topics=[str(t) for t in form.getlist("topics")],
        consent=form.get("consent") == "yes",
    )


def validate(values: FormValues, settings: Settings) -> tuple[SignupData | None, dict[str, str]]:
    """(the sign-up, or None when a field is wrong; errors by field). Errors are msgids, translated when shown."""
    email, clean, errors = check_person(values.email, values.name, values.organisation, values.kind, values.country)
    if values.language not in EU_LANGUAGES:
        errors["language"] = N_("Choose a language from the list.")
    if not values.consent:
        errors["consent"] = N_("Tick the box to agree to receive the news; we cannot send it otherwise.")
    if errors:
        return None, errors
    return SignupData(email=email, name=clean["name"], organisation=clean["organisation"], kind=Kind(values.kind),
                      country=values.country or None, language=values.language,
                      topics=tuple(topic for topic in values.topics if topic in settings.topics),
                      consent_text=consent_statement(settings, values.language)), errors


def form_page(request: Request, language: str, status: int = 200, errors: dict[str, str] | None = None,
              values: FormValues | None = None) -> Response:
    """The subscribe form in `language`, empty or with the submitted values and their errors."""
    site = site_of(request)
    return site.render(request, "subscribe.html", language, status=status, errors=errors or {},
                       values=values or FormValues(language=language), countries=country_choices(language),
                       bsi_countries=set(BSI_COUNTRIES), kinds=KIND_CHOICES, topics=site.settings.topics,
                       consent_statement=consent_statement(site.settings, language))


async def subscribe_get(request: Request) -> Response:
    """GET /subscribe: the form."""
    return form_page(request, site_of(request).page_language(request))


async def subscribe_post(request: Request) -> Response:
    """POST /subscribe: check the form, limit attempts, store the sign-up and mail the address's owner."""
    site = site_of(request)
    language = site.page_language(request)
    form = await read_form(request)
    if form is None:
        return site.error(request, 400, "bad_form", language)
    values = form_values(form, language)
    if not site.csrf_ok(request, form):
        return form_page(request, language, 403, {"form": N_("This form has expired. Please send it again.")},
                         values)
    client = client_address(request)
    if not site.client_limiter.hit(client):
        retry = site.client_limiter.retry_after(client)
        return site.error(request, 429, "too_many", language, headers={"retry-after": str(retry)})
    data, errors = validate(values, site.settings)
    if data is None:
        return form_page(request, language, 400, errors, values)
    try:
        await site.run(start_signup, site, data, client)
    except OutreachError:
        return site.error(request, 503, "mail_failed", language)
    return site.render(request, "check_inbox.html", language, email=data.email)


async def confirm_get(request: Request) -> Response:
    """GET /confirm/<token>: a page with the button that confirms (a link scanner's GET changes nothing)."""
    site = site_of(request)
    state, signup = await site.run(load_signup, site, request.path_params["token"])
    language = site.page_language(request, signup.data.language if signup else None)
    if signup is None or state in (LinkState.INVALID, LinkState.EXPIRED):
        return site.link_error(request, state, language)
    if state == LinkState.USED:
        return site.render(request, "confirmed.html", language, already=True, prefs_link=None)
    return site.render(request, "confirm.html", language, email=signup.data.email,
                       signed_up=parse_stamp(signup.created_at), token=request.path_params["token"])


async def confirm_post(request: Request) -> Response:
    """POST /confirm/<token>: with the page's CSRF token, make the address an active contact."""
    site = site_of(request)
    form = await read_form(request)
    state, signup = await site.run(load_signup, site, request.path_params["token"])
    language = site.page_language(request, signup.data.language if signup else None)
    if form is None or state == LinkState.INVALID:
        return site.link_error(request, LinkState.INVALID, language)
    if signup is None or state == LinkState.EXPIRED:
        return site.link_error(request, LinkState.EXPIRED, language)
    if not site.csrf_ok(request, form):
        return site.error(request, 403, "csrf", language)
    if state == LinkState.USED:
        return site.render(request, "confirmed.html", language, already=True, prefs_link=None)
    contact = await site.run(confirm, site, signup, client_address(request))
    if contact is None:
        return site.link_error(request, LinkState.EXPIRED, language)
    return site.render(request, "confirmed.html", language, already=False,
                       prefs_link=site.contact_path(Purpose.PREFERENCES, contact))
