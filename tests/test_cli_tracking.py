"""The tracking commands as a user runs them: bounces, unsubscribes, report, history, db merge/backup."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest
from _tracking_data import DATA, seed, status_of
from clock_support import FakeClock

from outreach.db.schema import open_database


def seeded(db_path: Path) -> None:
    db = open_database(db_path)
    seed(db, FakeClock())
    db.close()


def mbox_of_samples(path: Path) -> Path:
    box = mailbox.mbox(str(path))
    for sample in sorted(DATA.glob("*.eml")):
        box.add(sample.read_bytes())
    box.flush()
    box.close()
    return path


def test_bounces_import_reports_matched_ignored_and_problems(runner, db_path: Path, tmp_path: Path) -> None:
    seeded(db_path)
    box = mbox_of_samples(tmp_path / "bounces.mbox")
    result = runner("bounces", "import", str(box), "--json")
    assert result.exit_code == 4  # one message could not be read: reported, the rest processed
    document = json.loads(result.stdout)
    assert document["counts"] == {"matched": 7, "ignored": 2, "unmatched": 0, "review": 0, "problem": 1}
    problem = next(m for m in document["messages"] if m["outcome"] == "problem")
    assert problem["source"].endswith("bounces.mbox #5") and "damaged" in problem["reason"]
    again = runner("bounces", "import", str(box))
    assert "0 matched, 9 ignored" in again.stdout
    assert "already processed" in again.stdout
    db = open_database(db_path)
    assert status_of(db, "jan.kowalski@gmina.example.org") == "bounced"
    db.close()


def test_bounces_import_of_a_missing_file_is_one_clear_error(runner, db, tmp_path: Path) -> None:
    result = runner("bounces", "import", str(tmp_path / "nope.mbox"))
    assert result.exit_code == 1
    assert "Error:" in result.stderr and "nope.mbox does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_bounces_fetch_without_settings_names_them(runner, db) -> None:
    result = runner("bounces", "fetch")
    assert result.exit_code == 3
    assert "OUTREACH_IMAP_HOST" in result.stderr


def test_unsubscribes_import(runner, db_path: Path, tmp_path: Path) -> None:
    from conftest import SECRET

    from outreach.mail.tokens import Purpose, contact_token

    seeded(db_path)
    db = open_database(db_path)
    maria = db.execute("SELECT id, email FROM contacts WHERE email = 'maria.pop@primaria.example.org'").fetchone()
    db.close()
    token = contact_token(SECRET, Purpose.UNSUBSCRIBE, maria[0], maria[1], "bsi-awareness")
    mail = tmp_path / "unsubscribe.eml"
    mail.write_bytes(b"From: Maria Pop <maria.pop@primaria.example.org>\r\nTo: unsubscribe@bsi.example.org\r\n"
                     b"Subject: unsubscribe " + token.encode() + b"\r\nMessage-ID: <u-1@primaria.example.org>\r\n"
                     b"\r\nunsubscribe\r\n")
    result = runner("unsubscribes", "import", str(mail), env={"OUTREACH_SECRET_KEY": SECRET})
    assert result.exit_code == 0, result.output
    assert "1 matched" in result.stdout
    db = open_database(db_path)
    assert status_of(db, "maria.pop@primaria.example.org") == "unsubscribed"
    db.close()


def test_report_formats(runner, db_path: Path, tmp_path: Path) -> None:
    seeded(db_path)
    runner("bounces", "import", str(DATA / "postfix_hard.eml"))
    table = runner("report", "--by", "country")
    assert table.exit_code == 0 and "bsi-awareness" in table.stdout
    as_json = json.loads(runner("report", "bsi-awareness", "--format", "json").stdout)
    total = next(r for r in as_json["rows"] if r["campaign"] is None)
    assert (total["targeted"], total["sent"], total["bounced"]) == (9, 9, 1)
    csv_text = runner("report", "--by", "kind", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("campaign,kind,targeted,sent")
    html_file = tmp_path / "report.html"
    result = runner("report", "--format", "html", "-o", str(html_file), "--since", "2026-01-01")
    assert result.exit_code == 0 and html_file.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    reach = json.loads(runner("report", "reach", "--format", "json").stdout)
    poland = next(c for c in reach["countries"] if c["country"] == "PL")
    # Jan Kowalski's message hard-bounced (postfix_hard.eml): sent, not delivered, so Poland is not reached
    assert poland["authority"] == 0 and reach["totals"]["supplier"] == 2 and reach["totals"]["authority"] == 6


def test_report_bad_options(runner, db_path: Path) -> None:
    seeded(db_path)
    for args, message in [(("--since", "25/11/2026"), "--since '25/11/2026' is not a date"),
                          (("--by", "region"), "--by 'region' is not a breakdown"),
                          (("bsi-nothing",), "No campaign 'bsi-nothing'"),
                          (("reach", "--by", "country"), "--by does not apply")]:
        result = runner("report", *args)
        assert result.exit_code == 1, args
        assert message in result.stderr


@pytest.mark.parametrize("args", [("report", "--format", "pdf"), ("contacts", "export", "--format", "pdf")])
def test_a_bad_format_is_a_usage_error(runner, db_path: Path, args: tuple[str, ...]) -> None:
    seeded(db_path)
    result = runner(*args)
    assert result.exit_code == 2, result.output  # the README: 2, the command line itself is wrong
    assert "Invalid value for '--format': 'pdf' is not one of:" in result.stderr and result.stdout == ""


def test_contacts_history(runner, db_path: Path) -> None:
    seeded(db_path)
    runner("bounces", "import", str(DATA / "gmail_hard.eml"))
    result = runner("contacts", "history", "Giulia.Rossi@cooperativa.example.com", "--json")
    document = json.loads(result.stdout)
    assert document["contact"]["status"] == "bounced"
    assert document["deliveries"][0]["outcome"] == "bounced"
    assert "5.1.1" in document["events"][0]["detail"]
    prose = runner("contacts", "history", "giulia.rossi@cooperativa.example.com")
    assert "bsi-awareness" in prose.stdout and "bounced (hard)" in prose.stdout
    missing = runner("contacts", "history", "nobody@example.org")
    assert missing.exit_code == 1 and "No contact" in missing.stderr


def test_db_backup_and_merge(runner, db_path: Path, tmp_path: Path) -> None:
    seeded(db_path)
    backup = tmp_path / "backup.db"
    result = runner("db", "backup", str(backup))
    assert result.exit_code == 0 and backup.exists()
    assert runner("db", "backup", str(backup)).exit_code == 1  # never overwrites
    other = tmp_path / "other.db"
    db = open_database(other)
    seed(db, FakeClock(), campaign="bsi-training")
    db.close()
    dry = json.loads(runner("db", "merge", str(other), "--dry-run", "--json").stdout)
    assert dry["dry_run"] and dry["deliveries_added"] == 9 and dry["campaigns_added"] == 1
    assert "would bring" in runner("db", "merge", str(other), "--dry-run").stdout
    assert json.loads(runner("db", "merge", str(other), "--json").stdout)["deliveries_added"] == 9
    assert "Nothing to change" in runner("db", "merge", str(other)).stdout
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n" * 500, encoding="utf-8")
    refused = runner("db", "merge", str(notes))
    assert refused.exit_code == 1 and "not an outreach database" in refused.stderr
