"""`outreach campaign preview`: every variant written to a folder, with an index to compare languages.

Per variant (language × kind) the HTML part, the text part and the complete .eml (built by `outreach.mail.message`, the
same builder the sender uses), plus `index.html` showing every language side by side with its subject, so a
coordinator can read all 15 versions before anything is sent.
"""

from __future__ import annotations

import html as htmlmod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from outreach.campaigns.folder import Campaign, choose_language
from outreach.clock import Clock
from outreach.config import Settings
from outreach.contacts.model import Contact
from outreach.countries import BSI_COUNTRIES, country_languages
from outreach.emblem import CONTENT_ID, png_data_uri
from outreach.models import Kind
from outreach.render.renderer import Links, Rendered, Renderer

# A plausible reader per language, so the greeting and personal fields look real in a preview.
SAMPLE_NAMES = {
    "hr": "Ivana Horvat", "cs": "Jana Nováková", "da": "Mette Jensen", "fr": "Claire Martin", "de": "Anna Schmidt",
    "el": "Μαρία Παπαδοπούλου", "hu": "Nagy Katalin", "it": "Giulia Rossi", "en": "Aoife Murphy",
    "lv": "Līga Bērziņa", "nl": "Sanne de Vries", "pl": "Anna Kowalska", "ro": "Ioana Popescu",
    "sk": "Zuzana Horváthová", "sv": "Karin Lindqvist",
}


@dataclass(frozen=True)
class PreviewItem:
    """One variant written by a preview: its subject and preheader, and the files it was written to."""

    language: str
    kind: str
    subject: str
    preheader: str
    html_path: Path
    text_path: Path
    eml_path: Path


def sample_contact(campaign: Campaign, language: str, kind: str, session: str | None = None) -> Contact:
    """A made-up reader of this language and kind, living in `session`'s country when given, else where the
    language is spoken and an event session is, else in the first session's country (an English reader of a
    campaign whose only event is in Croatia reads about that event)."""
    countries = [c for c in sorted(campaign.event or BSI_COUNTRIES) if language in country_languages(c)]
    country = session or (countries[0] if countries else min(campaign.event) if campaign.event else None)
    return Contact(id=0, email=f"preview.{language}@example.org", name=SAMPLE_NAMES.get(language, "Alex Example"),
                   organisation="Example Organisation", kind=Kind(kind), country=country, language=language)


def preview_links(settings: Settings, campaign: Campaign, language: str, contact: Contact) -> Links:
    """Real signed links for a stored contact when a secret is set; otherwise harmless sample links."""
    from outreach.mail.tokens import answer_urls, archive_url, preferences_url, public_link, unsubscribe_url

    view = archive_url(settings, campaign.slug, language)
    session = campaign.session_for(contact.country)
    if contact.id and settings.secret_key and len(settings.secret_key) >= 32:
        answers = answer_urls(settings, settings.secret_key, contact.id, contact.email, campaign.slug,
                              session.code) if session else ("", "")
        return Links(unsubscribe_url(settings, settings.secret_key, contact.id, contact.email, campaign.slug),
                     preferences_url(settings, settings.secret_key, contact.id, contact.email), view, *answers)
    return Links(public_link(settings, "unsubscribe/preview"), public_link(settings, "preferences/preview"), view,
                 public_link(settings, "attend/preview"), public_link(settings, "decline/preview"))


def write_preview(settings: Settings, campaign: Campaign, out_dir: Path, clock: Clock,
                  languages: list[str] | None = None, kinds: Sequence[str] | None = None,
                  contact: Contact | None = None,
                  sessions: Sequence[str] | None = None) -> tuple[Path, list[PreviewItem]]:
    """Write the variants and index.html into `out_dir`; returns the index path and what was written.
    With `sessions` (event countries), every language × kind is written once per session."""
    from outreach.errors import NotFoundError

    for language in languages or []:
        if language not in campaign.documents:
            raise NotFoundError(f"Campaign {campaign.slug!r} has no {language}.md",
                                f"Languages with a file: {', '.join(campaign.languages)}.")
    if contact is not None and not languages:
        chosen, _ = choose_language(campaign, contact)
        languages = [chosen or campaign.source_language]
    kinds = kinds or ([contact.kind] if contact is not None else
                      list(campaign.audience.kinds) or [k.value for k in Kind])
    renderer = Renderer(settings, campaign)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    _check_sessions(campaign, sessions)
    for language in languages or list(campaign.languages):
        for kind, session in [(k, s) for k in kinds for s in _or_none(sessions)]:
            reader = contact or sample_contact(campaign, language, kind, session)
            links = preview_links(settings, campaign, language, reader)
            rendered = renderer.variant(language, kind).render(reader, links)
            stem = f"{language}-{kind}" + (f"-{session}" if session else "")
            html_path, text_path, eml_path = (out_dir / f"{stem}.html", out_dir / f"{stem}.txt",
                                              out_dir / f"{stem}.eml")
            # the .html file is opened alone in a browser: the emblem comes inline instead of from the mail's part
            html_path.write_text(rendered.html.replace(f"cid:{CONTENT_ID}", png_data_uri()), encoding="utf-8")
            text_path.write_text(rendered.text, encoding="utf-8")
            eml_path.write_bytes(_eml(settings, campaign, language, kind, reader, links, rendered, clock))
            items.append(PreviewItem(language, kind, rendered.subject, rendered.preheader, html_path, text_path,
                                     eml_path))
    index = out_dir / "index.html"
    index.write_text(_index_page(campaign, items), encoding="utf-8")
    return index, items


def _or_none(sessions: Sequence[str] | None) -> list[str | None]:
    return list(sessions) if sessions else [None]


def pick_sessions(campaign: Campaign, values: Sequence[str] | None) -> list[str]:
    """The session codes named on a command line (any case, comma-separated or repeated; `all`: every one);
    NotFoundError naming the campaign's sessions for one it lacks."""
    from outreach.errors import NotFoundError

    wanted = [v.strip() for v in ",".join(values or []).split(",") if v.strip()]
    if any(v.lower() == "all" for v in wanted):
        return sorted(campaign.event)
    codes = {code.lower(): code for code in campaign.event}
    result = []
    for value in wanted:
        if value.lower() not in codes:
            raise NotFoundError(f"Campaign {campaign.slug!r} has no event session {value!r}",
                                "Sessions ([events.CODE] in campaign.toml): "
                                f"{', '.join(sorted(campaign.event)) or 'none'}.")
        result.append(codes[value.lower()])
    return result


def _check_sessions(campaign: Campaign, sessions: Sequence[str] | None) -> None:
    pick_sessions(campaign, sessions)


def _eml(settings: Settings, campaign: Campaign, language: str, kind: str, contact: Contact, links: Links,
         rendered: Rendered, clock: Clock) -> bytes:
    """The complete message as the sender would build it (outreach.mail.message)."""
    from outreach.emblem import related_parts
    from outreach.mail.message import MessageFactory, Personal, SenderInfo, make_message_id

    address = campaign.sender_address or "sender-not-configured@example.org"
    sender = SenderInfo(name=campaign.sender_name, address=address, reply_to=campaign.reply_to,
                        list_name=campaign.name, unsubscribe_mailto=settings.unsubscribe_mailto, language=language)
    factory = MessageFactory(sender, campaign.attachments_for(language), related_parts(settings))
    personal = Personal(to_name=contact.name, to_address=contact.email, subject=rendered.subject,
                        text=rendered.text, html=rendered.html, unsubscribe_url=links.unsubscribe_url,
                        message_id=make_message_id(sender.domain, "preview", campaign.slug, language, kind),
                        date=clock.now())
    return factory.build(personal)


def _index_page(campaign: Campaign, items: list[PreviewItem]) -> str:
    """A page with one row per kind and the languages side by side, each with its subject and the message."""
    esc = htmlmod.escape
    rows = []
    for kind in dict.fromkeys(item.kind for item in items):
        cards = []
        for item in (i for i in items if i.kind == kind):
            cards.append(
                f'<section class="card" lang="{esc(item.language)}">'
                f'<h3>{esc(item.language)} · {esc(kind)}</h3>'
                f'<p class="subject">{esc(item.subject)}</p><p class="pre">{esc(item.preheader)}</p>'
                f'<p class="files"><a href="{esc(item.html_path.name)}">HTML</a> · '
                f'<a href="{esc(item.text_path.name)}">text</a> · <a href="{esc(item.eml_path.name)}">.eml</a></p>'
                f'<iframe src="{esc(item.html_path.name)}" title="{esc(item.subject)}" loading="lazy"></iframe>'
                f"</section>")
        rows.append(f'<h2>{esc(kind)}</h2><div class="row">{"".join(cards)}</div>')
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Preview: {esc(campaign.name)}</title>
<style>
body {{ margin: 0; padding: 16px 24px; font-family: system-ui, Arial, sans-serif; color: #1f2933;
       background: #eef1f4; }}
h1 {{ margin: 0 0 4px 0; font-size: 22px; }}
.meta {{ margin: 0 0 16px 0; color: #4a5561; }}
h2 {{ font-size: 18px; margin: 20px 0 8px 0; }}
.row {{ display: flex; gap: 16px; overflow-x: auto; padding-bottom: 12px; }}
.card {{ flex: 0 0 420px; background: #fff; border: 1px solid #c5ced8; border-radius: 6px; padding: 12px; }}
.card h3 {{ margin: 0 0 6px 0; font-size: 14px; text-transform: uppercase; color: #4a5561; }}
.subject {{ margin: 0 0 4px 0; font-weight: bold; }}
.pre {{ margin: 0 0 8px 0; color: #4a5561; font-size: 14px; }}
.files {{ margin: 0 0 8px 0; font-size: 14px; }}
a {{ color: #0b5394; }}
iframe {{ width: 100%; height: 640px; border: 1px solid #dde3e9; }}
</style>
</head>
<body>
<h1>{esc(campaign.name)}</h1>
<p class="meta">{esc(campaign.slug)} · layout {esc(campaign.layout)} · source {esc(campaign.source_language)} ·
{len(items)} variant(s)</p>
{"".join(rows)}
</body>
</html>
"""
