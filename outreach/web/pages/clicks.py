"""GET /l/<token>: a tracked link in a campaign mail. Counts one click (or scanner hit) and redirects (302) to the
link that was signed — only that one: a tampered, truncated or foreign token is a 404, never a redirect.

The token names campaign, link, language, country and kind, not the reader; nothing of the request (address,
user agent) is stored. HEAD requests are answered like GET and counted as scanner hits.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from outreach.errors import OutreachError
from outreach.mail.tokens import ClickTarget, TokenError, read_click
from outreach.models.clicks import ClickVariant
from outreach.web.site import Site, site_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


def count(site: Site, target: ClickTarget, method: str, user_agent: str) -> None:
    """Add the request to the counts. Runs in the thread pool; a count that cannot be written loses one click,
    never the reader's way to the link."""
    from outreach.tracking.clicks import count_click

    variant = ClickVariant(target.campaign, target.url, target.language, target.country, target.kind)
    try:
        with site.database() as db:
            count_click(db, site.clock, variant, method, user_agent)
    except (sqlite3.Error, OutreachError):
        pass


async def follow(request: Request) -> Response:
    """GET (and HEAD) /l/<token>: count, then 302 to the signed link."""
    from starlette.responses import Response

    site = site_of(request)
    try:
        target = read_click(site.secret, request.path_params["token"])
    except TokenError:
        return site.error(request, 404, "not_found")
    await site.run(count, site, target, request.method, request.headers.get("user-agent", ""))
    # The signed link as it was signed (read_click allows printable ASCII only, so no header can be injected).
    return Response(status_code=302, headers={"location": target.url, "cache-control": "no-store"})
