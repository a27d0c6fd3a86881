"""The style sheets per language and the checks that read them: every shipped file passes, each rule catches a
bad sample, and dates in running text read as each language writes them."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from outreach.campaigns.folder import load_campaign
from outreach.config import Settings
from outreach.countries import BSI_LANGUAGES
from outreach.errors import InputError
from outreach.render.checks import check_campaign
from outreach.render.renderer import jinja_environment
from outreach.render.style import (
    Piece,
    campaign_findings,
    catalog_findings,
    check_pieces,
    document_pieces,
    language_findings,
    layout_findings,
    prose,
)
from outreach.render.stylesheet import load_style, missing_styles, read_style
from outreach.resources import locale_dir

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGNS = ROOT / "campaigns"
DATA = Path(__file__).parent / "data" / "campaigns"


def _catalog_languages() -> list[str]:
    return sorted(d.name for d in locale_dir().iterdir() if (d / "LC_MESSAGES").is_dir())


def _findings(language: str, text: str) -> list[str]:
    style = load_style(language)
    assert style is not None
    body, dates, source = prose(text)
    return [f.message for f in check_pieces(style, [Piece("sample", body, dates, source)])]


def test_every_language_with_catalogs_has_a_style_sheet() -> None:
    languages = _catalog_languages()
    assert set(BSI_LANGUAGES) <= set(languages)
    missing = missing_styles(tuple(languages))
    assert not missing, (f"no style sheet for {', '.join(missing)}: add outreach/locale/<lang>/style.toml "
                         "(address, buttons, labels, dates, typography, glossary — see docs/translation-style.md)")


@pytest.mark.parametrize("language", _catalog_languages())
def test_shipped_catalogs_and_campaigns_follow_the_style_sheet(language: str) -> None:
    findings = catalog_findings(language)
    for folder in sorted(p for p in CAMPAIGNS.iterdir() if (p / f"{language}.md").is_file()):
        findings += language_findings(language, document_pieces(folder / f"{language}.md"))
    assert not findings, "\n".join(f"{f.where}: {f.message}" for f in findings)


def test_shipped_layouts_follow_the_source_style_sheet() -> None:
    findings = layout_findings(ROOT / "templates" / "emails")
    assert not findings, "\n".join(f"{f.where}: {f.message}" for f in findings)


@pytest.mark.parametrize("slug", ["bsi-awareness", "bsi-training"])
def test_shipped_campaigns_have_no_style_warnings_in_campaign_check(settings: Settings, slug: str) -> None:
    campaign = load_campaign(settings, slug)
    findings = [f for language in campaign.languages for f in campaign_findings(campaign, language)]
    assert not findings, "\n".join(f"{f.where}: {f.message}" for f in findings)
    assert slug != "bsi-training" or len(campaign.event) == 15  # the event texts of every country were read


BAD = [
    ("fr", "Lieu : Lyon", "an ordinary space before ':'"),
    ("fr", "Lieu: Lyon", "no space before ':'"),
    ("fr", "Vraiment ?", "an ordinary space before '?'"),
    ("fr", "les «\u00a0clauses sociales »", "« » need a no-break space"),
    ("fr", "de l'économie sociale", "straight apostrophe"),
    ("fr", "Se désabonner", "is not the glossary term"),
    ("it", "Cofinanziato dall'Unione europea", "straight apostrophe"),
    ("it", "Solo me stesso, come persona interessata", "gendered label"),
    ("it", "Iscriviti", "breaks the register (Lei)"),
    ("it", "Aggiungi a Google Calendar", "breaks the register (Lei)"),
    ("it", "Partecipa online", "breaks the register (Lei)"),
    ("it", "Siamo lieti di invitarvi", "breaks the register (Lei)"),
    ("it", "i vostri documenti di gara", "breaks the register (Lei)"),
    ("cs", "Přihlášen k odběru", "gendered label"),
    ("cs", "protože je vaše adresa v seznamu", "breaks the register (Vy)"),
    ("cs", "ve vašem kalendáři", "breaks the register (Vy)"),
    ("sk", "Prihlásený na odber", "gendered label"),
    ("sk", "pretože vaša adresa je v zozname", "breaks the register (Vy)"),
    ("sk", "vo vašom kalendári", "breaks the register (Vy)"),
    ("hr", "Potvrdi", "breaks the register (Vi)"),
    ("hr", "Dodaj u Google kalendar", "breaks the register (Vi)"),
    ("hr", "jer se vaša adresa nalazi", "breaks the register (Vi)"),
    ("hr", "zadrugu, zaštitnu radionicu", "is not the glossary term"),
    ("hr", "koje organizira {{ event.starts | date }}. Mjesto", "a full stop after a date"),
    ("hr", "Poslano %(date)s.", "a full stop after a date"),
    ("hr", 'Datum: {{ event.starts | date("short") }}.', "a full stop after a date"),
    ("lv", "kā pasūtītāji vērtē piedāvājumus", "is not the glossary term"),
    ("lv", "jo jūsu adrese ir iekļauta", "breaks the register (Jūs)"),
    ("lv", "pogu “Apstiprināt”", "is not lv's"),
    ("nl", "voorbehouden aan beschermde werkplaatsen", "is not the glossary term"),
    ("nl", "voor sociale werkbedrijven", "is not the glossary term"),
    ("nl", "Wij nodigen je uit", "breaks the register (u)"),
    ("ro", "Confirmă", "breaks the register (dumneavoastră)"),
    ("ro", "Stimată doamnă, stimate domn,", "gendered label"),
    ("el", "τα νέα του %(organisation)s", "gendered label"),
    ("da", "Undersøg, om I kan komme i betragtning", "breaks the register (du)"),
    ("da", "gennemgå jeres udbudsmateriale", "breaks the register (du)"),
    ("sv", "för att ni ska lära känna varandra", "breaks the register (du)"),
    ("de", "Wir laden dich ein", "breaks the register (Sie)"),
    ("de", "„Bestätigen”", "is not de's"),
    ("en", 'called "social return" here', "straight quotes"),
    ("en", "see the rules..", "double punctuation"),
    ("pl", "Twoja oferta", "breaks the register (Państwo)"),
    ("hu", "Szeretnénk téged meghívni", "breaks the register (Ön"),
]


@pytest.mark.parametrize(("language", "text", "expected"), BAD)
def test_each_rule_catches_a_bad_sample(language: str, text: str, expected: str) -> None:
    findings = _findings(language, text)
    assert any(expected in message for message in findings), findings


GOOD = [
    ("fr", "Lieu\u00a0: Lyon, à 09:30, voir https://bsi.example.org/fr?x=1 et «\u00a0clauses sociales\u00a0»\u202f!"),
    ("fr", "%(label)s\u00a0: %(value)s"),
    ("hu", "Időpont: {{ event.starts | date }}, helyszín: {{ event.venue }}."),
    ("hr", "organizira {{ event.starts | date }} (mjesto održavanja: {{ event.venue }})."),
    ("hr", "Kada se ti ugovori dodjeljuju uz socijalne ciljeve"),
    ("cs", 'dne {{ event.starts | date }}. Místo: {{ event.starts | date("short") }}.'),
    ("cs", "Odběr aktivní. Vaše adresa je v seznamu."),
    ("da", "I dag kan du læse mere."),
    ("it", "La invitiamo a [registrarsi online]({{ event.registration_url }}) il prima possibile."),
    ("en", "Countries have their own words: “clauses d’insertion” in France."),
]


@pytest.mark.parametrize(("language", "text"), GOOD)
def test_correct_text_passes(language: str, text: str) -> None:
    assert _findings(language, text) == []


def test_subject_and_preheader_are_checked_with_their_toml_escapes_resolved(tmp_path: Path) -> None:
    doc = tmp_path / "fr.md"
    doc.write_text('+++\nsubject = "Invitation : \\"journée\\""\npreheader = "Bref."\n+++\nTexte.\n', "utf-8")
    messages = [f"{f.where} {f.message}" for f in language_findings("fr", document_pieces(doc))]
    assert any(m.startswith(f"{doc}:2 an ordinary space") for m in messages), messages
    assert any(m.startswith(f"{doc}:2 straight quotes") for m in messages), messages


def test_campaign_check_reports_style_findings_as_warnings_with_file_and_line(settings: Settings,
                                                                              tmp_path: Path) -> None:
    fixtures = settings.with_overrides(campaigns_dir=tmp_path / "c", templates_dir=DATA / "_layouts")
    shutil.copytree(DATA / "tiny", tmp_path / "c" / "tiny")
    doc = tmp_path / "c" / "tiny" / "de.md"
    lines = doc.read_text("utf-8").splitlines()
    body_start = lines.index("+++", 1) + 1
    lines.insert(body_start, "Wir laden dich herzlich ein.")
    doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = check_campaign(fixtures, None, "tiny")
    found = [i for i in report.issues if "dich" in i.message]
    assert found and found[0].level == "warning", [i.message for i in report.issues]
    assert found[0].where == f"{doc}:{body_start + 1}"


def test_a_malformed_style_sheet_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "style.toml"
    path.write_text('[address]\nform = "Sie"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"style\.toml: not a valid style sheet"):
        read_style(path, "xx")
    path.write_text(path.read_text() + 'capitalised = true\n[buttons]\nmood = "x"\n[dates]\nin_text = "d"\n'
                    'time = "HH:mm"\nmonths = ["a"]\n[typography]\napostrophe = "’"\n', encoding="utf-8")
    with pytest.raises(InputError, match="12 month names"):
        read_style(path, "xx")


# --- dates in running text ---------------------------------------------------------------------------------

COUNTRY = {"hr": "HR", "cs": "CZ", "da": "DK", "fr": "FR", "de": "DE", "el": "GR", "hu": "HU", "it": "IT",
           "en": "IE", "lv": "LV", "nl": "NL", "pl": "PL", "ro": "RO", "sk": "SK", "sv": "SE"}
# The first sentence of the shipped invitation as each reader gets it, with the event of their country.
SENTENCES = {
    "hr": "organizira 9. ožujka 2027. (mjesto održavanja: Konferencijski centar Gornji grad).",
    "cs": "dne 16. března 2027. Místo konání: Konferenční centrum Vltavská brána.",
    "da": "den 18. marts 2027. Sted: Fællesskabets Hus.",
    "fr": "le 23 mars 2027. Lieu\u00a0: Maison de la Coopération.",
    "de": "am 25. März 2027 statt, Veranstaltungsort ist Tagungshaus am Gemeinwohlufer.",
    "el": "στις 6 Απριλίου 2027. Τόπος: Πολιτιστικό Κέντρο «Αλληλεγγύη».",
    "hu": "Időpont: 2027. április 13., helyszín: Összefogás Konferenciaközpont.",
    "it": "il 15 aprile 2027. Sede: Centro congressi Porta Solidale.",
    "en": "on 20 April 2027 at Fairshare Quay Conference Centre.",
    "lv": "kas notiks 2027. gada 22. aprīlī. Norises vieta: Konferenču nams „Kopdarbs”.",
    "nl": "op 11 mei 2027. Locatie: Congreshuis De Verbinding.",
    "pl": "w dniu 13 maja 2027. Miejsce: Centrum Konferencyjne „Wspólnota”.",
    "ro": "pe 18 mai 2027. Locație: Centrul de Conferințe „Împreună”.",
    "sk": "dňa 20. mája 2027. Miesto konania: Kongresové centrum Dunajská brána.",
    "sv": "den 25 maj 2027. Plats: Konferenshuset Gemenskapen.",
}


@pytest.mark.parametrize("language", BSI_LANGUAGES)
def test_invitation_dates_read_as_the_language_writes_them(settings: Settings, language: str) -> None:
    campaign = load_campaign(settings, "bsi-training")
    doc = campaign.document(language)
    env = jinja_environment((), language, False, "body")
    contact = {"name": "Ana", "organisation": "", "kind": "authority", "country": COUNTRY[language]}
    text = env.from_string(doc.body).render(contact=contact, event=campaign.event_for(COUNTRY[language]),
                                            links={"view_url": "https://bsi.example.org/v"})
    first = text.split("\n", 1)[0].replace("**", "")
    assert SENTENCES[language] in first, first
    assert ".." not in first


# Afternoon times prove the 24-hour clock; English is Irish English (day-month-year), never US.
TIMES = {"hr": "16:05", "cs": "16:05", "da": "16.05", "fr": "16:05", "de": "16:05", "el": "16:05", "hu": "16:05",
         "it": "16:05", "en": "16:05", "lv": "16:05", "nl": "16:05", "pl": "16:05", "ro": "16:05", "sk": "16:05",
         "sv": "16:05"}
SHORT = {"hr": "09. 11. 2027.", "cs": "09.11.27", "da": "09.11.2027", "fr": "09/11/2027", "de": "09.11.27",
         "el": "9/11/27", "hu": "2027. 11. 09.", "it": "09/11/27", "en": "09/11/2027", "lv": "09.11.27",
         "nl": "09-11-2027", "pl": "9.11.2027", "ro": "09.11.2027", "sk": "9. 11. 2027", "sv": "2027-11-09"}


@pytest.mark.parametrize("language", BSI_LANGUAGES)
def test_time_and_short_date_filters(language: str) -> None:
    env = jinja_environment((), language, False, "body")
    moment = dt.datetime(2027, 11, 9, 16, 5)
    assert env.from_string("{{ m | time }}").render(m=moment) == TIMES[language]
    assert env.from_string('{{ m | date("short") }}').render(m=moment) == SHORT[language]
    assert "PM" not in env.from_string("{{ m | datetime }}").render(m=moment)


def test_latvian_months_are_locative_in_running_text() -> None:
    env = jinja_environment((), "lv", False, "body")
    months = [env.from_string("{{ d | date }}").render(d=dt.date(2027, m, 1)) for m in range(1, 13)]
    assert months[0] == "2027. gada 1. janvārī" and months[4] == "2027. gada 1. maijā"
    assert all(m.endswith(("ī", "ā")) for m in months), months


def test_english_event_box_is_day_month_year() -> None:
    from outreach.render.renderer import _event_lines

    event = {"starts": dt.datetime(2027, 4, 20, 9, 30), "ends": dt.datetime(2027, 4, 20, 16, 30),
             "timezone": "Europe/Dublin"}
    lines = _event_lines(event, "en")
    assert lines["date"] == "Tuesday 20 April 2027"
    assert lines["time"] == "09:30–16:30"


def test_event_texts_are_checked_in_their_country_language(settings: Settings, tmp_path: Path) -> None:
    shutil.copytree(CAMPAIGNS / "bsi-training", tmp_path / "c" / "bsi-training")
    toml = tmp_path / "c" / "bsi-training" / "campaign.toml"
    original = toml.read_text("utf-8")
    french, english = ("formation\u00a0: achats", '[events.FR.en]\ntitle = "National training day')
    assert french in original and english in original  # the samples below really change the file
    toml.write_text(original.replace(french, "formation : achats")
                    .replace(english, '[events.FR.en]\ntitle = "National \\"training day\\"'), "utf-8")
    campaign = load_campaign(settings.with_overrides(campaigns_dir=tmp_path / "c"), "bsi-training")
    findings = campaign_findings(campaign, "fr")  # the session's own texts ([events.FR], in French)
    assert [f.where for f in findings] == [f"{toml} [events.FR]"], findings
    assert "ordinary space before ':'" in findings[0].message
    findings = campaign_findings(campaign, "en")  # its English texts ([events.FR.en]), by the English sheet
    assert [f.where for f in findings] == [f"{toml} [events.FR.en]"], findings
    assert "straight quotes" in findings[0].message
    assert campaign_findings(campaign, "de") == []  # neither is judged by the German style sheet


def test_archive_sent_on_line_uses_the_running_text_date() -> None:
    from outreach.web.site import _template_environment

    env = _template_environment()
    sent = dt.datetime(2027, 3, 9, 10, 0, tzinfo=dt.UTC)
    assert env.from_string("{{ d|date_in_text('lv') }}").render(d=sent) == "2027. gada 9. martā"
    assert env.from_string("{{ d|date_in_text('en') }}").render(d=sent) == "9 March 2027"
    assert env.from_string("{{ d|date('en') }}").render(d=sent) == "9 March 2027"  # en_IE, not "March 9, 2027"
    archive = (ROOT / "outreach" / "web" / "templates" / "archive.html").read_text("utf-8")
    assert "campaign.sent|date_in_text(lang)" in archive
