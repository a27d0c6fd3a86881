"""The app factory: one `Site` on `app.state.site`, the routes of every page, security headers, error pages.

This is the only module that knows every page; pages never import it (they reach the `Site` through
`outreach.web.site.site_of`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.clock import Clock, SystemClock
from outreach.config import Settings
from outreach.db.schema import open_database
from outreach.web.site import WEB_DIR, Site

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp

MAX_BODY = 64 * 1024


def create_app(settings: Settings, db_path: Path | None = None, clock: Clock | None = None,
               allow_hosts: Iterable[str] = ()) -> Starlette:
    """The subscriber pages as an ASGI app. Refuses to start without a secret key of at least 32 characters.

    Only requests for the host of OUTREACH_PUBLIC_URL (and `allow_hosts`; loopback names when the public URL is
    on loopback) are served; every other Host gets 400.
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.body_limit import RequestBodyLimitMiddleware

    from outreach.web.pages import root
    from outreach.web.security import HostGuardMiddleware, SecurityHeadersMiddleware, allowed_hosts

    path = Path(db_path) if db_path is not None else settings.db_path
    site = Site(settings, path, clock or SystemClock())
    open_database(path).close()  # create and migrate once, before any request
    hosts = allowed_hosts(settings.public_url, allow_hosts)

    class PagesApp(Starlette):
        """Starlette with the security headers and the host check outside its own error handling.

        Starlette puts its 500 handler (and the body limit, when given to the constructor) outside every user
        middleware, so replies made there would miss the headers; here nothing is outside these two.
        """

        def build_middleware_stack(self) -> ASGIApp:
            return SecurityHeadersMiddleware(HostGuardMiddleware(super().build_middleware_stack(), hosts))

    # Forms here are a few hundred bytes; a 64 KiB cap keeps oversized bodies from ever being parsed.
    app = PagesApp(routes=routes(), middleware=[Middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY)],
                   exception_handlers={404: root.not_found, 405: root.not_allowed, 500: root.server_error})
    # Starlette would build the trailing-slash redirect from the Host header; root.not_found builds it from
    # OUTREACH_PUBLIC_URL instead.
    app.router.redirect_slashes = False
    app.state.site = site
    return app


def routes() -> list[BaseRoute]:
    """Every URL of the pages and the handler that answers it."""
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from outreach.web.pages import archive, clicks, data, events, links, root, subscribe

    get, post = ["GET"], ["POST"]
    return [
        Route("/", root.home),
        Route("/healthz", root.healthz),
        Route("/subscribe", subscribe.subscribe_get, methods=get),
        Route("/subscribe", subscribe.subscribe_post, methods=post),
        Route("/confirm/{token}", subscribe.confirm_get, methods=get),
        Route("/confirm/{token}", subscribe.confirm_post, methods=post),
        Route("/unsubscribe/{token}", links.unsubscribe_get, methods=get),
        Route("/unsubscribe/{token}", links.unsubscribe_post, methods=post),
        Route("/preferences/{token}", links.preferences_get, methods=get),
        Route("/preferences/{token}", links.preferences_post, methods=post),
        Route("/preferences/{token}/resubscribe", links.resubscribe_post, methods=post),
        Route("/preferences/{token}/data", data.request_link, methods=post),
        Route("/data/{token}", data.data_get, methods=get),
        Route("/data/{token}/erase", data.erase_get, methods=get),
        Route("/data/{token}/erase", data.erase_post, methods=post),
        Route("/archive", archive.index_redirect, methods=get),
        Route("/archive/", archive.index, methods=get),
        Route("/archive/{slug}/{lang}", archive.show, methods=get),
        Route("/events/{slug}", events.event_get, methods=get),
        Route("/events/{slug}/{code}.ics", events.session_ics, methods=get),
        Route("/events/{slug}/{code}", events.session_get, methods=get),
        Route("/events/{slug}/{code}/register", events.register_post, methods=post),
        Route("/attend/{token}", events.answer_get, methods=get),
        Route("/attend/{token}", events.answer_post, methods=post),
        Route("/decline/{token}", events.answer_get, methods=get),
        Route("/decline/{token}", events.answer_post, methods=post),
        Route("/register/{token}", events.confirm_get, methods=get),
        Route("/register/{token}", events.confirm_post, methods=post),
        Route("/l/{token}", clicks.follow, methods=get),  # HEAD too (Starlette adds it to GET routes)
        Mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static"),
    ]
