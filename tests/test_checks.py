"""`campaign check`: the translation matrix and each kind of problem, with file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from outreach.config import Settings
from outreach.contacts.model import clean_fields, insert_contact
from outreach.render.checks import check_campaign

DATA = Path(__file__).parent / "data" / "campaigns"


@pytest.fixture
def fixtures(settings: Settings) -> Settings:
    return settings.with_overrides(campaigns_dir=DATA, templates_dir=DATA / "_layouts")


@pytest.fixture
def copy(fixtures: Settings, tmp_path: Path):
    """Copy a fixture campaign into a writable folder; returns (settings, folder)."""

    def make(slug: str) -> tuple[Settings, Path]:
        shutil.copytree(DATA / slug, tmp_path / "c" / slug)
        return fixtures.with_overrides(campaigns_dir=tmp_path / "c"), tmp_path / "c" / slug

    return make


def messages(report) -> list[str]:
    return [f"{i.level} {i.where}: {i.message}" for i in report.issues]


def test_clean_campaign_passes_and_shows_the_revision(fixtures: Settings) -> None:
    report = check_campaign(fixtures, None, "event")
    assert report.errors == [], messages(report)
    assert len(report.revision) == 12
    assert {row.language for row in report.languages} == {"en", "pl"}


def test_matrix_counts_fallbacks_skips_and_outdated(fixtures: Settings, db, clock) -> None:
    for email, country in (("a@gmina.example.org", "PL"), ("b@dimos.example.org", "GR"),
                           ("c@dimos.example.org", "GR"), ("d@stadt.example.org", "DE")):
        insert_contact(db, clock, email, clean_fields({"kind": "authority", "country": country}))
    report = check_campaign(fixtures, db, "tiny")
    rows = {row.language: row for row in report.languages}
    assert rows["el"].file is False and rows["el"].recipients == 2 and rows["el"].fallback == 2
    assert rows["pl"].recipients == 1 and rows["pl"].fallback == 0 and not rows["pl"].outdated
    assert rows["de"].outdated and rows["de"].translated_from == "000000000000"
    text = "\n".join(messages(report))
    assert "no el translation: 2 recipient(s) will get en" in text
    assert "tiny/de.md:4: outdated: translated from 000000000000" in text
    assert f'translated_from = "{report.revision}"' in text
    assert report.errors == []  # warnings only


def test_skip_policy_is_counted(copy, db, clock) -> None:
    settings, folder = copy("tiny")
    toml = folder / "campaign.toml"
    toml.write_text(toml.read_text().replace('fallback = "source"', 'fallback = "skip"'))
    insert_contact(db, clock, "b@dimos.example.org", clean_fields({"kind": "supplier", "country": "GR"}))
    report = check_campaign(settings, db, "tiny")
    row = {row.language: row for row in report.languages}["el"]
    assert (row.recipients, row.fallback, row.skipped) == (1, 0, 1)
    assert any("1 recipient(s) will be skipped" in m for m in messages(report))


@pytest.mark.parametrize(("slug", "expected"), [
    ("syntax-error", "syntax-error/en.md:9: unexpected '}'"),
    ("undefined-variable", "undefined-variable/en.md:7: no field 'organisaton' — did you mean 'organisation'?"),
    ("sandbox", "sandbox/en.md:7: access to attribute '__class__' of 'Links' object is unsafe"),
    ("no-unsubscribe", "no unsubscribe link in the HTML part"),
])
def test_template_problems_are_errors_with_file_and_line(fixtures: Settings, slug: str, expected: str) -> None:
    report = check_campaign(fixtures, None, slug)
    assert report.errors, slug
    assert any(expected in m for m in messages(report)), messages(report)


def test_unknown_variable_named_with_its_line(copy) -> None:
    settings, folder = copy("tiny")
    doc = folder / "en.md"
    doc.write_text(doc.read_text() + "\nSee you, {{ organiser }}.\n")
    report = check_campaign(settings, None, "tiny")
    line = doc.read_text().splitlines().index("See you, {{ organiser }}.") + 1
    assert f"error {folder}/en.md:{line}: unknown variable 'organiser'" in " ".join(messages(report))


def test_unknown_variable_close_to_a_contact_field_is_suggested(copy) -> None:
    settings, folder = copy("tiny")
    doc = folder / "en.md"
    doc.write_text(doc.read_text() + "\nFor {{ organisaton }} and {{ contacts.name }}.\n")
    text = " ".join(messages(check_campaign(settings, None, "tiny")))
    assert "unknown variable 'organisaton'; did you mean contact.organisation?" in text
    assert "unknown variable 'contacts'; did you mean contact?" in text


def test_links_images_and_subject(fixtures: Settings) -> None:
    report = check_campaign(fixtures, None, "bad-links")
    text = "\n".join(messages(report))
    where = f"{DATA}/bad-links/en.md"
    assert f"{where}:2: the subject is 88 characters; keep it to 78" in text
    assert f"{where}:5: the link 'relative link' goes to '/about'" in text
    assert f"{where}:5: the link 'empty one' has no address" in text
    assert f"{where}:7: the link 'file' goes to 'ftp://files.example.org/brochure.pdf'" in text
    assert f"{where}:9: the image 'https://bsi.example.eu/logo.png' has no alt text" in text
    assert "fine one" not in text


def test_oversized_html_and_attachment(copy) -> None:
    settings, folder = copy("tiny")
    doc = folder / "en.md"
    doc.write_text(doc.read_text() + "\n" + ("Social economy. " * 60 + "\n\n") * 120)
    with (folder / "files" / "note-en.txt").open("r+b") as handle:
        handle.truncate(11 * 1024 * 1024)
    report = check_campaign(settings, None, "tiny")
    text = "\n".join(messages(report))
    assert "Gmail clips messages over 102 KB" in text
    assert "attachment note-en.txt is 11.0 MB" in text


def test_missing_sender_identity_is_an_error(fixtures: Settings) -> None:
    bare = fixtures.with_overrides()
    from dataclasses import replace

    bare = replace(bare, sender=None, organisation=None, postal_address=None)
    report = check_campaign(bare, None, "tiny")
    text = "\n".join(messages(report))
    assert "no sender address" in text and "OUTREACH_POSTAL_ADDRESS" in text


def test_missing_translated_from_is_a_warning(copy) -> None:
    settings, folder = copy("tiny")
    doc = folder / "pl.md"
    doc.write_text("\n".join(line for line in doc.read_text().splitlines() if "translated_from" not in line) + "\n")
    report = check_campaign(settings, None, "tiny")
    assert any(i.level == "warning" and "no translated_from" in i.message for i in report.issues)


@pytest.mark.parametrize("slug", ["bsi-awareness", "bsi-training"])
def test_example_campaigns_pass_check(settings: Settings, slug: str) -> None:
    report = check_campaign(settings, None, slug)
    assert report.errors == [], messages(report)
    assert not [row for row in report.languages if row.outdated], "outdated translations"
    assert len([row for row in report.languages if row.file]) == 15  # the campaigns stay in the 15 BSI languages
    # the other nine EU languages (layouts and pages exist) are listed as not translated, not as problems
    assert report.not_translated == ["bg", "es", "et", "ga", "lt", "mt", "pt", "sl", "fi"]  # the EU's order
    assert not [i for i in report.issues if any(f"no {lang} " in i.message for lang in report.not_translated)]


def test_language_without_layout_strings_is_a_warning(copy) -> None:
    settings, folder = copy("tiny")
    (folder / "is.md").write_text('+++\nsubject = "Halló"\npreheader = "Stutt."\n+++\nTexti.\n', encoding="utf-8")
    (folder / "es.md").write_text('+++\nsubject = "Hola"\npreheader = "Breve."\n+++\nTexto.\n', encoding="utf-8")
    report = check_campaign(settings, None, "tiny")
    assert any(i.level == "warning" and "no is translation (greeting, footer)" in i.message for i in report.issues)
    # Spanish is one of the 24 EU languages: its layout strings exist
    assert not any("no es translation (greeting" in i.message for i in report.issues)
    assert "es" not in report.not_translated and "is" not in report.not_translated and "mt" in report.not_translated
    assert report.errors == []


def test_block_tag_split_across_paragraphs(copy) -> None:
    settings, folder = copy("tiny")
    (folder / "en.md").write_text('+++\nsubject = "S"\npreheader = "P"\n+++\nIntro.\n\n'
                                  'Text {% if contact.kind == "authority" %}for authorities.\n\n'
                                  'More{% endif %} text.\n', encoding="utf-8")
    report = check_campaign(settings, None, "tiny")
    assert any(i.where.endswith("en.md:7") and "lines of their own" in i.message for i in report.errors), \
        messages(report)
