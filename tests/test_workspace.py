"""The workspace is found as git finds a repository; outside one, read commands say so and create nothing.

Also the suggestions for typos: campaign slugs, commands, `--map` columns (template names are in test_render).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO
from typer.testing import CliRunner

SAMPLE = REPO / "examples" / "contacts.csv"


def outreach(*args: str, env: dict[str, str] | None = None):
    """The real command, in-process, from the working folder (no --db: the workspace decides)."""
    from outreach.cli import app

    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """`outreach init ws` in an empty folder; the working folder stays outside it."""
    result = outreach("init", str(tmp_path / "ws"))
    assert result.exit_code == 0, result.output
    return tmp_path / "ws"


def test_init_makes_a_workspace_with_its_database_and_says_where(tmp_path: Path) -> None:
    result = outreach("init", str(tmp_path / "ws"))
    assert result.exit_code == 0, result.output
    assert f"Created a new database {tmp_path / 'ws' / 'contacts.db'}" in result.stderr
    assert (tmp_path / "ws" / ".env").is_file() and (tmp_path / "ws" / "contacts.db").is_file()
    again = outreach("init", str(tmp_path / "ws"))
    assert again.exit_code == 0 and "Created a new database" not in again.stderr


def test_the_nearest_workspace_wins(tmp_path: Path) -> None:
    from outreach.config import find_workspace

    outer, inner = tmp_path / "national", tmp_path / "national" / "hr"
    (inner / "lists").mkdir(parents=True)
    (outer / ".env").write_text("# outreach\nexport OUTREACH_FROM=News <news@example.org>\n", encoding="utf-8")
    (inner / "contacts.db").write_bytes(b"")
    found = find_workspace(inner / "lists")
    assert found is not None and (found.root, found.settings_file) == (inner, None)
    (inner / "contacts.db").unlink()
    found = find_workspace(inner / "lists")
    assert found is not None and (found.root, found.settings_file) == (outer, outer / ".env")
    assert find_workspace(tmp_path) is None


def test_commands_from_a_subfolder_use_the_workspace(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = workspace / "campaigns" / "bsi-awareness"
    monkeypatch.chdir(sub)
    imported = outreach("contacts", "import", str(SAMPLE))
    assert imported.exit_code == 0, imported.output
    assert "Created a new database" not in imported.output  # init made it, in the workspace
    assert not (sub / "contacts.db").exists()
    listed = outreach("contacts", "count", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["total"] > 0
    checked = outreach("campaign", "check", "bsi-awareness")  # campaigns/ is the workspace's, not ./campaigns
    assert "No campaign" not in checked.output

    config = outreach("config", env={"COLUMNS": "400"})
    assert config.exit_code == 0, config.output
    assert str(workspace) in config.output and str(workspace / ".env") in config.output
    document = json.loads(outreach("config", "--json").stdout)
    assert document["workspace"] == str(workspace)
    assert document["settings file"] == str(workspace / ".env")
    assert document["OUTREACH_DB"] == str(workspace / "contacts.db")
    assert document["OUTREACH_CAMPAIGNS"] == str(workspace / "campaigns")


def test_relative_paths_in_the_settings_file_resolve_in_the_workspace(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ws" / "deep" / "er").mkdir(parents=True)
    (tmp_path / "ws" / ".env").write_text("OUTREACH_DB=data/national.db\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "ws" / "deep" / "er")
    added = outreach("contacts", "add", "ana@grad.example.org", "--kind", "authority", "--country", "HR")
    assert added.exit_code == 0, added.output
    assert f"Created a new database {tmp_path / 'ws' / 'data' / 'national.db'}" in added.stderr
    assert (tmp_path / "ws" / "data" / "national.db").is_file()
    assert not list((tmp_path / "ws" / "deep").rglob("*.db"))


def test_a_dotenv_of_another_project_is_no_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "web-project").mkdir()
    (tmp_path / "web-project" / ".env").write_text("DJANGO_DEBUG=1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "web-project")
    result = outreach("contacts", "list")
    assert result.exit_code == 3 and "No outreach workspace" in result.stderr


@pytest.mark.parametrize("command", [
    ("contacts", "list"), ("contacts", "count"), ("contacts", "show", "a@b.example.org"), ("status", "bsi-awareness"),
    ("report",), ("config",), ("campaign", "list"), ("campaign", "check", "bsi-awareness"), ("send", "x"),
])
def test_outside_a_workspace_read_commands_say_so_and_create_nothing(
        command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "somewhere-else"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = outreach(*command)
    assert result.exit_code == 3, result.output
    assert f"No outreach workspace here: neither {empty} nor a folder above it" in result.stderr
    assert "outreach init" in result.stderr and "Traceback" not in result.output
    assert not (empty / "contacts.db").exists()
    assert list(empty.iterdir()) == []


def test_outside_a_workspace_import_creates_the_database_here_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = outreach("contacts", "import", str(SAMPLE))
    assert result.exit_code == 0, result.output
    assert f"Created a new database {tmp_path / 'contacts.db'}" in result.stderr
    again = outreach("contacts", "count")  # the folder holding contacts.db is now the workspace
    assert again.exit_code == 0, again.output


def test_a_named_database_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = outreach("--db", str(missing), "contacts", "list")
    assert result.exit_code == 1
    assert f"No database at {missing}" in result.stderr
    assert not missing.exists()


def test_countries_work_outside_a_workspace_without_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = outreach("countries", "--json")
    assert result.exit_code == 0, result.output
    assert {c["code"] for c in json.loads(result.stdout)} >= {"HR", "PL"}
    assert not (tmp_path / "contacts.db").exists()


# --- suggestions for typos ------------------------------------------------------------------------------------


def test_a_mistyped_campaign_gets_the_close_one(runner, db) -> None:
    env = {"OUTREACH_CAMPAIGNS": str(REPO / "campaigns")}
    typo = runner("campaign", "check", "bsi-awarenes", env=env)
    assert typo.exit_code == 1
    assert "No campaign 'bsi-awarenes' — did you mean bsi-awareness?" in typo.stderr
    assert "campaign new" not in typo.stderr
    unrelated = runner("campaign", "check", "zagreb-trening", env=env)
    assert unrelated.exit_code == 1 and "did you mean" not in unrelated.stderr
    assert "Create one with: outreach campaign new zagreb-trening" in unrelated.stderr


def test_a_mistyped_command_gets_the_close_one(runner) -> None:
    result = runner("stauts")
    assert result.exit_code == 2 and "Did you mean 'status'?" in result.output
    result = runner("contacts", "lsit")
    assert result.exit_code == 2 and "Did you mean 'list'?" in result.output


def test_a_map_column_not_in_the_file_gets_the_close_one(runner, tmp_path: Path) -> None:
    sheet = tmp_path / "list.csv"
    sheet.write_text("Poczta,Nazwa instytucji\nana@grad.example.org,Grad\n", encoding="utf-8")
    result = runner("contacts", "import", str(sheet), "--map", "Pocztа=email")  # a Cyrillic а typed by mistake
    assert result.exit_code == 1
    assert "has no column 'Pocztа' — did you mean 'Poczta'?" in result.stderr
    far = runner("contacts", "import", str(sheet), "--map", "Telefon=email")
    assert far.exit_code == 1 and "did you mean" not in far.stderr and "Its columns are" in far.stderr
