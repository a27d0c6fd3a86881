"""Issue 12 item 5: `outreach browse` — the database in Datasette, started as a real process, its canned queries
fetched as JSON over HTTP; read-only without blocking writers; loopback unless --host; a missing extra told."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _tracking_data import add_campaign, seed
from clock_support import FakeClock
from conftest import free_port

from outreach.contacts.model import clean_fields, get_contact, insert_contact
from outreach.db.browse import EVENT_QUERY, browse_metadata
from outreach.db.schema import open_database
from outreach.tracking.events import hard_bounce

pytest.importorskip("datasette")

JAN, KLAUS = "jan.kowalski@gmina.example.org", "klaus.weber@stadtwerke.example.com"


TIMEOUT = httpx.Timeout(60.0)  # a loaded machine, not a speed test


def command(db_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "outreach", "--db", str(db_path), "browse", *args]


@pytest.fixture
def filled(db_path: Path) -> Path:
    """Nine people sent `bsi-awareness`; Jan's message hard-bounced (delivered = sent minus hard bounces)."""
    db = open_database(db_path)
    clock = FakeClock()
    people = seed(db, clock)
    delivery = db.execute("SELECT id FROM deliveries WHERE email = ?", [JAN]).fetchone()[0]
    hard_bounce(db, clock, people[JAN], campaign="bsi-awareness", delivery_id=delivery, source="bounce",
                source_id="mid:<b1@mx.example.net>", detail="5.1.1 User unknown")
    db.close()
    return db_path


@pytest.fixture
def browsing(filled: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`outreach browse` as its own process on a free loopback port; yields its base URL and its output file."""
    port = free_port()
    log = tmp_path / "browse.log"
    with log.open("w") as output:
        process = subprocess.Popen(command(filled, "--port", str(port)), cwd=tmp_path, stdout=output,
                                   stderr=subprocess.STDOUT, text=True, env={**os.environ, "NO_COLOR": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # until it answers (starting Datasette takes a few seconds on a busy machine)
            if process.poll() is not None:
                pytest.fail(f"browse exited: {log.read_text()}")
            try:
                if httpx.get(f"{base}/-/versions.json", timeout=TIMEOUT).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def rows(base: str, path: str, **params: str) -> list[dict]:
    answer = httpx.get(f"{base}/contacts/{path}.json", params={**params, "_shape": "array"}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_canned_queries_answer_as_json_over_http(browsing) -> None:
    base, _ = browsing
    reach = {(r["country"], r["kind"]): r for r in rows(base, "reach_by_country_kind", since="", until="")}
    assert ("PL", "authority") not in reach  # Jan's only message hard-bounced: not delivered, not reached
    assert reach[("DE", "supplier")]["persons"] == 1 and reach[("DK", "authority")]["persons"] == 1
    assert sum(r["persons"] for r in reach.values()) == 8
    assert rows(base, "reach_by_country_kind", since="2099-01-01", until="") == []
    received = rows(base, "campaign_recipients", campaign="bsi-awareness")
    assert len(received) == 9 and {r["email"] for r in received} >= {JAN, KLAUS}
    assert rows(base, "campaign_recipients", campaign="no-such-campaign") == []
    bounces = rows(base, "bounces_by_domain")
    assert bounces == [{"domain": "gmina.example.org", "hard": 1, "soft": 0, "bounces": 1, "persons": 1}]
    history = rows(base, "person_history", email="  Jan.Kowalski@gmina.example.org ")
    assert [h["what"] for h in history] == ["delivery", "bounced"] and "User unknown" in history[1]["detail"]
    # The event tables are there (schema m004) but nobody attended anything here: the query runs, and is empty.
    assert rows(base, "event_attendees", campaign="") == []

    metadata = httpx.get(f"{base}/-/metadata.json", timeout=TIMEOUT).json()
    contacts = metadata["databases"]["contacts"]
    assert "Whom the person represents" in contacts["tables"]["contacts"]["columns"]["kind"]
    assert contacts["tables"]["contacts"]["label_column"] == "email"
    assert contacts["queries"]["person_history"]["title"] == "A person's history"
    page = httpx.get(f"{base}/contacts/contacts", timeout=TIMEOUT)
    assert page.status_code == 200 and "One row per person" in page.text


def test_read_only_and_writers_are_not_blocked(browsing, filled: Path) -> None:
    base, _ = browsing
    for sql in ("DELETE FROM contacts", "UPDATE contacts SET name = 'x'", "ATTACH DATABASE 'x.db' AS x",
                "WITH x AS (SELECT 1) DELETE FROM contacts"):
        answer = httpx.get(f"{base}/contacts.json", params={"sql": sql}, timeout=TIMEOUT)
        assert answer.status_code == 400, (sql, answer.text)
    # A statement that gets past Datasette's SELECT check still meets the read-only connection.
    sneaky = httpx.get(f"{base}/contacts.json", params={"sql": "WITH x AS (SELECT 1) DELETE FROM contacts"},
                       timeout=TIMEOUT).json()
    assert sneaky["ok"] is False and "readonly" in sneaky["error"]
    assert httpx.get(f"{base}/contacts/no_such_table.json", timeout=TIMEOUT).status_code == 404
    output = browsing[1].read_text()
    assert "Traceback" not in output and "│" not in output  # no tracebacks with local variables (rows) printed
    # A writer goes on while the browser is open, and what it writes is seen at once.
    db = open_database(filled)
    insert_contact(db, FakeClock(), "new.person@kommune.example.net", clean_fields({"country": "DK"}))
    add_campaign(db, FakeClock(), "second")
    db.close()
    emails = {r["email"] for r in rows(base, "contacts")}
    assert "new.person@kommune.example.net" in emails and len(emails) == 10
    db = open_database(filled)
    assert get_contact(db, JAN) is not None  # nothing was deleted
    db.close()


def test_event_attendees_query_runs_over_the_event_tables(filled: Path) -> None:
    """The events work's tables (m004) are in every database; the canned query is offered and answers."""
    assert "event_attendees" not in browse_metadata({"contacts"}, "x")["databases"]["contacts"]["queries"]
    conn = sqlite3.connect(filled)
    stamp = "2027-03-01T10:00:00Z"
    conn.executescript(f"""
        INSERT INTO event_sessions (id, campaign, code, uid, sequence, status, fingerprint, starts_at, created_at,
                                    updated_at)
            VALUES (1, 'bsi-training', 'PL', 'bsi-training-PL@bsi.example.org', 0, 'scheduled', 'f',
                    '2027-03-18T08:30:00Z', '{stamp}', '{stamp}');
        INSERT INTO registrations (id, session_id, email, name, organisation, status, source, created_at, updated_at)
            VALUES (1, 1, 'ewa@gmina.example.org', 'Ewa Nowak', 'Gmina Przykład', 'registered', 'web', '{stamp}',
                    '{stamp}');
        INSERT INTO attendance (id, session_id, email, registration_id, source, recorded_at)
            VALUES (1, 1, 'ewa@gmina.example.org', 1, 'cli', '2027-03-18T10:00:00Z');
    """)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    queries = browse_metadata(tables, "x")["databases"]["contacts"]["queries"]
    assert queries["event_attendees"] == EVENT_QUERY
    found = conn.execute(EVENT_QUERY["sql"], {"campaign": ""}).fetchall()
    assert [(r[0], r[1], r[3], r[4]) for r in found] == [("bsi-training", "PL", "ewa@gmina.example.org", "Ewa Nowak")]
    assert conn.execute(EVENT_QUERY["sql"], {"campaign": "other"}).fetchall() == []
    conn.close()


def test_non_loopback_only_with_host_and_a_warning(filled: Path, tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the command warns, then cannot bind — nothing listens.
    done = subprocess.run(command(filled, "--host", "192.0.2.1", "--port", str(free_port())), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert "Warning: serving on 192.0.2.1, not loopback" in done.stderr
    assert done.returncode != 0
    from outreach.browse import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.0.2.1", "::", "example.org"))


def test_without_the_extra_the_message_names_the_pip_command(filled: Path, tmp_path: Path) -> None:
    code = ("import sys; sys.modules['datasette'] = None; from outreach.cli import main; "
            f"sys.argv = ['outreach', '--db', {str(filled)!r}, 'browse']; main()")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})
    assert done.returncode == 3, done.stderr
    assert "pip install 'outreach[browse]'" in done.stderr and "Traceback" not in done.stderr
