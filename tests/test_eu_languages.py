"""The nine EU languages beyond BSI's 15: real catalogs with the right plural rules, names, and the pages in all 24."""

from __future__ import annotations

import re

import pytest

from outreach.countries import (
    BSI_LANGUAGES,
    COUNTRIES,
    EU_LANGUAGES,
    country_name,
    language_name,
    parse_country,
    parse_language,
)
from outreach.render.i18n import catalog_path, check_catalogs, get_translations, missing_report

NEW = ("bg", "es", "et", "fi", "ga", "lt", "mt", "pt", "sl")


def _catalog(language: str, domain: str):
    from babel.messages.pofile import read_po

    with catalog_path(language, domain).open("rb") as handle:
        return read_po(handle, locale=language, domain=domain)


def test_the_24_languages_are_the_15_plus_the_nine() -> None:
    assert len(EU_LANGUAGES) == 24 == len(set(EU_LANGUAGES))
    assert set(EU_LANGUAGES) == set(BSI_LANGUAGES) | set(NEW)
    # every EU member state's languages that are official EU languages are among them
    eu_states = set(COUNTRIES) - {"IS", "LI", "NO"}
    assert {lang for c in eu_states for lang in COUNTRIES[c] if lang != "lb"} <= set(EU_LANGUAGES)


def test_missing_report_names_each_missing_msgid_per_language(tmp_path) -> None:
    for language, body in (("en", 'msgid "Hello"\nmsgstr ""\n\nmsgid "Bye"\nmsgstr ""\n'),
                           ("pt", 'msgid "Hello"\nmsgstr "Olá"\n')):
        path = catalog_path(language, "web", tmp_path)
        path.parent.mkdir(parents=True)
        path.write_text(body, encoding="utf-8")
    statuses = check_catalogs("web", ("en", "pt", "mt"), root=tmp_path)
    report = missing_report(statuses)
    assert "web/pt: 1 missing, 0 fuzzy\n    missing: Bye" in report
    assert "web/mt: no catalog" in report and "web/en" not in report


@pytest.mark.parametrize("language", NEW)
@pytest.mark.parametrize("domain", ["emails", "web"])
def test_new_catalogs_are_real_translations(language: str, domain: str) -> None:
    from babel.messages.plurals import get_plural

    catalog = _catalog(language, domain)
    assert catalog.plural_forms == get_plural(language).plural_forms  # CLDR's rule, as Babel knows it
    translations = get_translations(language, domain)
    msgids = [str(m.id) for m in _catalog("en", domain) if m.id]
    same = [m for m in msgids if translations.ugettext(m) == m and "%(label)s" not in m]
    # Only words that really are the same in the language may stay English ("Newsletter", "Status", "Error:")
    assert len(same) <= 3, same
    for msgid in msgids:
        found = re.findall(r"%\(\w+\)s", translations.ugettext(msgid))
        assert sorted(found) == sorted(re.findall(r"%\(\w+\)s", msgid)), (language, msgid)


PROCUREMENT_TERMS = {  # the directive's term for "contracting authority" and the language's "social economy"
    "bg": ("Възлагащ орган", "социалн"), "es": ("poder adjudicador", "economía social"),
    "et": ("Avaliku sektori hankija", "Sotsiaalmajandus"), "fi": ("Hankintaviranomainen", "Sosiaalitalou"),
    "ga": ("Údarás conarthach", "gheilleagair shóisialta"), "lt": ("Perkančioji organizacija", "Socialinės ekonomikos"),
    "mt": ("Awtorità kontraenti", "ekonomija soċjali"), "pt": ("autoridade adjudicante", "economia social"),
    "sl": ("Javni naročnik", "socialne ekonomije"),
}


@pytest.mark.parametrize("language", NEW)
def test_directive_terms_in_the_role_choices(language: str) -> None:
    translations = get_translations(language, "web")
    authority, social = PROCUREMENT_TERMS[language]
    assert authority in translations.ugettext("A contracting authority (public buyer)")
    assert social.casefold() in translations.ugettext(
        "A social economy organisation (social enterprise, cooperative, sheltered workshop…)").casefold()


def test_country_and_language_names_in_the_new_languages() -> None:
    assert country_name("IE", "ga") == "Éire" and country_name("MT", "mt") == "Malta"
    assert country_name("DE", "es") == "Alemania" and country_name("FI", "fi") == "Suomi"
    assert country_name("BG", "bg") == "България" and country_name("SI", "sl") == "Slovenija"
    assert language_name("ga", "ga") == "Gaeilge" and language_name("mt", "mt") == "Malti"
    assert language_name("lt", "lt") == "lietuvių" and language_name("et", "et") == "eesti"
    assert {parse_language(name) for name in ("Gaeilge", "Malti", "suomi", "português", "slovenščina")} == {
        "ga", "mt", "fi", "pt", "sl"}
    assert parse_country("Eesti") == "EE" and parse_country("Lietuva") == "LT" and parse_country("Éire") == "IE"
    for language in EU_LANGUAGES:
        name = language_name(language, language)
        assert name and name != language, language
