"""`campaign preview`: per-variant HTML, text and .eml, and an index with every language side by side."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import lxml.html
import pytest

from outreach.campaigns.folder import load_campaign
from outreach.config import Settings
from outreach.contacts.model import clean_fields, insert_contact, require_contact
from outreach.errors import NotFoundError
from outreach.render.preview import write_preview

DATA = Path(__file__).parent / "data" / "campaigns"


@pytest.fixture
def fixtures(settings: Settings) -> Settings:
    return settings.with_overrides(campaigns_dir=DATA, templates_dir=DATA / "_layouts")


def test_preview_writes_every_variant_and_an_index(fixtures: Settings, tmp_path: Path, clock) -> None:
    campaign = load_campaign(fixtures, "tiny")
    index, items = write_preview(fixtures, campaign, tmp_path / "p", clock)
    assert {(i.language, i.kind) for i in items} == {(lang, kind) for lang in ("de", "en", "pl")
                                                     for kind in ("authority", "supplier")}
    page = lxml.html.fromstring(index.read_text(encoding="utf-8"))
    cards = page.find_class("card")
    assert len(cards) == 6 and {c.get("lang") for c in cards} == {"de", "en", "pl"}
    subjects = [c.find_class("subject")[0].text for c in cards]
    assert "Mały test dla {contact} i przyjaciół" in subjects  # escaped, shown as written
    assert {f.get("src") for f in page.iter("iframe")} == {i.html_path.name for i in items}
    pl = next(i for i in items if (i.language, i.kind) == ("pl", "authority"))
    assert "Dzień dobry, Anna Kowalska," in pl.html_path.read_text(encoding="utf-8")
    message = email.message_from_bytes(pl.eml_path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Mały test dla {contact} i przyjaciół"
    assert message["To"].addresses[0].display_name == "Anna Kowalska"
    assert message["Content-Language"] == "pl"
    assert message["List-Unsubscribe"].startswith("<https://news.example.org/unsubscribe/preview>")
    parts = {part.get_content_type(): part for part in message.walk() if not part.get_filename()}
    assert "Dla instytucji zamawiających" in parts["text/plain"].get_content()
    assert parts["text/html"].get_content().startswith("<!DOCTYPE html>")
    attachment = next(p for p in message.walk() if p.get_filename())
    assert attachment.get_filename() == "notatka-pl.txt"
    assert attachment.get_payload(decode=True) == "Krótka notatka.\n".encode()


def test_preview_for_one_stored_contact_uses_their_language_and_real_links(fixtures: Settings, db, clock,
                                                                           tmp_path: Path) -> None:
    insert_contact(db, clock, "jan@gmina.example.org",
                   clean_fields({"name": "Jan Nowak", "kind": "supplier", "country": "PL"}))
    person = require_contact(db, "jan@gmina.example.org")
    campaign = load_campaign(fixtures, "tiny")
    _, items = write_preview(fixtures, campaign, tmp_path / "p", clock, contact=person)
    assert [(i.language, i.kind) for i in items] == [("pl", "supplier")]
    html = items[0].html_path.read_text(encoding="utf-8")
    assert "Jan Nowak" in html and "https://news.example.org/unsubscribe/" in html
    assert "unsubscribe/preview" not in html  # a real signed token


def test_preview_filters_and_unknown_language(fixtures: Settings, tmp_path: Path, clock) -> None:
    campaign = load_campaign(fixtures, "event")
    _, items = write_preview(fixtures, campaign, tmp_path / "p", clock, languages=["pl"], kinds=["authority"])
    assert [(i.language, i.kind) for i in items] == [("pl", "authority")]
    assert "czwartek, 18 marca 2027" in items[0].text_path.read_text(encoding="utf-8")
    with pytest.raises(NotFoundError, match=r"no el\.md"):
        write_preview(fixtures, campaign, tmp_path / "q", clock, languages=["el"])
