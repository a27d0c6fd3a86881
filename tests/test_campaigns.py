"""Campaign folders: loading, validation errors with file and line, language choice, audience, revisions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from outreach.campaigns.audience import choose_language, iter_audience
from outreach.campaigns.documents import read_document, revision_of, source_revision, translation_status
from outreach.campaigns.folder import list_campaigns, load_campaign
from outreach.campaigns.workdir import new_campaign
from outreach.config import Settings
from outreach.contacts.model import Contact, ContactFilter, clean_fields, insert_contact, set_status, suppress
from outreach.errors import InputError, NotFoundError, OutreachError
from outreach.models import ContactStatus

DATA = Path(__file__).parent / "data" / "campaigns"


@pytest.fixture
def fixtures(settings: Settings) -> Settings:
    """Settings pointing at the small fixture campaigns and their extra layouts."""
    return settings.with_overrides(campaigns_dir=DATA, templates_dir=DATA / "_layouts")


@pytest.fixture
def workdir(settings: Settings, tmp_path: Path) -> Settings:
    """Settings with an empty, writable campaigns folder."""
    (tmp_path / "campaigns").mkdir()
    return settings.with_overrides(campaigns_dir=tmp_path / "campaigns")


def contact(**fields) -> Contact:
    return Contact(id=1, email="anna@gmina.example.org", **fields)


def test_tiny_campaign_loads_with_defaults_from_settings(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "tiny")
    assert campaign.name == "Tiny test campaign"
    assert campaign.languages == ("de", "en", "pl")
    assert campaign.sender_address == "news@bsi.example.org"
    assert campaign.sender_name == "Buying for Social Impact"
    assert campaign.organisation == "Buying for Social Impact"
    assert campaign.audience.kinds == ("authority", "supplier")
    assert campaign.document("pl").subject == "Mały test dla {contact} i przyjaciół"
    assert [a.filename for a in campaign.attachments_for("pl")] == ["notatka-pl.txt"]
    assert [a.filename for a in campaign.attachments_for("de")] == ["note-en.txt"]
    assert campaign.attachments_for("en")[0].content_type == "text/plain"


@pytest.mark.parametrize(("slug", "error", "where", "words"), [
    ("bad-toml", InputError, "bad-toml/campaign.toml:3", "Invalid value"),
    ("no-toml", NotFoundError, "no-toml/campaign.toml", "does not exist"),
    ("unknown-layout", InputError, "unknown-layout/campaign.toml:3", "unknown layout 'fancy'"),
    ("no-subject", InputError, "no-subject/en.md:2", "no subject"),
    ("unknown-language", InputError, "unknown-language/xx.md:1", "not named after a known language"),
    ("missing-attachment", InputError, "missing-attachment/campaign.toml:4", "'files/brochure.pdf' does not exist"),
    ("nowhere", NotFoundError, "nowhere/campaign.toml", "outreach campaign new nowhere"),
])
def test_bad_folders_name_file_and_line(fixtures: Settings, slug: str, error: type, where: str, words: str) -> None:
    with pytest.raises(error) as raised:
        load_campaign(fixtures, slug)
    text = raised.value.message + " " + (raised.value.hint or "")
    assert where in text
    assert words in text


def test_list_campaigns_skips_broken_ones_and_reports_them(fixtures: Settings) -> None:
    problems: list[OutreachError] = []
    slugs = [c.slug for c in list_campaigns(fixtures, problems)]
    assert "tiny" in slugs and "event" in slugs and "bad-toml" not in slugs
    assert any("bad-toml" in p.message for p in problems)


def test_front_matter_errors(tmp_path: Path) -> None:
    path = tmp_path / "pl.md"
    path.write_text("Just a body, no front matter.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"pl\.md:1: the file must start with front matter"):
        read_document(path, "pl")
    path.write_text('+++\nsubject = "Open"\nBody\n', encoding="utf-8")
    with pytest.raises(InputError, match="not closed"):
        read_document(path, "pl")
    path.write_text('+++\nsubject = "A"\nsubjekt = "B"\n+++\nBody\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"pl\.md:3: unknown front matter key 'subjekt'"):
        read_document(path, "pl")
    path.write_text('+++\nsubject = "Hello {{ contact.name }}"\n+++\nBody\n', encoding="utf-8")
    with pytest.raises(InputError, match="plain text"):
        read_document(path, "pl")
    path.write_text('+++\nsubject = "Dzień dobry"\n+++\nBody\n', encoding="utf-8")
    doc = read_document(path, "pl")
    assert doc.body == "Body\n" and doc.body_line == 4 and doc.preheader == ""


def test_toml_error_in_front_matter_names_the_file_line(tmp_path: Path) -> None:
    path = tmp_path / "de.md"
    path.write_text('+++\nsubject = "Gut"\npreheader = kaputt\n+++\nText\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"de\.md:3"):
        read_document(path, "de")


def test_language_choice_own_then_country_then_fallback(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "tiny")
    assert choose_language(campaign, contact(language="pl", country="DE")) == ("pl", False)
    assert choose_language(campaign, contact(language="el", country="AT")) == ("de", False)  # Austria speaks de
    assert choose_language(campaign, contact(language="el", country="GR")) == ("en", True)
    assert choose_language(campaign, contact(language=None, country="IE")) == ("en", False)
    campaign.fallback = "skip"
    assert choose_language(campaign, contact(language="el", country="GR")) == (None, True)


def test_outdated_translation_detected_and_revision_is_sha_of_source_bytes(fixtures: Settings) -> None:
    campaign = load_campaign(fixtures, "tiny")
    assert source_revision(campaign) == revision_of((DATA / "tiny" / "en.md").read_bytes())
    status = {s.language: s for s in translation_status(campaign)}
    assert status["en"].is_source and not status["en"].outdated
    assert not status["pl"].outdated
    assert status["de"].outdated and status["de"].translated_from == "000000000000"


def test_editing_the_source_makes_translations_outdated(fixtures: Settings, tmp_path: Path) -> None:
    shutil.copytree(DATA / "tiny", tmp_path / "c" / "tiny")
    settings = fixtures.with_overrides(campaigns_dir=tmp_path / "c")
    assert not {s.language: s for s in translation_status(load_campaign(settings, "tiny"))}["pl"].outdated
    source = tmp_path / "c" / "tiny" / "en.md"
    source.write_bytes(source.read_bytes().replace(b"Hello", b"Hello again"))
    assert {s.language: s for s in translation_status(load_campaign(settings, "tiny"))}["pl"].outdated


def _add(db, clock, email: str, **fields):
    return insert_contact(db, clock, email, clean_fields(fields))


def test_audience_streams_active_unsuppressed_matching_contacts(fixtures: Settings, db, clock) -> None:
    campaign = load_campaign(fixtures, "tiny")
    campaign.fallback = "skip"
    _add(db, clock, "a@gmina.example.org", kind="authority", country="PL")
    _add(db, clock, "b@coop.example.org", kind="supplier", country="GR")  # no Greek file → skipped
    _add(db, clock, "c@example.net", kind="subscriber", country="PL")  # not in the audience's kinds
    gone = _add(db, clock, "d@gmina.example.org", kind="authority", country="DE")
    set_status(db, clock, gone, ContactStatus.UNSUBSCRIBED)
    _add(db, clock, "e@stad.example.org", kind="authority", country="SE")  # fallback skip
    suppressed = _add(db, clock, "f@gmina.example.org", kind="authority", country="PL")
    suppress(db, clock, suppressed.email, "erased")
    recipients = {r.contact.email: r for r in iter_audience(db, campaign)}
    assert set(recipients) == {"a@gmina.example.org", "b@coop.example.org", "e@stad.example.org"}
    assert recipients["a@gmina.example.org"].language == "pl"
    assert recipients["b@coop.example.org"].language is None
    assert "el translation" in (recipients["b@coop.example.org"].skip_reason or "")
    only_pl = list(iter_audience(db, campaign, ContactFilter.parse(countries=["PL"])))
    assert [r.contact.email for r in only_pl] == ["a@gmina.example.org"]


def test_event_campaign_skips_countries_without_an_event(fixtures: Settings, db, clock) -> None:
    campaign = load_campaign(fixtures, "event")
    _add(db, clock, "a@gmina.example.org", kind="authority", country="PL")
    _add(db, clock, "b@stadt.example.org", kind="authority", country="AT")
    recipients = {r.contact.email: r for r in iter_audience(db, campaign)}
    assert recipients["a@gmina.example.org"].language == "pl"
    assert recipients["b@stadt.example.org"].skip_reason == "no [events.AT] for the contact's country"
    assert campaign.event_for("PL")["timezone"] == "Europe/Warsaw"


def test_new_campaign_scaffold_loads_and_refuses_bad_names(workdir: Settings) -> None:
    folder = new_campaign(workdir, "spring-news", name='The "spring" news', layout="newsletter")
    campaign = load_campaign(workdir, "spring-news")
    assert campaign.name == 'The "spring" news' and campaign.layout == "newsletter"
    assert (folder / "files").is_dir() and campaign.languages == ("en",)
    with pytest.raises(InputError, match="already exists"):
        new_campaign(workdir, "spring-news")
    with pytest.raises(InputError, match="not a usable campaign name"):
        new_campaign(workdir, "Spring News!")
    with pytest.raises(InputError, match="Unknown layout"):
        new_campaign(workdir, "other", layout="fancy")


def test_event_table_validation(workdir: Settings) -> None:
    folder = Path(workdir.campaigns_dir) / "ev"
    folder.mkdir()
    (folder / "en.md").write_text('+++\nsubject = "S"\n+++\nB\n', encoding="utf-8")
    (folder / "campaign.toml").write_text(
        'name = "E"\nlayout = "invitation"\n\n[events.PL]\ntitle = "T"\nstarts = "18 March"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"campaign\.toml:6: starts must be a TOML date-time"):
        load_campaign(workdir, "ev")
    (folder / "campaign.toml").write_text(
        'name = "E"\n\n[events.PL]\ntitle = "T"\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"campaign\.toml:5: unknown time zone"):
        load_campaign(workdir, "ev")
    (folder / "campaign.toml").write_text('name = "E"\n\n[audience]\ncountries = ["Narnia"]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"campaign\.toml:4: audience: Unknown country 'Narnia'"):
        load_campaign(workdir, "ev")


def test_slug_cannot_leave_the_campaigns_folder(fixtures: Settings) -> None:
    for slug in ("../tiny", "tiny/../../etc", ".hidden", ""):
        with pytest.raises(InputError, match="not a campaign name"):
            load_campaign(fixtures, slug)


def test_windows_line_endings_and_bom(workdir: Settings) -> None:
    folder = Path(workdir.campaigns_dir) / "crlf"
    folder.mkdir()
    (folder / "campaign.toml").write_bytes(b'\xef\xbb\xbfname = "CRLF"\r\nlayout = "base"\r\n')
    raw = ('\ufeff+++\r\nsubject = "Zażółć"\r\n+++\r\nLine one.\r\n\r\n'
           '{% if contact.kind == "authority" %}\r\nA\r\n{% endif %}\r\n')
    (folder / "en.md").write_bytes(raw.encode("utf-8"))
    campaign = load_campaign(workdir, "crlf")
    assert campaign.document("en").subject == "Zażółć"
    assert source_revision(campaign) == revision_of(raw.encode("utf-8"))  # the bytes exactly as on disk
    from benchmarks.reference_render import render_full
    from outreach.render.renderer import Links, Renderer

    links = Links("https://e.example.org/u", "https://e.example.org/p", "https://e.example.org/v")
    person = contact(kind="authority", country="IE", name="Ann")
    fast = Renderer(workdir, campaign).variant("en", "authority").render(person, links)
    assert fast == render_full(workdir, campaign, "en", "authority", person, links)
    assert "Line one." in fast.text and "\nA\n" in fast.text.replace("\r", "")


def test_moved_names_stay_importable_from_folder() -> None:
    """Callers outside campaigns/ import the audience and document names from folder.py, as before the split."""
    from outreach.campaigns import audience, documents, folder

    assert folder.iter_audience is audience.iter_audience and folder.choose_language is audience.choose_language
    assert folder.Recipient is audience.Recipient and folder.read_document is documents.read_document
    assert folder.translation_status is documents.translation_status
