"""`outreach event …` and the invitation path of `outreach send` end to end: real campaign folders, a real
aiosmtpd on 127.0.0.1, a real xlsx sign-in sheet written with openpyxl."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import vobject
from conftest import REPO, SECRET
from event_support import event_campaign

from outreach.contacts.model import clean_fields, insert_contact, normalize_email
from outreach.db.schema import open_database


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {"OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>",
            "OUTREACH_SECRET_KEY": SECRET, "OUTREACH_PUBLIC_URL": "https://news.example.org",
            "OUTREACH_ORGANISATION": "Buying for Social Impact",
            "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
            "OUTREACH_CAMPAIGNS": str(REPO / "campaigns"), "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
            "OUTREACH_OUTBOX": str(tmp_path / "outbox")}


def _contacts(db_path, clock, people) -> None:
    db = open_database(db_path)
    for email, name, kind, country, language in people:
        insert_contact(db, clock, normalize_email(email), clean_fields(
            {"name": name, "kind": kind, "country": country, "language": language}))
    db.close()


def test_invitations_carry_the_session_calendar(runner, env, smtpd, db_path, clock) -> None:
    _contacts(db_path, clock, [("ivana@grad.example.org", "Ivana Horvat", "authority", "HR", "hr"),
                               ("john@grad.example.org", "John Smith", "authority", "HR", "en"),
                               ("ewa@gmina.example.org", "Ewa Nowak", "supplier", "PL", "pl")])
    result = runner("send", "bsi-training", "--yes", "--force", env={**env, **smtpd.env()})
    assert result.exit_code == 0, result.output
    received = {m.rcpt_tos[0]: m.message() for m in smtpd.messages}
    assert len(received) == 3
    english = received["john@grad.example.org"]
    html = english.get_body(("html",)).get_content()
    assert "National training day: socially responsible public procurement" in html  # not the Croatian title
    calendars = {}
    for address, message in received.items():
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        assert part.get_param("method") == "PUBLISH"
        calendars[address] = vobject.readOne(part.get_payload(decode=True).decode("utf-8"))
    zagreb = calendars["ivana@grad.example.org"]
    assert zagreb.method.value == "PUBLISH" and zagreb.vtimezone.tzid.value == "Europe/Zagreb"
    assert zagreb.vevent.dtstart.params["X-VOBJ-ORIGINAL-TZID"] == ["Europe/Zagreb"]
    assert zagreb.vevent.uid.value == calendars["john@grad.example.org"].vevent.uid.value == \
        "bsi-training-hr@bsi.example.org"
    assert zagreb.vevent.summary.value.startswith("Nacionalni dan edukacije")
    assert calendars["john@grad.example.org"].vevent.summary.value.startswith("National training day")
    assert calendars["ewa@gmina.example.org"].vevent.uid.value == "bsi-training-pl@bsi.example.org"
    assert {c.vevent.sequence.value for c in calendars.values()} == {"0"}

    shown = runner("event", "show", "bsi-training", "--json", env=env)
    sessions = {s["code"]: s for s in json.loads(shown.stdout)["sessions"]}
    assert sessions["HR"]["uid"] == "bsi-training-hr@bsi.example.org" and sessions["HR"]["capacity"] == 80


def test_an_invitation_to_a_past_event_needs_force(runner, env, smtpd, db_path, clock, settings, tmp_path) -> None:
    folder = event_campaign(settings, tmp_path, pl_starts=datetime(2020, 5, 5, 9, 0)).campaigns_dir
    env = {**env, **smtpd.env(), "OUTREACH_CAMPAIGNS": str(folder)}
    _contacts(db_path, clock, [("ewa@gmina.example.org", "Ewa Nowak", "supplier", "PL", "pl")])
    refused = runner("send", "training", "--yes", env=env)
    assert refused.exit_code == 1 and "[events.PL] started on 2020-05-05 09:00" in refused.output
    assert "--force" in refused.output and smtpd.messages == []
    assert runner("send", "training", "--yes", "--force", env=env).exit_code == 0
    assert len(smtpd.messages) == 1


def test_bad_options_explain_themselves(runner, env, settings, tmp_path, db_path, clock) -> None:
    _contacts(db_path, clock, [])
    env = {**env, "OUTREACH_CAMPAIGNS": str(event_campaign(settings, tmp_path).campaigns_dir)}
    bad = runner("event", "remind", "training", "--before", "2 weeks", env=env)
    assert bad.exit_code == 2 and "2d" in bad.output and "12h" in bad.output
    unknown = runner("event", "attendees", "training", "--session", "webinr", env=env)
    assert unknown.exit_code != 0 and "did you mean 'webinar'" in unknown.output
    both = runner("event", "attendance", "import", "training", "nothing.xlsx", "--session", "PL", env=env)
    assert both.exit_code != 0 and "nothing.xlsx does not exist" in both.output


def test_attendance_import_from_a_real_xlsx(runner, env, settings, tmp_path, db_path, clock) -> None:
    from openpyxl import Workbook

    from outreach.campaigns.folder import load_campaign
    from outreach.events.registration import register
    from outreach.events.sessions import open_session
    from outreach.models.sessions import Person

    env_settings = event_campaign(settings, tmp_path)
    env = {**env, "OUTREACH_CAMPAIGNS": str(env_settings.campaigns_dir)}
    _contacts(db_path, clock, [("walk@gmina.example.org", "Wojciech Walk", "authority", "PL", "pl")])
    db = open_database(db_path)
    opened = open_session(db, clock, load_campaign(env_settings, "training"), "PL")
    register(db, clock, opened.row.id, Person("zofia@gmina.example.org", "Zofia Żółkiewska", language="pl"))
    db.close()
    book = Workbook()
    sheet = book.active
    sheet.append(["Imię i nazwisko", "E-mail", "Podpis"])
    sheet.append(["Zofia Żółkiewska", "Zofia@Gmina.example.org", "✓"])
    sheet.append(["Wojciech Walk", "walk@gmina.example.org", "✓"])
    sheet.append(["Nieznana Osoba", "stranger@example.com", "✓"])
    sheet.append(["Zły adres", "not-an-address", "✓"])
    path = tmp_path / "lista obecności.xlsx"
    book.save(path)
    first = runner("event", "attendance", "import", "training", str(path), "--session", "PL", env=env)
    assert first.exit_code == 0, first.output
    assert "2 attendances recorded" in first.output
    assert "stranger@example.com" in first.output and "lista obecności.xlsx:4" in first.output
    assert "lista obecności.xlsx:5" in first.output and "walk@gmina.example.org" in first.output
    again = runner("event", "attendance", "import", "training", str(path), "--session", "PL", env=env)
    assert "0 attendances recorded, 2 were already" in again.output
    listed = json.loads(runner("event", "attendees", "training", "--session", "PL", "--json", env=env).stdout)
    came = {row["email"]: (row["status"], row["attended"]) for row in listed}
    assert came == {"zofia@gmina.example.org": ("registered", True), "walk@gmina.example.org": ("walk-in", True)}
    db = open_database(db_path)
    assert db.execute("SELECT count(*) FROM contacts WHERE email = 'stranger@example.com'").fetchone()[0] == 0
    csv_out = runner("event", "attendees", "training", "--csv", "--session", "PL", env=env).stdout
    assert csv_out.splitlines()[0].startswith("session,email,name") and "Zofia Żółkiewska" in csv_out


def test_report_and_history_show_invited_registered_attended(runner, env, smtpd, db_path, clock) -> None:
    from outreach.campaigns.folder import load_campaign
    from outreach.config import Settings
    from outreach.events.registration import register
    from outreach.events.sessions import open_session
    from outreach.models.sessions import Person

    _contacts(db_path, clock, [("ivana@grad.example.org", "Ivana Horvat", "authority", "HR", "hr"),
                               ("john@grad.example.org", "John Smith", "supplier", "HR", "en")])
    assert runner("send", "bsi-training", "--yes", "--force", env={**env, **smtpd.env()}).exit_code == 0
    db = open_database(db_path)
    campaign = load_campaign(Settings.from_env(env), "bsi-training")
    session_id = open_session(db, clock, campaign, "HR").row.id
    register(db, clock, session_id, Person("ivana@grad.example.org", "Ivana Horvat", contact_id=1, language="hr"))
    register(db, clock, session_id, Person("public@udruga.example.org", "Petra Public", language="hr"))
    from outreach.db.registrations import record_attendance

    record_attendance(db, "2027-03-09T10:00:00Z", session_id, "ivana@grad.example.org", 1, 1, "sheet.xlsx")
    db.close()
    document = json.loads(runner("event", "report", "bsi-training", "--json", env=env).stdout)
    rows = {(r["country"], r["kind"], r["language"]): r for r in document["rows"]}
    assert rows[("HR", "authority", "hr")]["invited"] == 1 and rows[("HR", "authority", "hr")]["attended"] == 1
    assert rows[("HR", "supplier", "en")]["registered"] == 0 and rows[("HR", "supplier", "en")]["invited"] == 1
    assert rows[("HR", "other", "hr")]["registered"] == 1  # the public page's registrant, not a contact
    total = document["totals"]["bsi-training"]
    assert (total["invited"], total["registered"], total["attended"]) == (2, 2, 1)
    assert total["registration_rate"] == 1.0 and total["attendance_rate"] == 0.5
    by_country = runner("event", "report", "--by", "country", "--csv", env=env).stdout.splitlines()
    assert by_country[0] == "campaign,country,invited,registered,waiting,declined,attended"
    assert "bsi-training,HR,2,2,0,0,1" in by_country
    assert runner("event", "report", "--by", "contry", env=env).exit_code == 2
    history = json.loads(runner("contacts", "history", "ivana@grad.example.org", "--json", env=env).stdout)
    assert history["registrations"] == [{
        "campaign": "bsi-training", "session": "HR", "starts_at": "2027-03-09T08:30:00Z", "answer": "registered",
        "source": "mail", "answered_at": history["registrations"][0]["answered_at"],
        "updated_at": history["registrations"][0]["updated_at"], "attended": True,
        "attended_at": "2027-03-09T10:00:00Z"}]
    table = runner("contacts", "history", "ivana@grad.example.org", env=env).stdout
    assert "bsi-training" in table and "HR" in table and "registered" in table


def test_contacts_show_lists_event_answers(runner, env, settings, tmp_path, db_path, clock) -> None:
    from outreach.campaigns.folder import load_campaign
    from outreach.events.registration import decline
    from outreach.events.sessions import open_session
    from outreach.models.sessions import Person

    env_settings = event_campaign(settings, tmp_path)
    _contacts(db_path, clock, [("ewa@gmina.example.org", "Ewa Nowak", "supplier", "PL", "pl")])
    db = open_database(db_path)
    opened = open_session(db, clock, load_campaign(env_settings, "training"), "PL")
    decline(db, clock, opened.row.id, Person("ewa@gmina.example.org", "Ewa Nowak", contact_id=1))
    db.close()
    env = {**env, "OUTREACH_CAMPAIGNS": str(env_settings.campaigns_dir)}
    document = json.loads(runner("contacts", "show", "ewa@gmina.example.org", "--json", env=env).stdout)
    assert [(r["campaign"], r["session"], r["answer"]) for r in document["registrations"]] == [
        ("training", "PL", "declined")]
    assert "event training/PL: declined" in runner("contacts", "show", "ewa@gmina.example.org", env=env).stdout
