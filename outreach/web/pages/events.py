"""Event pages: the public pages of an event and its sessions (with the `.ics` and the registration form), and
the pages behind the "I will attend" / "I cannot attend" links and the registration confirmation link.

A GET never changes anything (link scanners open every link in a mail): it shows a page with one button, and
the POST of that button, with the page's CSRF token, records the answer. A link that is forged, expired or
names someone else changes nothing and gets the usual link error page; a session past its deadline or cancelled
gets a clear page in the reader's language (200), not an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.errors import OutreachError
from outreach.mail.tokens import Purpose
from outreach.web.event_answers import AnswerLink, AnswerProblem, Outcome, apply_answer, read_answer_link
from outreach.web.event_forms import RegistrationValues, read_values, statements, validate
from outreach.web.event_sessions import SessionNotFound, load_session, load_sessions, occupancy
from outreach.web.event_signups import confirm_registration, load_pending, start_registration
from outreach.web.event_view import SessionState, session_state, session_view
from outreach.web.lang import N_, mail_language
from outreach.web.pages.subscribe import country_choices
from outreach.web.signups import KIND_CHOICES
from outreach.web.site import LinkState, Site, client_address, form_text, masked_email, read_form, site_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

CLOSED_STATES = (SessionState.CLOSED, SessionState.CANCELLED)


def _view(site: Site, slug: str, code: str, language: str) -> dict[str, object]:
    """The `ev` of one session for a page. Thread pool; SessionNotFound passes through."""
    with site.database() as db:
        opened = load_session(site, db, slug, code)
        state = session_state(opened, occupancy(db, opened), site.clock)
    return session_view(opened, language, state, site.settings.public_url)


def _views(site: Site, slug: str, language: str) -> tuple[str, list[dict[str, object]]]:
    """The event's name and the `ev` of each of its sessions, by start. Thread pool."""
    with site.database() as db:
        sessions = load_sessions(site, db, slug)
        views = [session_view(s, language, session_state(s, occupancy(db, s), site.clock), site.settings.public_url)
                 for s in sessions]
    return sessions[0].campaign.name, views


async def event_get(request: Request) -> Response:
    """GET /events/<slug>: the sessions of an event, each with its page."""
    site = site_of(request)
    language = site.page_language(request)
    try:
        title, views = await site.run(_views, site, request.path_params["slug"], language)
    except SessionNotFound:
        return site.error(request, 404, "not_found", language)
    return site.render(request, "event_list.html", language, title=title, sessions=views)


def session_page(request: Request, ev: dict[str, object], language: str, status: int = 200,
                 errors: dict[str, str] | None = None, values: RegistrationValues | None = None) -> Response:
    """A session's page in `language`: details, calendar links and (while open) the registration form."""
    site = site_of(request)
    labels = statements(site.settings, language)
    return site.render(request, "event.html", language, status=status, ev=ev, errors=errors or {},
                       values=values or RegistrationValues(), kinds=KIND_CHOICES,
                       countries=country_choices(language), consent_statement=labels["consent_statement"],
                       news_statement=labels["news_statement"])


async def session_get(request: Request) -> Response:
    """GET /events/<slug>/<code>: one session."""
    site = site_of(request)
    language = site.page_language(request)
    try:
        ev = await site.run(_view, site, request.path_params["slug"], request.path_params["code"], language)
    except SessionNotFound:
        return site.error(request, 404, "not_found", language)
    return session_page(request, ev, language)


async def session_ics(request: Request) -> Response:
    """GET /events/<slug>/<code>.ics: the session's calendar file (METHOD:PUBLISH)."""
    from starlette.responses import Response as PlainResponse

    site = site_of(request)
    slug, code = request.path_params["slug"], request.path_params["code"]
    try:
        name, data = await site.run(_public_calendar, site, slug, code, site.page_language(request))
    except SessionNotFound:
        return site.error(request, 404, "not_found")
    return PlainResponse(data, media_type="text/calendar; charset=utf-8",
                         headers={"content-disposition": f'attachment; filename="{name}"',
                                  "cache-control": "no-cache"})


def _public_calendar(site: Site, slug: str, code: str, language: str) -> tuple[str, bytes]:
    """(file name, bytes) of the session's calendar file for anyone (METHOD:PUBLISH, no attendee)."""
    from outreach.events.calendar import session_calendar
    from outreach.mail.calendar import CalendarMethod

    with site.database() as db:
        opened = load_session(site, db, slug, code)
    part = session_calendar(opened, language, CalendarMethod.PUBLISH, site.clock.now())
    return f"{slug}-{code.lower()}.ics", part.data


async def register_post(request: Request) -> Response:
    """POST /events/<slug>/<code>/register: check the form, store the sign-up, mail the confirmation link."""
    site = site_of(request)
    language = site.page_language(request)
    slug, code = request.path_params["slug"], request.path_params["code"]
    try:
        ev = await site.run(_view, site, slug, code, language)
    except SessionNotFound:
        return site.error(request, 404, "not_found", language)
    if ev["registration_url"]:  # this session registers on an outside page
        return site.error(request, 404, "not_found", language)
    form = await read_form(request)
    if form is None:
        return site.error(request, 400, "bad_form", language)
    values = read_values({key: form_text(form, key) for key in form})
    if not site.csrf_ok(request, form):
        return session_page(request, ev, language, 403, {"form": N_("This form has expired. Please send it again.")},
                            values)
    if ev["state"] in CLOSED_STATES:
        return answered(request, ev, language, Outcome(str(ev["state"])))
    client = client_address(request)
    if not site.client_limiter.hit(client):
        retry = site.client_limiter.retry_after(client)
        return site.error(request, 429, "too_many", language, headers={"retry-after": str(retry)})
    registration, errors = validate(values, site.settings, language)
    if registration is None:
        return session_page(request, ev, language, 400, errors, values)
    try:
        await site.run(start_registration, site, slug, code, registration, client)
    except OutreachError:
        return site.error(request, 503, "mail_failed", language)
    return site.render(request, "event_check_inbox.html", language, email=registration.data.email,
                       title=ev["title"])


def answered(request: Request, ev: dict[str, object], language: str, outcome: Outcome) -> Response:
    """The page after an answer (or instead of one: closed, cancelled)."""
    return site_of(request).render(request, "event_answered.html", language, ev=ev, outcome=outcome.value)


async def _answer_link(request: Request, purpose: Purpose) -> AnswerLink | Response:
    site = site_of(request)
    try:
        return await site.run(read_answer_link, site, purpose, request.path_params["token"])
    except AnswerProblem as problem:
        return site.link_error(request, problem.state)


async def answer_get(request: Request) -> Response:
    """GET /attend/<token> and /decline/<token>: the session and one button (a scanner's GET changes nothing)."""
    site = site_of(request)
    purpose = Purpose(request.url.path.split("/")[1])
    link = await _answer_link(request, purpose)
    if not isinstance(link, AnswerLink):
        return link
    language = site.page_language(request, link.person.language)
    try:
        ev = await site.run(_view, site, link.slug, link.code, language)
    except SessionNotFound:
        return site.error(request, 404, "not_found", language)
    if purpose is Purpose.ATTEND and ev["state"] in CLOSED_STATES:
        return answered(request, ev, language, Outcome(str(ev["state"])))
    return site.render(request, "event_answer.html", language, ev=ev, action=purpose.value, email="",
                       action_path=f"/{purpose.value}/{request.path_params['token']}")


async def answer_post(request: Request) -> Response:
    """POST /attend/<token> and /decline/<token>: with the page's CSRF token, record the answer."""
    site = site_of(request)
    purpose = Purpose(request.url.path.split("/")[1])
    link = await _answer_link(request, purpose)
    if not isinstance(link, AnswerLink):
        return link
    language = site.page_language(request, link.person.language)
    form = await read_form(request)
    if form is None or not site.csrf_ok(request, form):
        return site.error(request, 403, "csrf", language)
    to_language = mail_language(link.person.language, language)
    try:
        outcome = await site.run(apply_answer, site, purpose, link, to_language)
        ev = await site.run(_view, site, link.slug, link.code, language)
    except SessionNotFound:
        return site.error(request, 404, "not_found", language)
    return answered(request, ev, language, outcome)


async def confirm_get(request: Request) -> Response:
    """GET /register/<token>: the confirmation page of a registration from the public page, with one button."""
    site = site_of(request)
    state, pending = await site.run(load_pending, site, request.path_params["token"])
    language = site.page_language(request, pending.signup.data.language if pending else None)
    if pending is None:
        return site.link_error(request, state, language)
    try:
        ev = await site.run(_view, site, pending.slug, pending.code, language)
    except SessionNotFound:
        return site.error(request, 404, "not_found", language)
    if state is LinkState.USED:
        return answered(request, ev, language, Outcome.ALREADY)
    if ev["state"] in CLOSED_STATES:
        return answered(request, ev, language, Outcome(str(ev["state"])))
    return site.render(request, "event_answer.html", language, ev=ev, action="register",
                       email=masked_email(pending.signup.data.email),
                       action_path=f"/register/{request.path_params['token']}")


async def confirm_post(request: Request) -> Response:
    """POST /register/<token>: confirm the sign-up and register."""
    site = site_of(request)
    form = await read_form(request)
    state, pending = await site.run(load_pending, site, request.path_params["token"])
    language = site.page_language(request, pending.signup.data.language if pending else None)
    if pending is None:
        return site.link_error(request, state, language)
    if form is None or not site.csrf_ok(request, form):
        return site.error(request, 403, "csrf", language)
    try:
        outcome = Outcome.ALREADY if state is LinkState.USED else \
            await site.run(confirm_registration, site, pending, client_address(request))
        ev = await site.run(_view, site, pending.slug, pending.code, language)
    except SessionNotFound:
        return site.error(request, 404, "not_found", language)
    return answered(request, ev, language, outcome)
