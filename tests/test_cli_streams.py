"""What a command was asked to show is on stdout, one row per line when piped; stderr carries no records.

Each command runs as a real subprocess with stdout and stderr piped (not a terminal), as `outreach … | grep` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _tracking_data import PEOPLE, seed
from clock_support import FakeClock
from conftest import REPO, SECRET

from outreach.contacts.model import clean_fields, insert_contact
from outreach.db.schema import open_database

LONG_ORGANISATION = ("Hrvatski zavod za zapošljavanje, Područna služba Zagreb, Odjel za socijalno "
                     "poduzetništvo i javnu nabavu")


@pytest.fixture
def workspace(db_path: Path, tmp_path: Path) -> dict[str, str]:
    db = open_database(db_path)
    clock = FakeClock()
    seed(db, clock)
    insert_contact(db, clock, "ivana.horvat@grad.example.hr", clean_fields(
        {"name": "Ivana Horvat", "organisation": LONG_ORGANISATION, "kind": "authority", "country": "HR",
         "tags": ["bsi-hr", "zagreb"], "attributes": {"Grad": "Zagreb", "Telefon": "+385 1 000"}}))
    db.close()
    return {**os.environ, "OUTREACH_DB": str(db_path), "OUTREACH_FROM": "BSI <news@bsi.example.org>",
            "OUTREACH_SECRET_KEY": SECRET, "OUTREACH_PUBLIC_URL": "https://news.example.org",
            "OUTREACH_ORGANISATION": "Buying for Social Impact", "OUTREACH_POSTAL_ADDRESS": "Rue 1, Bruxelles",
            "OUTREACH_CAMPAIGNS": str(REPO / "campaigns"), "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
            "COLUMNS": "80", "TERM": "xterm-256color"}


def run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outreach", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def rows(stdout: str) -> list[list[str]]:
    return [line.split("\t") for line in stdout.splitlines()]


def test_contacts_list_piped_is_one_tab_separated_row_per_contact(workspace, tmp_path: Path) -> None:
    result = run(workspace, tmp_path, "contacts", "list")
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert table[0] == ["email", "name", "organisation", "kind", "country", "lang", "tags", "status"]
    assert len(table) == 1 + len(PEOPLE) + 1 and all(len(row) == 8 for row in table)
    horvat = [line for line in result.stdout.splitlines() if "Horvat" in line]  # what `| grep Horvat` finds
    assert horvat == ["ivana.horvat@grad.example.hr\tIvana Horvat\t" + LONG_ORGANISATION
                      + "\tauthority\tHR\thr\tbsi-hr,zagreb\tactive"]
    assert "\x1b[" not in result.stdout  # no colours in a pipe
    assert "Horvat" not in result.stderr and "@" not in result.stderr
    assert result.stderr.strip() == f"{len(PEOPLE) + 1} contact(s)."


def test_contacts_show_reads_as_a_person_would(workspace, tmp_path: Path) -> None:
    result = run(workspace, tmp_path, "contacts", "show", "ivana.horvat@grad.example.hr")
    assert result.returncode == 0, result.stderr
    fields = {row[0]: row[1] for row in rows(result.stdout) if len(row) == 2}
    assert fields["tags"] == "bsi-hr, zagreb"
    assert fields["attributes"] == "Grad: Zagreb; Telefon: +385 1 000"
    assert fields["organisation"] == LONG_ORGANISATION
    assert "['" not in result.stdout and "{'" not in result.stdout
    assert "0 deliveries, 0 events." in result.stdout and result.stderr == ""


def test_config_goes_to_stdout(workspace, tmp_path: Path) -> None:
    result = run(workspace, tmp_path, "config")
    assert result.returncode == 0, result.stderr
    settings = {row[0]: row for row in rows(result.stdout)}
    assert settings["setting"] == ["setting", "value", "meaning"]
    assert settings["OUTREACH_DB"][1] == workspace["OUTREACH_DB"]
    assert SECRET not in result.stdout and "OUTREACH_" not in result.stderr
    with (tmp_path / "settings.txt").open("w") as file:  # `outreach config > settings.txt`
        subprocess.run([sys.executable, "-m", "outreach", "config"], env=workspace, cwd=tmp_path, stdout=file,
                       check=True, timeout=120)
    assert "OUTREACH_ORGANISATION\tBuying for Social Impact" in (tmp_path / "settings.txt").read_text()


@pytest.mark.parametrize(("args", "header", "expected", "absent_from_stderr"), [
    (("countries",), ["code", "country", "languages", "authority", "supplier", "subscriber", "other"],
     "HR\tCroatia (Hrvatska)\thr\t1\t0\t0\t0", "Croatia"),
    (("contacts", "count", "--by", "country,kind"), ["country", "kind", "count"], "PL\tauthority\t1", "PL"),
    (("campaign", "list"), ["slug", "name", "layout", "languages", "outdated"], "bsi-awareness\t", "bsi-awareness"),
    (("report", "--by", "country"), None, "bsi-awareness\tPL\t1\t1\t", "bsi-awareness"),
    (("report", "reach"), ["country", "authorities", "suppliers", "others", "total", "campaigns", "authority orgs",
                           "supplier orgs", "other orgs", "total orgs"],
     "PL\t1\t0\t0\t1\t1", "PL"),
])
def test_tables_are_tab_separated_on_stdout(workspace, tmp_path: Path, args, header, expected,
                                            absent_from_stderr) -> None:
    result = run(workspace, tmp_path, *args)
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    if header:
        assert table[0] == header
    assert len({len(row) for row in table}) == 1, result.stdout  # every line is a row of the same columns
    assert any(line.startswith(expected) for line in result.stdout.splitlines()), result.stdout
    assert absent_from_stderr not in result.stderr


def test_count_without_groups_is_the_number_on_stdout(workspace, tmp_path: Path) -> None:
    result = run(workspace, tmp_path, "contacts", "count", "--country", "HR")
    assert (result.returncode, result.stdout, result.stderr) == (0, "1 contact(s).\n", "")


def test_status_check_history_and_merge_report_on_stdout(workspace, tmp_path: Path) -> None:
    status = run(workspace, tmp_path, "status", "bsi-awareness")
    assert status.returncode == 0 and status.stdout.startswith(
        "bsi-awareness: 9 deliveries — 0 queued, 0 sending, 9 sent")
    assert status.stderr == ""
    check = run(workspace, tmp_path, "campaign", "check", "bsi-awareness")
    assert check.stdout.startswith("Campaign bsi-awareness: source en")
    assert "\nlanguage\tfile\ttranslation\trecipients\tfallback\tskipped\n" in check.stdout
    assert "error(s)" in check.stdout and "error(s)" not in check.stderr
    history = run(workspace, tmp_path, "contacts", "history", "jan.kowalski@gmina.example.org")
    assert history.returncode == 0 and "bsi-awareness\tpl\t" in history.stdout and history.stderr == ""
    i18n = run(workspace, tmp_path, "i18n", "check")
    assert "emails/hr: complete" in i18n.stdout and i18n.stderr == ""
    copy = tmp_path / "colleague.db"
    shutil.copy(workspace["OUTREACH_DB"], copy)
    merge = run(workspace, tmp_path, "db", "merge", str(copy), "--dry-run")
    assert "Nothing to change" in merge.stdout and "Dry run" in merge.stdout and merge.stderr == ""


def test_json_stays_one_document(workspace, tmp_path: Path) -> None:
    import json

    result = run(workspace, tmp_path, "contacts", "list", "--json")
    assert len(json.loads(result.stdout)) == len(PEOPLE) + 1 and result.stderr == ""
