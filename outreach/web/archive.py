"""The archive: /archive/ lists the campaigns that were sent, /archive/<slug>/<lang> shows one in a browser.

Only campaigns with a `first_sent_at` appear, in the languages they were sent in, so drafts never leak. The web
version comes from the campaigns engineer's renderer (`Renderer.web_version`), which leaves out every personal
field; it is cached per content hash, so an edited and re-sent campaign shows its new text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from outreach.countries import language_name
from outreach.errors import OutreachError
from outreach.web.app import Site
from outreach.web.signups import parse_stamp

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

MAX_CACHED = 64


def sent_campaigns(site: Site) -> list[dict[str, Any]]:
    """Sent campaigns, newest first: slug, name, first_sent_at, languages and their content hashes."""
    with site.database() as db:
        rows = list(db.query("SELECT slug, name, content_hashes, first_sent_at FROM campaigns "
                             "WHERE first_sent_at IS NOT NULL ORDER BY first_sent_at DESC, slug"))
        result = []
        for row in rows:
            hashes = json.loads(row["content_hashes"] or "{}")
            languages = sorted(hashes) or [r[0] for r in db.execute(
                "SELECT DISTINCT language FROM deliveries WHERE campaign = ? ORDER BY language", [row["slug"]])]
            result.append({"slug": row["slug"], "name": row["name"], "sent": parse_stamp(row["first_sent_at"]),
                           "languages": languages, "hashes": hashes})
    return result


def web_version(site: Site, slug: str, language: str) -> str | None:
    """The campaign's web page in `language`, or None when it was not sent in that language."""
    campaign = next((c for c in sent_campaigns(site) if c["slug"] == slug), None)
    if campaign is None or language not in campaign["languages"]:
        return None
    key = (slug, language, str(campaign["hashes"].get(language, "")))
    if key not in site.archive_cache:
        from outreach.campaigns.folder import load_campaign
        from outreach.render.renderer import Renderer

        try:
            loaded = load_campaign(site.settings, slug)
            html = Renderer(site.settings, loaded).web_version(language)
        except OutreachError:
            return None  # the folder was removed or broken since it was sent
        if len(site.archive_cache) >= MAX_CACHED:
            site.archive_cache.pop(next(iter(site.archive_cache)))
        site.archive_cache[key] = html
    return site.archive_cache[key]


def routes(site: Site) -> list[Any]:
    from starlette.responses import HTMLResponse, RedirectResponse
    from starlette.routing import Route

    from outreach.web.security import ARCHIVE_CSP

    async def index(request: Request) -> Response:
        language = site.page_language(request)
        campaigns = await site.run(sent_campaigns, site)
        for campaign in campaigns:
            campaign["links"] = [{"code": code, "name": _own_name(code)} for code in campaign["languages"]]
        return site.render(request, "archive.html", language, campaigns=campaigns)

    async def index_redirect(request: Request) -> Response:
        return RedirectResponse("/archive/", status_code=308)

    async def show(request: Request) -> Response:
        slug, language = request.path_params["slug"], request.path_params["lang"]
        html = await site.run(web_version, site, slug, language)
        if html is None:
            return site.error(request, 404, "not_found")
        return HTMLResponse(html, headers={"content-security-policy": ARCHIVE_CSP, "content-language": language,
                                           "cache-control": "public, max-age=300"})

    return [
        Route("/archive", index_redirect, methods=["GET"]),
        Route("/archive/", index, methods=["GET"]),
        Route("/archive/{slug}/{lang}", show, methods=["GET"]),
    ]


def _own_name(code: str) -> str:
    try:
        name = language_name(code, code)
    except Exception:  # an unusual code stored by an old version: show the code itself
        return code
    return name[:1].upper() + name[1:]
