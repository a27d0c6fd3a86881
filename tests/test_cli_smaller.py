"""The smaller stumbles of issue 14, each as a user meets it: a killed send's status, a dry run of a finished
campaign, the send rate, check statuses, import messages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from _tracking_data import seed
from clock_support import FakeClock

from outreach.clock import SystemClock, utcnow_iso
from outreach.db.locks import insert_lock
from outreach.db.schema import open_database
from outreach.models.deliveries import LockHolder


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _lock(db_path: Path, pid: int) -> None:
    db = open_database(db_path)
    now = utcnow_iso(SystemClock())  # a fresh heartbeat: only the process's absence says it is gone
    insert_lock(db, "bsi-awareness", LockHolder("owner-1", socket.gethostname(), pid, now, now))
    db.close()


def test_status_after_kill_says_interrupted_and_the_last_real_send(runner, db_path: Path) -> None:
    db = open_database(db_path)
    clock = FakeClock()
    seed(db, clock)  # the campaign's record says last sent 2026-11-25T09:00:00Z
    with db.atomic():  # a later message of the run that was killed before it updated the record
        db.execute("UPDATE deliveries SET sent_at = '2026-11-26T14:30:00Z' WHERE id = (SELECT max(id) "
                   "FROM deliveries)")
    db.close()
    pid = _dead_pid()
    _lock(db_path, pid)
    result = runner("status", "bsi-awareness")
    assert result.exit_code == 0, result.output
    assert f"Interrupted (process {pid} on {socket.gethostname()} is gone); the next send continues" in result.stdout
    assert "Being sent now" not in result.stdout
    assert "last 2026-11-26T14:30:00Z" in result.stdout  # the deliveries' own time, not the stale record
    assert runner("status", "bsi-awareness", "--json").stdout.count('"gone": true') == 1


def test_status_of_a_live_sender_says_being_sent(runner, db_path: Path) -> None:
    db = open_database(db_path)
    seed(db, FakeClock())
    db.close()
    _lock(db_path, os.getpid())
    result = runner("status", "bsi-awareness")
    assert f"Being sent now by process {os.getpid()}" in result.stdout and "Interrupted" not in result.stdout


def test_send_rate_is_measured_from_the_first_message_and_never_a_false_zero() -> None:
    from outreach.cli.sending import RateMeter

    meter = RateMeter()
    assert meter.text(0, 100.0) == ""  # rendering, connecting: nothing to measure yet (was "0/min")
    assert meter.text(1, 160.0) == ""  # the first message, after a minute of start-up
    assert meter.text(2, 162.0) == ""  # too little to measure
    assert meter.text(31, 220.0) == "30/min"  # 30 messages in the 60 s since the first one
    slow = RateMeter()
    slow.text(1, 0.0)
    assert slow.text(4, 3600.0) == "3/hour"  # 10/hour used to read "0/min"
    medium = RateMeter()
    medium.text(1, 0.0)
    assert medium.text(10, 120.0) == "4.5/min"


def test_import_names_the_merged_duplicates(runner, tmp_path: Path) -> None:
    rows = ["email,name"] + [f"p{n}@example.org,P{n}" for n in range(14)] + [f"P{n}@Example.org,Again {n}"
                                                                           for n in range(12)]
    (tmp_path / "list.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner("contacts", "import", str(tmp_path / "list.csv"), "--country", "PL")
    assert result.exit_code == 0, result.output
    assert "12 duplicate row(s) merged" in result.stderr
    assert "Duplicate addresses merged (--on-duplicate): p0@example.org (rows list.csv:2, list.csv:16)" in result.stderr
    assert "p9@example.org (rows list.csv:11, list.csv:25) and 2 more" in result.stderr
    assert "p10@example.org" not in result.stderr
    document = runner("contacts", "import", str(tmp_path / "list.csv"), "--country", "PL", "--json").stdout
    import json

    assert json.loads(document)["duplicate_rows"][0]["email"] == "p0@example.org"


def _docx(path: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return path


@pytest.mark.parametrize(("name", "content", "looks"), [
    ("contacts.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "is a PDF document"),
    ("contacts.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a PNG image"),
    ("contacts.xlsx", b"{\\rtf1\\ansi email,name\\par}", "is an RTF document"),
    ("contacts.csv", b"\x00\x01\x02\x03\x04\x05\x06" * 20, "is not a text (CSV) file: it holds binary data"),
])
def test_a_file_that_is_no_spreadsheet_says_what_it_looks_like(runner, tmp_path: Path, name: str, content: bytes,
                                                              looks: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = runner("contacts", "import", str(path), "--country", "PL")
    assert result.exit_code == 1
    assert f"{path} {looks}" in result.stderr.replace("\n", " ") or looks in result.stderr
    assert "no email column" not in result.stderr and "Traceback" not in result.output
    assert "save it as .xlsx" in result.stderr or "CSV (UTF-8)" in result.stderr


def test_a_word_document_renamed_csv_is_named(runner, tmp_path: Path) -> None:
    path = _docx(tmp_path / "contacts.csv")
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 1 and "is a Word document, not a spreadsheet" in result.stderr
