"""The archive: /archive/ lists the campaigns that were sent, /archive/<slug>/<lang> shows one in a browser.

Only campaigns with a `first_sent_at` appear, in the languages they were sent in, so drafts never leak. The web
version comes from the campaigns engineer's renderer (`Renderer.web_version`), which leaves out every personal
field; it is cached per content hash, so an edited and re-sent campaign shows its new text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from outreach.db.campaigns import get_sent_campaign, sent_campaigns
from outreach.errors import OutreachError
from outreach.models.archive import SentCampaign
from outreach.web.lang import own_language_name
from outreach.web.security import ARCHIVE_CSP
from outreach.web.site import Site, parse_stamp, site_of

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


@dataclass(frozen=True)
class LanguageLink:
    """A language a campaign was sent in, named in that language."""

    code: str
    name: str


@dataclass(frozen=True)
class ArchiveEntry:
    """A sent campaign as the archive page lists it."""

    slug: str
    name: str
    sent: datetime
    links: tuple[LanguageLink, ...]
    name_lang: str = "en"  # the language the name is written in (the page's, when the campaign names itself in it)

    @classmethod
    def of(cls, campaign: SentCampaign, names: dict[str, str] | None = None, language: str = "en",
           source_language: str = "en") -> ArchiveEntry:
        """The entry for a sent campaign, named in the page's language when the campaign has that name."""
        translated = (names or {}).get(language)
        return cls(campaign.slug, translated or campaign.name, parse_stamp(campaign.first_sent_at),
                   tuple(LanguageLink(code, own_language_name(code)) for code in campaign.languages),
                   language if translated else source_language)


def list_sent(site: Site) -> list[SentCampaign]:
    """Sent campaigns, newest first. Runs in the thread pool."""
    with site.database() as db:
        return sent_campaigns(db)


def entries(site: Site, language: str) -> list[ArchiveEntry]:
    """The archive's entries for a page in `language`: each campaign's name in that language when its folder
    gives one (`name` in `<lang>.md`), else the name it was sent under. Runs in the thread pool."""
    from outreach.campaigns.folder import load_campaign

    result = []
    for campaign in list_sent(site):
        try:
            loaded = load_campaign(site.settings, campaign.slug)
        except OutreachError:  # the folder was removed or broken since it was sent: the stored name
            result.append(ArchiveEntry.of(campaign))
            continue
        names = {code: loaded.name_for(code) for code in loaded.languages if loaded.documents[code].name}
        result.append(ArchiveEntry.of(campaign, names, language, loaded.source_language))
    return result


def web_version(site: Site, slug: str, language: str) -> str | None:
    """The campaign's web page in `language`, or None when it was not sent in that language. Runs in the pool."""
    with site.database() as db:
        campaign = get_sent_campaign(db, slug)
    if campaign is None or language not in campaign.languages:
        return None
    key = (slug, language, campaign.content_hashes.get(language, ""))
    html = site.archive.get(key)
    if html is None:
        from outreach.campaigns.folder import load_campaign
        from outreach.render.renderer import Renderer

        try:
            loaded = load_campaign(site.settings, slug)
            html = Renderer(site.settings, loaded).web_version(language)
        except OutreachError:
            return None  # the folder was removed or broken since it was sent
        site.archive.put(key, html)
    return html


async def index(request: Request) -> Response:
    """GET /archive/: the sent campaigns, each with links to the languages it went out in."""
    site = site_of(request)
    language = site.page_language(request)
    campaigns = await site.run(entries, site, language)
    return site.render(request, "archive.html", language, campaigns=campaigns)


async def index_redirect(request: Request) -> Response:
    """GET /archive: to /archive/ (on the public URL), keeping the query."""
    return site_of(request).redirect("/archive/", 308, request.url.query)


async def show(request: Request) -> Response:
    """GET /archive/<slug>/<lang>: the web version, under a CSP that keeps its inline styles and runs no script."""
    from starlette.responses import HTMLResponse

    site = site_of(request)
    slug, language = request.path_params["slug"], request.path_params["lang"]
    html = await site.run(web_version, site, slug, language)
    if html is None:
        return site.error(request, 404, "not_found")
    return HTMLResponse(html, headers={"content-security-policy": ARCHIVE_CSP, "content-language": language,
                                       "cache-control": "public, max-age=300"})
