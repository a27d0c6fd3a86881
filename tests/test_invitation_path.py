"""The invitation path of issue 11: a campaign whose only event is in Croatia, with hr.md and en.md.

`campaign preview` and `send --test-to` used to fail on `'dict object' has no attribute 'title'` for readers outside
Croatia (or without a country) while `campaign check` reported no error; check now renders every language ×
session × kind, and warns about a contact field printed with nothing to cope with its absence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, SECRET

TOML = """name = "Training in Croatia"
layout = "invitation"

[events.HR]
title = "Nacionalni dan edukacije"
starts = 2027-03-09T09:30:00
ends = 2027-03-09T16:00:00
timezone = "Europe/Zagreb"
venue = "Konferencijski centar"
address = "Trg suradnje 3, 10000 Zagreb"
registration_url = "https://bsi.example.org/hr/training"
"""
EN = """+++
subject = "Invitation to the training day"
preheader = "One day on socially responsible procurement."
+++
Join us at **{{ event.title }}** on {{ event.starts | date }} at {{ event.venue }}.

{% if contact.organisation %}
As a representative of {{ contact.organisation }} you will learn what the directive allows.
{% endif %}
"""
HR = """+++
subject = "Poziv na dan edukacije"
preheader = "Jedan dan o društveno odgovornoj javnoj nabavi."
+++
Pridružite nam se na **{{ event.title }}** {{ event.starts | date }}, {{ event.venue }}.

{% if contact.organisation %}
Kao predstavnici organizacije {{ contact.organisation }} saznat ćete što direktiva dopušta.
{% endif %}
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "campaigns" / "hr-only"
    folder.mkdir(parents=True)
    (folder / "campaign.toml").write_text(TOML, "utf-8")
    (folder / "en.md").write_text(EN, "utf-8")
    (folder / "hr.md").write_text(HR, "utf-8")
    return {"OUTREACH_CAMPAIGNS": str(tmp_path / "campaigns"), "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
            "OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>", "OUTREACH_SECRET_KEY": SECRET,
            "OUTREACH_PUBLIC_URL": "https://news.example.org", "OUTREACH_ORGANISATION": "Buying for Social Impact",
            "OUTREACH_POSTAL_ADDRESS": "Trg 1, 10000 Zagreb, Croatia"}


def test_preview_renders_english_with_the_croatian_session(runner, env, tmp_path: Path) -> None:
    out = tmp_path / "preview"
    result = runner("campaign", "preview", "hr-only", "--out", str(out), env=env)
    assert result.exit_code == 0, result.output
    english = (out / "en-authority.html").read_text("utf-8")
    assert "Nacionalni dan edukacije" in english and "Konferencijski centar" in english
    result = runner("campaign", "preview", "hr-only", "--session", "all", "--kind", "authority", "--out",
                    str(tmp_path / "all"), env=env)
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "all").glob("*.html")} == {"en-authority-HR.html", "hr-authority-HR.html",
                                                                   "index.html"}
    result = runner("campaign", "preview", "hr-only", "--session", "PL", env=env)
    assert result.exit_code != 0 and "no event session 'PL'" in result.output


def test_test_to_without_a_country_gets_a_session(runner, env, smtpd) -> None:
    result = runner("send", "hr-only", "--test-to", "me@example.org", "--language", "hr", "--kind", "authority",
                    env={**env, **smtpd.env()})
    assert result.exit_code == 0, result.output
    assert len(smtpd.messages) == 1
    message = smtpd.messages[0].message()
    assert message["Subject"].startswith("[TEST hr/authority/HR] ")
    html = message.get_body(("html",)).get_content()
    assert "Nacionalni dan edukacije" in html
    result = runner("send", "hr-only", "--test-to", "me@example.org", "--session", "DK", env={**env, **smtpd.env()})
    assert result.exit_code == 2 and "no event session 'DK'" in result.output


def test_check_renders_every_session_for_every_language(runner, env, tmp_path: Path) -> None:
    folder = tmp_path / "campaigns" / "hr-only"
    # The body counts places; a second session has no capacity: an English reader in Sweden would get a
    # broken message, which the sample of English readers (in the first session, HR) does not show.
    (folder / "campaign.toml").write_text(TOML.replace('registration_url', 'capacity = 80\nregistration_url')
                                          + '\n[events.SE]\ntitle = "Utbildningsdag"\nvenue = "Konferenshuset"\n'
                                          'starts = 2027-03-18T09:00:00\ntimezone = "Europe/Stockholm"\n', "utf-8")
    for name in ("en.md", "hr.md"):
        text = (folder / name).read_text("utf-8")
        (folder / name).write_text(text + "\n{{ event.capacity - 20 }} places.\n", "utf-8")
    result = runner("campaign", "check", "hr-only", "--json", env=env)
    assert result.exit_code == 1, result.output
    errors = [i for i in json.loads(result.stdout)["issues"] if i["level"] == "error"]
    assert any(i["where"] == "en/authority/SE" for i in errors), errors
    assert not any(i["where"].endswith("/HR") for i in errors), errors


def test_check_warns_about_a_field_printed_without_a_fallback(runner, env, tmp_path: Path) -> None:
    result = runner("campaign", "check", "hr-only", "--json", env=env)
    assert result.exit_code == 0, result.output
    assert not [i for i in json.loads(result.stdout)["issues"] if "contact.organisation" in i["message"]]
    en = tmp_path / "campaigns" / "hr-only" / "en.md"
    en.write_text(EN.replace("{% if contact.organisation %}\n", "").replace("{% endif %}\n", ""), "utf-8")
    result = runner("campaign", "check", "hr-only", "--json", env=env)
    gaps = [i for i in json.loads(result.stdout)["issues"] if "contact.organisation" in i["message"]]
    assert len(gaps) == 1 and gaps[0]["level"] == "warning" and gaps[0]["where"].endswith("en.md:7")


def test_check_counts_the_recipients_who_lack_the_field(runner, env, tmp_path: Path, db_path, clock) -> None:
    from outreach.contacts.model import clean_fields, insert_contact
    from outreach.db.schema import open_database

    en = tmp_path / "campaigns" / "hr-only" / "en.md"
    en.write_text(EN.replace("{% if contact.organisation %}\n", "").replace("{% endif %}\n", ""), "utf-8")
    db = open_database(db_path)
    insert_contact(db, clock, "ana@grad.example.org", clean_fields({"organisation": "Grad Zagreb", "kind": "authority",
                                                                     "country": "HR"}))
    db.close()
    result = runner("campaign", "check", "hr-only", "--json", env=env)
    assert not [i for i in json.loads(result.stdout)["issues"] if "contact.organisation" in i["message"]]
    db = open_database(db_path)
    insert_contact(db, clock, "ivo@example.org", clean_fields({"kind": "authority", "country": "HR"}))
    db.close()
    result = runner("campaign", "check", "hr-only", "--json", env=env)
    gaps = [i["message"] for i in json.loads(result.stdout)["issues"] if "contact.organisation" in i["message"]]
    assert gaps and "1 recipient(s) of the audience without an organisation will read" in gaps[0]
