"""`outreach contacts set`: a bulk edit changes exactly the contacts its --where-… filter selects, in one go."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from clock_support import FakeClock

from outreach.contacts.editing import set_fields
from outreach.contacts.model import ContactFilter, get_contact, insert_contact
from outreach.db.schema import Database
from outreach.errors import InputError
from outreach.models import ContactStatus, Kind

PEOPLE = [  # email, kind, country, tags, status
    ("a@zadruga.example.org", Kind.OTHER, "HR", ["zadruge"], ContactStatus.ACTIVE),
    ("b@zadruga.example.org", Kind.OTHER, "HR", ["zadruge", "2027"], ContactStatus.ACTIVE),
    ("c@zadruga.example.org", Kind.SUPPLIER, "HR", ["zadruge"], ContactStatus.UNSUBSCRIBED),
    ("d@grad.example.org", Kind.OTHER, "HR", ["gradovi"], ContactStatus.ACTIVE),
    ("e@gmina.example.org", Kind.AUTHORITY, "PL", [], ContactStatus.ACTIVE),
]


def rows(db_path: Path) -> dict[str, tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return {row[0]: row[1:] for row in conn.execute(
            "SELECT email, kind, organisation, country, language, tags, status, updated_at, field_updated_at "
            "FROM contacts")}
    finally:
        conn.close()


@pytest.fixture
def people(db: Database, clock: FakeClock) -> Database:
    for email, kind, country, tags, status in PEOPLE:
        insert_contact(db, clock, email, {"kind": kind, "country": country, "tags": tags}, status=status)
    return db


def test_set_changes_exactly_the_filtered_contacts(runner, people: Database, db_path: Path) -> None:
    before = rows(db_path)
    dry = runner("contacts", "set", "--kind", "supplier", "--where-tag", "zadruge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would change 2 of 3 matching contact(s); 1 already had it. Dry run: nothing was written." in dry.output
    assert rows(db_path) == before
    result = runner("contacts", "set", "--kind", "supplier", "--where-tag", "zadruge")
    assert result.exit_code == 0, result.output
    assert "Changed 2 of 3 matching contact(s); 1 already had it." in result.output
    after = rows(db_path)
    changed = {email for email in after if after[email] != before[email]}
    assert changed == {"a@zadruga.example.org", "b@zadruga.example.org"}
    assert {after[email][0] for email in changed} == {"supplier"}
    stamps = json.loads(after["a@zadruga.example.org"][7])
    assert stamps["kind"] == after["a@zadruga.example.org"][6]  # the field is stamped with the change's time
    # The filter options are list's: the same selection, shown by `contacts list --tag zadruge`.
    listed = json.loads(runner("contacts", "list", "--tag", "zadruge", "--json").stdout)
    assert {c["email"] for c in listed} == {"a@zadruga.example.org", "b@zadruga.example.org", "c@zadruga.example.org"}
    again = runner("contacts", "set", "--kind", "supplier", "--where-tag", "zadruge")
    assert "Changed 0 of 3 matching contact(s); 3 already had it." in again.output


def test_set_several_values_with_several_filters(runner, people: Database, db_path: Path) -> None:
    result = runner("contacts", "set", "--organisation", "Grad Zagreb", "--kind", "authority", "--language", "hr",
                    "--where-kind", "other", "--where-country", "Hrvatska", "--where-tag", "gradovi", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"matching": 1, "changed": 1, "dry_run": False}
    after = rows(db_path)
    assert after["d@grad.example.org"][:4] == ("authority", "Grad Zagreb", "HR", "hr")
    assert [after[e][0] for e in ("a@zadruga.example.org", "e@gmina.example.org")] == ["other", "authority"]
    # --where-status and --where-search as list has them; --country by name.
    result = runner("contacts", "set", "--country", "Polska", "--where-status", "unsubscribed", "--where-search",
                    "zadruga")
    assert "Changed 1 of 1 matching contact(s)." in result.output
    assert rows(db_path)["c@zadruga.example.org"][2] == "PL"


@pytest.mark.parametrize(("args", "message"), [
    (["--kind", "supplier"], "Say which contacts: give a filter (--where-tag, --where-kind, --where-country, …)"),
    (["--where-tag", "zadruge"], "Nothing to set"),
    (["--kind", "vendor", "--all"], "Unknown kind 'vendor'"),
    (["--country", "Atlantis", "--where-tag", "zadruge"], "Atlantis"),
    (["--kind", "supplier", "--where-kind", "buyer"], "Unknown kind 'buyer'"),
])
def test_set_refuses_unclear_commands(runner, people: Database, db_path: Path, args: list[str], message: str) -> None:
    before = rows(db_path)
    result = runner("contacts", "set", *args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert rows(db_path) == before


def test_set_all(runner, people: Database, db_path: Path) -> None:
    result = runner("contacts", "set", "--language", "en", "--all")
    assert "Changed 5 of 5 matching contact(s)." in result.output
    assert {row[3] for row in rows(db_path).values()} == {"en"}


def test_set_fields_is_one_transaction(people: Database, clock: FakeClock) -> None:
    """A failure in the middle of the writes leaves every contact as it was."""
    people.execute("CREATE TRIGGER refuse BEFORE UPDATE ON contacts WHEN NEW.email = 'b@zadruga.example.org' "
                   "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    with pytest.raises(sqlite3.IntegrityError):
        set_fields(people, clock, {"kind": "supplier"}, ContactFilter(tags=("zadruge",)))
    contact = get_contact(people, "a@zadruga.example.org")
    assert contact is not None and contact.kind == Kind.OTHER
    with pytest.raises(InputError):
        set_fields(people, clock, {}, ContactFilter(tags=("zadruge",)))
