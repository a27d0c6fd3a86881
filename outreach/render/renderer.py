"""Rendering a campaign: sandboxed Jinja2, Markdown, gettext layout strings, CSS inlined once per variant.

The expensive work — Markdown, the layout, premailer — is done once per *variant* (campaign × language × kind,
and × country for campaigns with per-country events). What differs per recipient (their name, their links, any
Jinja the body runs on them) is carried through that work as URL-safe placeholder tokens, then turned back into
Jinja source and compiled once; `Variant.render` only runs that compiled template (tens of µs).

`benchmarks/reference_render.render_full` is the naive reference that does everything per call, values included;
the tests prove the two give identical output. Values are escaped exactly the way lxml (inside premailer)
serialises them, which is what makes the two equal, and they are never read as Markdown or Jinja.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Protocol, cast

from outreach.campaigns.folder import Campaign, layout_dirs
from outreach.config import Settings
from outreach.emblem import funding_for, png_data_uri
from outreach.errors import TemplateError
from outreach.models import Kind
from outreach.render.inline import Inliner, PremailerInliner
from outreach.render.slots import (
    AttributeSpec,
    Late,
    LateValueError,
    Slots,
    attribute_out,
    esc_text,
    serialize_attribute,
)
from outreach.render.text import markdown_to_text

if TYPE_CHECKING:
    from babel.support import NullTranslations
    from jinja2 import Environment, Template
    from markdown_it import MarkdownIt

    from outreach.contacts.model import Contact

_Built = tuple["Template", "Template", tuple[AttributeSpec, ...], dict[str, Any], tuple[str, ...]]
CONTACT_FIELDS = ("name", "organisation", "role", "kind", "country", "language", "email", "attributes")
LINK_FIELDS = ("unsubscribe_url", "preferences_url", "view_url", "attend_url", "decline_url")


class _GettextEnvironment(Protocol):
    """What the jinja2.ext.i18n extension adds to an environment."""

    def install_gettext_translations(self, translations: NullTranslations, newstyle: bool | None = None) -> None: ...


@dataclass(frozen=True)
class Links:
    """The per-recipient URLs every message carries; an invitation also "I will attend" / "I cannot attend"."""

    unsubscribe_url: str
    preferences_url: str
    view_url: str
    attend_url: str = ""
    decline_url: str = ""


@dataclass(frozen=True)
class Rendered:
    """One recipient's message: subject, preheader, the HTML part and the text part."""

    subject: str
    preheader: str
    html: str
    text: str


# --- environments ---------------------------------------------------------------------------------------------

def _event_datetime(value: datetime, language: str) -> str:
    """The date as running text has it and the time, joined the way the locale joins them ("18 marca 2027 09:30")."""
    from babel.dates import get_datetime_format

    from outreach.render.stylesheet import babel_locale, date_in_text, time_of_day

    pattern = str(get_datetime_format("long", locale=babel_locale(language)))
    return pattern.replace("{1}", date_in_text(value, language)).replace(
        "{0}", time_of_day(value, language)).replace("'", "")


def _filters(language: str) -> dict[str, Callable[..., str]]:
    """Locale-aware filters. Cached: the same event date is formatted for every recipient of a country, and
    Babel takes far longer than the rest of a message's fill-in."""
    from functools import lru_cache

    from outreach.render.i18n import format_date
    from outreach.render.stylesheet import date_in_text, time_of_day

    def date(value: Any, fmt: str | None = None) -> str:
        """`{{ d | date }}` as the language's running text writes it; `date("short")` etc. as CLDR has them."""
        return date_in_text(value, language) if fmt is None else format_date(value, language, fmt)

    return {
        "date": lru_cache(maxsize=512)(date),
        "datetime": lru_cache(maxsize=512)(lambda value: _event_datetime(value, language)),
        "time": lru_cache(maxsize=512)(lambda value: time_of_day(value, language)),
    }


def _event_lines(event: dict[str, Any], language: str) -> dict[str, str]:
    """The date line, time line and time-zone note of an event box, in the reader's language."""
    from babel.dates import format_date, format_interval, get_timezone, get_timezone_name

    from outreach.render.stylesheet import babel_locale

    locale = babel_locale(language)  # en → en_IE: "Tuesday 20 April 2027", never "Tuesday, April 20, 2027"
    starts, ends = event.get("starts"), event.get("ends")
    lines = {"date": "", "time": "", "zone": ""}
    if starts is None:
        return lines
    if ends is not None and hasattr(starts, "hour") and starts.date() != ends.date():
        lines["date"] = str(format_interval(starts.date(), ends.date(), "yMMMMd", locale=locale))
    else:
        lines["date"] = str(format_date(starts, "full", locale=locale))
    if hasattr(starts, "hour"):
        if ends is not None and starts.date() == ends.date():
            lines["time"] = str(format_interval(starts, ends, "Hm", locale=locale))
        else:
            lines["time"] = _event_datetime(starts, language)
    if event.get("timezone"):
        lines["zone"] = str(get_timezone_name(get_timezone(str(event["timezone"])), locale=locale))
    return lines


def _greeting(language: str) -> Callable[[dict[str, Any]], str]:
    """The layouts' `greeting_for(contact)` in one language."""
    from outreach.render.i18n import get_translations

    translations = get_translations(language, "emails")

    def greeting_for(contact: dict[str, Any]) -> str:
        """ "Dear Anna Nowak," in the reader's language, or "Dear colleague," without a name."""
        name = contact.get("name") or ""
        if name:
            return str(translations.ugettext("Dear %(name)s,")) % {"name": name}
        return str(translations.ugettext("Dear colleague,"))

    return greeting_for


@cache
def jinja_environment(template_dirs: tuple[str, ...], language: str, html: bool, stage: str) -> Environment:
    """A sandboxed, strict environment. stage "layout" renders layouts (loader, gettext); "late" compiles the
    per-recipient template; "body" renders a body in the reference path."""
    from jinja2 import ChoiceLoader, FileSystemLoader
    from jinja2.sandbox import SandboxedEnvironment

    from outreach.render.i18n import get_translations
    from outreach.render.undefined import SuggestingUndefined

    loader = ChoiceLoader([FileSystemLoader(d) for d in template_dirs]) if stage == "layout" else None
    env = SandboxedEnvironment(loader=loader, autoescape=html and stage != "late", undefined=SuggestingUndefined,
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                               extensions=["jinja2.ext.i18n"], auto_reload=False)
    # jinja2.ext.i18n adds this method to the environment when it is loaded, so the class does not declare it.
    cast(_GettextEnvironment, env).install_gettext_translations(get_translations(language, "emails"), newstyle=True)
    env.filters.pop("safe", None)  # content cannot switch escaping off for a value
    env.filters.update(_filters(language))
    env.filters.update(esc_text=esc_text)
    env.globals.update(greeting_for=_greeting(language), event_lines=lambda e: _event_lines(e, language),
                       attribute_out=attribute_out, serialize_attribute=serialize_attribute)
    return env


def _tracked_slot(slots: Slots, index: int) -> str:
    """The placeholder that stands for the reader's tracked link number `index` until the message is filled in."""
    return slots.add("expr", f"outreach_tracked[{index}]")


def _contact_view(contact: Contact) -> dict[str, Any]:
    return {"name": contact.name or "", "organisation": contact.organisation or "", "role": contact.role or "",
            "kind": contact.kind, "country": contact.country or "", "language": contact.language or "",
            "email": contact.email, "attributes": contact.attributes}


def template_error(error: Exception, where: str, body_line: int | None = None) -> TemplateError:
    """A Jinja failure as a TemplateError naming the file and line.

    Layout errors carry the layout's name and line. A raw body compiled from a string is "<template>" in the
    traceback; with `body_line` (where the body starts in its .md file) that line is mapped back to the file.
    """
    from jinja2 import TemplateSyntaxError

    line = error.lineno if isinstance(error, TemplateSyntaxError) else None
    filename = getattr(error, "filename", None) or getattr(error, "name", None)
    tb = error.__traceback__
    while tb is not None and line is None:
        code_file = tb.tb_frame.f_code.co_filename
        if code_file.endswith((".j2", ".md")) or (body_line is not None and code_file == "<template>"):
            line = tb.tb_lineno
            filename = code_file
        tb = tb.tb_next
    if filename == "<template>" and line is not None and body_line is not None:
        filename, line = where, line + body_line - 1
    message = getattr(error, "message", None) or str(error)
    place = f"{filename or where}:{line}" if line else str(filename or where)
    return TemplateError(f"{place}: {message}", "Fix the template; `outreach campaign check` lists every problem.")


class Variant:
    """One (campaign, language, kind): built once, then `render(contact, links)` fills in one recipient.

    A `web_version` variant is the page of the web archive: the layout leaves out what belongs to a mail only.
    """

    def __init__(self, renderer: Renderer, language: str, kind: str, *, web_version: bool = False) -> None:
        self.renderer = renderer
        self.campaign = renderer.campaign
        self.language = language
        self.kind = kind
        self.web_version = web_version
        self.document = renderer.campaign.document(language)
        self.tracks_clicks = renderer.campaign.track_clicks and not web_version
        # per event key: (HTML template, text template, the HTML's attribute specs, the event, the tracked links)
        self._built: dict[str | None, _Built] = {}
        self._click_urls: dict[tuple[str | None, str], list[str]] = {}  # (event key, country) → tracked links

    def _event_key(self, contact: Contact) -> str | None:
        """The event session a reader sees (`Campaign.session_for`). A preview or test reader whom no session
        reaches (no country, or one without a session) sees the first session, so that every language can be looked
        at; the audience never holds such a reader (`recipient_for` skips them)."""
        if not self.campaign.event:
            return None
        session = self.campaign.session_for(contact.country)
        return session.code if session else min(self.campaign.event)

    def _build(self, key: str | None) -> _Built:
        from outreach.render.clicks import event_resolver, replace_links, tracked_links

        renderer, doc = self.renderer, self.document
        session = self.campaign.event.get(key or "")
        event = session.view(self.language) if session else {}
        built = []
        specs: tuple[AttributeSpec, ...] = ()
        links_tracked: list[str] = []
        for html in (True, False):
            slots = Slots()
            contact: dict[str, Any] = {f: Late(slots, f"contact.{f}") for f in CONTACT_FIELDS if f != "kind"}
            contact["kind"] = self.kind
            links = {f: Late(slots, f"links.{f}") for f in LINK_FIELDS}
            body = renderer.body_source(self.language, html, slots)
            page = renderer.layout(self.language, html, body=body, contact=contact, links=links, event=event,
                                   greeting=Late(slots, "greeting_for(contact)"), web_version=self.web_version)
            if html:
                page = renderer.inliner.inline(page)
            if self.tracks_clicks:
                resolve = event_resolver(slots, event)
                if html:
                    links_tracked = tracked_links(page, renderer.settings.public_url, resolve)
                page = replace_links(page, links_tracked, partial(_tracked_slot, slots), html, resolve)
            source = slots.restore(page, "html" if html else "plain")
            specs = specs or tuple(slots.attributes)
            late = jinja_environment(renderer.dirs, self.language, html, "late")
            try:
                built.append(late.from_string(source))
            except Exception as error:
                raise template_error(error, str(doc.path)) from None
        return built[0], built[1], specs, event, tuple(links_tracked)

    def _templates(self, contact: Contact) -> tuple[str | None, _Built]:
        key = self._event_key(contact)
        templates = self._built.get(key)
        if templates is None:
            templates = self._built[key] = self._build(key)
        return key, templates

    def click_urls(self, contact: Contact) -> list[tuple[str, str]]:
        """(link, the `/l/` link that counts it) for every tracked link of this reader's message; [] untracked."""
        key, templates = self._templates(contact)
        return list(zip(templates[4], self._tracked(key, templates, contact.country or ""), strict=True))

    def _tracked(self, key: str | None, templates: _Built, country: str) -> list[str]:
        """The tracked links of a built message for readers in `country`. They name the variant and the country,
        not the reader, so each is signed once per variant and country."""
        urls = self._click_urls.get((key, country))
        if urls is None:
            from outreach.mail.tokens import MIN_SECRET_LENGTH, ClickTarget, click_url, public_link

            settings = self.renderer.settings
            secret = settings.secret_key or ""
            if len(secret) < MIN_SECRET_LENGTH:  # a check or preview without a key (a send refuses to start)
                urls = [public_link(settings, "l/unsigned") for _ in templates[4]]
            else:
                urls = [click_url(settings, secret, ClickTarget(self.campaign.slug, url, self.language, country,
                                                                self.kind)) for url in templates[4]]
            self._click_urls[(key, country)] = urls
        return urls

    def render(self, contact: Contact, links: Links) -> Rendered:
        """The message for one recipient. Only the personal fields are filled in here."""
        key, templates = self._templates(contact)
        tracked = self._tracked(key, templates, contact.country or "") if templates[4] else []
        # The specs travel in the render context, not as template globals: Jinja copies a template's globals
        # into every new context, which costs more than the rest of the fill-in.
        view = _contact_view(contact)
        view["kind"] = self.kind  # the variant's kind decides, as in the reference render and in the layout
        context = {"contact": view, "links": links, "event": templates[3], "attribute_specs": templates[2],
                   "outreach_tracked": tracked}
        try:
            html = templates[0].render(context)
            text = templates[1].render(context)
        except Exception as error:
            raise template_error(error, str(self.document.path)) from None
        return Rendered(self.document.subject, self.document.preheader, html, text)


class Renderer:
    """Renders one campaign; variants are cached, so each is built (and CSS-inlined) once."""

    def __init__(self, settings: Settings, campaign: Campaign, inliner: Inliner | None = None) -> None:
        self.settings = settings
        self.campaign = campaign
        self.dirs = tuple(str(d) for d in layout_dirs(settings))
        # premailer over the layouts' stylesheet unless told otherwise (the sender hands in a cached one)
        self.inliner: Inliner = inliner or PremailerInliner.for_settings(settings)
        self._variants: dict[tuple[str, str], Variant] = {}

    def variant(self, language: str, kind: str) -> Variant:
        """The cached variant for a language and a contact kind."""
        key = (language, kind)
        if key not in self._variants:
            self._variants[key] = Variant(self, language, kind)
        return self._variants[key]

    # building blocks, shared by the fast path and the reference path ------------------------------------

    def body_source(self, language: str, html: bool, slots: Slots) -> str:
        """The body as HTML (or plain text) with its Jinja protected as tokens, from the Markdown."""
        from markupsafe import Markup

        doc = self.campaign.document(language)
        check_body_syntax(self.campaign, language)
        tokens = markdown_parser().parse(slots.protect(doc.body))
        # Barriers: a body's {{- … -}} must strip whitespace inside the body only, also once it sits in a layout.
        start, end = slots.add("block", '{{ "" }}'), slots.add("block", '{{ "" }}')
        if html:
            return Markup(start + markdown_parser().renderer.render(tokens, markdown_parser().options, {}) + end)
        return start + markdown_to_text(tokens, slots) + end

    def layout(self, language: str, html: bool, **context: Any) -> str:
        """Render the campaign's layout (the .html.j2 or .txt.j2) with the given context."""
        env = jinja_environment(self.dirs, language, html, "layout")
        name = f"{self.campaign.layout}.{'html' if html else 'txt'}.j2"
        doc = self.campaign.document(language)
        values = dict(lang=language, subject=doc.subject, preheader=doc.preheader,
                      campaign=self.campaign.name_for(language),
                      sender={"name": self.campaign.sender_name, "address": self.campaign.sender_address,
                              "organisation": self.campaign.organisation,
                              "postal_address": self.campaign.postal_address},
                      web_version=False, layout=self.campaign.layout)
        values.update(context)
        # the archive's page of a mail has no related parts: its emblem comes inline
        values["eu"] = funding_for(self.settings, src=png_data_uri() if values["web_version"] else None)
        try:
            return env.get_template(name).render(values)
        except LateValueError:
            raise
        except Exception as error:
            raise template_error(error, name) from None

    def web_version(self, language: str) -> str:
        """The full HTML page of a language version without personal data (for the web archive)."""
        from outreach.contacts.model import Contact
        from outreach.countries import country_languages
        from outreach.mail.tokens import archive_url, public_link

        country = next((c for c in sorted(self.campaign.event) if language in country_languages(c)), None)
        contact = Contact(id=0, email="", kind=Kind.OTHER, country=country, language=language)
        home = public_link(self.settings, "")
        links = Links(home, home, archive_url(self.settings, self.campaign.slug, language))
        # Built for this one page: the archive caches pages, so the variant is not kept here.
        variant = Variant(self, language, Kind.OTHER.value, web_version=True)
        return variant.render(contact, links).html


@cache
def markdown_parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def check_body_syntax(campaign: Campaign, language: str) -> None:
    """Compile the raw body once so that a Jinja syntax error names the .md file and its own line."""
    from jinja2 import TemplateSyntaxError

    doc = campaign.document(language)
    env = jinja_environment((), language, True, "body")
    try:
        env.parse(doc.body, name=str(doc.path))
    except TemplateSyntaxError as error:
        line = (error.lineno or 1) + doc.body_line - 1
        raise TemplateError(f"{doc.path}:{line}: {error.message}",
                            "Close every {% if %} with {% endif %} and every {{ with }}.") from None
