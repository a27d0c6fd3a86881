"""What `campaign check` renders beyond one sample per variant: every event session with every language and kind
(any reader may live in any session's country, and send time renders exactly that), and the contact fields a body
prints with nothing to cope with their absence (an empty organisation leaving "As a representative of  you will").
And the warning naming the segments of a translation that changed in the source since it was made.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from outreach.countries import country_languages
from outreach.models import Kind
from outreach.models.contacts import Contact
from outreach.render.checks import Issue

if TYPE_CHECKING:
    from jinja2 import Template

    from outreach.campaigns.folder import Campaign
    from outreach.render.renderer import Links


def session_failures(campaign: Campaign, language: str, body: Template, links: Links) -> list[Issue]:
    """Errors for every (session, kind) whose body fails to render in `language`, named `lang/kind/session`."""
    from outreach.render.renderer import template_error

    doc = campaign.documents[language]
    issues = []
    for kind, session in [(k, s) for k in campaign.audience.kinds or tuple(Kind) for s in sorted(campaign.event)]:
        try:
            body.render(_context(campaign, language, kind, session, links))
        except Exception as error:
            issues.append(Issue("error", f"{language}/{kind}/{session}",
                                template_error(error, str(doc.path), doc.body_line).message))
    return issues
OPTIONAL_FIELDS = {"name": "a name", "organisation": "an organisation", "role": "a role", "country": "a country"}
_MARK = "Zqx9FieldMark"


def _context(campaign: Campaign, language: str, kind: str, session: str | None, links: Links,
             **fields: str) -> dict[str, Any]:
    contact = {"name": "Ana Example", "organisation": "Example Organisation", "role": "Procurement officer",
               "kind": kind, "country": session or "", "language": language, "email": "sample@example.org",
               "attributes": {}}
    contact.update(fields)
    event = campaign.event[session].view(language) if session else {}
    return {"contact": contact, "links": links, "event": event}


def field_gaps(campaign: Campaign, language: str, body: Template, links: Links,
               lacking: dict[str, int] | None = None) -> list[Issue]:
    """Warnings for contact fields the body prints with nothing around them that copes with an empty value:
    the text reads the same with the field left out ("As a representative of  you will learn"). With `lacking`
    (audience members without each field, counted in the database) a field everybody has is not reported."""
    doc = campaign.documents[language]
    issues = []
    session = min(campaign.event) if campaign.event else None
    for field_name, label in OPTIONAL_FIELDS.items():
        line = _line_of_field(doc.body, field_name)
        if line is None or (lacking is not None and not lacking.get(field_name)):
            continue
        who = (f"{lacking[field_name]} recipient(s) of the audience without {label}" if lacking is not None
               else f"a recipient without {label}")
        for kind in campaign.audience.kinds or tuple(Kind):
            try:
                full = body.render(_context(campaign, language, kind, session, links, **{field_name: _MARK}))
                empty = body.render(_context(campaign, language, kind, session, links, **{field_name: ""}))
            except Exception:  # a template error is reported by the checks above
                break
            if _MARK in full and empty == full.replace(_MARK, ""):
                issues.append(Issue("warning", f"{doc.path}:{line + doc.body_line - 1}",
                                    f"contact.{field_name} is printed as it is: {who} will read the sentence "
                                    "with a gap; wrap it in {% if contact." + field_name +
                                    " %}…{% endif %} or write {{ contact." + field_name + ' or "…" }}'))
                break
    return issues


def _line_of_field(body: str, field_name: str) -> int | None:
    for number, line in enumerate(body.splitlines(), 1):
        if re.search(r"\{\{[^}]*\bcontact\." + field_name + r"\b", line):
            return number
    return None


def changed_issue(campaign: Campaign, language: str, where: str) -> Issue:
    """The segments of a translation whose source changed since it was made, each named."""
    from outreach.campaigns.revisions import changed_segments

    changed = changed_segments(campaign, language) or []
    listed = "; ".join(segment.describe() for segment in changed)
    return Issue("warning", where, f"{len(changed)} segment(s) changed in {campaign.source_language}.md since this "
                                   f"translation (or not translated yet): {listed}; update them (outreach campaign "
                                   f"export {campaign.slug} --lang {language}), or after review: outreach campaign "
                                   f"pin {campaign.slug} --lang {language}")


def samples(campaign: Campaign, language: str) -> Iterator[Contact]:
    """Sample recipients that reach every branch a body is likely to test: each kind, each event country,
    with and without a name."""
    kinds = campaign.audience.kinds or tuple(Kind)
    countries: list[str | None] = [c for c in sorted(campaign.event) if language in country_languages(c)]
    if not countries:
        countries = [sorted(campaign.event)[0]] if campaign.event else [None]
    for kind in kinds:
        for country in countries:
            for name in ("Ana Example", ""):
                yield Contact(id=0, email="sample@example.org", name=name, organisation="Example Organisation",
                              kind=kind, country=country, language=language)
