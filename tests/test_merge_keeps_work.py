"""Issue 12 item 4: `outreach db merge` keeps everyone's work — tags united, only real differences are conflicts,
`--dry-run` lists what would change and writes nothing. Two real database files, the real command."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from clock_support import FakeClock

from outreach.contacts.model import clean_fields, get_contact, insert_contact, update_contact
from outreach.db.schema import open_database
from outreach.tracking.merge import merge_database

JAN, METTE = "jan.kowalski@gmina.example.org", "mette.hansen@kommune.example.net"


def add(db, clock, email: str, **fields):
    return insert_contact(db, clock, email, clean_fields(fields))


@pytest.fixture
def expert(db, tmp_path: Path) -> tuple[Path, FakeClock]:
    """The coordinator (`db`) and an expert tag and edit the same two contacts; the expert edits later."""
    here, there = FakeClock(), FakeClock()
    other_path = tmp_path / "expert-pl.db"
    other = open_database(other_path)
    add(db, here, JAN, name="Jan Kowalski", organisation="Gmina Przykład", country="PL", kind="authority",
        role="Procurement officer", tags=["bsi-2027", "coordinator-list"], attributes={"phone": "+48 1"})
    add(db, here, METTE, name="Mette Hansen", country="DK", kind="authority", tags=["bsi-2027"])
    there.advance(3600)
    # The expert's copy: the same people, written a little differently, with their own tags and one real edit.
    jan = add(other, there, JAN, name=unicodedata.normalize("NFD", "Jan  Kowalski "), organisation="Gmina Przykład",
              country="PL", kind="authority", tags=["bsi-2027", "training-wave-1"],
              attributes={"phone": "+48 2", "website": "https://gmina.example.org"})
    update_contact(other, there, jan, clean_fields({"role": "Zamówienia publiczne"}))
    add(other, there, METTE, name="Mette Hansen", country="DK", kind="authority", tags=["event-copenhagen"])
    other.execute("UPDATE contacts SET name = ? WHERE email = ?",  # written by hand, as an older tool might
                  [unicodedata.normalize("NFD", "Jan  Kowalski "), JAN])
    other.close()
    return other_path, there


def snapshot(db) -> list:
    return db.execute("SELECT * FROM contacts ORDER BY id").fetchall()


def test_tags_are_united_and_only_real_differences_conflict(db, db_path, expert) -> None:
    other_path, clock = expert
    summary = merge_database(db, clock, other_path, current_path=db_path)
    jan, mette = get_contact(db, JAN), get_contact(db, METTE)
    assert jan.tags == ["bsi-2027", "coordinator-list", "training-wave-1"]
    assert mette.tags == ["bsi-2027", "event-copenhagen"]
    assert jan.name == "Jan Kowalski"  # the same name, spelled with other blanks and combining accents: kept
    assert jan.role == "Zamówienia publiczne"  # edited later there
    assert jan.attributes == {"phone": "+48 2", "website": "https://gmina.example.org"}
    conflicts = {(c.email, c.field) for c in summary.conflicts}
    assert conflicts == {(JAN, "role"), (JAN, "attributes.phone")}, summary.conflicts
    changes = {(c.email, c.field): c for c in summary.changes}
    assert changes[(JAN, "tags")].after == ["bsi-2027", "coordinator-list", "training-wave-1"]
    assert changes[(METTE, "tags")].before == ["bsi-2027"]
    assert (JAN, "name") not in changes
    again = merge_database(db, clock, other_path, current_path=db_path)
    assert not again.changed and not again.changes


def test_an_empty_field_there_does_not_wipe_a_value_here(db, db_path, tmp_path: Path) -> None:
    here, there = FakeClock(), FakeClock()
    add(db, here, JAN, name="Jan Kowalski", role="Procurement officer")
    other_path = tmp_path / "other.db"
    other = open_database(other_path)
    there.advance(7200)
    jan = add(other, there, JAN, name="Jan Kowalski")  # never had a role there, updated later
    update_contact(other, there, jan, clean_fields({"organisation": "Gmina Przykład"}))
    other.close()
    summary = merge_database(db, there, other_path, current_path=db_path)
    jan_here = get_contact(db, JAN)
    assert jan_here.role == "Procurement officer" and jan_here.organisation == "Gmina Przykład"
    assert not summary.conflicts


def test_dry_run_lists_the_changes_and_writes_nothing(runner, db, db_path, expert) -> None:
    other_path, _ = expert
    before, size = snapshot(db), db_path.stat().st_size
    result = runner("db", "merge", str(other_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would bring" in result.output and "Dry run: nothing was changed." in result.output
    lines = result.output.splitlines()
    assert f"{JAN}\ttags\tbsi-2027, coordinator-list\tbsi-2027, coordinator-list, training-wave-1" in lines
    assert f"{METTE}\ttags\tbsi-2027\tbsi-2027, event-copenhagen" in lines
    assert snapshot(db) == before and db_path.stat().st_size == size
    as_json = json.loads(runner("db", "merge", str(other_path), "--dry-run", "--json").output)
    assert as_json["dry_run"] is True and {c["field"] for c in as_json["changes"]} >= {"tags", "role"}
    assert snapshot(db) == before
    real = runner("db", "merge", str(other_path))
    assert real.exit_code == 0 and "brought in" in real.output
    assert get_contact(db, METTE).tags == ["bsi-2027", "event-copenhagen"]
