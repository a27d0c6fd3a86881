"""Merging two experts' databases (overlapping contacts, conflicting edits) and the online backup."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from _tracking_data import add_campaign, add_delivery
from clock_support import FakeClock
from db_support import make_newer_than_code

from outreach.contacts.model import clean_fields, erase, get_contact, insert_contact, is_suppressed, update_contact
from outreach.db.schema import open_database
from outreach.errors import DatabaseError, InputError
from outreach.models import BounceType, ContactStatus, EventType
from outreach.tracking.events import hard_bounce, unsubscribe
from outreach.tracking.merge import backup_database, merge_database

JAN, METTE = "jan.kowalski@gmina.example.org", "mette.hansen@kommune.example.net"
ANNA = "anna.svensson@kommun.example.net"
CLAIRE, PETRA = "claire.martin@ministere.example", "petra.novakova@obec.example.com"


def add(db, clock, email: str, **fields):
    return insert_contact(db, clock, email, clean_fields(fields))


@pytest.fixture
def two(db, tmp_path: Path):
    """`db` is the coordinator's database, the returned path another expert's; both edited over a day."""
    here_clock, there_clock = FakeClock(), FakeClock()
    other_path = tmp_path / "expert-pl.db"
    other = open_database(other_path)
    # The expert's database has its contacts in another order, so ids differ and must be remapped.
    add(other, there_clock, ANNA, name="Anna Svensson", country="SE", kind="authority")
    there_jan = add(other, there_clock, JAN, name="Jan Kowalski", organisation="Gmina Przykład", country="PL",
                    kind="authority")
    there_mette = add(other, there_clock, METTE, name="Mette Hansen", country="DK", kind="authority")
    add(other, there_clock, CLAIRE, name="Claire Martin", country="FR", kind="authority")
    add(other, there_clock, PETRA, name="Petra Nováková", country="CZ", kind="authority")

    here_jan = add(db, here_clock, JAN, name="Jan Kowalski", organisation="Gmina Przykład", country="PL",
                   kind="authority")
    add(db, here_clock, METTE, name="Mette Hansen", country="DK", kind="authority")
    add(db, here_clock, PETRA, name="Petra Nováková", country="CZ", kind="authority")
    add(db, here_clock, CLAIRE, name="Claire Martin", country="FR", kind="authority")
    erase(db, here_clock, CLAIRE)  # erased here: must not come back

    there_clock.advance(3600)  # an hour later the expert renames Jan's organisation and sets a role
    there_jan = update_contact(other, there_clock, there_jan, clean_fields(
        {"organisation": "Urząd Gminy Przykład", "role": "Zamówienia publiczne"}))
    unsubscribe(other, there_clock, there_mette, source="web")
    erase(other, there_clock, PETRA)  # a GDPR erasure at the expert's
    here_clock.advance(7200)  # two hours later the coordinator sets another role for Jan
    here_jan = update_contact(db, here_clock, here_jan, clean_fields({"role": "Procurement officer"}))

    add_campaign(db, here_clock, "bsi-awareness", "BSI awareness")
    add_delivery(db, here_clock, "bsi-awareness", here_jan, message_id="<a.1@news.bsi.example.org>")
    add_campaign(other, there_clock, "bsi-awareness", "BSI awareness")
    add_campaign(other, there_clock, "bsi-training", "BSI training")
    add_delivery(other, there_clock, "bsi-awareness", there_jan, message_id="<a.1@news.bsi.example.org>")
    training = add_delivery(other, there_clock, "bsi-training", there_jan, message_id="<t.1@news.bsi.example.org>")
    anna = get_contact(other, ANNA)
    anna_delivery = add_delivery(other, there_clock, "bsi-training", anna, message_id="<t.2@news.bsi.example.org>")
    hard_bounce(other, there_clock, anna, campaign="bsi-training", delivery_id=anna_delivery, source="bounce",
                source_id="mid:<bounce-1@mx.example.net>", detail="5.1.1 User unknown")
    other.execute("INSERT INTO inbound_messages (key, outcome, processed_at) VALUES ('mid:<bounce-1@mx.example.net>',"
                  " 'matched', '2026-11-25T10:00:00Z')")
    other.close()
    assert training
    return other_path, here_clock


def snapshot(db) -> dict[str, list]:
    return {table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("contacts", "suppressions", "campaigns", "deliveries", "events", "inbound_messages")}


def test_merge_applies_the_rules(db, db_path, two) -> None:
    other_path, clock = two
    summary = merge_database(db, clock, other_path, current_path=db_path)
    jan = get_contact(db, JAN)
    assert jan.organisation == "Urząd Gminy Przykład"  # newer there
    assert jan.role == "Procurement officer"  # newer here
    conflicts = {(c.email, c.field): c for c in summary.conflicts}
    assert conflicts[(JAN, "organisation")].kept.startswith("there")
    assert conflicts[(JAN, "role")].kept.startswith("here")
    assert conflicts[(JAN, "role")].there == "Zamówienia publiczne"

    assert get_contact(db, METTE).status == ContactStatus.UNSUBSCRIBED  # an unsubscribe always wins
    assert is_suppressed(db, METTE)
    assert get_contact(db, CLAIRE) is None  # erased here, not restored
    assert get_contact(db, PETRA) is None and is_suppressed(db, PETRA)  # erased there, so erased here
    anna = get_contact(db, ANNA)
    assert anna.status == ContactStatus.BOUNCED and is_suppressed(db, ANNA)

    assert (summary.contacts_added, summary.contacts_not_restored, summary.contacts_erased) == (1, 1, 1)
    assert summary.campaigns_added == 1 and summary.deliveries_added == 2
    rows = db.execute("SELECT campaign, email, message_id FROM deliveries ORDER BY campaign, email").fetchall()
    assert rows == [("bsi-awareness", JAN, "<a.1@news.bsi.example.org>"),
                    ("bsi-training", ANNA, "<t.2@news.bsi.example.org>"),
                    ("bsi-training", JAN, "<t.1@news.bsi.example.org>")]
    bounce = db.execute("SELECT e.type, e.bounce_type, d.email FROM events e JOIN deliveries d ON d.id = e.delivery_id"
                        ).fetchall()
    assert bounce == [(EventType.BOUNCED.value, BounceType.HARD.value, ANNA)]
    assert db.execute("SELECT count(*) FROM inbound_messages").fetchone()[0] == 1


def test_merging_twice_changes_nothing(db, db_path, two) -> None:
    other_path, clock = two
    merge_database(db, clock, other_path, current_path=db_path)
    before = snapshot(db)
    clock.advance(60)
    again = merge_database(db, clock, other_path, current_path=db_path)
    assert not again.changed, {k: v for k, v in again.as_dict().items() if v and k != "conflicts"}
    assert snapshot(db) == before


def test_dry_run_reports_without_writing(db, db_path, two) -> None:
    other_path, clock = two
    before = snapshot(db)
    dry = merge_database(db, clock, other_path, current_path=db_path, dry_run=True)
    assert snapshot(db) == before
    real = merge_database(db, clock, other_path, current_path=db_path)
    assert dry.as_dict() | {"dry_run": False} == real.as_dict()


def test_other_file_is_not_modified(db, db_path, two) -> None:
    other_path, clock = two
    data = other_path.read_bytes()
    merge_database(db, clock, other_path, current_path=db_path)
    assert other_path.read_bytes() == data


def test_refuses_what_is_not_an_outreach_database(db, db_path, tmp_path: Path, clock) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("not a database at all\n" * 100, encoding="utf-8")
    with pytest.raises(DatabaseError, match="not an outreach database"):
        merge_database(db, clock, notes)
    plain = tmp_path / "plain.db"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE contacts (email TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="no outreach schema"):
        merge_database(db, clock, plain)
    with pytest.raises(InputError, match="does not exist"):
        merge_database(db, clock, tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(InputError, match="in use"):
        merge_database(db, clock, db_path, current_path=db_path)


def test_refuses_a_newer_schema(db, tmp_path: Path, clock) -> None:
    newer = make_newer_than_code(tmp_path / "newer.db")
    with pytest.raises(DatabaseError, match="newer outreach"):
        merge_database(db, clock, newer)


def test_backup_is_consistent_while_another_connection_reads(db, clock, tmp_path: Path) -> None:
    add(db, clock, JAN, name="Jan Kowalski", country="PL")
    reader = sqlite3.connect(db.conn.execute("PRAGMA database_list").fetchone()[2])
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM contacts").fetchone()[0] == 1  # holds a read snapshot
    target = tmp_path / "backups" / "contacts-2026-11-25.db"
    target.parent.mkdir()
    size = backup_database(db, target)
    reader.rollback()
    reader.close()
    assert size == target.stat().st_size and not target.with_name(target.name + ".partial").exists()
    copy = open_database(target)
    assert get_contact(copy, JAN).name == "Jan Kowalski"
    copy.close()
    with pytest.raises(InputError, match="already exists"):
        backup_database(db, target)


def test_rows_that_break_the_cleaning_rules_are_skipped_and_listed(runner, db_path, tmp_path: Path) -> None:
    """Issue 15 item 10: a hand-edited or older database cannot bring in a CR/LF name or an unusable address."""
    clock = FakeClock()
    other_path = tmp_path / "edited.db"
    other = open_database(other_path)
    good = add(other, clock, ANNA, name="Anna Svensson", country="SE", kind="authority")
    bad_ids = []
    for email, name, extra in (("bad address", "Bad", {}),
                               ("crlf@x.example.org", "Eve\r\nBcc: victim@x.example.org", {}),
                               ("c1@x.example.org", "Nel\u0085Line", {}),
                               ("land@x.example.org", "Land", {"country": "Atlantis"}),
                               ("attrs@x.example.org", "Attrs", {"attributes": '{"Note": "a\\nb"}'})):
        columns = {"email": email, "name": name, "kind": "authority", "status": "active", "created_at": "2026-01-01",
                   "updated_at": "2026-01-01", **extra}
        cursor = other.execute(f"INSERT INTO contacts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                               list(columns.values()))
        bad_ids.append(cursor.lastrowid)
    add_campaign(other, clock, "bsi-awareness", "BSI awareness")
    add_delivery(other, clock, "bsi-awareness", good)
    add_delivery(other, clock, "bsi-awareness", type("Row", (), {"id": bad_ids[0], "email": "bad address",
                                                                 "country": None, "kind": "authority",
                                                                 "language": "en"})(), status="queued")
    other.close()

    open_database(db_path).close()  # this workspace's database, empty (read commands never create one)
    result = runner("db", "merge", str(other_path))
    assert result.exit_code == 0, result.output
    for email, why in (("bad address", "not a valid email address"), ("crlf@x.example.org", "control character"),
                       ("c1@x.example.org", "control character"), ("land@x.example.org", "Atlantis"),
                       ("attrs@x.example.org", "control character")):
        line = next((line for line in result.output.splitlines() if f"skipped '{email}'" in line), "")
        assert why in line and "not merged" in line, (email, result.output)
    conn = sqlite3.connect(db_path)
    try:
        assert [row[0] for row in conn.execute("SELECT email FROM contacts")] == [ANNA]
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM deliveries WHERE email IS NULL OR email = 'bad address'"
                            ).fetchone()[0] == 0
    finally:
        conn.close()
    document = runner("db", "merge", str(other_path), "--json")
    import json

    assert len(json.loads(document.stdout)["skipped"]) == 5
