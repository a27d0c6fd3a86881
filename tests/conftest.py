"""Shared fixtures: real SQLite files, a real aiosmtpd server on 127.0.0.1, a fake clock, the CLI runner."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from clock_support import FakeClock
from typer.testing import CliRunner

from outreach.config import Settings
from outreach.db.schema import Database, open_database

REPO = Path(__file__).resolve().parent.parent
# Tests compare against the benchmarks' baselines (benchmarks.reference_mail): the repository root must be
# importable also when pytest is started as `pytest` rather than `python -m pytest` from the root.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env or OUTREACH_* variables; each runs in its own folder."""
    for name in list(os.environ):
        if name.startswith("OUTREACH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database file path under tmp_path (not created yet)."""
    return tmp_path / "contacts.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    """A real, migrated database file."""
    database = open_database(db_path)
    yield database
    database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(db_path: Path, tmp_path: Path) -> Settings:
    """Settings for tests: a temp database, the repository's campaigns and layouts, a test secret."""
    return Settings.from_env({
        "OUTREACH_DB": str(db_path),
        "OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>",
        "OUTREACH_ORGANISATION": "Buying for Social Impact",
        "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
        "OUTREACH_PUBLIC_URL": "https://news.example.org",
        "OUTREACH_SECRET_KEY": SECRET,
        "OUTREACH_CAMPAIGNS": str(REPO / "campaigns"),
        "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
        "OUTREACH_OUTBOX": str(tmp_path / "outbox"),
    })


class Runner:
    """Runs the real `outreach` command in-process with a given database; returns the click Result."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        from outreach.cli import app

        return self.runner.invoke(app, ["--db", str(self.db_path), *args], input=input, env=env,
                                  catch_exceptions=False)


@pytest.fixture
def runner(db_path: Path) -> Runner:
    return Runner(db_path)


# --- a real SMTP server on loopback -------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (aiosmtpd 1.4 cannot bind port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    at: float

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class SinkHandler:
    """An aiosmtpd handler that keeps what it receives and can be told to fail.

    rcpt_replies: address → SMTP reply for RCPT (e.g. "550 5.1.1 No such user", "451 4.7.1 Try later");
    rcpt_fail_times: address → how many times the RCPT reply applies before the address is accepted;
    data_reply: a reply for DATA instead of 250; drop_after: close the connection after that many messages.
    """

    messages: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    rcpt_fail_times: dict[str, int] = field(default_factory=dict)
    data_reply: str | None = None
    drop_after: int | None = None
    max_per_connection: int | None = None  # then "421 too many messages" at the next MAIL, and hang up
    lock: threading.Lock = field(default_factory=threading.Lock)
    _since_connect: int = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        done = getattr(session, "messages_done", 0)
        if self.max_per_connection is not None and done >= self.max_per_connection:
            await server.push("421 4.7.0 Too many messages in this connection, closing")
            server.transport.close()
            return "421 4.7.0 closing"  # not delivered: the connection is already closed
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            remaining = self.rcpt_fail_times.get(address)
            if remaining is None or remaining > 0:
                if remaining is not None:
                    self.rcpt_fail_times[address] = remaining - 1
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.original_content or envelope.content), time.time()))
        session.messages_done = getattr(session, "messages_done", 0) + 1
        if self.drop_after is not None:
            self._since_connect += 1
            if self._since_connect >= self.drop_after:
                self._since_connect = 0
                server.transport.close()
                return "250 OK (closing)"
        return "250 OK"


@dataclass
class Smtpd:
    host: str
    port: int
    handler: SinkHandler

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def env(self) -> dict[str, str]:
        """OUTREACH_* settings that point outreach at this server."""
        return {"OUTREACH_SMTP_HOST": self.host, "OUTREACH_SMTP_PORT": str(self.port),
                "OUTREACH_SMTP_SECURITY": "none"}


@pytest.fixture
def smtpd() -> Iterator[Smtpd]:
    """aiosmtpd on 127.0.0.1 at a free port, with SMTPUTF8 and 8BITMIME, recording every message."""
    from aiosmtpd.controller import Controller

    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True,
                            decode_data=False)
    controller.start()
    try:
        yield Smtpd("127.0.0.1", port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtpd_auth() -> Iterator[Smtpd]:
    """aiosmtpd on 127.0.0.1 that requires AUTH (over plain text, loopback only) and accepts no password:
    every login gets 535."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def refuse(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        return AuthResult(success=False, handled=False)

    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=refuse,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        yield Smtpd("127.0.0.1", port, handler)
    finally:
        controller.stop()
