"""`outreach demo`: a fresh folder, no configuration, the real SMTP path to a capture server; idempotent."""

from __future__ import annotations

import mailbox
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner


def test_demo_runs_end_to_end_and_twice(tmp_path, monkeypatch) -> None:
    from outreach.cli import app

    # a configured relay in the environment must never be used by the demo
    monkeypatch.setenv("OUTREACH_SMTP_HOST", "relay.example.org")
    folder = tmp_path / "outreach-demo"
    first = CliRunner().invoke(app, ["demo", str(folder)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    received = mailbox.Maildir(folder / "received", create=False)
    count = len(received)
    assert count >= 50
    assert f"the capture server received {count}" in first.output
    assert "PL" in first.output and "el" in first.output  # the country × language table
    assert (folder / "preview" / "bsi-awareness" / "index.html").is_file()
    assert (folder / "preview" / "bsi-training" / "index.html").is_file()
    assert "serve" in first.output and str(folder / "received" / "new") in first.output
    invitations = sorted((folder / "invitation").glob("bsi-training-*"))
    assert [p.suffix for p in invitations] == [".eml", ".ics"] and str(invitations[0]) in first.output
    ics = invitations[1].read_text(encoding="utf-8")
    assert "METHOD:PUBLISH" in ics and "BEGIN:VTIMEZONE" in ics and "UID:bsi-training-" in ics
    assert b"Content-Type: text/calendar" in invitations[0].read_bytes()
    env_text = (folder / ".env").read_text(encoding="utf-8")
    assert "OUTREACH_SECRET_KEY=" in env_text and "relay.example.org" not in env_text

    second = CliRunner().invoke(app, ["demo", str(folder)], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert "Nothing new to send" in second.output
    assert len(mailbox.Maildir(folder / "received", create=False)) == count


def _invoke(*args: str):
    from outreach.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_demo_folder_survives_a_reinstall_and_serves_its_archive(tmp_path, monkeypatch) -> None:
    """The README's order: demo, then `.ci/run` reinstalls outreach editable; the demo must keep working."""
    from dotenv import dotenv_values
    from starlette.testclient import TestClient

    from outreach.config import load_settings
    from outreach.web import create_app

    folder = tmp_path / "outreach-demo"
    assert _invoke("demo", str(folder)).exit_code == 0
    env_file = folder / ".env"
    values = {k: v for k, v in dotenv_values(env_file).items() if v}
    for name in ("OUTREACH_DB", "OUTREACH_CAMPAIGNS", "OUTREACH_TEMPLATES", "OUTREACH_OUTBOX"):
        assert not Path(values[name]).is_absolute(), (name, values[name])  # inside the folder, wherever it is
    assert (folder / "campaigns" / "bsi-awareness" / "campaign.toml").is_file()
    assert (folder / "templates" / "emails" / "base.html.j2").is_file()

    # A demo folder from before: its settings named the installed package's files, which the reinstall removed.
    lost = tmp_path / "venv" / "site-packages" / "outreach" / "_bundled"
    text = env_file.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^OUTREACH_CAMPAIGNS=.*$", f"OUTREACH_CAMPAIGNS={lost / 'campaigns'}", text)
    text = re.sub(r"(?m)^OUTREACH_TEMPLATES=.*$", f"OUTREACH_TEMPLATES={lost / 'templates' / 'emails'}", text)
    env_file.write_text(text, encoding="utf-8")

    again = _invoke("demo", str(folder))
    assert again.exit_code == 0, again.output
    assert "Nothing new to send" in again.output and "No campaign" not in again.output
    assert str(lost) not in env_file.read_text(encoding="utf-8")

    # The "Where to look" commands, typed from inside the folder (here from a subfolder of it), find the demo.
    monkeypatch.chdir(folder / "preview")
    status = _invoke("status", "bsi-awareness")
    assert status.exit_code == 0, status.output
    assert "cd " in again.output and "outreach status bsi-awareness" in again.output

    settings = load_settings(env_file, environ={}, root=folder)
    with TestClient(create_app(settings), base_url=settings.public_url) as client:  # the host the pages answer to
        page = client.get("/archive/bsi-awareness/en")
    assert page.status_code == 200, page.text
    assert "bsi-awareness" in page.text or "Buying for Social Impact" in page.text
