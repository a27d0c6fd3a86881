"""`outreach campaign check`: everything that can be known about a campaign before a single message leaves.

The translation matrix (per language the audience needs: file, fallbacks, skips, outdated translations), template
errors with the file and line, links, images, the unsubscribe link, subject length, Gmail's 102 KB clipping and
attachment sizes. Errors make the command fail; warnings are worth reading but do not block sending.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from outreach.campaigns.audience import iter_audience
from outreach.campaigns.documents import Document, source_revision, translation_status
from outreach.campaigns.folder import Campaign, load_campaign
from outreach.config import Settings
from outreach.countries import EU_LANGUAGES, country_languages, default_language
from outreach.db.schema import Database
from outreach.errors import OutreachError

if TYPE_CHECKING:
    from jinja2 import Template

    from outreach.render.renderer import Links

MAX_SUBJECT = 78
MAX_HTML_BYTES = 102 * 1024  # Gmail clips the HTML part above this
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
SAMPLE_LINKS = ("https://links.example.org/unsubscribe/SAMPLE", "https://links.example.org/preferences/SAMPLE",
                "https://links.example.org/archive/SAMPLE", "https://links.example.org/attend/SAMPLE",
                "https://links.example.org/decline/SAMPLE")
KNOWN_VARIABLES = {"contact", "event", "links"}
CONTACT_FIELDS = ("name", "organisation", "role", "kind", "country", "language", "email", "attributes")


def _variable_hint(name: str) -> str:
    """What to write instead of an unknown top-level name: the close variable or contact field, or the list."""
    from outreach.suggest import closest

    match = closest(name, sorted(KNOWN_VARIABLES))
    field = closest(name, CONTACT_FIELDS) if match is None else None
    if match is not None or field is not None:
        return f"did you mean {match or f'contact.{field}'}?"
    return "use contact.…, event.… or links.…"


@dataclass
class Issue:
    """One problem found by a check: an error blocks sending, a warning does not."""

    level: str  # "error" | "warning"
    where: str  # file:line, or a variant such as "pl/authority"
    message: str


@dataclass
class LanguageRow:
    """One line of the translation matrix."""

    language: str
    file: bool
    outdated: bool = False
    translated_from: str | None = None
    recipients: int = 0  # audience members who want this language
    fallback: int = 0  # … of whom get the fallback language instead
    skipped: int = 0  # … or get nothing
    changed: list[str] = field(default_factory=list)  # segments changed in the source since the translation
    per_segment: bool = False  # the translation records its revision per segment


@dataclass
class CheckReport:
    """Everything `outreach campaign check` found: the translation matrix and the issues."""

    slug: str
    source_language: str
    revision: str
    languages: list[LanguageRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    lacking: dict[str, int] | None = None  # per optional contact field, audience members without it (with a db)
    # EU languages the layouts and pages speak but this campaign has no file for, and nobody needs: information only
    not_translated: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        """The issues that block sending."""
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """The issues worth reading that do not block sending."""
        return [i for i in self.issues if i.level == "warning"]

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of `campaign check --json`."""
        return {"slug": self.slug, "source_language": self.source_language, "revision": self.revision,
                "ok": not self.errors, "languages": [asdict(row) for row in self.languages],
                "issues": [asdict(issue) for issue in self.issues], "not_translated": self.not_translated}


def check_campaign(settings: Settings, db: Database | None, slug: str) -> CheckReport:
    """Check a campaign; a broken folder (bad TOML, missing subject…) raises the loader's error instead."""
    campaign = load_campaign(settings, slug)
    report = CheckReport(slug, campaign.source_language, source_revision(campaign))
    _matrix(campaign, db, report)
    _settings_checks(campaign, report)
    for language in campaign.languages:
        _language_checks(settings, campaign, language, report)
    _style_checks(campaign, report)
    return report


def _style_checks(campaign: Campaign, report: CheckReport) -> None:
    """The language style sheets' findings (register, labels, typography, glossary variants), as warnings."""
    from outreach.render.style import campaign_findings

    for language in campaign.languages:
        report.issues += [Issue("warning", f.where, f.message) for f in campaign_findings(campaign, language)]


def _matrix(campaign: Campaign, db: Database | None, report: CheckReport) -> None:
    rows = {status.language: LanguageRow(status.language, True, status.outdated, status.translated_from,
                                         changed=list(status.changed), per_segment=status.per_segment)
            for status in translation_status(campaign)}
    for status in translation_status(campaign):
        doc = campaign.documents[status.language]
        if status.is_source:
            continue
        where = f"{doc.path}:{_line_in(doc.raw, 'translated_from')}"
        if status.unrecorded:
            report.issues.append(Issue("warning", where, f'no translated_from recorded, so whether it is current '
                                                         f'cannot be told; if it is, add translated_from = '
                                                         f'"{report.revision}"'))
        elif status.outdated and not status.per_segment:
            report.issues.append(Issue("warning", where, f"outdated: translated from {status.translated_from}, the "
                                                         f"{campaign.source_language}.md revision is now "
                                                         f"{report.revision}; update the text, then "
                                                         f'translated_from = "{report.revision}" (or outreach '
                                                         f"campaign pin {campaign.slug} --lang {status.language})"))
        elif status.outdated:
            from outreach.render.coverage import changed_issue

            report.issues.append(changed_issue(campaign, status.language, where))
    needed = set(campaign.audience.languages)
    for country in campaign.audience.countries:
        needed.update(country_languages(country)[:1])
    for language in needed:
        rows.setdefault(language, LanguageRow(language, False))
    no_event = 0
    if db is not None:
        report.lacking = dict.fromkeys(("name", "organisation", "role", "country"), 0)
        for recipient in iter_audience(db, campaign):
            contact = recipient.contact
            for key in report.lacking:
                report.lacking[key] += not getattr(contact, key)
            wanted = contact.language or default_language(contact.country) or "?"
            row = rows.setdefault(wanted, LanguageRow(wanted, wanted in campaign.documents))
            row.recipients += 1
            if recipient.skip_reason:
                row.skipped += 1
                no_event += recipient.skip_reason.startswith("no [events.")
            elif recipient.fallback:
                row.fallback += 1
    for row in rows.values():
        if not row.file and (row.fallback or row.skipped or row.language in needed):
            outcome = (f"{row.fallback} recipient(s) will get {campaign.source_language}" if campaign.fallback ==
                       "source" else f"{row.skipped} recipient(s) will be skipped")
            report.issues.append(Issue("warning", str(campaign.path / f"{row.language}.md"),
                                       f"no {row.language} translation: {outcome}"))
    if no_event:
        report.issues.append(Issue("warning", str(campaign.toml_path), f"{no_event} recipient(s) live in a country "
                                                                       "without an [events.CC] table and are skipped"))
    report.languages = sorted(rows.values(), key=lambda r: (r.language != campaign.source_language, r.language))
    report.not_translated = [language for language in EU_LANGUAGES if language not in rows]


def _settings_checks(campaign: Campaign, report: CheckReport) -> None:
    where = str(campaign.toml_path)
    if not campaign.sender_address:
        report.issues.append(Issue("error", where, "no sender address: set OUTREACH_FROM or [sender] address"))
    if not campaign.organisation or not campaign.postal_address:
        report.issues.append(Issue("error", where, "the footer needs the sender's organisation and postal address: "
                                                   "set OUTREACH_ORGANISATION and OUTREACH_POSTAL_ADDRESS"))
    for language in ("all", *campaign.languages):
        if language != "all" and language not in campaign.attachments:
            continue
        for attachment in campaign.attachments_for(language):
            if not attachment.path.is_file():
                report.issues.append(Issue("error", where, f"attachment {attachment.path} is missing"))
            elif attachment.path.stat().st_size > MAX_ATTACHMENT_BYTES:
                size = attachment.path.stat().st_size / 1024 / 1024
                report.issues.append(Issue("error", where, f"attachment {attachment.path.name} is {size:.1f} MB; "
                                                           "keep attachments under 10 MB or link to them"))


def _line_in(raw: bytes, key: str) -> int:
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
        if re.match(rf"\s*(?:{re.escape(key)}\s*=|\[\s*{re.escape(key)}\s*\])", line):
            return number
    return 1


def _language_checks(settings: Settings, campaign: Campaign, language: str, report: CheckReport) -> None:
    from jinja2 import meta

    from outreach.render.renderer import check_body_syntax, jinja_environment

    doc = campaign.documents[language]
    if len(doc.subject) > MAX_SUBJECT:
        report.issues.append(Issue("error", f"{doc.path}:{_line_in(doc.raw, 'subject')}",
                                   f"the subject is {len(doc.subject)} characters; keep it to {MAX_SUBJECT}"))
    from outreach.render.i18n import catalog_path

    if not catalog_path(language, "emails").is_file():
        report.issues.append(Issue("warning", f"{doc.path}:1", f"the layout strings have no {language} translation "
                                                               "(greeting, footer): they will be in English"))
    if not doc.preheader:
        report.issues.append(Issue("warning", f"{doc.path}:1", "no preheader: the inbox shows the first words instead"))
    try:
        check_body_syntax(campaign, language)
    except OutreachError as error:
        report.issues.append(Issue("error", str(doc.path), error.message))
        report.issues.extend(source_link_issues(doc))  # a template error must not hide the other problems
        return
    split = _split_inline_blocks(doc)
    if split:
        report.issues.append(split)
        report.issues.extend(source_link_issues(doc))
        return
    env = jinja_environment((), language, True, "body")
    unknown = sorted(meta.find_undeclared_variables(env.parse(doc.body)) - KNOWN_VARIABLES)
    for name in unknown:
        report.issues.append(Issue("error", f"{doc.path}:{_line_of_name(doc.body, name) + doc.body_line - 1}",
                                   f"unknown variable {name!r}; {_variable_hint(name)}"))
    if unknown:
        report.issues.extend(source_link_issues(doc))
        return
    _sample_checks(settings, campaign, language, env.from_string(doc.body), report)


def _sample_checks(settings: Settings, campaign: Campaign, language: str, body: Template,
                   report: CheckReport) -> None:
    """Render the body alone, then the whole message, for every sample recipient; report each problem once."""
    from outreach.emblem import eu_block_missing
    from outreach.render.i18n import get_translations
    from outreach.render.renderer import Links, Renderer, template_error

    doc = campaign.documents[language]
    renderer = Renderer(settings, campaign)
    links = Links(*SAMPLE_LINKS)
    seen: set[str] = set()
    from outreach.render.coverage import samples

    for contact in samples(campaign, language):
        context = {"contact": {"name": contact.name, "organisation": contact.organisation, "role": "",
                               "kind": contact.kind, "country": contact.country or "", "language": language,
                               "email": contact.email, "attributes": {}},
                   "links": links, "event": campaign.event_for(contact.country, language)}
        where = f"{language}/{contact.kind}" + (f"/{contact.country}" if campaign.event else "")
        try:
            body.render(context)
        except Exception as error:
            _add_once(report, seen, Issue("error", where, template_error(error, str(doc.path), doc.body_line).message))
            for issue in source_link_issues(doc):  # what this recipient's message cannot show, read from the source
                _add_once(report, seen, issue)
            continue
        try:
            rendered = renderer.variant(language, contact.kind).render(contact, links)
        except Exception as error:
            message = error.message if isinstance(error, OutreachError) else str(error)
            _add_once(report, seen, Issue("error", where, message))
            continue
        for issue in html_issues(rendered.html, rendered.text, links, doc):
            _add_once(report, seen, issue if issue.where else Issue(issue.level, where, issue.message))
        translate = get_translations(language, "emails").ugettext
        if missing := eu_block_missing(settings, rendered.html, rendered.text, translate):
            _add_once(report, seen, Issue("warning", f"{campaign.layout} layout ({where})", missing))
    from outreach.render.coverage import field_gaps, session_failures

    for issue in [*session_failures(campaign, language, body, links),
                  *field_gaps(campaign, language, body, links, report.lacking)]:
        _add_once(report, seen, issue)


def _add_once(report: CheckReport, seen: set[str], issue: Issue) -> None:
    """Report a problem once per language, however many sample recipients hit it (the first is named)."""
    if issue.message not in seen:
        seen.add(issue.message)
        report.issues.append(issue)


def _split_inline_blocks(doc: Document) -> Issue | None:
    """A block tag written inside a paragraph must close in that paragraph: one that closes in another would
    leave the HTML unbalanced whenever its branch is left out."""
    from outreach.render.renderer import markdown_parser
    from outreach.render.slots import Slots, balanced_blocks

    slots = Slots()
    for token in markdown_parser().parse(slots.protect(doc.body)):
        if token.type != "inline" or not token.map:
            continue
        blocks = [slots.items[int(n)][1] for n in re.findall(r"Xqxqzjvq(\d+)qX", token.content)
                  if slots.items[int(n)][0] == "block"]
        if not balanced_blocks(blocks):
            return Issue("error", f"{doc.path}:{token.map[0] + doc.body_line}",
                         f"{blocks[0]} opens or closes inside a paragraph but not in the same one; "
                         "put {% if %}, {% else %} and {% endif %} on lines of their own")
    return None


def _line_of_name(body: str, name: str) -> int:
    for number, line in enumerate(body.splitlines(), 1):
        if re.search(r"(\{\{|\{%)[^}]*\b" + re.escape(name) + r"\b", line):
            return number
    return 1


def _body_link_lines(doc: Document) -> dict[str, int]:
    """href/src → line in the .md file, from the Markdown tokens, so a bad link can be shown where it is written."""
    from outreach.render.renderer import markdown_parser
    from outreach.render.slots import Slots

    lines: dict[str, int] = {}
    for token in markdown_parser().parse(Slots().protect(doc.body)):
        for child in token.children or []:
            url = child.attrs.get("href", child.attrs.get("src"))
            if url is not None and token.map:
                lines.setdefault(str(url), token.map[0] + doc.body_line)
    return lines


def _link_problems(href: str, label: str) -> list[str]:
    if not href:
        return [f"the link {label!r} has no address"]
    if not re.match(r"(?i)(https?://[^/\s]+|mailto:[^\s]+@)", href):
        return [f"the link {label!r} goes to {href!r}: use an absolute https:// address (or mailto:)"]
    return []


def _image_problems(src: str, alt: str | None) -> list[str]:
    problems = [] if (alt or "").strip() else [f"the image {src!r} has no alt text"]
    if not re.match(r"(?i)https?://", src) and not src.startswith("cid:"):
        problems.append(f"the image {src!r} is not an absolute https:// address")
    return problems


def source_link_issues(doc: Document) -> list[Issue]:
    """The links and images of a body that cannot be rendered (a template error), checked in its Markdown with the
    rules `html_issues` applies to a rendered message; an address made by the template itself is not judged."""
    from outreach.render.renderer import markdown_parser
    from outreach.render.slots import NONCE, Slots

    slots = Slots()
    issues: list[Issue] = []
    for token in markdown_parser().parse(slots.protect(doc.body)):
        where = f"{doc.path}:{token.map[0] + doc.body_line}" if token.map else str(doc.path)
        children = token.children or []
        for index, child in enumerate(children):
            url = str(child.attrs.get("href", child.attrs.get("src", "")) or "").strip()
            if f"Xq{NONCE}q" in url:
                continue
            if child.type == "link_open":
                label = children[index + 1].content if index + 1 < len(children) else ""
                issues += [Issue("error", where, message) for message in _link_problems(url, label.strip()[:40])]
            elif child.type == "image":
                issues += [Issue("error", where, message) for message in _image_problems(url, child.content)]
    return issues


def html_issues(html: str, text: str, links: Links, doc: Document) -> list[Issue]:
    """Problems in one rendered message: size, links, images, the unsubscribe link."""
    import lxml.html

    issues: list[Issue] = []
    size = len(html.encode("utf-8"))
    if size > MAX_HTML_BYTES:
        issues.append(Issue("error", "", f"the HTML is {size // 1024} KB; Gmail clips messages over 102 KB"))
    tree = lxml.html.fromstring(html)
    body_lines = _body_link_lines(doc)

    def where(url: str) -> str:
        return f"{doc.path}:{body_lines[url]}" if url in body_lines else ""

    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        issues += [Issue("error", where(href), message)
                   for message in _link_problems(href, (anchor.text_content() or "").strip()[:40])]
    for image in tree.iter("img"):
        src = (image.get("src") or "").strip()
        issues += [Issue("error", where(src), message) for message in _image_problems(src, image.get("alt"))]
    hrefs = {a.get("href") for a in tree.iter("a")}
    if links.unsubscribe_url not in hrefs:
        issues.append(Issue("error", "", "no unsubscribe link in the HTML part: the layout must link to "
                                         "{{ links.unsubscribe_url }}"))
    if links.unsubscribe_url not in text:
        issues.append(Issue("error", "", "no unsubscribe link in the text part (the .txt.j2 layout)"))
    return issues
