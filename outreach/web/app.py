"""The Starlette application of the subscriber pages: the shared `Site` state, page rendering, error pages.

Routes live in `subscribe.py` (sign-up and confirmation), `links.py` (unsubscribe, preferences, erasure) and
`archive.py`. Handlers parse the request in the event loop and do database and mail work in the thread pool
(`Site.run`), each call on its own SQLite connection: connections are per thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from outreach.clock import Clock, SystemClock
from outreach.config import Settings
from outreach.contacts.model import Contact
from outreach.countries import BSI_LANGUAGES
from outreach.db.schema import Database, connect, open_database
from outreach.mail.tokens import Purpose, contact_token, require_secret
from outreach.web.lang import PageText, choose_language, language_names
from outreach.web.security import CSRF_COOKIE, CsrfGuard, RateLimiter, safe_path

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

WEB_DIR = Path(__file__).resolve().parent
T = TypeVar("T")

# Sign-up limits: per client address (a script filling the form) and per email address (mail-bombing a victim).
CLIENT_LIMIT = (10, 3600.0)
ADDRESS_LIMIT = (3, 24 * 3600.0)
MAX_BODY = 64 * 1024


class Site:
    """Everything the handlers share: settings, clock, secret, template environment, limits."""

    def __init__(self, settings: Settings, db_path: Path, clock: Clock) -> None:
        import jinja2

        self.settings = settings
        self.db_path = db_path
        self.clock = clock
        self.secret = require_secret(settings)
        self.csrf = CsrfGuard(self.secret)
        self.client_limiter = RateLimiter(clock, *CLIENT_LIMIT)
        self.address_limiter = RateLimiter(clock, *ADDRESS_LIMIT)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(WEB_DIR / "templates")),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(date=_date, country=_country, language=_language)
        self.languages = language_names()
        self.archive_cache: dict[tuple[str, str, str], str] = {}

    @contextmanager
    def database(self) -> Iterator[Database]:
        """A connection for this thread, closed afterwards (the schema was migrated when the app started)."""
        db = connect(self.db_path)
        try:
            yield db
        finally:
            db.close()

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run blocking work (SQLite, SMTP) in the thread pool."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(func, *args)

    def page_language(self, request: Request, contact_language: str | None = None) -> str:
        return choose_language(request.query_params.get("lang"), contact_language,
                               request.headers.get("accept-language"))

    def render(self, request: Request, template: str, language: str, status: int = 200,
               headers: dict[str, str] | None = None, **context: Any) -> Response:
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
            "lang_query": f"?lang={language}",
            **text.callables(), **context,
        }
        body = self.env.get_template(template).render(values)
        response = HTMLResponse(body, status_code=status, headers=headers)
        response.headers["cache-control"] = "no-store"
        response.headers["content-language"] = language
        if new_cookie:
            response.set_cookie(CSRF_COOKIE, new_cookie, max_age=30 * 24 * 3600, path="/", httponly=True,
                                samesite="lax", secure=request.url.scheme == "https")
        return response

    def error(self, request: Request, status: int, reason: str, language: str | None = None,
              headers: dict[str, str] | None = None) -> Response:
        """A clear, translated page for a bad link, an expired form, a missing page or too many attempts."""
        return self.render(request, "error.html", language or self.page_language(request), status=status,
                           headers=headers, reason=reason)

    def contact_path(self, purpose: Purpose, contact: Contact) -> str:
        """A same-site link with a fresh token for this contact, e.g. /preferences/<token>."""
        return f"/{purpose.value}/" + contact_token(self.secret, purpose, contact.id, contact.email)

    def csrf_ok(self, request: Request, form: Any) -> bool:
        return self.csrf.valid(request.cookies.get(CSRF_COOKIE), form.get("csrf_token"))


def _date(value: Any, language: str) -> str:
    from outreach.render.i18n import format_date

    return format_date(value, language)


def _country(code: str, language: str) -> str:
    from outreach.countries import country_name

    return country_name(code, language)


def _language(code: str) -> str:
    from outreach.countries import language_name

    try:
        name = language_name(code, code)
    except Exception:  # a code Babel does not know: show it as stored
        return code
    return name[:1].upper() + name[1:]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def create_app(settings: Settings, db_path: Path | None = None, clock: Clock | None = None) -> Starlette:
    """The subscriber pages as an ASGI app. Refuses to start without a secret key of at least 32 characters."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from outreach.web import archive, links, subscribe
    from outreach.web.security import SecurityHeadersMiddleware

    path = Path(db_path) if db_path is not None else settings.db_path
    site = Site(settings, path, clock or SystemClock())
    open_database(path).close()  # create and migrate once, before any request

    async def healthz(request: Request) -> Response:
        from starlette.responses import JSONResponse

        def check() -> bool:
            with site.database() as db:
                return db.execute("SELECT 1").fetchone()[0] == 1

        healthy = await site.run(check)
        return JSONResponse({"status": "ok" if healthy else "error"}, status_code=200 if healthy else 503,
                            headers={"cache-control": "no-store"})

    async def home(request: Request) -> Response:
        from starlette.responses import RedirectResponse

        lang = request.query_params.get("lang", "")
        return RedirectResponse("/subscribe" + (f"?lang={lang}" if lang in BSI_LANGUAGES else ""), status_code=303)

    async def not_found(request: Request, exc: Exception) -> Response:
        return site.error(request, 404, "not_found")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return site.error(request, 405, "not_allowed", headers={"allow": "GET, POST"})

    async def server_error(request: Request, exc: Exception) -> Response:
        return site.error(request, 500, "server_error")

    routes = [
        Route("/", home),
        Route("/healthz", healthz),
        *subscribe.routes(site),
        *links.routes(site),
        *archive.routes(site),
        Mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static"),
    ]
    # Forms here are a few hundred bytes; a 64 KiB cap keeps oversized bodies from ever being parsed.
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeadersMiddleware)],
                    exception_handlers={404: not_found, 405: not_allowed, 500: server_error},
                    max_body_size=MAX_BODY)
    app.state.site = site
    return app
