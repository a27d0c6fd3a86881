"""The home redirect, the health check and the error pages (404, 405, 500) in the reader's language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outreach.countries import BSI_LANGUAGES
from outreach.db.schema import ping
from outreach.web.site import Site, site_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


async def home(request: Request) -> Response:
    """GET /: to the sign-up form, keeping a valid `?lang=` (and only that: no open redirect)."""
    from starlette.responses import RedirectResponse

    lang = request.query_params.get("lang", "")
    return RedirectResponse("/subscribe" + (f"?lang={lang}" if lang in BSI_LANGUAGES else ""), status_code=303)


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
    """404 page."""
    return site_of(request).error(request, 404, "not_found")


async def not_allowed(request: Request, exc: Exception) -> Response:
    """405 page (only GET and POST are served)."""
    return site_of(request).error(request, 405, "not_allowed", headers={"allow": "GET, POST"})


async def server_error(request: Request, exc: Exception) -> Response:
    """500 page: a translated apology; the traceback goes to the server log only."""
    return site_of(request).error(request, 500, "server_error")
