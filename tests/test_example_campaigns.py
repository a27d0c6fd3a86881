"""Structural checks of the two shipped example campaigns, independent of the rendering engine.

They guard what a translator or an expert editing `campaigns/bsi-*` can break: a missing language, front
matter without a subject or with a stale `translated_from`, an unbalanced `{% if %}`, a kind section lost
in translation, the legal term of the country replaced by a loose paraphrase, placeholder text, a link to a
real domain, an event outside the spring 2027 window, a brochure that is not a valid PDF.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import tomllib
import zoneinfo
from pathlib import Path

import pytest
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from outreach.countries import BSI_COUNTRIES, BSI_LANGUAGES
from outreach.models import Kind

CAMPAIGNS = Path(__file__).resolve().parent.parent / "campaigns"
SLUGS = ("bsi-awareness", "bsi-training")
LAYOUTS = {"bsi-awareness": "newsletter", "bsi-training": "invitation"}
SOURCE = "en"
# Words one recipient reads (shared text plus their kind's section); agglutinative Hungarian and Latvian
# need fewer words for the same content (Hungarian: ~200 where English has ~240), hence the lower floor.
WORDS = {"bsi-awareness": (400, 620), "bsi-training": (180, 380)}

# The social-economy vocabulary of each language's law (GLOSSARY.md), as stems so inflected forms count.
SOCIAL_ECONOMY = {
    "en": r"social[- ]econom|social enterprise", "cs": r"sociální\w* ekonomik|sociální\w* podnik",
    "da": r"socialøkonomi", "de": r"sozialwirtschaft|sozialunternehm",
    "el": r"κοινωνικ\w* οικονομ|κοινωνικ\w* επιχειρ", "fr": r"économie sociale|entreprises? sociales?",
    "hr": r"socijaln\w* ekonomij|društven\w* poduzeć", "hu": r"szociális gazdaság|társadalmi vállalkoz",
    "it": r"economia sociale|impres[ae] social[ei]", "lv": r"sociāl\w* ekonomik|sociāl\w* uzņēm",
    "nl": r"sociale economie|sociale ondernem", "pl": r"ekonomi\w* społeczn|przedsiębiorstw\w* społeczn",
    "ro": r"economi\w* social|întreprinder\w* social", "sk": r"sociáln\w* ekonomik|sociáln\w* podnik",
    "sv": r"social\w* ekonomi|social\w* företag",
}
CONTRACTING_AUTHORITY = {
    "en": r"contracting authorit", "cs": r"veřejn\w* zadavatel", "da": r"ordregivende myndighed",
    "de": r"öffentliche\w* auftraggeber", "el": r"αναθέτουσ\w* αρχ", "fr": r"pouvoirs? adjudicateurs?",
    "hr": r"javn\w* naručitelj", "hu": r"ajánlatkérő", "it": r"amministrazion\w* aggiudicatric",
    "lv": r"līgumslēdzēj\w* iestād", "nl": r"aanbestedende dienst", "pl": r"instytucj\w* zamawiając",
    "ro": r"autorit\w* contractant", "sk": r"verejn\w* obstarávate", "sv": r"upphandlande myndighet",
}
TIMEZONES = {
    "HR": "Europe/Zagreb", "CZ": "Europe/Prague", "DK": "Europe/Copenhagen", "FR": "Europe/Paris",
    "DE": "Europe/Berlin", "GR": "Europe/Athens", "HU": "Europe/Budapest", "IT": "Europe/Rome",
    "IE": "Europe/Dublin", "LV": "Europe/Riga", "NL": "Europe/Amsterdam", "PL": "Europe/Warsaw",
    "RO": "Europe/Bucharest", "SK": "Europe/Bratislava", "SE": "Europe/Stockholm",
}
KIND_TAGS = ['{% if contact.kind == "authority" %}', '{% elif contact.kind == "supplier" %}', "{% else %}",
             "{% endif %}"]
PLACEHOLDER = re.compile(r"\b(lorem|ipsum|todo|fixme|tbd)\b|XXX|\?\?\?|\[\s*\.\.\.\s*\]", re.IGNORECASE)
URL = re.compile(r"\b(?:https?|ftp)://([^/\s\"'<>)\]]+)")
EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def reserved(host: str) -> bool:
    """RFC 2606/6761 names: example.org/.com/.net and their subdomains, or anything under .example."""
    host = host.lower().rstrip(".").split(":")[0]
    return host.endswith(".example") or any(host == d or host.endswith("." + d)
                                            for d in ("example.org", "example.com", "example.net"))


def revision(path: Path) -> str:
    """The source revision a translation records: sha256 of en.md's bytes, first 12 hex digits."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def split(path: Path) -> tuple[dict, str]:
    """(front matter, body) of a language file; fails the test with the file name when malformed."""
    text = path.read_text("utf-8")
    assert text.startswith("+++\n"), f"{path}: must start with a '+++' line"
    front, sep, body = text[4:].partition("\n+++\n")
    assert sep, f"{path}: front matter is not closed by a '+++' line"
    return tomllib.loads(front), body


def files() -> list[tuple[str, str]]:
    return [(slug, lang) for slug in SLUGS for lang in BSI_LANGUAGES]


def config(slug: str) -> dict:
    with (CAMPAIGNS / slug / "campaign.toml").open("rb") as handle:
        return tomllib.load(handle)


def environment() -> SandboxedEnvironment:
    """A sandbox like the engine's, with its date filters stubbed (no locale needed here)."""
    env = SandboxedEnvironment(autoescape=False)
    env.filters["date"] = env.filters["datetime"] = lambda value: value.strftime("%d.%m.%Y")
    return env


def render(body: str, kind: str) -> str:
    """The body as one recipient of `kind` reads it (event values stubbed)."""
    env = environment()
    event = {"title": "Training day", "venue": "Venue", "address": "Address",
             "starts": dt.datetime(2027, 3, 18, 9, 30), "ends": dt.datetime(2027, 3, 18, 16),
             "registration_url": "https://bsi.example.org/pl/training"}
    return env.from_string(body).render(contact={"kind": kind, "name": "Ana"}, event=event,
                                        links={"view_url": "https://bsi.example.org/v"})


@pytest.mark.parametrize("slug", SLUGS)
def test_campaign_has_exactly_the_15_languages(slug: str) -> None:
    present = {p.stem for p in (CAMPAIGNS / slug).glob("*.md")}
    expected = set(BSI_LANGUAGES)
    assert present == expected, f"missing {expected - present}, extra {present - expected}"


@pytest.mark.parametrize("slug", SLUGS)
def test_campaign_toml(slug: str) -> None:
    conf = config(slug)
    assert conf["name"].strip()
    assert conf["layout"] == LAYOUTS[slug]
    assert conf["source_language"] == SOURCE
    assert conf["fallback"] == "source"
    kinds = conf["audience"]["kinds"]
    assert {"authority", "supplier"} <= set(kinds) <= {k.value for k in Kind}


@pytest.mark.parametrize(("slug", "lang"), files())
def test_front_matter(slug: str, lang: str) -> None:
    front, body = split(CAMPAIGNS / slug / f"{lang}.md")
    subject, preheader = front.get("subject"), front.get("preheader")
    assert isinstance(subject, str) and subject.strip() and "\n" not in subject
    assert len(subject) <= 78, f"subject has {len(subject)} characters: {subject!r}"
    assert isinstance(preheader, str) and preheader.strip() and "\n" not in preheader
    assert len(preheader) <= 140, f"preheader has {len(preheader)} characters"
    assert set(front) <= {"subject", "preheader", "name", "translated_from"}, f"unknown keys {set(front)}"
    assert body.strip()


@pytest.mark.parametrize(("slug", "lang"), files())
def test_translation_records_the_current_source_revision(slug: str, lang: str) -> None:
    front, _ = split(CAMPAIGNS / slug / f"{lang}.md")
    if lang == SOURCE:
        assert "translated_from" not in front, "the source file records no translated_from"
    elif isinstance(front.get("translated_from"), dict):  # per segment, as `outreach campaign pin` writes it
        from outreach.campaigns.folder import load_campaign
        from outreach.campaigns.revisions import changed_segments
        from outreach.config import Settings

        campaign = load_campaign(Settings(campaigns_dir=CAMPAIGNS), slug)
        changed = [segment.describe() for segment in changed_segments(campaign, lang) or []]
        assert not changed, f"{slug}/{lang}.md: changed in {SOURCE}.md since translated: {changed}"
    else:
        assert front.get("translated_from") == revision(CAMPAIGNS / slug / f"{SOURCE}.md"), (
            f"{slug}/{lang}.md was translated from another revision of {SOURCE}.md: update the text and "
            "translated_from")


@pytest.mark.parametrize(("slug", "lang"), files())
def test_body_has_both_kind_sections_in_balanced_blocks(slug: str, lang: str) -> None:
    _, body = split(CAMPAIGNS / slug / f"{lang}.md")
    lines = body.splitlines()
    for number, line in enumerate(lines, 1):
        if "{%" in line:
            assert re.fullmatch(r"\{% [^%]+ %\}", line), f"line {number}: a block tag must stand alone: {line!r}"
    tags = [line for line in lines if line.startswith("{%")]
    assert tags == KIND_TAGS, f"expected the if/elif/else/endif kind pattern, found {tags}"
    assert not re.search(r"^# ", body, re.M), "use ## and ### headings; the layout owns the title"
    # Each branch has its own heading and real prose, and the recipients of each kind read different text.
    start = [lines.index(tag) for tag in KIND_TAGS]
    for a, b in itertools.pairwise(start):
        branch = lines[a + 1:b]
        assert any(line.startswith("##") for line in branch), f"branch after {lines[a]!r} has no heading"
        assert len(" ".join(branch).split()) >= 15, f"branch after {lines[a]!r} is too short"
    texts = {kind: render(body, kind) for kind in ("authority", "supplier", "subscriber")}
    assert len(set(texts.values())) == 3


@pytest.mark.parametrize(("slug", "lang"), files())
def test_body_uses_only_known_variables_and_fits_the_length(slug: str, lang: str) -> None:
    _, body = split(CAMPAIGNS / slug / f"{lang}.md")
    env = environment()
    assert meta.find_undeclared_variables(env.parse(body)) <= {"contact", "event", "links"}
    low, high = WORDS[slug]
    for kind in ("authority", "supplier"):
        words = len(render(body, kind).split())
        assert low <= words <= high, f"{kind} reads {words} words, expected {low}–{high}"


@pytest.mark.parametrize(("slug", "lang"), files())
def test_glossary_terms_of_the_language(slug: str, lang: str) -> None:
    text = (CAMPAIGNS / slug / f"{lang}.md").read_text("utf-8").lower()
    assert re.search(SOCIAL_ECONOMY[lang], text), f"no social economy / social enterprise term in {lang}"
    assert re.search(CONTRACTING_AUTHORITY[lang], text), f"no contracting-authority term in {lang}"
    assert "Buying for Social Impact" in (CAMPAIGNS / slug / f"{lang}.md").read_text("utf-8")


@pytest.mark.parametrize(("slug", "lang"), files())
def test_no_placeholder_text(slug: str, lang: str) -> None:
    text = (CAMPAIGNS / slug / f"{lang}.md").read_text("utf-8")
    found = PLACEHOLDER.search(text)
    assert found is None, f"placeholder {found.group(0)!r} in {slug}/{lang}.md"


@pytest.mark.parametrize("slug", SLUGS)
def test_links_and_addresses_use_reserved_domains_only(slug: str) -> None:
    for path in [*sorted((CAMPAIGNS / slug).glob("*.md")), CAMPAIGNS / slug / "campaign.toml"]:
        text = path.read_text("utf-8")
        for host in URL.findall(text) + EMAIL.findall(text):
            assert reserved(host), f"{path.name}: {host} is not a reserved example domain"
        for target in re.findall(r"\]\(([^)]*)\)", text):
            assert target.startswith("https://") or target == "{{ event.registration_url }}", (
                f"{path.name}: link target {target!r} is not an absolute https URL")


def test_reserved_domain_rule() -> None:
    assert reserved("bsi.example.org") and reserved("example.com") and reserved("news.bsi.example")
    assert not reserved("example.eu") and not reserved("bsi.example.eu") and not reserved("notexample.org")


def test_training_has_one_spring_2027_event_per_bsi_country() -> None:
    events = config("bsi-training")["events"]
    assert set(events) == set(BSI_COUNTRIES)
    for country, event in events.items():
        starts, ends = event["starts"], event["ends"]
        assert isinstance(starts, dt.datetime) and isinstance(ends, dt.datetime), country
        assert starts.tzinfo is None and ends.tzinfo is None, f"{country}: local times; the zone is 'timezone'"
        assert starts.date() == ends.date() and starts < ends, country
        assert dt.date(2027, 3, 1) <= starts.date() <= dt.date(2027, 5, 31), country
        assert starts.weekday() < 5, f"{country}: {starts:%A}"
        assert 8 <= starts.hour <= 10 and 15 <= ends.hour <= 18, f"{country}: {starts:%H:%M}–{ends:%H:%M}"
        assert event["timezone"] == TIMEZONES[country]
        zoneinfo.ZoneInfo(event["timezone"])
        # outreach registers (the invitation's "I will attend" links, /events/bsi-training/<CC>): no outside page
        assert "registration_url" not in event, country
        assert event["capacity"] > 0 and event["registration_deadline"] < starts.date(), country
        for key in ("title", "venue", "address"):
            assert isinstance(event[key], str) and event[key].strip(), f"{country}: {key}"
    # The title is in the country's language: its glossary term for socially responsible procurement.
    assert "zamówienia publiczne" in events["PL"]["title"]
    assert "κοινωνικά υπεύθυνες" in events["GR"]["title"]
    assert "socially responsible" in events["IE"]["title"]


def _check_pdf(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-1."), f"{path.name}: no PDF header"
    assert data.rstrip().endswith(b"%%EOF"), f"{path.name}: no %%EOF trailer"
    assert len(data) < 200_000, f"{path.name}: {len(data)} bytes"
    # The cross-reference table points at the objects it lists.
    xref = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    assert data[xref:xref + 4] == b"xref"
    count = int(re.match(rb"xref\s+0 (\d+)", data[xref:]).group(1))
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf])", data[xref:])[:count]
    assert len(entries) == count and entries[0][2] == b"f"
    for number, (offset, _gen, kind) in enumerate(entries):
        if kind == b"n":
            assert data[int(offset):].startswith(b"%d 0 obj" % number), f"{path.name}: xref entry {number}"
    assert b"/Type /Page " in data and b"/FontFile2" in data


def test_brochures_exist_for_every_language_and_are_valid_pdfs() -> None:
    attachments = config("bsi-awareness")["attachments"]
    assert set(attachments) == {"all"} | (set(BSI_LANGUAGES) - {SOURCE})
    for lang, names in attachments.items():
        assert names == [f"files/bsi-brochure-{SOURCE if lang == 'all' else lang}.pdf"]
        path = CAMPAIGNS / "bsi-awareness" / names[0]
        assert path.is_file(), f"{path} is missing"
        _check_pdf(path)
        assert f"/Lang ({SOURCE if lang == 'all' else lang})".encode() in path.read_bytes()


def test_pdf_check_catches_a_broken_file(tmp_path: Path) -> None:
    good = (CAMPAIGNS / "bsi-awareness" / "files" / "bsi-brochure-en.pdf").read_bytes()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(good.replace(b"%%EOF", b"").rstrip())
    with pytest.raises(AssertionError):
        _check_pdf(broken)
    shifted = tmp_path / "shifted.pdf"
    shifted.write_bytes(good.replace(b"%PDF-1.7\n", b"%PDF-1.7\n\n", 1))
    with pytest.raises(AssertionError):
        _check_pdf(shifted)


# The directive's terms beyond the two above, from the style sheets' glossaries (outreach/locale/<lang>/style.toml):
# the awareness newsletter presents articles 20, 67 and 70, so each language must use its official words for them.
AWARENESS_TERMS = ("contracting authority", "reserved contracts", "sheltered workshop", "award criteria",
                   "contract performance conditions", "most economically advantageous tender")


@pytest.mark.parametrize("lang", BSI_LANGUAGES)
def test_awareness_uses_the_directive_terms_of_the_style_glossary(lang: str) -> None:
    from outreach.render.stylesheet import load_style

    style = load_style(lang)
    assert style is not None, f"no style sheet for {lang}"
    text = (CAMPAIGNS / "bsi-awareness" / f"{lang}.md").read_text("utf-8")
    missing = [t for t in AWARENESS_TERMS if not style.term(t).match.search(text)]
    assert not missing, f"{lang}: not found: " + ", ".join(f"{t} ({style.term(t).term})" for t in missing)
    for rule in style.rules:
        if "glossary term" in rule.message:
            assert not rule.pattern.search(text), f"{lang}: {rule.pattern.pattern} {rule.message}"
