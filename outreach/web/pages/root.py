"""The home redirect, the health check and the error pages (404, 405, 500) in the reader's language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.countries import EU_LANGUAGES
from outreach.db.schema import ping
from outreach.web.site import Site, site_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


async def home(request: Request) -> Response:
    """GET /: to the sign-up form, keeping a valid `?lang=` (and only that: no open redirect)."""
    lang = request.query_params.get("lang", "")
    return site_of(request).redirect("/subscribe", 303, f"lang={lang}" if lang in EU_LANGUAGES else "")


def database_answers(site: Site) -> bool:
    """Whether the database opens and answers. Runs in the thread pool."""
    with site.database() as db:
        return ping(db)


async def healthz(request: Request) -> Response:
    """GET /healthz: `{"status": "ok"}` when the database answers, for the reverse proxy or a monitor."""
    from starlette.responses import JSONResponse

    site = site_of(request)
    healthy = await site.run(database_answers, site)
    return JSONResponse({"status": "ok" if healthy else "error"}, status_code=200 if healthy else 503,
                        headers={"cache-control": "no-store"})


async def not_found(request: Request, exc: Exception) -> Response:
    """404 page; or, for a GET whose path differs from a page's only by a trailing slash, a redirect to it.

    Starlette's own slash redirect is turned off (it builds the URL from the Host header); this one is built
    from OUTREACH_PUBLIC_URL, so a token in the path can only ever be sent to our own host.
    """
    site = site_of(request)
    twin = slash_twin(request)
    if twin is not None:
        return site.redirect(twin, 307, request.url.query)
    return site.error(request, 404, "not_found")


def slash_twin(request: Request) -> str | None:
    """The path with its trailing slash removed or added, when that is a page that answers this GET."""
    from starlette.routing import Match

    path = request.url.path
    if request.method not in ("GET", "HEAD") or path == "/" or "route" in request.scope:
        return None  # "route" is set once the router found a page: that page said 404 itself
    twin = path.rstrip("/") if path.endswith("/") else path + "/"
    scope = {**request.scope, "path": twin}
    for route in request.app.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return twin
    return None


async def not_allowed(request: Request, exc: Exception) -> Response:
    """405 page (only GET and POST are served)."""
    return site_of(request).error(request, 405, "not_allowed", headers={"allow": "GET, POST"})


async def server_error(request: Request, exc: Exception) -> Response:
    """500 page: a translated apology; the traceback goes to the server log only."""
    return site_of(request).error(request, 500, "server_error")
