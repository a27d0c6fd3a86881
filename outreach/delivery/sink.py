"""A capture SMTP server on 127.0.0.1 (aiosmtpd): try the real SMTP path without mailing anyone.

Every message received is stored in a Maildir (with the envelope as Return-Path/Delivered-To, like a local
delivery agent) and reported to a callback — `outreach sink` prints a line per message; `outreach demo` uses it
as a library (`with Sink(...) as sink:`).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outreach.errors import ConfigError


@dataclass(frozen=True)
class Captured:
    """One message the sink received."""

    mail_from: str
    recipients: tuple[str, ...]
    subject: str
    size: int
    key: str


def free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on loopback (aiosmtpd 1.4 cannot bind port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, maildir: Path, on_message: Callable[[Captured], None] | None) -> None:
        import mailbox

        self.box = mailbox.Maildir(maildir, create=True)
        self.on_message = on_message
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.original_content or envelope.content)
        trace = f"Return-Path: <{envelope.mail_from}>\r\n" + "".join(
            f"Delivered-To: {rcpt}\r\n" for rcpt in envelope.rcpt_tos)
        key = self.box.add(trace.encode("utf-8") + data.replace(b"\r\n", b"\n"))
        headers = email.message_from_bytes(data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n", policy=email.policy.default)
        with self.lock:
            self.count += 1
        if self.on_message is not None:
            self.on_message(Captured(envelope.mail_from, tuple(envelope.rcpt_tos), str(headers["Subject"] or ""),
                                     len(data), key))
        return "250 OK: captured"


class Sink:
    """The capture server: `start()`, `stop()`, or use it as a context manager."""

    def __init__(self, maildir: Path, port: int | None = None, host: str = "127.0.0.1",
                 on_message: Callable[[Captured], None] | None = None) -> None:
        self.maildir = Path(maildir)
        self.host = host
        self.port = port or free_port(host)
        self.handler = _Handler(self.maildir, on_message)
        self._controller: Any = None

    @property
    def count(self) -> int:
        return self.handler.count

    def start(self) -> Sink:
        from aiosmtpd.controller import Controller

        controller = Controller(self.handler, hostname=self.host, port=self.port, enable_SMTPUTF8=True,
                                decode_data=False, data_size_limit=64 * 1024 * 1024)
        try:
            controller.start()
        except (OSError, RuntimeError, TimeoutError) as error:
            raise ConfigError(f"The capture server cannot listen on {self.host}:{self.port} ({error})",
                              "Choose another port with --port.") from None
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings_env(self) -> dict[str, str]:
        """OUTREACH_* settings that point outreach at this sink."""
        return {"OUTREACH_SMTP_HOST": self.host, "OUTREACH_SMTP_PORT": str(self.port),
                "OUTREACH_SMTP_SECURITY": "none"}

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
