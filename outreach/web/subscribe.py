"""Sign-up and confirmation pages: GET/POST /subscribe, GET/POST /confirm/<token>.

What the page answers never depends on whether the address is known (no enumeration). What is mailed does, but
only the mailbox owner sees it: a new, unsubscribed or erased address gets "confirm your subscription"; an
address that is already subscribed gets "you are already subscribed" with its preferences link, so nothing is
changed without the owner and the owner learns what happened. Sign-ups over the per-address limit are answered
the same way and mail nothing, so the form cannot be used to flood someone's inbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outreach.contacts.model import clean_text, get_contact, normalize_email
from outreach.countries import BSI_COUNTRIES, BSI_LANGUAGES, COUNTRIES, country_name
from outreach.errors import InputError, OutreachError
from outreach.mail.tokens import Purpose, TokenError, make_token, preferences_url, public_link, read_token
from outreach.models import ContactStatus, Kind
from outreach.web.app import Site, client_address
from outreach.web.lang import N_, PageText
from outreach.web.mailer import build_message, render_mail, send_message
from outreach.web.signups import (
    SignupData,
    confirm_signup,
    create_signup,
    get_signup,
    is_expired,
    parse_stamp,
    purge_expired,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

KIND_CHOICES = (Kind.AUTHORITY.value, Kind.SUPPLIER.value, Kind.OTHER.value, Kind.SUBSCRIBER.value)
MAX_TEXT = 200
CONSENT_STATEMENT = N_("I agree to receive the news of %(organisation)s by email. I can unsubscribe at any time "
                       "with the link in every email, and my data is used for nothing else.")


def country_choices(language: str) -> list[tuple[str, str]]:
    """Every EU/EEA country, BSI countries included, sorted by its name in the page language."""
    from babel import Locale

    collator_key = Locale.parse(language).territories
    names = [(code, collator_key.get(code) or country_name(code)) for code in COUNTRIES]
    return sorted(names, key=lambda item: item[1].casefold())


def consent_statement(site: Site, language: str) -> str:
    return PageText(language).gettext(CONSENT_STATEMENT, organisation=site.settings.organisation or "—")


async def read_form(request: Request) -> Any:
    """The posted form, small and without files; None when the body is not a form we accept."""
    from starlette.formparsers import MultiPartException

    try:
        return await request.form(max_files=0, max_fields=60, max_part_size=16 * 1024)
    except (MultiPartException, ValueError):
        return None


def validate(site: Site, form: Any, language: str) -> tuple[SignupData | None, dict[str, str], dict[str, Any]]:
    """(data, errors by field, values to show again). Error values are msgids, translated by the template."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "email": str(form.get("email", ""))[:320], "name": str(form.get("name", ""))[:MAX_TEXT * 2],
        "organisation": str(form.get("organisation", ""))[:MAX_TEXT * 2],
        "kind": str(form.get("kind", Kind.SUBSCRIBER.value)), "country": str(form.get("country", "")),
        "language": str(form.get("language", language)), "topics": [str(t) for t in form.getlist("topics")],
        "consent": form.get("consent") == "yes",
    }
    email = ""
    try:
        email = normalize_email(values["email"])
    except InputError:
        errors["email"] = N_("Enter a valid email address, such as name@example.org.")
    clean: dict[str, str] = {}
    for key in ("name", "organisation"):
        try:
            clean[key] = clean_text(key, values[key])
        except InputError:
            clean[key] = ""
            errors[key] = N_("This field cannot contain line breaks.")
        if len(clean[key]) > MAX_TEXT:
            errors[key] = N_("This field is too long (at most 200 characters).")
    if values["kind"] not in KIND_CHOICES:
        errors["kind"] = N_("Choose whom you represent.")
    if values["country"] and values["country"] not in COUNTRIES:
        errors["country"] = N_("Choose a country from the list.")
    if values["language"] not in BSI_LANGUAGES:
        errors["language"] = N_("Choose a language from the list.")
    topics = [topic for topic in values["topics"] if topic in site.settings.topics]
    if not values["consent"]:
        errors["consent"] = N_("Tick the box to agree to receive the news; we cannot send it otherwise.")
    if errors:
        return None, errors, values
    data = SignupData(email=email, name=clean["name"], organisation=clean["organisation"], kind=values["kind"],
                      country=values["country"] or None, language=values["language"], topics=topics,
                      consent_text=consent_statement(site, values["language"]))
    return data, errors, values


def start_signup(site: Site, data: SignupData, client: str) -> None:
    """Store the sign-up and mail the owner of the address (see the module docstring). Runs in the thread pool."""
    if not site.address_limiter.hit(data.email):
        return
    language = data.language or "en"
    context: dict[str, Any]
    with site.database() as db:
        purge_expired(db, site.clock)
        contact = get_contact(db, data.email)
        if contact is not None and contact.status == ContactStatus.ACTIVE:
            language = contact.language if contact.language in BSI_LANGUAGES else language
            context = {"link": preferences_url(site.settings, site.secret, contact.id, contact.email)}
            name, to_name = "email_already", contact.name
            subject = N_("You are already subscribed")
        else:
            signup = create_signup(db, site.clock, data, client)
            token = make_token(site.secret, Purpose.CONFIRM, {"s": signup.nonce})
            context = {"link": public_link(site.settings, f"confirm/{token}")}
            name, to_name = "email_confirm", data.name
            subject = N_("Please confirm your subscription")
    text = PageText(language)
    context.update(text.callables(), lang=language, organisation=site.settings.organisation or "",
                   postal_address=site.settings.postal_address or "", email=data.email)
    plain, html = render_mail(site.env, name, context)
    message = build_message(site.settings, site.clock, to_email=data.email, to_name=to_name, language=language,
                            subject=text.gettext(subject), text=plain, html=html)
    send_message(site.settings, message)


def routes(site: Site) -> list[Any]:
    from starlette.routing import Route

    def form_page(request: Request, language: str, status: int = 200, errors: dict[str, str] | None = None,
                  values: dict[str, Any] | None = None) -> Response:
        defaults = {"email": "", "name": "", "organisation": "", "kind": Kind.SUBSCRIBER.value, "country": "",
                    "language": language, "topics": [], "consent": False}
        return site.render(request, "subscribe.html", language, status=status, errors=errors or {},
                           values=values or defaults, countries=country_choices(language),
                           bsi_countries=set(BSI_COUNTRIES), kinds=KIND_CHOICES, topics=site.settings.topics,
                           consent_statement=consent_statement(site, language))

    async def subscribe_get(request: Request) -> Response:
        return form_page(request, site.page_language(request))

    async def subscribe_post(request: Request) -> Response:
        language = site.page_language(request)
        form = await read_form(request)
        if form is None:
            return site.error(request, 400, "bad_form", language)
        if not site.csrf_ok(request, form):
            _, _, values = validate(site, form, language)
            return form_page(request, language, 403, {"form": N_("This form has expired. Please send it again.")},
                             values)
        client = client_address(request)
        if not site.client_limiter.hit(client):
            retry = site.client_limiter.retry_after(client)
            return site.error(request, 429, "too_many", language, headers={"retry-after": str(retry)})
        data, errors, values = validate(site, form, language)
        if data is None:
            return form_page(request, language, 400, errors, values)
        try:
            await site.run(start_signup, site, data, client)
        except OutreachError:
            return site.error(request, 503, "mail_failed", language)
        return site.render(request, "check_inbox.html", language, email=data.email)

    def load_signup(token: str) -> tuple[str, Any]:
        """("ok" | "invalid" | "expired" | "used", signup or None) for a confirmation token."""
        try:
            payload = read_token(site.secret, Purpose.CONFIRM, token)
        except TokenError as error:
            # tokens.read_token says "expired" for a good signature past its age: a clearer page than "invalid".
            return ("expired" if "expired" in str(error) else "invalid"), None
        nonce = payload.get("s")
        if not isinstance(nonce, str):
            return "invalid", None
        with site.database() as db:
            purge_expired(db, site.clock)
            signup = get_signup(db, nonce)
        if signup is None or is_expired(signup, site.clock):
            return "expired", None
        if signup.confirmed_at:
            return "used", signup
        return "ok", signup

    def link_error(request: Request, state: str, language: str) -> Response:
        return site.error(request, 400 if state == "invalid" else 410, f"link_{state}", language)

    async def confirm_get(request: Request) -> Response:
        state, signup = await site.run(load_signup, request.path_params["token"])
        language = site.page_language(request, signup.data.get("language") if signup else None)
        if state in ("invalid", "expired"):
            return link_error(request, state, language)
        if state == "used":
            return site.render(request, "confirmed.html", language, already=True, prefs_link=None)
        return site.render(request, "confirm.html", language, email=signup.email,
                           signed_up=parse_stamp(signup.created_at), token=request.path_params["token"])

    async def confirm_post(request: Request) -> Response:
        token = request.path_params["token"]
        form = await read_form(request)
        state, signup = await site.run(load_signup, token)
        language = site.page_language(request, signup.data.get("language") if signup else None)
        if form is None or state == "invalid":
            return link_error(request, "invalid", language)
        if state == "expired":
            return link_error(request, state, language)
        if not site.csrf_ok(request, form):
            return site.error(request, 403, "csrf", language)
        if state == "used":
            return site.render(request, "confirmed.html", language, already=True, prefs_link=None)

        def confirm() -> str | None:
            import sqlite3

            with site.database() as db:
                try:
                    try:
                        contact = confirm_signup(db, site.clock, signup, client_address(request))
                    except sqlite3.IntegrityError:
                        # A double click raced us to insert the same address: the second pass finds it.
                        contact = confirm_signup(db, site.clock, signup, client_address(request))
                except LookupError:
                    return None
            return site.contact_path(Purpose.PREFERENCES, contact)

        prefs_link = await site.run(confirm)
        if prefs_link is None:
            return link_error(request, "expired", language)
        return site.render(request, "confirmed.html", language, already=False,
                           prefs_link=prefs_link)

    return [
        Route("/subscribe", subscribe_get, methods=["GET"]),
        Route("/subscribe", subscribe_post, methods=["POST"]),
        Route("/confirm/{token}", confirm_get, methods=["GET"]),
        Route("/confirm/{token}", confirm_post, methods=["POST"]),
    ]
