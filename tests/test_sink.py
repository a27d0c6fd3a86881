"""The capture sink: a real SMTP server on 127.0.0.1 that stores what it receives in a Maildir."""

from __future__ import annotations

import mailbox
import smtplib

from outreach.delivery.sink import Captured, Sink


def test_sink_stores_and_reports_each_message(tmp_path) -> None:
    seen: list[Captured] = []
    with Sink(tmp_path / "received", on_message=seen.append) as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
            client.sendmail("news@bsi.example.org", ["anna@gmina.example.org"],
                            "Subject: =?utf-8?b?WmHFvMOzxYLEhw==?=\r\nTo: anna@gmina.example.org\r\n\r\nTreść\r\n"
                            .encode())
        assert sink.count == 1
    assert seen[0].recipients == ("anna@gmina.example.org",) and seen[0].subject == "Zażółć"
    (message,) = list(mailbox.Maildir(tmp_path / "received", create=False))
    assert message["Return-Path"] == "<news@bsi.example.org>"
    assert message["Delivered-To"] == "anna@gmina.example.org"


def test_sink_command_help(runner) -> None:
    result = runner("sink", "--help")
    assert result.exit_code == 0 and "--maildir" in result.output and "--port" in result.output


def test_sink_port_in_use_is_a_clear_error(tmp_path) -> None:
    import pytest

    from outreach.errors import ConfigError

    with Sink(tmp_path / "a") as first, pytest.raises(ConfigError, match="cannot listen") as caught:
        Sink(tmp_path / "b", port=first.port).start()
    assert "--port" in (caught.value.hint or "")
