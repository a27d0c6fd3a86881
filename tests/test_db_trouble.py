"""Database trouble told as messages (damaged file, full disk, read-only file) and erasure that leaves no trace.

Each case uses a real SQLite file made by outreach and the real command: the message, exit code 3, no traceback,
and what was kept. A full disk is SQLite's own `max_page_count` (the size limit SQLite reports exactly as a full
disk: SQLITE_FULL) set on the command's connection; a read-only file is a read-only bind mount in a private mount
namespace (`unshare -m`), which refuses root too — `chmod a-w` does not stop root, and these tests run as root.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, SECRET

import outreach.db.schema as schema
from outreach.contacts.model import clean_fields, erase, insert_contact, normalize_email
from outreach.db.schema import open_database

CAMPAIGN = "bsi-awareness"


def people(db_path: Path, clock, count: int) -> list[str]:
    db = open_database(db_path)
    emails = []
    for n in range(count):
        email = normalize_email(f"person{n:03d}@gmina{n % 7}.example.org")
        insert_contact(db, clock, email, clean_fields({"name": f"Osoba Łódzka {n}", "organisation": "Gmina",
                                                       "kind": "authority", "country": "PL"}))
        emails.append(email)
    db.close()
    return emails


def count(db_path: Path, sql: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int | None]]:
    """Once `extra[0]` is set, every connection opened may grow the file by at most that many pages."""
    extra: list[int | None] = [None]
    original = schema.connect

    def connect(path: Path | str) -> schema.Database:
        db = original(path)
        if extra[0] is not None:
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {max(pages, 2) + extra[0]}")
        return db

    monkeypatch.setattr(schema, "connect", connect)
    yield extra


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>",
            "OUTREACH_SECRET_KEY": SECRET, "OUTREACH_PUBLIC_URL": "https://news.example.org",
            "OUTREACH_ORGANISATION": "Buying for Social Impact",
            "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
            "OUTREACH_CAMPAIGNS": str(REPO / "campaigns"), "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
            "OUTREACH_OUTBOX": str(tmp_path / "outbox"), "OUTREACH_RATE": "100000/min"}


# --- erasure ----------------------------------------------------------------------------------------------------


@pytest.fixture
def build_without_secure_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite as other builds than Debian's ship it: every new connection starts with secure_delete off."""
    original = sqlite3.connect

    def connect(*args, **kwargs):  # type: ignore[no-untyped-def]
        conn = original(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)


def test_every_connection_turns_secure_delete_on(db_path: Path, build_without_secure_delete) -> None:
    assert sqlite3.connect(":memory:").execute("PRAGMA secure_delete").fetchone()[0] == 0
    db = open_database(db_path)
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    db.close()


MARKS = [b"zofia.wisniewska", "Wiśniewska-Ząbkowska".encode()]


def add_and_erase(db_path: Path, clock, *, secure_delete_off: bool = False) -> tuple[bytes, bytes]:
    """(WAL after the erasure, database file after a checkpoint) for a person added, then erased."""
    people(db_path, clock, 30)
    db = open_database(db_path)
    insert_contact(db, clock, "zofia.wisniewska@urzad.example.org",
                   clean_fields({"name": "Zofia Wiśniewska-Ząbkowska", "organisation": "Urząd Miasta Ełk",
                                 "kind": "authority", "country": "PL"}))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert all(mark in db_path.read_bytes() for mark in MARKS)  # the test can see them while they are there
    if secure_delete_off:
        db.conn.execute("PRAGMA secure_delete = OFF")
    erase(db, clock, "zofia.wisniewska@urzad.example.org")
    wal = Path(str(db_path) + "-wal").read_bytes()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = db_path.read_bytes()
    db.close()
    return wal, raw


def test_an_erased_person_is_not_in_the_raw_file_nor_its_wal(db_path: Path, clock,
                                                             build_without_secure_delete) -> None:
    wal, raw = add_and_erase(db_path, clock)
    assert not any(mark in wal for mark in MARKS)
    assert not any(mark in raw for mark in MARKS), "the erased person is still readable in the file"


def test_without_secure_delete_the_erased_person_would_stay_in_the_file(db_path: Path, clock,
                                                                       build_without_secure_delete) -> None:
    """What the pragma prevents (and proof that the test above can fail)."""
    _, raw = add_and_erase(db_path, clock, secure_delete_off=True)
    assert any(mark in raw for mark in MARKS)


# --- a damaged file ----------------------------------------------------------------------------------------------


def damage(db_path: Path) -> None:
    """Overwrite the pages of the contacts table (not the header), as a failing disk or a bad copy would."""
    conn = sqlite3.connect(db_path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'contacts'").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with db_path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\x0d\xff\xff" + b"garbage!" * (page_size // 8 - 1))


def test_a_damaged_file_is_named_with_the_way_to_recover(runner, db_path: Path, clock) -> None:
    people(db_path, clock, 5)
    damage(db_path)
    result = runner("contacts", "list")
    assert result.exit_code == 3, result.output
    assert f"The database {db_path} is damaged (database disk image is malformed)" in result.output
    assert f"sqlite3 {db_path} .recover | sqlite3 recovered.db" in result.output
    assert "Traceback" not in result.output
    backup = runner("db", "backup", str(db_path.parent / "copy.db"))
    assert backup.exit_code == 3 and "the database being copied is damaged" in backup.output
    assert ".recover" in backup.output and "disk space" not in backup.output
    assert not (db_path.parent / "copy.db").exists()


# --- a full disk --------------------------------------------------------------------------------------------------


def write_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["email", "name", "organisation", "kind", "country"])
        for n in range(rows):
            writer.writerow([f"new{n:04d}@miasto.example.org", f"Nowa Osoba Świętokrzyska {n}", "Miasto",
                             "authority", "PL"])
    return path


def test_disk_full_during_an_import_keeps_what_was_there(runner, db_path: Path, clock, full_disk,
                                                         tmp_path: Path) -> None:
    before = people(db_path, clock, 20)
    sheet = write_csv(tmp_path / "big.csv", 1500)
    full_disk[0] = 3
    result = runner("contacts", "import", str(sheet))
    assert result.exit_code == 3, result.output
    assert f"The disk holding the database {db_path} is full" in result.output
    assert "everything saved before it is intact" in result.output and "run the same command again" in result.output
    assert "Traceback" not in result.output
    assert count(db_path, "SELECT count(*) FROM contacts") == len(before)  # nothing lost, no half import
    assert count(db_path, "SELECT count(*) FROM contacts WHERE email LIKE 'new%'") == 0

    full_disk[0] = 10_000  # space freed
    again = runner("contacts", "import", str(sheet))
    assert again.exit_code == 0, again.output
    assert count(db_path, "SELECT count(*) FROM contacts") == len(before) + 1500


def test_disk_full_before_the_queue_is_written_sends_nothing(runner, env, smtpd, db_path: Path, clock,
                                                               full_disk) -> None:
    emails = people(db_path, clock, 40)
    full_disk[0] = 0
    result = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert result.exit_code == 3, result.output
    assert "is full" in result.output and "Traceback" not in result.output
    assert smtpd.messages == []
    assert count(db_path, "SELECT count(*) FROM deliveries") == 0

    full_disk[0] = 10_000
    again = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert again.exit_code == 0, again.output
    assert Counter(r for m in smtpd.messages for r in m.rcpt_tos) == Counter(emails)


@pytest.mark.parametrize("room", [1, 3], ids=["full-while-recording-a-reply", "full-while-handing-over"])
def test_disk_full_in_the_middle_of_a_send_mails_no_one_twice(runner, env, smtpd, db_path: Path, clock,
                                                                full_disk, room: int) -> None:
    emails = people(db_path, clock, 150)
    first = runner("send", CAMPAIGN, "--yes", "--limit", "1", env={**env, **smtpd.env()})  # queues all 150
    assert first.exit_code == 0, first.output
    full_disk[0] = room  # then the disk fills up: recording the replies needs pages there is no room for
    result = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert result.exit_code == 3, result.output
    assert "full" in result.output and "everything saved before it is intact" in result.output
    assert "Traceback" not in result.output
    sent_before = Counter(r for m in smtpd.messages for r in m.rcpt_tos)
    assert 1 < len(sent_before) < 150, "the disk must fill up in the middle of the run"
    assert count(db_path, "SELECT count(*) FROM deliveries") == 150  # the queue is intact

    full_disk[0] = 10_000
    again = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert again.exit_code in (0, 4), again.output
    received = Counter(r for m in smtpd.messages for r in m.rcpt_tos)
    assert max(received.values()) == 1, "someone was mailed twice"
    unsettled = count(db_path, "SELECT count(*) FROM deliveries WHERE status NOT IN ('sent')")
    assert set(received) <= set(emails)
    assert len(received) + unsettled >= 150  # everyone is either mailed once or left for a decision (unknown)


# --- a read-only file -----------------------------------------------------------------------------------------


def run_read_only(folder: Path, *args: str, settings: dict[str, str] | None = None
                  ) -> subprocess.CompletedProcess[str]:
    """Run outreach with `folder` mounted read-only: a bind mount in a private namespace as root, else chmod."""
    command = [sys.executable, "-m", "outreach", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")} | (settings or {})
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        finally:
            folder.chmod(0o755)
    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("root without mount namespaces (unshare -m): no way to make a file read-only for root here")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, str(folder), *command], capture_output=True,
                          text=True, env=env, timeout=60)


@pytest.fixture
def read_only_db(tmp_path: Path, clock) -> Path:
    folder = tmp_path / "readonly"
    folder.mkdir()
    db_path = folder / "contacts.db"
    people(db_path, clock, 3)
    return db_path


def test_read_commands_work_on_a_read_only_database(read_only_db: Path) -> None:
    listed = run_read_only(read_only_db.parent, "--db", str(read_only_db), "contacts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "person000@gmina0.example.org" in listed.stdout
    report = run_read_only(read_only_db.parent, "--db", str(read_only_db), "report", "--format", "json")
    assert report.returncode == 0, report.stderr


def test_write_commands_say_the_database_is_read_only(read_only_db: Path) -> None:
    added = run_read_only(read_only_db.parent, "--db", str(read_only_db), "contacts", "add",
                          "nowa@urzad.example.org", "--country", "PL")
    assert added.returncode == 3, added.stderr
    assert f"The database {read_only_db} is read-only" in added.stderr
    assert "read-only" in added.stderr and "nothing was changed" in added.stderr
    assert "Traceback" not in added.stderr and "is not an outreach database" not in added.stderr
    assert count(read_only_db, "SELECT count(*) FROM contacts") == 3


def test_a_send_on_a_read_only_database_mails_no_one(read_only_db: Path, env, smtpd) -> None:
    result = run_read_only(read_only_db.parent, "--db", str(read_only_db), "send", CAMPAIGN, "--yes",
                           settings={**env, **smtpd.env()})
    assert result.returncode == 3, result.stderr
    assert f"The database {read_only_db} is read-only" in result.stderr and "Traceback" not in result.stderr
    assert smtpd.messages == []
    assert count(read_only_db, "SELECT count(*) FROM deliveries") == 0


def test_a_new_database_in_a_read_only_folder_is_refused_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir()
    # `contacts add` may create a database (read commands never do)
    result = run_read_only(folder, "--db", str(folder / "contacts.db"), "contacts", "add", "ana@example.org")
    assert result.returncode == 3, result.stderr
    assert f"Cannot create the database {folder / 'contacts.db'}" in result.stderr
    assert "Traceback" not in result.stderr
