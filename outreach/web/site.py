"""What every page shares: the `Site` (settings, database, clock, signer, templates, limits) and page rendering.

The app factory (`outreach.web.app`) builds one `Site` per app and puts it on `app.state.site`; a handler gets it
with `site_of(request)`. Pages import this module, never the app factory, so nothing imports in a circle.

Handlers parse the request in the event loop and do database and mail work in the thread pool (`Site.run`),
each call on its own SQLite connection (`Site.database`): connections are per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

from outreach.clock import Clock
from outreach.config import Settings
from outreach.contacts.model import Contact
from outreach.db.schema import Database, connect
from outreach.emblem import funding_for
from outreach.mail.tokens import Purpose, TokenError, contact_token, public_link, require_secret
from outreach.web.lang import PageText, choose_language, language_names, own_language_name
from outreach.web.security import CSRF_COOKIE, AttemptLimiter, CsrfGuard, safe_path

if TYPE_CHECKING:
    import jinja2
    from starlette.datastructures import FormData
    from starlette.requests import Request
    from starlette.responses import Response

WEB_DIR = Path(__file__).resolve().parent
P = ParamSpec("P")
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

# Sign-up limits: per client address (a script filling the form) and per email address (mail-bombing a victim).
CLIENT_LIMIT = (10, 3600.0)
ADDRESS_LIMIT = (3, 24 * 3600.0)
MAX_ARCHIVED = 64  # web versions of archived campaigns kept rendered
CSRF_COOKIE_AGE = 30 * 24 * 3600


class LinkState(StrEnum):
    """What a signed link in a mail leads to; every state but OK and USED is shown as the page `link_<state>`."""

    OK = "ok"
    USED = "used"  # a confirmation link clicked again
    INVALID = "invalid"  # forged, damaged or meant for something else: 400
    EXPIRED = "expired"  # 410
    GONE = "gone"  # its contact was erased or changed address: 410

    @classmethod
    def of(cls, error: TokenError) -> LinkState:
        """What a token that could not be read leads to: EXPIRED when it is only too old, else INVALID."""
        return cls.EXPIRED if error.expired else cls.INVALID

    @property
    def status(self) -> int:
        """The HTTP status of the error page for this state."""
        return 400 if self is LinkState.INVALID else 410


class BoundedCache(Generic[K, V]):
    """A small thread-safe cache that forgets its oldest entry when full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value stored for `key`, or None."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        """Store a value, evicting the oldest entry when the cache is full."""
        with self._lock:
            if key not in self._items and len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = value


class Site:
    """Everything the handlers share: settings, database path, clock, secret, templates, limits, caches.

    One per app: the attempt limiters and the archive cache live here, so two apps (two test servers, say)
    never share counts.
    """

    def __init__(self, settings: Settings, db_path: Path, clock: Clock) -> None:
        self.settings = settings
        self.db_path = db_path
        self.clock = clock
        self.secret = require_secret(settings)
        self.csrf = CsrfGuard(self.secret)
        self.client_limiter = AttemptLimiter(clock, *CLIENT_LIMIT)
        self.address_limiter = AttemptLimiter(clock, *ADDRESS_LIMIT)
        self.templates = _template_environment()
        self.languages = language_names()
        self.archive = BoundedCache[tuple[str, str, str], str](MAX_ARCHIVED)

    @contextmanager
    def database(self) -> Iterator[Database]:
        """A connection for this thread, closed afterwards (the schema was migrated when the app started)."""
        db = connect(self.db_path)
        try:
            yield db
        finally:
            db.close()

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking work (SQLite, SMTP) in the thread pool."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(func, *args, **kwargs)

    def page_language(self, request: Request, contact_language: str | None = None) -> str:
        """The language to show: `?lang=`, else the contact's, else the browser's, else English."""
        return choose_language(request.query_params.get("lang"), contact_language,
                               request.headers.get("accept-language"))

    def render(self, request: Request, template: str, language: str, status: int = 200,
               headers: dict[str, str] | None = None, **context: object) -> Response:
        """A page in `language`, with the switcher, a CSRF token for its forms and no caching (links carry tokens)."""
        from starlette.responses import HTMLResponse

        text = PageText(language)
        cookie = request.cookies.get(CSRF_COOKIE)
        new_cookie = None
        if not cookie:
            cookie = new_cookie = self.csrf.new_cookie_value()
        path = safe_path(request.url.path)
        switcher = [{"code": code, "name": name[:1].upper() + name[1:], "href": f"{path}?lang={code}",
                     "current": code == language} for code, name in self.languages]
        values = {
            "lang": language, "dir": "ltr", "switcher": switcher, "csrf_token": self.csrf.form_token(cookie),
            "organisation": self.settings.organisation or "", "postal_address": self.settings.postal_address or "",
            "site_name": self.settings.organisation or text.gettext("Newsletter"),
            "lang_query": f"?lang={language}", "eu": funding_for(self.settings, src="/static/eu-emblem.svg"),
            **text.callables(), **context,
        }
        body = self.templates.get_template(template).render(values)
        response = HTMLResponse(body, status_code=status, headers=headers)
        response.headers["cache-control"] = "no-store"
        response.headers["content-language"] = language
        if new_cookie:
            # Secure when the public URL is https: from the configuration, not from X-Forwarded-Proto.
            response.set_cookie(CSRF_COOKIE, new_cookie, max_age=CSRF_COOKIE_AGE, path="/", httponly=True,
                                samesite="lax", secure=self.settings.public_url.startswith("https://"))
        return response

    def redirect(self, path: str, status: int = 303, query: str = "") -> Response:
        """A redirect to `path` on OUTREACH_PUBLIC_URL: never built from the request's Host header."""
        from starlette.responses import RedirectResponse

        target = public_link(self.settings, safe_path(path)) + (f"?{query}" if query else "")
        return RedirectResponse(target, status_code=status)

    def error(self, request: Request, status: int, reason: str, language: str | None = None,
              headers: dict[str, str] | None = None) -> Response:
        """A clear, translated page for a bad link, an expired form, a missing page or too many attempts."""
        return self.render(request, "error.html", language or self.page_language(request), status=status,
                           headers=headers, reason=reason)

    def link_error(self, request: Request, state: LinkState, language: str | None = None,
                   reason: str | None = None) -> Response:
        """The error page for a link that cannot be used (400 invalid, 410 expired or gone)."""
        return self.error(request, state.status, reason or f"link_{state.value}", language)

    def contact_path(self, purpose: Purpose, contact: Contact) -> str:
        """A same-site link with a fresh token for this contact, e.g. /preferences/<token>."""
        return f"/{purpose.value}/" + contact_token(self.secret, purpose, contact.id, contact.email)

    def csrf_ok(self, request: Request, form: FormData) -> bool:
        """Whether the form carries the CSRF token signed for this browser's cookie."""
        token = form.get("csrf_token")
        return self.csrf.valid(request.cookies.get(CSRF_COOKIE), token if isinstance(token, str) else None)


def site_of(request: Request) -> Site:
    """The `Site` of the app serving this request (set by `outreach.web.app.create_app`)."""
    site = request.app.state.site
    if not isinstance(site, Site):
        raise TypeError("the app was not made by outreach.web.app.create_app")
    return site


def masked_email(email: str) -> str:
    """An address as a page reached through a forwardable link may show it: `e•••@example.org`.

    Enough for the owner to recognise which of their addresses it is; not the address itself.
    """
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"


def client_address(request: Request) -> str:
    """The client's address (behind the local reverse proxy, the forwarded one), for limits and consent records."""
    return request.client.host if request.client else "unknown"


async def read_form(request: Request) -> FormData | None:
    """The posted form, small and without files; None when the body is not a form we accept."""
    from starlette.formparsers import MultiPartException

    try:
        return await request.form(max_files=0, max_fields=60, max_part_size=16 * 1024)
    except (MultiPartException, ValueError):
        return None


def form_text(form: FormData, name: str, default: str = "") -> str:
    """A form field as text (a file part, which read_form never accepts, would count as absent)."""
    value = form.get(name, default)
    return value if isinstance(value, str) else default


def parse_stamp(value: str) -> datetime:
    """A stored `…Z` timestamp as an aware datetime (for showing it in the reader's language)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _template_environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(WEB_DIR / "templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(date=_date, date_in_text=_date_in_text, country=_country, language=own_language_name)
    return env


def _date(value: date | datetime, language: str) -> str:
    from outreach.render.i18n import format_date

    return format_date(value, language)


def _date_in_text(value: date | datetime, language: str) -> str:
    """A date inside a sentence ("Sent on …"), as the language's style sheet writes it (Latvian locative…)."""
    from outreach.render.stylesheet import date_in_text

    return date_in_text(value, language)


def _country(code: str, language: str) -> str:
    from outreach.countries import country_name

    return country_name(code, language)
