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
from typing import TYPE_CHECKING

from outreach.errors import ConfigError

if TYPE_CHECKING:  # aiosmtpd is imported when a sink starts
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Captured:
    """One message the sink received."""

    mail_from: str
    recipients: tuple[str, ...]
    subject: str
    size: int
    key: str


def _free_port(host: str) -> int:
    """A free TCP port on loopback, for a sink started without --port (aiosmtpd 1.4 cannot bind port 0)."""
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

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""  # decode_data=False: the bytes as received
        mail_from = envelope.mail_from or ""  # always set by the time of DATA
        trace = f"Return-Path: <{mail_from}>\r\n" + "".join(
            f"Delivered-To: {rcpt}\r\n" for rcpt in envelope.rcpt_tos)
        key = self.box.add(trace.encode("utf-8") + data.replace(b"\r\n", b"\n"))
        headers = email.message_from_bytes(data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n", policy=email.policy.default)
        with self.lock:
            self.count += 1
        if self.on_message is not None:
            self.on_message(Captured(mail_from, tuple(envelope.rcpt_tos), str(headers["Subject"] or ""),
                                     len(data), key))
        return "250 OK: captured"


class Sink:
    """The capture server: `start()`, `stop()`, or use it as a context manager."""

    def __init__(self, maildir: Path, port: int | None = None, host: str = "127.0.0.1",
                 on_message: Callable[[Captured], None] | None = None) -> None:
        self.maildir = Path(maildir)
        self.host = host
        self.port = port or _free_port(host)
        self.handler = _Handler(self.maildir, on_message)
        self._controller: Controller | None = None

    @property
    def count(self) -> int:
        """Messages received so far."""
        return self.handler.count

    def start(self) -> Sink:
        """Listen on host:port (a ConfigError naming --port when that is taken)."""
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
        """Stop listening (idempotent)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
