"""The `emails` catalogs: complete in all 24 EU languages, really translated, placeholders intact, used by layouts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outreach.countries import EU_LANGUAGES
from outreach.render.i18n import catalog_path, check_catalogs, get_translations, missing_report

LAYOUTS = Path(__file__).resolve().parent.parent / "templates" / "emails"


def _msgids() -> list[str]:
    from babel.messages.pofile import read_po

    with catalog_path("en", "emails").open("rb") as handle:
        return [str(m.id) for m in read_po(handle) if m.id]


def test_emails_catalogs_complete_in_every_eu_language() -> None:
    statuses = check_catalogs("emails")
    assert {s.language for s in statuses} == set(EU_LANGUAGES)
    assert all(s.ok for s in statuses), missing_report(statuses)


@pytest.mark.parametrize("language", [lang for lang in EU_LANGUAGES if lang != "en"])
def test_translations_are_real_and_keep_placeholders(language: str) -> None:
    translations = get_translations(language, "emails")
    msgids = _msgids()
    same = [m for m in msgids if translations.ugettext(m) == m and not m.startswith("%(label)s")]
    # Only words that really are the same in a language ("Newsletter", "Invitation") may stay as in English.
    assert len(same) <= 2, same
    for msgid in msgids:
        assert re.findall(r"%\(\w+\)s", translations.ugettext(msgid)) == re.findall(r"%\(\w+\)s", msgid), msgid


def test_every_layout_string_is_in_the_catalog() -> None:
    used = set()
    for layout in LAYOUTS.glob("*.j2"):
        used.update(re.findall(r'_\("((?:[^"\\]|\\.)*)"', layout.read_text(encoding="utf-8")))
    assert used - set(_msgids()) == set()
    assert {"Dear %(name)s,", "Dear colleague,"} <= set(_msgids())  # the greetings come from render.py


def test_glossary_terms_in_the_footer_reason() -> None:
    reason = next(m for m in _msgids() if m.startswith("You receive this message"))
    terms = {"pl": "społecznie odpowiedzialnych zamówień publicznych", "de": "Sozialwirtschaft",
             "fr": "achats publics socialement responsables", "nl": "maatschappelijk verantwoord inkopen",
             "hu": "társadalmilag felelős közbeszerzés", "sv": "social ekonomi", "el": "κοινωνική οικονομία"}
    for language, term in terms.items():
        assert term in get_translations(language, "emails").ugettext(reason), language
