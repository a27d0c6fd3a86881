"""The naive reference render: everything done per recipient, values included, premailer too.

The baseline of the render benchmark (bench_render's naive path), and what the tests compare the fast path
(`outreach.render.renderer.Variant.render`) with: the two must give identical output for any values. It uses the
renderer's own building blocks (body source, layout, environments, inliner), so only the order of the work differs.
"""

from __future__ import annotations

from outreach.campaigns.folder import Campaign
from outreach.config import Settings
from outreach.contacts.model import Contact
from outreach.render.renderer import (
    Links,
    Rendered,
    Renderer,
    _contact_view,
    _greeting,
    jinja_environment,
    template_error,
)
from outreach.render.slots import Slots


def render_full(settings: Settings, campaign: Campaign, language: str, kind: str, contact: Contact, links: Links,
                *, web_version: bool = False, renderer: Renderer | None = None) -> Rendered:
    """One recipient's message rendered from scratch with the real values: body, layout, premailer."""
    from markupsafe import Markup

    renderer = renderer or Renderer(settings, campaign)
    doc = campaign.document(language)
    event = campaign.event_for(contact.country, language) if campaign.event else {}
    view = _contact_view(contact)
    view["kind"] = kind
    context = {"contact": view, "links": links, "event": event}
    parts = []
    for html in (True, False):
        slots = Slots()
        body_template = slots.restore(renderer.body_source(language, html, slots), "plain")
        env = jinja_environment(renderer.dirs, language, html, "body")
        try:
            body = env.from_string(body_template).render(context)
        except Exception as error:
            raise template_error(error, str(doc.path)) from None
        if html:
            body = Markup(body)
        greeting = _greeting(language)(view)
        page = renderer.layout(language, html, body=body, contact=view, links=links, event=event,
                               greeting=greeting, web_version=web_version)
        parts.append(renderer.inliner.inline(page) if html else page)
    if campaign.track_clicks and not web_version:
        from outreach.render.clicks import replace_links

        # Which links count clicks is decided on the built message (a link holding a personal value does not).
        pairs = renderer.variant(language, kind).click_urls(contact)
        urls, tracked = [url for url, _ in pairs], [link for _, link in pairs]
        parts = [replace_links(parts[0], urls, tracked.__getitem__, True),
                 replace_links(parts[1], urls, tracked.__getitem__, False)]
    return Rendered(doc.subject, doc.preheader, parts[0], parts[1])
