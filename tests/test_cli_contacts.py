"""The `outreach contacts` commands, run as a user runs them, against a real database file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

LIST_KEYS = {"email", "name", "organisation", "role", "kind", "country", "language", "tags", "status",
             "consent_basis", "consent_source", "consent_at", "created_at", "updated_at"}


def listed(runner, *args: str) -> list[dict]:
    result = runner("contacts", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def sample(runner) -> None:
    from outreach.resources import bundled

    result = runner("contacts", "import", str(bundled("examples") / "contacts.csv"))
    assert result.exit_code == 0, result.output


def test_add_show_edit(runner) -> None:
    result = runner("contacts", "add", "Ελένη Οικονόμου <E.Oikonomou@KoinSEp.example.org>", "--kind", "supplier",
                    "--country", "Ελλάδα", "--tag", "bsi,wave-1", "--attr", "Τηλέφωνο=+30 210 000", "--json")
    assert result.exit_code == 0, result.output
    added = json.loads(result.stdout)
    assert (added["email"], added["name"], added["country"], added["language"]) == (
        "e.oikonomou@koinsep.example.org", "Ελένη Οικονόμου", "GR", "el")
    assert added["tags"] == ["bsi", "wave-1"] and added["attributes"] == {"Τηλέφωνο": "+30 210 000"}
    again = runner("contacts", "add", "e.oikonomou@koinsep.example.org")
    assert again.exit_code == 1 and "already a contact" in again.output
    result = runner("contacts", "edit", "E.OIKONOMOU@koinsep.example.org", "--role", "Πρόεδρος", "--attr",
                    "Τηλέφωνο=", "--language", "en")
    assert result.exit_code == 0, result.output
    shown = json.loads(runner("contacts", "show", "e.oikonomou@koinsep.example.org", "--json").stdout)
    assert shown["contact"]["role"] == "Πρόεδρος" and shown["contact"]["attributes"] == {}
    assert shown["contact"]["language"] == "en"
    assert set(shown) >= {"contact", "deliveries", "events", "signups", "suppressed"}
    assert shown["contact"]["field_updated_at"]["role"]
    text = runner("contacts", "show", "e.oikonomou@koinsep.example.org")
    assert text.exit_code == 0 and "Πρόεδρος" in text.output
    bad = runner("contacts", "edit", "e.oikonomou@koinsep.example.org", "--country", "Mordor")
    assert bad.exit_code == 1 and "Mordor" in bad.output


def test_add_rejects_bad_values(runner) -> None:
    for args, needle in ((["not-an-address"], "not a valid email"), (["a@x.example.org", "--kind", "vendor"], "vendor"),
                         (["a@x.example.org", "--name", "A\nB"], "line break"),
                         (["a@x.example.org", "--attr", "novalue"], "KEY=VALUE")):
        result = runner("contacts", "add", *args)
        assert result.exit_code == 1, args
        assert needle in result.output and "Traceback" not in result.output
    assert listed(runner) == []


def test_list_filters_and_keys(runner, sample) -> None:
    everyone = listed(runner)
    assert len(everyone) >= 60 and set(everyone[0]) >= LIST_KEYS
    polish = listed(runner, "--country", "Polska", "--kind", "authority")
    assert polish and all(c["country"] == "PL" and c["kind"] == "authority" for c in polish)
    hungarian = listed(runner, "--language", "hu")
    assert {c["country"] for c in hungarian} == {"HU", "SK", "RO"}
    hospitals = listed(runner, "--tag", "hospital", "--tag", "bsi-2026")
    assert hospitals and all("hospital" in c["tags"] for c in hospitals)
    found = listed(runner, "--search", "ŻÓŁKIEWSKA")
    assert [c["name"] for c in found] == ["Małgorzata Żółkiewska"]
    assert len(listed(runner, "--limit", "3")) == 3
    table = runner("contacts", "list", "--country", "GR")
    assert table.exit_code == 0 and "Γιώργος" in table.output and "5 contact(s)" in table.output
    bad = runner("contacts", "list", "--status", "sleeping")
    assert bad.exit_code == 1 and "sleeping" in bad.output


def test_count_by(runner, sample) -> None:
    result = runner("contacts", "count", "--by", "country,kind", "--json")
    document = json.loads(result.stdout)
    assert document["by"] == ["country", "kind"]
    assert sum(group["count"] for group in document["groups"]) == document["total"]
    assert {"country": "PL", "kind": "authority", "count": 3} in document["groups"]
    assert json.loads(runner("contacts", "count", "--country", "GR", "--json").stdout) == {"total": 5}
    bad = runner("contacts", "count", "--by", "colour")
    assert bad.exit_code == 1 and "colour" in bad.output


def test_tag_untag_remove(runner, sample) -> None:
    result = runner("contacts", "tag", "speakers", "--country", "LV", "--kind", "authority")
    assert result.exit_code == 0 and "Tagged 3" in result.output
    assert len(listed(runner, "--tag", "speakers")) == 3
    assert runner("contacts", "untag", "speakers", "janis.berzins@riga-piemers.example").exit_code == 0
    assert len(listed(runner, "--tag", "speakers")) == 2
    refused = runner("contacts", "tag", "everyone")
    assert refused.exit_code == 1 and "--all" in refused.output
    missing = runner("contacts", "tag", "x", "nobody@x.example.org")
    assert missing.exit_code == 1 and "nobody@x.example.org" in missing.output
    removed = runner("contacts", "remove", "jan.kowalski@gmina-przyklad.example")
    assert removed.exit_code == 0
    assert listed(runner, "--search", "kowalski") == []


def test_erase_asks_and_forgets(runner, sample, db_path: Path) -> None:
    address = "jiri.dvorak@mesto-priklad.example"
    declined = runner("contacts", "erase", address, input="n\n")
    assert declined.exit_code == 1 and "Nothing erased" in declined.output
    assert listed(runner, "--search", "dvorak")
    accepted = runner("contacts", "erase", address, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert listed(runner, "--search", "dvorak") == []
    conn = sqlite3.connect(db_path)
    everything = "\n".join(str(row) for table in ("contacts", "events", "deliveries", "signups", "suppressions")
                           for row in conn.execute(f"SELECT * FROM {table}"))
    conn.close()
    assert "dvorak" not in everything.lower() and "Dvořák" not in everything
    shown = runner("contacts", "show", address)
    assert shown.exit_code == 1 and "salted hash" in shown.output
    added = runner("contacts", "add", address)
    assert added.exit_code == 1 and "suppression list" in added.output


def test_export_then_import_round_trip_via_cli(runner, sample, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    assert runner("contacts", "export", "-o", str(path), "--country", "RO,SK").exit_code == 0
    other = tmp_path / "other.db"
    from typer.testing import CliRunner

    from outreach.cli import app

    result = CliRunner().invoke(app, ["--db", str(other), "contacts", "import", str(path), "--json"])
    assert json.loads(result.stdout)["added"] == 10
    mine = [{k: v for k, v in c.items() if k not in ("created_at", "updated_at")}
            for c in listed(runner, "--country", "RO,SK")]
    theirs = json.loads(CliRunner().invoke(app, ["--db", str(other), "contacts", "list", "--json"]).stdout)
    assert [{k: v for k, v in c.items() if k not in ("created_at", "updated_at")} for c in theirs] == mine


def test_import_report_and_dry_run(runner, tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    path.write_text("E-mail;Imię i nazwisko;Kraj\nanna@gmina.example.org;Anna Nowak;PL\nbad;X;PL\n",
                    encoding="cp1250")
    dry = runner("contacts", "import", str(path), "--dry-run")
    assert dry.exit_code == 4
    assert "Would add 1" in dry.output and "invalid 1" in dry.output and "row 3" in dry.output
    assert "Dry run: nothing was written." in dry.output
    assert listed(runner) == []
    real = runner("contacts", "import", str(path), "--rejects", str(tmp_path / "rejects.csv"))
    assert real.exit_code == 4 and "Added 1" in real.output and "rejects.csv" in real.output
    assert (tmp_path / "rejects.csv").exists()
    assert [c["name"] for c in listed(runner)] == ["Anna Nowak"]


def test_contacts_help_lists_every_command(runner) -> None:
    result = runner("contacts", "--help")
    for command in ("add", "import", "list", "show", "edit", "tag", "untag", "remove", "count", "export", "erase"):
        assert command in result.output
