"""The bare read-only connection of the everyday reading commands (outreach.db.reading) and what `contacts count`
loads: the same answers as the full open, refused (None) for any schema but this code's, never writable."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from outreach.contacts.model import ContactFilter, clean_fields, count_by, insert_contact
from outreach.db.reading import SCHEMA_STEPS, open_reader
from outreach.db.schema import migrations, open_database


def test_the_reader_knows_exactly_the_migrations_steps() -> None:
    assert set(SCHEMA_STEPS) == {m.name for m in migrations._migrations}


def test_a_reader_counts_what_the_database_counts_and_cannot_write(db_path, clock) -> None:
    db = open_database(db_path)
    for n, (country, name) in enumerate([("PL", "Żółkiewska"), ("GR", "ΔΉΜΟΣ Αθηναίων"), ("PL", "Nowak")]):
        insert_contact(db, clock, f"p{n}@example.org", clean_fields({"name": name, "country": country,
                                                                    "kind": "authority"}))
    reader = open_reader(db_path)
    assert reader is not None
    for contact_filter, by in [(None, ()), (ContactFilter.parse(countries=["PL"]), ()),
                               (ContactFilter.parse(search="żółk"), ()), (ContactFilter.parse(search="δήμος"), ()),
                               (None, ("country", "kind"))]:
        assert count_by(reader, contact_filter, by) == count_by(db, contact_filter, by)
    assert count_by(reader, ContactFilter.parse(search="δήμος")).total == 1  # Unicode casefold in SQL
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("DELETE FROM contacts")
    reader.close()
    db.close()


def test_no_reader_for_another_schema_or_another_file(db_path, tmp_path) -> None:
    open_database(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('outreach', "
                 "'m999_from_the_future', '2030-01-01')")
    conn.commit()
    assert open_reader(db_path) is None  # newer: the full open refuses it with a message
    conn.execute("DELETE FROM _sqlite_migrations WHERE name IN ('m999_from_the_future', ?)", [SCHEMA_STEPS[-1]])
    conn.commit()
    conn.close()
    assert open_reader(db_path) is None  # older: the full open migrates it first
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert open_reader(other) is None
    (tmp_path / "text.db").write_text("not a database")
    assert open_reader(tmp_path / "text.db") is None


def test_contacts_count_loads_neither_sqlite_utils_nor_rich_nor_the_other_commands(runner, db_path, clock) -> None:
    db = open_database(db_path)
    insert_contact(db, clock, "anna@example.org", clean_fields({"country": "PL", "kind": "authority"}))
    db.close()
    code = ("import sys; from outreach.cli import app\n"
            "try:\n    app(['--db', sys.argv[1], 'contacts', 'count'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlite_utils', 'rich', 'pydantic', "
            "'jinja2', 'premailer') or m in ('outreach.cli.sending', 'outreach.cli.campaign', 'outreach.cli.web')))")
    result = subprocess.run([sys.executable, "-c", code, str(db_path)], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["1 contact(s).", "[]"], result.stderr
    assert runner("contacts", "count").stdout == "1 contact(s).\n"
