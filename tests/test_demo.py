"""`outreach demo`: a fresh folder, no configuration, the real SMTP path to a capture server; idempotent."""

from __future__ import annotations

import mailbox

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
    env_text = (folder / ".env").read_text(encoding="utf-8")
    assert "OUTREACH_SECRET_KEY=" in env_text and "relay.example.org" not in env_text

    second = CliRunner().invoke(app, ["demo", str(folder)], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert "Nothing new to send" in second.output
    assert len(mailbox.Maildir(folder / "received", create=False)) == count
