"""Translator files: `campaign export` → edit with another library → `campaign import`, and the refusals.

The files are edited with libraries outreach does not use to write them (ElementTree for XLIFF, polib for PO), as
a translation tool would, and the imported Markdown is compared with what the translator meant.
"""

from __future__ import annotations

import json
import shutil
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import polib
import pytest
from conftest import REPO

from outreach.campaigns.folder import load_campaign
from outreach.campaigns.revisions import changed_segments
from outreach.config import Settings

X = "{urn:oasis:names:tc:xliff:document:2.0}"
SLUG = "training"
TOML = """name = "National training days"
layout = "invitation"

[audience]
kinds = ["authority", "supplier"]

[events.HR]
title = "Nacionalni dan edukacije"
starts = 2027-03-09T09:30:00
ends = 2027-03-09T16:00:00
timezone = "Europe/Zagreb"
venue = "Konferencijski centar"
address = "Trg suradnje 3, 10000 Zagreb"
registration_url = "https://bsi.example.org/hr/training"

[events.HR.en]
title = "National training day"

[events.DK]
title = "National kursusdag"
starts = 2027-03-18T09:00:00
timezone = "Europe/Copenhagen"
venue = "Fællesskabets Hus"
registration_url = "https://bsi.example.org/dk/training"

[events.DK.en]
title = "National training day in Denmark"
"""
EN = """+++
subject = "Invitation: national training day"
preheader = "A day for contracting authorities and social-economy suppliers."
+++
We are pleased to invite you to **{{ event.title }}** on {{ event.starts | date }} at {{ event.venue }}.

## Programme

- Social considerations in public procurement
- Reserved contracts for sheltered workshops

{% if contact.kind == "authority" %}
### Why attend as a contracting authority

You will leave with model clauses for your next tender.
{% else %}
### Who should attend

Everyone working on social value in public spending is welcome.
{% endif %}

## Practical information

Places are limited, so please [register online]({{ event.registration_url }}) soon. More at https://bsi.example.org/resources.

We look forward to welcoming you.
"""
PL = """+++
subject = "Zaproszenie: krajowy dzień szkoleniowy"
preheader = "Dzień dla instytucji zamawiających i dostawców z sektora ekonomii społecznej."
translated_from = "{revision}"
+++
Serdecznie zapraszamy na wydarzenie **{{ event.title }}** w dniu {{ event.starts | date }}. Miejsce: {{ event.venue }}.

## Program

- Aspekty społeczne w zamówieniach publicznych
- Zamówienia zastrzeżone dla zakładów pracy chronionej

{% if contact.kind == "authority" %}
### Dlaczego warto przyjść jako instytucja zamawiająca

Wyjdą Państwo ze wzorcowymi klauzulami do najbliższego postępowania.
{% else %}
### Dla kogo jest to wydarzenie

Zapraszamy wszystkich, którzy zajmują się społeczną wartością wydatków publicznych.
{% endif %}

## Informacje praktyczne

Liczba miejsc jest ograniczona, prosimy o [rejestrację online]({{ event.registration_url }}). Więcej: https://bsi.example.org/resources.

Do zobaczenia!
"""
DE = """+++
subject = "Einladung: nationaler Schulungstag"
preheader = "Ein Tag für öffentliche Auftraggeber und Anbieter der Sozialwirtschaft."
translated_from = "{revision}"
+++
Wir laden Sie herzlich zu **{{ event.title }}** am {{ event.starts | date }} in {{ event.venue }} ein.

## Programm

- Soziale Aspekte in der öffentlichen Beschaffung
- Vorbehaltene Aufträge für geschützte Werkstätten

{% if contact.kind == "authority" %}
### Warum als öffentlicher Auftraggeber teilnehmen

Sie gehen mit Musterklauseln für Ihre nächste Ausschreibung nach Hause.
{% else %}
### Wer teilnehmen sollte

Alle, die sich mit sozialem Mehrwert öffentlicher Ausgaben befassen, sind willkommen.
{% endif %}

## Praktische Informationen

Die Plätze sind begrenzt, bitte [melden Sie sich online an]({{ event.registration_url }}). Mehr unter https://bsi.example.org/resources.

Wir freuen uns auf Sie.
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A campaign of our own (the shipped ones change with the texts): an HR and a DK session, en, pl and de."""
    from outreach.campaigns.documents import revision_of

    root = tmp_path / "campaigns"
    (root / SLUG).mkdir(parents=True)
    (root / SLUG / "campaign.toml").write_text(TOML, "utf-8")
    (root / SLUG / "en.md").write_text(EN, "utf-8")
    revision = revision_of(EN.encode("utf-8"))
    (root / SLUG / "pl.md").write_text(PL.replace("{revision}", revision), "utf-8")
    (root / SLUG / "de.md").write_text(DE.replace("{revision}", revision), "utf-8")
    return root


@pytest.fixture
def env(folder: Path) -> dict[str, str]:
    return {"OUTREACH_CAMPAIGNS": str(folder), "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails")}


def settings(folder: Path) -> Settings:
    return Settings(campaigns_dir=folder, templates_dir=REPO / "templates" / "emails")


def export(runner, env, tmp_path: Path, lang: str, fmt: str) -> Path:
    out = tmp_path / f"{lang}.{'xlf' if fmt == 'xliff' else 'po'}"
    result = runner("campaign", "export", SLUG, "--lang", lang, "--format", fmt, "--output", str(out), env=env)
    assert result.exit_code == 0, result.output
    return out


def body_of(path: Path) -> str:
    return path.read_text("utf-8").split("+++\n", 2)[2]


def front_of(path: Path) -> dict:
    return tomllib.loads(path.read_text("utf-8").split("+++\n", 2)[1])


def xliff_units(path: Path) -> tuple[ET.ElementTree, dict[str, ET.Element]]:
    ET.register_namespace("", X[1:-1])
    ET.register_namespace("mda", "urn:oasis:names:tc:xliff:metadata:2.0")
    tree = ET.parse(path)
    return tree, {unit.get("id"): unit for unit in tree.iter(f"{X}unit")}


def test_xliff_round_trip_edited_with_elementtree(runner, env, folder: Path, tmp_path: Path) -> None:
    pl = folder / SLUG / "pl.md"
    before = body_of(pl)
    path = export(runner, env, tmp_path, "pl", "xliff")
    tree, units = xliff_units(path)
    root = tree.getroot()
    assert root.get("version") == "2.1" and root.get("srcLang") == "en" and root.get("trgLang") == "pl"
    order = ["notes", "originalData", "segment"]  # the order XLIFF 2's schema gives a unit's children
    for unit in units.values():
        tags = [child.tag.removeprefix(X) for child in unit]
        assert tags == sorted(tags, key=order.index) and tags.count("segment") == 1, tags
    # The link of the last paragraph is a locked paired code around its translatable label; its target is data.
    link = units["b10"].find(f"{X}segment/{X}source/{X}pc")
    assert link is not None and link.get("canDelete") == "no" and link.get("canCopy") == "no"
    assert "]({{ event.registration_url }})" in {d.text for d in units["b10"].iter(f"{X}data")}
    assert "Practical information" not in (units["b10"].findtext(f"{X}notes/{X}note") or "")
    # The translator rewrites a heading and the label of the link, and names the campaign in Polish.
    segment = units["b2"].find(f"{X}segment")
    segment.find(f"{X}target").text = "Program dnia"
    target_pc = units["b10"].find(f"{X}segment/{X}target/{X}pc")
    target_pc.text = "zapisać się przez internet"
    name_segment = units["name"].find(f"{X}segment")
    ET.SubElement(name_segment, f"{X}target").text = "Krajowe dni szkoleniowe"
    name_segment.set("state", "translated")
    tree.write(path, encoding="utf-8", xml_declaration=True)

    result = runner("campaign", "import", str(path), env=env)
    assert result.exit_code == 0, result.output
    expected = before.replace("## Program\n", "## Program dnia\n").replace(
        "[rejestrację online]({{ event.registration_url }})",
        "[zapisać się przez internet]({{ event.registration_url }})")
    assert expected.count("Program dnia") == 1 and "zapisać się" in expected
    assert body_of(pl) == expected
    front = front_of(pl)
    assert front["name"] == "Krajowe dni szkoleniowe" and "b11" in front["translated_from"]
    campaign = load_campaign(settings(folder), SLUG)
    assert campaign.name_for("pl") == "Krajowe dni szkoleniowe" and campaign.name_for("de") == campaign.name
    assert changed_segments(campaign, "pl") == []


def test_po_round_trip_edited_with_polib(runner, env, folder: Path, tmp_path: Path) -> None:
    de = folder / SLUG / "de.md"
    before = body_of(de)
    path = export(runner, env, tmp_path, "de", "po")
    catalog = polib.pofile(str(path))
    assert catalog.metadata["X-Outreach-Campaign"] == SLUG and catalog.metadata["Language"] == "de"
    entry = next(e for e in catalog if e.msgctxt == "b1")
    assert "<1/>" in entry.msgid and "{{ event.title }}" in entry.comment  # the code and what it stands for
    old = entry.msgstr
    entry.msgstr = "Herzlich willkommen zu **<1/>** am <2/> in <3/>: ein Tag für öffentliche Auftraggeber."
    catalog.save(str(path))

    result = runner("campaign", "import", str(path), "--campaign", SLUG, "--lang", "de", env=env)
    assert result.exit_code == 0, result.output
    old_markdown = old.replace("<1/>", "{{ event.title }}").replace("<2/>", "{{ event.starts | date }}").replace(
        "<3/>", "{{ event.venue }}")
    assert old_markdown in before
    assert body_of(de) == before.replace(old_markdown, "Herzlich willkommen zu **{{ event.title }}** am "
                                                       "{{ event.starts | date }} in {{ event.venue }}: ein Tag "
                                                       "für öffentliche Auftraggeber.")


def test_a_changed_locked_code_is_refused_naming_the_segment(runner, env, folder: Path, tmp_path: Path) -> None:
    pl = folder / SLUG / "pl.md"
    before = pl.read_bytes()
    path = export(runner, env, tmp_path, "pl", "xliff")
    tree, units = xliff_units(path)
    data = next(d for d in units["b10"].iter(f"{X}data") if d.get("id") == "d1e")
    data.text = "](https://evil.example.com/)"
    tree.write(path, encoding="utf-8", xml_declaration=True)
    result = runner("campaign", "import", str(path), env=env)
    assert result.exit_code != 0
    assert "segment b10" in result.output and "changed" in result.output and "Traceback" not in result.output
    assert pl.read_bytes() == before

    po = export(runner, env, tmp_path, "pl", "po")
    catalog = polib.pofile(str(po))
    entry = next(e for e in catalog if e.msgctxt == "b1")
    entry.msgstr = entry.msgstr.replace("<2/>", "{{ contact.email }}")
    catalog.save(str(po))
    result = runner("campaign", "import", str(po), env=env)
    assert result.exit_code != 0 and "segment b1" in result.output and "<2/>" in result.output
    assert pl.read_bytes() == before


def test_a_url_typed_into_the_text_is_refused(runner, env, folder: Path, tmp_path: Path) -> None:
    po = export(runner, env, tmp_path, "pl", "po")
    catalog = polib.pofile(str(po))
    entry = next(e for e in catalog if e.msgctxt == "b11")
    entry.msgstr += " https://evil.example.com/"
    catalog.save(str(po))
    result = runner("campaign", "import", str(po), env=env)
    assert result.exit_code != 0 and "segment b11" in result.output and "adds code" in result.output


def test_another_campaign_language_or_revision_is_refused(runner, env, folder: Path, tmp_path: Path) -> None:
    path = export(runner, env, tmp_path, "pl", "xliff")
    result = runner("campaign", "import", str(path), "--campaign", "bsi-awareness", env=env)
    assert result.exit_code != 0 and "is for campaign 'training', not 'bsi-awareness'" in result.output
    result = runner("campaign", "import", str(path), "--lang", "de", env=env)
    assert result.exit_code != 0 and "translation into 'pl', not 'de'" in result.output
    en = folder / SLUG / "en.md"
    en.write_text(en.read_text("utf-8").replace("We look forward", "We really look forward"), "utf-8")
    result = runner("campaign", "import", str(path), env=env)
    assert result.exit_code != 0 and "was exported from revision" in result.output
    assert f"outreach campaign export {SLUG} --lang pl" in result.output


def test_a_half_translated_import_keeps_the_rest_marked(runner, env, folder: Path, tmp_path: Path) -> None:
    assert not (folder / SLUG / "da.md").exists()  # a language nobody has translated yet
    path = export(runner, env, tmp_path, "da", "po")
    catalog = polib.pofile(str(path))
    assert all(not e.msgstr for e in catalog if not e.msgctxt.startswith("event-"))
    # the Danish session's title is written in Danish in campaign.toml: that is its current translation
    assert [e.msgctxt for e in catalog if e.msgstr] == ["event-DK-title"]
    for entry in catalog:
        if entry.msgctxt == "subject":
            entry.msgstr = "Invitation: national kursusdag"
        elif entry.msgctxt == "b2":
            entry.msgstr = "Program"
    catalog.save(str(path))
    result = runner("campaign", "import", str(path), "--json", env=env)
    assert result.exit_code == 0, result.output
    da = folder / SLUG / "da.md"
    front = front_of(da)
    assert front["subject"] == "Invitation: national kursusdag"
    assert set(front["translated_from"]) == {"subject", "b2", "event-DK-title"}
    en_body = body_of(folder / SLUG / "en.md")
    assert body_of(da) == en_body.replace("## Programme\n", "## Program\n")  # never blanked: the source stays
    changed = {s.id for s in changed_segments(load_campaign(settings(folder), SLUG), "da") or []}
    assert "b1" in changed and "preheader" in changed and "subject" not in changed and "b2" not in changed

    # An existing translation is kept for the segments a file leaves untranslated.
    pl = folder / SLUG / "pl.md"
    before = body_of(pl)
    po = export(runner, env, tmp_path, "pl", "po")
    catalog = polib.pofile(str(po))
    for entry in catalog:
        entry.msgstr = ""
    catalog.save(str(po))
    assert runner("campaign", "import", str(po), env=env).exit_code == 0
    assert body_of(pl) == before


def test_a_link_only_change_does_not_outdate_the_prose(runner, env, folder: Path, tmp_path: Path) -> None:
    assert runner("campaign", "pin", SLUG, "--lang", "pl", env=env).exit_code == 0
    en = folder / SLUG / "en.md"
    text = en.read_text("utf-8")
    en.write_text(text.replace("[register online]({{ event.registration_url }})",
                               "[register online](https://bsi.example.org/register)"), "utf-8")
    campaign = load_campaign(settings(folder), SLUG)
    assert changed_segments(campaign, "pl") == []
    en.write_text(en.read_text("utf-8").replace("We look forward to welcoming you.",
                                                "We look forward to meeting you."), "utf-8")
    result = runner("campaign", "check", SLUG, env=env)
    assert "b11 (paragraph, line 26" in result.output and "outdated: b11" in result.output
    report = runner("campaign", "check", SLUG, "--json", env=env)
    rows = {row["language"]: row for row in json.loads(report.stdout)["languages"]}
    assert rows["pl"]["changed"] == ["b11"] and rows["pl"]["outdated"]
    assert not rows["de"]["per_segment"]  # de still records the whole-file revision: all of it is outdated
    # The export says which segments changed: fuzzy in PO, initial with a sub-state in XLIFF.
    po = polib.pofile(str(export(runner, env, tmp_path, "pl", "po")))
    assert [e.msgctxt for e in po if "fuzzy" in e.flags] == ["b11"]
    _, units = xliff_units(export(runner, env, tmp_path, "pl", "xliff"))
    assert units["b11"].find(f"{X}segment").get("subState") == "outreach:changed"
    assert units["b10"].find(f"{X}segment").get("state") == "translated"
    # After review, pinning records the current source for that segment.
    assert runner("campaign", "pin", SLUG, "--lang", "pl", "--segment", "b11", env=env).exit_code == 0
    assert changed_segments(load_campaign(settings(folder), SLUG), "pl") == []


def test_files_over_the_bound_or_not_translator_files_are_refused(runner, env, tmp_path: Path, monkeypatch) -> None:
    from outreach.campaigns.translator import importing

    big = tmp_path / "big.xlf"
    big.write_bytes(b"<xliff>" + b" " * 2048 + b"</xliff>")
    monkeypatch.setattr(importing, "MAX_FILE_BYTES", 1024)
    result = runner("campaign", "import", str(big), env=env)
    assert result.exit_code != 0 and "bound" in result.output
    monkeypatch.undo()
    bomb = tmp_path / "bomb.xlf"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xliff version="2.1" '
                    'xmlns="urn:oasis:names:tc:xliff:document:2.0">&a;</xliff>', "utf-8")
    result = runner("campaign", "import", str(bomb), env=env)
    assert result.exit_code != 0 and "Traceback" not in result.output
    plain = tmp_path / "notes.po"
    plain.write_text('msgid ""\nmsgstr ""\n"Language: pl\\n"\n', "utf-8")
    result = runner("campaign", "import", str(plain), env=env)
    assert result.exit_code != 0 and "does not say which campaign" in result.output


@pytest.mark.parametrize("fmt", ["xliff", "po"])
def test_every_shipped_translation_survives_an_untouched_round_trip(tmp_path: Path, fmt: str) -> None:
    from outreach.campaigns.translator.importing import import_file
    from outreach.campaigns.translator.units import export_file

    root = tmp_path / "campaigns"
    shutil.copytree(REPO / "campaigns", root)
    for slug in ("bsi-awareness", "bsi-training"):
        campaign = load_campaign(settings(root), slug)
        for language in campaign.languages:
            if language == campaign.source_language:
                continue
            before = body_of(root / slug / f"{language}.md")
            path, _ = export_file(campaign, language, fmt, tmp_path / f"{slug}.{language}.{fmt}")
            report = import_file(settings(root), path)
            assert body_of(root / slug / f"{language}.md") == before, f"{slug}/{language}"
            assert report.untranslated == [], f"{slug}/{language}: {report.untranslated}"


def test_bad_command_lines_get_one_clear_message(runner, env, tmp_path: Path) -> None:
    result = runner("campaign", "export", SLUG, "--lang", "pl", "--output", str(tmp_path / "no" / "such.xlf"), env=env)
    assert result.exit_code == 1 and "cannot write the file" in result.output and "Traceback" not in result.output
    result = runner("campaign", "export", SLUG, "--lang", "en", env=env)
    assert result.exit_code == 1 and "source language" in result.output
    result = runner("campaign", "export", SLUG, "--lang", "pl", "--format", "docx", env=env)
    assert result.exit_code == 2
    result = runner("campaign", "pin", SLUG, "--lang", "pl", "--segment", "b99", env=env)
    assert result.exit_code == 1 and "no segment 'b99'" in result.output
    result = runner("campaign", "import", str(tmp_path / "missing.po"), env=env)
    assert result.exit_code != 0 and "no such file" in result.output


def test_a_translation_that_would_change_the_structure_is_refused(runner, env, tmp_path: Path) -> None:
    po = export(runner, env, tmp_path, "pl", "po")
    catalog = polib.pofile(str(po))
    entry = next(e for e in catalog if e.msgctxt == "b11")
    entry.msgstr = "Do zobaczenia!\n\n## Nowy nagłówek"
    catalog.save(str(po))
    result = runner("campaign", "import", str(po), env=env)
    assert result.exit_code != 0 and "segment b11" in result.output and "does not stay one paragraph" in result.output


def test_event_texts_are_translated_into_campaign_toml(runner, env, folder: Path, tmp_path: Path) -> None:
    toml = folder / SLUG / "campaign.toml"
    path = export(runner, env, tmp_path, "pl", "po")
    catalog = polib.pofile(str(path))
    entry = next(e for e in catalog if e.msgctxt == "event-HR-title")
    assert entry.msgid == "National training day" and not entry.msgstr
    assert "[events.HR]" in entry.comment
    entry.msgstr = "Krajowy dzień szkoleniowy w Chorwacji"
    catalog.save(str(path))
    result = runner("campaign", "import", str(path), env=env)
    assert result.exit_code == 0, result.output
    assert '[events.HR.pl]\ntitle = "Krajowy dzień szkoleniowy w Chorwacji"\n' in toml.read_text("utf-8")
    campaign = load_campaign(settings(folder), SLUG)
    assert campaign.event["HR"].text("pl").title == "Krajowy dzień szkoleniowy w Chorwacji"
    assert campaign.event["HR"].text("de").title.startswith("National training day")  # others keep the source's
    assert "event-HR-title" in front_of(folder / SLUG / "pl.md")["translated_from"]
    assert changed_segments(campaign, "pl") == []
    # The English title changes: the Polish one is listed as changed, and a file exported before is refused.
    toml.write_text(toml.read_text("utf-8").replace('[events.HR.en]\ntitle = "National training day"',
                                                    '[events.HR.en]\ntitle = "National training day in Zagreb"'),
                    "utf-8")
    campaign = load_campaign(settings(folder), SLUG)
    assert [s.id for s in changed_segments(campaign, "pl") or []] == ["event-HR-title"]
    result = runner("campaign", "import", str(path), env=env)
    assert result.exit_code != 0 and "was exported from revision" in result.output
