"""Transports against real aiosmtpd servers on 127.0.0.1: replies, reconnects, SMTPUTF8, failures that stop a run."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import replace

import pytest
from conftest import SinkHandler, Smtpd, free_port
from send_support import smtp_settings

from outreach.config import Settings
from outreach.delivery.transport import (
    OutboxTransport,
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
    open_transport,
)
from outreach.errors import TransportError

MESSAGE = b"From: a@bsi.example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"


@pytest.fixture
def plain_smtpd() -> Iterator[Smtpd]:
    """A server that offers neither SMTPUTF8 nor STARTTLS."""
    from aiosmtpd.controller import Controller

    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        yield Smtpd("127.0.0.1", port, handler)
    finally:
        controller.stop()


def test_one_connection_carries_many_messages(settings, smtpd) -> None:
    transport = SmtpTransport(smtp_settings(settings, smtpd))
    replies = [transport.send(MESSAGE, "a@bsi.example.org", [f"r{n}@example.org"]) for n in range(5)]
    connection = transport._smtp
    transport.send(MESSAGE, "a@bsi.example.org", ["r5@example.org"])
    assert transport._smtp is connection  # reused, not reopened
    transport.close()
    assert all(reply.startswith("250") for reply in replies)
    assert len(smtpd.messages) == 6
    assert smtpd.messages[0].data.startswith(b"From:") and b"\r\n.leading dot\r\n" in smtpd.messages[0].data


def test_replies_become_temporary_and_permanent_failures(settings, smtpd) -> None:
    smtpd.handler.rcpt_replies = {"later@example.org": "451 4.7.1 Greylisted", "gone@example.org":
                                  "550 5.1.1 No such user here", "policy@example.org": "554 5.7.1 Rejected"}
    transport = SmtpTransport(smtp_settings(settings, smtpd))
    with pytest.raises(TemporaryFailure) as temporary:
        transport.send(MESSAGE, "a@bsi.example.org", ["later@example.org"])
    assert temporary.value.code == 451 and temporary.value.recipient == "later@example.org"
    with pytest.raises(PermanentFailure) as gone:
        transport.send(MESSAGE, "a@bsi.example.org", ["gone@example.org"])
    assert gone.value.code == 550 and gone.value.no_such_user and "No such user" in gone.value.reply
    with pytest.raises(PermanentFailure) as policy:
        transport.send(MESSAGE, "a@bsi.example.org", ["policy@example.org"])
    assert not policy.value.no_such_user
    # the connection is still usable after refusals (RSET)
    assert transport.send(MESSAGE, "a@bsi.example.org", ["ok@example.org"]).startswith("250")
    smtpd.handler.data_reply = "552 5.3.4 Message too big"
    with pytest.raises(PermanentFailure, match="too big"):
        transport.send(MESSAGE, "a@bsi.example.org", ["ok@example.org"])
    transport.close()


def test_non_ascii_local_part_uses_smtputf8_when_offered(settings, smtpd) -> None:
    transport = SmtpTransport(smtp_settings(settings, smtpd))
    transport.send(MESSAGE, "a@bsi.example.org", ["zażółć@gmina.example.org"])
    transport.close()
    assert smtpd.messages[0].rcpt_tos == ["zażółć@gmina.example.org"]


def test_non_ascii_local_part_fails_clearly_without_smtputf8(settings, plain_smtpd) -> None:
    transport = SmtpTransport(smtp_settings(settings, plain_smtpd))
    with pytest.raises(PermanentFailure, match="SMTPUTF8"):
        transport.send(MESSAGE, "a@bsi.example.org", ["zażółć@gmina.example.org"])
    # an IDN domain alone travels as punycode on any server
    transport.send(MESSAGE, "a@bsi.example.org", ["jan@gmina-łódź.example.org"])
    transport.close()
    assert plain_smtpd.messages[0].rcpt_tos == ["jan@xn--gmina-d-q0a42esr.example.org"]


def test_starttls_required_but_not_offered_is_a_transport_error(settings, plain_smtpd) -> None:
    transport = SmtpTransport(replace(smtp_settings(settings, plain_smtpd), smtp_security="starttls"))
    with pytest.raises(TransportError, match="STARTTLS") as caught:
        transport.send(MESSAGE, "a@bsi.example.org", ["b@example.org"])
    assert "OUTREACH_SMTP_SECURITY" in (caught.value.hint or "")


def test_tls_to_a_plain_server_is_a_transport_error(settings, plain_smtpd) -> None:
    transport = SmtpTransport(replace(smtp_settings(settings, plain_smtpd), smtp_security="tls",
                                      smtp_timeout=5.0))
    with pytest.raises(TransportError, match=r"TLS|connect"):
        transport.send(MESSAGE, "a@bsi.example.org", ["b@example.org"])


def test_wrong_password_names_the_user_never_the_password(settings, smtpd_auth) -> None:
    secret = "correct-horse-battery-staple"
    transport = SmtpTransport(replace(smtp_settings(settings, smtpd_auth), smtp_user="expert@bsi.example.org",
                                      smtp_password=secret))
    with pytest.raises(TransportError) as caught:
        transport.send(MESSAGE, "a@bsi.example.org", ["b@example.org"])
    text = f"{caught.value.message} {caught.value.hint}"
    assert "535" in text and "expert@bsi.example.org" in text and secret not in text


def test_refused_connection_names_host_and_port(settings) -> None:
    port = free_port()
    transport = SmtpTransport(replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"))
    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        transport.send(MESSAGE, "a@bsi.example.org", ["b@example.org"])


def test_outbox_maildir_keeps_the_envelope(tmp_path) -> None:
    transport = OutboxTransport(tmp_path / "outbox")
    where = transport.send(MESSAGE, "bounces@bsi.example.org", ["b@example.org"])
    assert "outbox" in where
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    (message,) = list(box)
    assert message["Return-Path"] == "<bounces@bsi.example.org>" and message["Delivered-To"] == "b@example.org"
    assert message["Subject"] == "hi"


def test_open_transport_chooses_by_settings(settings, smtpd) -> None:
    assert isinstance(open_transport(settings), OutboxTransport)
    assert isinstance(open_transport(smtp_settings(settings, smtpd)), SmtpTransport)
    assert isinstance(open_transport(Settings()), OutboxTransport)
