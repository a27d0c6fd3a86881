"""Rendering: the fast per-variant path equals the naive full render, values stay literal and escaped,
layouts are well-formed and localized."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from benchmarks.reference_render import render_full
from outreach.campaigns.folder import load_campaign
from outreach.config import Settings
from outreach.contacts.model import Contact
from outreach.countries import EU_LANGUAGES, country_languages
from outreach.errors import TemplateError
from outreach.render.inline import PremailerInliner
from outreach.render.renderer import Links, Renderer
from outreach.render.slots import esc_text, serialize_attribute

DATA = Path(__file__).parent / "data" / "campaigns"
REPO = Path(__file__).resolve().parent.parent
LINKS = Links("https://news.example.org/unsubscribe/tok-1", "https://news.example.org/preferences/tok-2",
              "https://news.example.org/archive/tiny/pl")
TRICKY = [
    {"name": "<script>alert(1)</script>", "organisation": "Evil & Co <b>"},
    {"name": "{{7*7}}", "organisation": "{% if true %}x{% endif %}"},
    {"name": "Ł\"ódź'&", "organisation": "Spółdzielnia Socjalna „Łączy nas”"},
    {"name": "", "organisation": ""},
    {"name": "**bold** _em_ [x](https://evil.example.com)", "organisation": "# heading\n"},
    {"name": "Μαρία Παπαδοπούλου\xa0", "organisation": "Κοινωνική Συνεταιριστική Επιχείρηση"},
]


@pytest.fixture
def fixtures(settings: Settings) -> Settings:
    return settings.with_overrides(campaigns_dir=DATA, templates_dir=DATA / "_layouts")


def reader(language: str, kind: str, country: str | None = "PL", **fields) -> Contact:
    return Contact(id=7, email="anna@gmina.example.org", kind=kind, country=country, language=language, **fields)


@pytest.mark.parametrize("fields", TRICKY)
@pytest.mark.parametrize("slug", ["tiny", "event"])
def test_fast_path_equals_full_render_for_tricky_values(fixtures: Settings, slug: str, fields: dict) -> None:
    campaign = load_campaign(fixtures, slug)
    renderer = Renderer(fixtures, campaign)
    for language in campaign.languages:
        for kind in ("authority", "supplier", "other"):
            for country in ("PL", "IE"):
                person = reader(language, kind, country, **fields)
                fast = renderer.variant(language, kind).render(person, LINKS)
                assert fast == render_full(fixtures, campaign, language, kind, person, LINKS)


def test_values_appear_literally_and_escaped(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "tiny")
    person = reader("en", "authority", name="<script>alert(1)</script>", organisation="{{7*7}} & Ł\"ódź'")
    out = Renderer(fixtures, campaign).variant("en", "authority").render(person, LINKS)
    assert "<script>alert" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    tree = lxml.html.fromstring(out.html)
    text = tree.text_content()
    assert "{{7*7}} & Ł\"ódź'" in text and "49" not in text
    assert "<script>alert(1)</script>" in out.text  # the text part shows the value as written
    assert "{{7*7}} & Ł\"ódź'" in out.text


def test_contact_values_are_not_markdown(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "tiny")
    person = reader("en", "supplier", organisation="**bold** [x](https://evil.example.com)")
    out = Renderer(fixtures, campaign).variant("en", "supplier").render(person, LINKS)
    assert "<strong>**bold**" in out.html  # the body's own ** … ** is Markdown; the value inside is not
    assert "evil.example.com" not in " ".join(a.get("href", "") for a in lxml.html.fromstring(out.html).iter("a"))


def test_structure_of_the_html_part(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "tiny")
    out = Renderer(fixtures, campaign).variant("pl", "authority").render(
        reader("pl", "authority", name="Anna Kowalska"), LINKS)
    tree = lxml.html.fromstring(out.html)
    assert tree.get("lang") == "pl"
    tables = tree.findall(".//table")
    assert tables and all(t.get("role") == "presentation" for t in tables)
    assert tree.find(".//style") is None or "@media" in tree.find(".//style").text  # only what cannot be inlined
    assert "color:" in tree.find(".//h2").get("style")  # CSS inlined
    assert "display:none" in tree.find(".//div[@class='preheader']").get("style")
    assert tree.find(".//div[@class='preheader']").text == "Krótko i bezpiecznie."
    hrefs = [a.get("href") for a in tree.iter("a")]
    assert LINKS.unsubscribe_url in hrefs and LINKS.preferences_url in hrefs and LINKS.view_url in hrefs
    text = tree.text_content()
    assert "Dzień dobry, Anna Kowalska," in text
    assert "Wypisz się" in text and "Współfinansowane przez Unię Europejską" in text
    assert "Rue de l'Exemple 1, 1000 Bruxelles, Belgium" in text
    assert "Dla instytucji zamawiających" in text and "Dla dostawców" not in text


def test_text_part_is_readable_prose(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "tiny")
    out = Renderer(fixtures, campaign).variant("en", "supplier").render(
        reader("en", "supplier", country="IE", organisation="Coop"), LINKS)
    assert "Dear colleague," in out.text
    assert "For social-economy suppliers\n----------------------------" in out.text
    assert "- Bid for reserved contracts.\n- Talk to buyers early.\n" in out.text
    assert f"Read online ({LINKS.view_url})" in out.text
    assert "the project (https://bsi.example.eu/a?b=1&c=2)" in out.text
    assert "Hello from Coop's campaign." in out.text
    assert f"Unsubscribe: {LINKS.unsubscribe_url}" in out.text
    assert "{%" not in out.text and "\n\n\n" not in out.text and "<" not in out.text


def test_invitation_event_box_is_localized(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "event")
    renderer = Renderer(fixtures, campaign)
    pl = renderer.variant("pl", "authority").render(reader("pl", "authority", "PL"), LINKS)
    text = lxml.html.fromstring(pl.html).text_content()
    assert "czwartek, 18 marca 2027" in text and "09:30–16:00" in text
    assert "Centrum Konferencyjne Przykład" in text and "czas środkowoeuropejski" in text
    assert "Kiedy" in text and "Gdzie" in text and "Zarejestruj się" in text
    assert "18 marca 2027 09:30" in text  # {{ event.starts | datetime }} in the body
    button = next(a for a in lxml.html.fromstring(pl.html).iter("a") if a.text == "Zarejestruj się")
    assert button.get("href") == "https://bsi.example.eu/pl/training?from=mail&x=%C5%BC"
    en = renderer.variant("en", "supplier").render(reader("en", "supplier", "IE"), LINKS)
    # An Irish reader gets day-month-year and a 24-hour clock (en_IE), never "Thursday, April 22, 2027, 9:30 AM".
    assert "Thursday 22 April 2027" in en.text and "Example Conference Centre" in en.text
    assert "April 22" not in en.text and " AM" not in en.text
    assert "Why attend: meet the buyers." in en.text and "When: " in en.text


def test_greeting_without_a_name_in_every_language(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "tiny")
    from outreach.render.renderer import _greeting

    greetings = {language: _greeting(language)({"name": ""}) for language in EU_LANGUAGES}
    assert greetings["en"] == "Dear colleague,"
    assert greetings["de"] == "Sehr geehrte Damen und Herren,"
    assert len(set(greetings.values())) >= 22  # really translated
    out = Renderer(fixtures, campaign).variant("de", "other").render(reader("de", "other"), LINKS)
    assert "Sehr geehrte Damen und Herren," in out.text


def test_sandbox_refuses_private_attributes(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "sandbox")
    with pytest.raises(TemplateError, match="unsafe"):
        Renderer(fixtures, campaign).variant("en", "other").render(reader("en", "other"), LINKS)


def test_undefined_variable_is_an_error_naming_the_file(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "undefined-variable")
    with pytest.raises(TemplateError, match=r"undefined-variable/en\.md.*organisaton") as raised:
        Renderer(fixtures, campaign).variant("en", "other").render(reader("en", "other"), LINKS)
    assert "no field 'organisaton' — did you mean 'organisation'?" in raised.value.message
    assert "dict object" not in raised.value.message


def test_undefined_field_with_nothing_close_lists_the_fields() -> None:
    from jinja2 import StrictUndefined
    from jinja2.exceptions import UndefinedError
    from jinja2.sandbox import SandboxedEnvironment

    from outreach.render.undefined import SuggestingUndefined

    template = SandboxedEnvironment(undefined=SuggestingUndefined).from_string("{{ contact.xyz }}")
    with pytest.raises(UndefinedError, match=r"^no field 'xyz' \(there are: name, organisation\)$"):
        template.render(contact={"organisation": "Grad", "name": "Ana"})
    with pytest.raises(UndefinedError, match="'nobody' is undefined"):  # top-level names: as Jinja says it
        SandboxedEnvironment(undefined=SuggestingUndefined).from_string("{{ nobody }}").render()
    assert issubclass(SuggestingUndefined, StrictUndefined)


def test_syntax_error_names_file_and_line(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "syntax-error")
    with pytest.raises(TemplateError, match=r"syntax-error/en\.md:9: "):
        Renderer(fixtures, campaign).variant("en", "other").render(reader("en", "other"), LINKS)


def test_layout_may_not_test_personal_values(fixtures: Settings, tmp_path: Path) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "base.html.j2").write_text("<html><body>{% if contact.name %}x{% endif %}{{ body }}</body></html>")
    (layouts / "base.txt.j2").write_text("{{ body }}")
    settings = fixtures.with_overrides(templates_dir=layouts)
    campaign = load_campaign(settings, "tiny")
    with pytest.raises(TemplateError, match=r"layout tested contact\.name"):
        Renderer(settings, campaign).variant("en", "other").render(reader("en", "other"), LINKS)


def test_variant_is_built_once(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "tiny")
    calls = []
    premailer = PremailerInliner.for_settings(fixtures)

    class CountingInliner:
        def inline(self, html: str) -> str:
            calls.append(1)
            return premailer.inline(html)

    renderer = Renderer(fixtures, campaign, CountingInliner())
    variant = renderer.variant("pl", "authority")
    for index in range(20):
        variant.render(reader("pl", "authority", name=f"Osoba {index}"), LINKS)
    assert len(calls) == 1
    assert renderer.variant("pl", "authority") is variant


def test_web_version_has_no_personal_data(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "event")
    page = Renderer(fixtures, campaign).web_version("pl")
    tree = lxml.html.fromstring(page)
    assert tree.get("lang") == "pl"
    text = tree.text_content()
    assert "Wypisz się" not in text and "Szanowni Państwo" not in text and "unsubscribe" not in page
    assert "Dzień szkoleniowy" in text and "czwartek, 18 marca 2027" in text


@pytest.mark.parametrize("slug", ["tiny", "event"])
def test_web_version_equals_the_full_render_of_the_web_page(fixtures: Settings, slug: str) -> None:
    from outreach.mail.tokens import archive_url, public_link

    campaign = load_campaign(fixtures, slug)
    renderer = Renderer(fixtures, campaign)
    home = public_link(fixtures, "")
    for language in campaign.languages:
        country = next((c for c in sorted(campaign.event) if language in country_languages(c)), None)
        person = Contact(id=0, email="", kind="other", country=country, language=language)
        links = Links(home, home, archive_url(fixtures, campaign.slug, language))
        full = render_full(fixtures, campaign, language, "other", person, links, web_version=True)
        assert renderer.web_version(language) == full.html


# --- the escaping functions agree with what premailer/lxml write -----------------------------------------------

def _lxml_roundtrip(fragment: str) -> str:
    from premailer import Premailer

    out = Premailer(f"<html><body>{fragment}</body></html>", disable_validation=True, allow_network=False,
                    cssutils_logging_level=50).transform()
    return re.search(r"<body>(.*)</body>", out, re.S).group(1)  # type: ignore[union-attr]


text_values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30) | st.sampled_from(
    ['a"b', "a'b", 'a"b\'c', ' lead', "Ł\"ódź'&", "ż ż", "&amp;", ""])


@hsettings(max_examples=80, deadline=None)
@given(text_values)
def test_escaping_matches_lxml(value: str) -> None:
    from markupsafe import escape

    assert _lxml_roundtrip(f"<p>{escape(value)}</p>") == f"<p>{esc_text(value)}</p>"
    for tag, name in (("p", "title"), ("a", "href"), ("span", "src"), ("a", "name"), ("p", "name")):
        assert _lxml_roundtrip(f'<{tag} {name}="{escape(value)}">t</{tag}>') == \
            f"<{tag} {serialize_attribute(tag, name, value)}>t</{tag}>", name


def test_values_inside_attributes_match_the_reference(fixtures: Settings, tmp_path: Path) -> None:
    """A value in an attribute can change how lxml quotes the whole attribute; both paths must agree."""
    import shutil

    shutil.copytree(DATA / "tiny", tmp_path / "c" / "tiny")
    (tmp_path / "c" / "tiny" / "en.md").write_text(
        '+++\nsubject = "S"\n+++\n[Ask]({{ links.view_url }}?who={{ contact.name }}&org={{ contact.organisation }})'
        ' <abbr title="{{ contact.organisation }} of {{ contact.country }}">x</abbr>\n', encoding="utf-8")
    configured = fixtures.with_overrides(campaigns_dir=tmp_path / "c")
    campaign = load_campaign(configured, "tiny")
    renderer = Renderer(configured, campaign)
    for fields in [*TRICKY, {"name": 'Jan "Kowal"', "organisation": 'Spółdzielnia "Razem"'},
                   {"name": " Ana ", "organisation": "O'Brien & Co"}]:
        person = reader("en", "other", "IE", **fields)
        fast = renderer.variant("en", "other").render(person, LINKS)
        assert fast == render_full(configured, campaign, "en", "other", person, LINKS), fields


def test_every_eu_language_renders(settings: Settings, fixtures: Settings, tmp_path: Path) -> None:
    """A campaign in all 24 EU languages renders each with its own lang, greeting and footer (the layouts speak
    all 24, although the shipped campaigns stay in the 15 BSI languages)."""
    import shutil

    folder = tmp_path / "c" / "all"
    shutil.copytree(DATA / "tiny", folder)
    for language in EU_LANGUAGES:
        (folder / f"{language}.md").write_text('+++\nsubject = "S"\npreheader = "P"\n+++\nBody.\n', encoding="utf-8")
    configured = fixtures.with_overrides(campaigns_dir=tmp_path / "c")
    campaign = load_campaign(configured, "all")
    renderer = Renderer(configured, campaign)
    footers = set()
    for language in EU_LANGUAGES:
        out = renderer.variant(language, "authority").render(reader(language, "authority", name="N. N."), LINKS)
        assert f'<html lang="{language}"' in out.html
        footers.add(out.text.strip().splitlines()[-1])
    assert len(footers) == 24  # the funding statement exists in every language


def test_javascript_links_in_a_body_are_not_links(fixtures: Settings, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(DATA / "tiny", tmp_path / "c" / "tiny")
    (tmp_path / "c" / "tiny" / "en.md").write_text(
        '+++\nsubject = "S"\n+++\n[click](javascript:alert(1)) <a href="https://ok.example.org/">ok</a>\n')
    configured = fixtures.with_overrides(campaigns_dir=tmp_path / "c")
    out = Renderer(configured, load_campaign(configured, "tiny")).variant("en", "other").render(
        reader("en", "other"), LINKS)
    assert "javascript:" not in " ".join(a.get("href", "") for a in lxml.html.fromstring(out.html).iter("a"))


# --- the shipped example campaigns: every variant, fast path == reference -------------------------------------

EXAMPLE_READERS = [{"name": "<script>alert('x')</script> {{7*7}} Ł\"ódź'&", "organisation": "{% raw %}&amp;"},
                   {"name": "", "organisation": ""}]


@pytest.mark.parametrize("slug", ["bsi-awareness", "bsi-training"])
def test_example_campaigns_every_variant_equals_full_render(settings: Settings, slug: str) -> None:
    from outreach.countries import country_languages

    campaign = load_campaign(settings, slug)
    assert len(campaign.languages) == 15
    renderer = Renderer(settings, campaign)
    kinds = [*campaign.audience.kinds, "other"] if "other" not in campaign.audience.kinds else campaign.audience.kinds
    checked = 0
    for language in campaign.languages:
        countries = [c for c in sorted(campaign.event) if language in country_languages(c)] or ["PL"]
        for kind in kinds:
            for country in countries:
                for fields in EXAMPLE_READERS:
                    person = reader(language, kind, country, **fields)
                    fast = renderer.variant(language, kind).render(person, LINKS)
                    assert fast == render_full(settings, campaign, language, kind, person, LINKS), \
                        (language, kind, country)
                    checked += 1
                tree = lxml.html.fromstring(fast.html)
                assert tree.get("lang") == language
                assert "style=" in fast.html and tree.find(".//h2") is not None
                assert {LINKS.unsubscribe_url, LINKS.view_url} <= {a.get("href") for a in tree.iter("a")}
                assert LINKS.unsubscribe_url in fast.text and fast.subject and fast.preheader
                assert "<script>" not in fast.html and "{%" not in fast.text and "{{" not in fast.html
    assert checked >= 15 * len(kinds) * 2


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _style(element, prop: str) -> str | None:
    while element is not None:
        match = re.search(rf"(?:^|;)\s*{prop}\s*:\s*(#[0-9a-fA-F]{{3,6}})", element.get("style") or "")
        if match:
            return match.group(1)
        element = element.getparent()
    return None


@pytest.mark.parametrize("slug", ["tiny", "event"])
def test_text_contrast_is_at_least_4_5(fixtures: Settings, slug: str) -> None:
    """WCAG AA: every element with text has a colour/background pair of contrast ≥ 4.5:1 (inline styles)."""
    campaign = load_campaign(fixtures, slug)
    out = Renderer(fixtures, campaign).variant(campaign.source_language, "authority").render(
        reader(campaign.source_language, "authority", "PL"), LINKS)
    checked = 0
    for element in lxml.html.fromstring(out.html).iter():
        if not isinstance(element.tag, str) or not (element.text or "").strip() or element.tag in ("title", "style"):
            continue
        if "display:none" in (element.get("style") or ""):
            continue
        colour, background = _style(element, "color"), _style(element, "background-color")
        assert colour and background, element.tag
        light, dark = sorted((_luminance(colour), _luminance(background)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (element.tag, colour, background, element.text)
        checked += 1
    assert checked > 10


# --- property: any body built from Markdown, Jinja and awkward characters renders the same both ways ----------

_WORDS = st.text(alphabet=st.sampled_from(list("abcz ĄŁżé&\"'*_.!1-")), min_size=1, max_size=10)
_EXPRESSIONS = st.sampled_from(["{{ contact.name }}", "{{ contact.organisation }}", "{{ contact.country }}",
                                "{{ links.view_url }}", "{{ contact.name | upper }}", "{{- contact.kind }}",
                                " 1 < 2 ", " 2 > 1 ", "{% if contact.name %}(named){% endif %}"])
_INLINE = st.lists(st.one_of(_WORDS, _EXPRESSIONS, _WORDS.map(lambda w: f"*{w}*")), min_size=1, max_size=5).map(
    "".join)
_LINK = st.tuples(_WORDS, st.sampled_from(["{{ links.view_url }}", "https://bsi.example.eu/a?b=1&c=\"2\"",
                                           "{{ links.view_url }}?o={{ contact.organisation }}"])).map(
    lambda t: f"[{t[0].strip() or 'x'}]({t[1]})")
_BLOCK = st.one_of(
    _INLINE, _INLINE.map(lambda s: "## " + s), _LINK, _INLINE.map(lambda s: "> " + s),
    st.lists(_INLINE, min_size=1, max_size=3).map(lambda items: "\n".join("- " + i for i in items)),
    st.lists(_INLINE, min_size=1, max_size=3).map(lambda xs: "\n".join(f"{n + 1}. {x}" for n, x in enumerate(xs))),
    st.tuples(_INLINE, _INLINE).map(lambda t: f"| a | b |\n|---|---|\n| {t[0]} | {t[1]} |"),
    st.tuples(_INLINE, _INLINE).map(lambda t: f"- {t[0]}\n  - {t[1]}"),
    st.tuples(_INLINE, _INLINE).map(lambda t: f"- {t[0]}\n\n- {t[1]}"),
    _INLINE.map(lambda s: f"`{s}` and {s}  \nnext"),
    _INLINE.map(lambda s: f'<div class="x">{s}</div>'),
    _INLINE.map(lambda s: f"![{s}](https://img.example.org/a.png)"))
_CONDITIONAL = st.tuples(_BLOCK, _BLOCK, st.sampled_from(['contact.kind == "authority"', "contact.name",
                                                          'contact.country == "PL"'])).map(
    lambda t: f"{{% if {t[2]} %}}\n{t[0]}\n{{% else %}}\n{t[1]}\n{{% endif %}}")
_BODY = st.lists(st.one_of(_BLOCK, _CONDITIONAL), min_size=1, max_size=5).map("\n\n".join)
_PEOPLE = st.fixed_dictionaries({"name": st.sampled_from(["", "Anna", "<b>&\"'{{7*7}}", 'Jan "Kowal"']),
                                 "organisation": st.sampled_from(["", "O'Brien & Co", "{% raw %}", "Ł\"ódź'&"]),
                                 "kind": st.sampled_from(["authority", "supplier"]),
                                 "country": st.sampled_from(["PL", "IE"])})


@hsettings(max_examples=60, deadline=None)
@given(body=_BODY, person=_PEOPLE)
@example(body="{{- contact.kind }}", person={"name": "", "organisation": "", "kind": "authority", "country": "PL"})
@example(body='{% if contact.kind == "authority" %}\n## A\n{% else %}\n<div class="x">1</div>\n{% endif %}',
         person={"name": "", "organisation": "", "kind": "authority", "country": "PL"})
@example(body="![a {{- contact.kind }}{% if contact.name %}(named){% endif %}](https://img.example.org/a.png)",
         person={"name": 'A"b', "organisation": "", "kind": "authority", "country": "PL"})
@example(body="- *1*{{ contact.name }}", person={"name": "", "organisation": "", "kind": "authority",
                                                 "country": "PL"})
@example(body="1\n\n## {{ contact.name }}", person={"name": "", "organisation": "", "kind": "supplier",
                                                    "country": "IE"})
def test_any_body_renders_identically_both_ways(body: str, person: dict) -> None:
    import tempfile

    settings = Settings.from_env({"OUTREACH_FROM": "BSI <news@bsi.example.org>", "OUTREACH_ORGANISATION": "BSI",
                                  "OUTREACH_POSTAL_ADDRESS": "Rue 1, Bruxelles",
                                  "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails")})
    with tempfile.TemporaryDirectory() as folder:
        campaign_dir = Path(folder) / "c" / "p"
        campaign_dir.mkdir(parents=True)
        (campaign_dir / "campaign.toml").write_text('name = "P"\n', encoding="utf-8")
        (campaign_dir / "en.md").write_text(f'+++\nsubject = "S"\n+++\n{body}\n', encoding="utf-8")
        configured = settings.with_overrides(campaigns_dir=Path(folder) / "c")
        campaign = load_campaign(configured, "p")
        contact = Contact(id=3, email="p@example.org", name=person["name"], organisation=person["organisation"],
                          kind=person["kind"], country=person["country"], language="en")
        fast = Renderer(configured, campaign).variant("en", person["kind"]).render(contact, LINKS)
        assert fast == render_full(configured, campaign, "en", person["kind"], contact, LINKS)
