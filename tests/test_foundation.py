"""The foundation: settings, database, countries, the CLI's error handling."""

from __future__ import annotations

from pathlib import Path

import pytest
from db_support import make_newer_than_code

from outreach.config import Settings, load_settings
from outreach.countries import parse_country, parse_language
from outreach.db.schema import open_database, schema_version
from outreach.errors import ConfigError, DatabaseError, InputError


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OUTREACH_DB=from-dotenv.db\nOUTREACH_SMTP_HOST=smtp.example.org\n", encoding="utf-8")
    settings = load_settings(env_file, environ={"OUTREACH_DB": "from-env.db"})
    assert settings.db_path == Path("from-env.db")
    assert settings.smtp_host == "smtp.example.org"


def test_bad_settings_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="OUTREACH_SMTP_SECURITY"):
        Settings.from_env({"OUTREACH_SMTP_SECURITY": "ssl3"})
    with pytest.raises(ConfigError, match="OUTREACH_SMTP_PORT"):
        Settings.from_env({"OUTREACH_SMTP_PORT": "twenty-five"})


def test_secrets_are_masked() -> None:
    settings = Settings.from_env({"OUTREACH_SMTP_PASSWORD": "hunter2-very-secret"})
    shown = dict((name, value) for name, value, _ in settings.describe())
    assert shown["OUTREACH_SMTP_PASSWORD"] == "********"
    assert "hunter2" not in repr(settings.describe())


def test_config_command_masks_secrets(runner, monkeypatch) -> None:
    monkeypatch.setenv("OUTREACH_SMTP_PASSWORD", "hunter2-very-secret")
    result = runner("config", "--json")
    assert result.exit_code == 0
    assert "hunter2" not in result.output
    assert '"OUTREACH_SMTP_PASSWORD": "********"' in result.output


def test_migrations_applied_twice_change_nothing(db_path: Path) -> None:
    db = open_database(db_path)
    first = (schema_version(db), db.conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall())
    db.close()
    db = open_database(db_path)
    assert (schema_version(db), db.conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()) == first
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_newer_database_is_refused(db_path: Path) -> None:
    make_newer_than_code(db_path)
    with pytest.raises(DatabaseError, match="newer outreach"):
        open_database(db_path)


def test_file_that_is_not_sqlite_is_refused(tmp_path: Path, runner) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes, not a database\n" * 50, encoding="utf-8")
    with pytest.raises(DatabaseError, match="not an outreach database"):
        open_database(bogus)
    result = runner.runner.invoke(__import__("outreach.cli", fromlist=["app"]).app,
                                  ["--db", str(bogus), "countries"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("given", "code"), [
    ("PL", "PL"), ("pl", "PL"), ("Czechia", "CZ"), ("Česko", "CZ"), ("Tschechien", "CZ"), ("cesko", "CZ"),
    ("Greece", "GR"), ("Ελλάδα", "GR"), ("EL", "GR"), ("Hellas", "GR"), ("Írország", "IE"), ("Nederland", "NL"),
    ("Sverige", "SE"), ("Latvija", "LV"), ("Hrvatska", "HR"), ("Norway", "NO"), ("Österreich", "AT"),
])
def test_country_names_and_aliases(given: str, code: str) -> None:
    assert parse_country(given) == code


def test_unknown_country_and_language() -> None:
    with pytest.raises(InputError, match="Narnia"):
        parse_country("Narnia")
    with pytest.raises(InputError, match="Unknown country"):
        parse_country("US")
    with pytest.raises(InputError, match="xx"):
        parse_language("xx")
    assert parse_language("pl_PL") == "pl"
    assert parse_language("Ελληνικά") == "el"


def test_countries_command_counts(runner) -> None:
    result = runner("countries", "--json")
    assert result.exit_code == 0
    assert '"code": "GR"' in result.output and '"native_name": "Ελλάδα"' in result.output


def test_error_output_masks_secrets_but_not_words_around_them() -> None:
    from outreach.cli._common import _mask

    assert _mask("login as ana with hunter2-x refused", ["hunter2-x"]) == "login as ana with ******** refused"
    assert _mask("key is shorter than 32", ["short"]) == "key is shorter than 32"
