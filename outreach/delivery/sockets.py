"""Socket-level facts the SMTP transport needs and smtplib does not tell: whether the server has hung up before
the final dot, whether a failed read was a reset, a deadline for one whole message, no Nagle delay."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import smtplib


def no_delay(smtp: smtplib.SMTP) -> None:
    """Turn off Nagle's algorithm on the connection."""
    # A message is one large write followed by a wait for the reply: with Nagle's algorithm its last partial
    # segment waits for the peer's delayed ACK (40 ms on Linux), capping a connection near 25 messages/s.
    import socket

    if smtp.sock is None:
        return
    try:
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def reset_by_peer(error: BaseException) -> bool:
    """Whether the read failed with ECONNRESET (smtplib wraps it in SMTPServerDisconnected)."""
    return isinstance(error, ConnectionResetError) or isinstance(error.__context__, ConnectionResetError)


def peer_spoke_or_closed(smtp: smtplib.SMTP) -> bool:
    """Whether the server has already hung up or sent something (it has no reason to before the final dot).

    A non-blocking look at the socket: with TLS, a readable socket may hold only a protocol record (a session
    ticket), which `recv` consumes and reports as "want read" — not a close. Reading a byte off the stream is
    harmless: when there was one, the connection is dropped anyway."""
    import selectors

    sock = smtp.sock
    if sock is None:
        return True
    timeout = sock.gettimeout()
    try:
        pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
        if not pending:
            with selectors.DefaultSelector() as selector:  # poll/epoll: no FD_SETSIZE limit as select() has
                selector.register(sock, selectors.EVENT_READ)
                if not selector.select(0):
                    return False
        sock.settimeout(0)
        sock.recv(1)
        return True  # a byte (the server spoke) or b"" (it hung up)
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except (OSError, ValueError):
        return True
    finally:
        try:
            sock.settimeout(timeout)
        except OSError:
            pass


def reply_waiting(smtp: smtplib.SMTP) -> bool:
    """Whether a reply is already buffered or arriving, without waiting (used when no command awaits one: a
    pipelined flight has had all its replies, so anything more is out of step)."""
    sock, file = smtp.sock, smtp.file
    if sock is None or file is None:
        return False
    timeout = sock.gettimeout()
    try:
        sock.settimeout(0)
        return bool(file.peek(1))  # a buffered line, or a non-blocking read into the buffer (b"" when none)
    except (ssl.SSLWantReadError, OSError, ValueError):
        return False
    finally:
        try:
            sock.settimeout(timeout)
        except OSError:
            pass


class Deadline:
    """Calls `expire` (from a timer thread) once `seconds` have passed, unless cancelled first."""

    def __init__(self, seconds: float, expire: Callable[[], None]) -> None:
        self.expired = False
        self._expire = expire
        self._timer = threading.Timer(seconds, self._fire) if seconds > 0 else None
        if self._timer is not None:
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        self.expired = True
        self._expire()

    def cancel(self) -> None:
        """The message is done: no shutdown any more."""
        if self._timer is not None:
            self._timer.cancel()


class Watchdog:
    """Deadlines for many steps in a row with one thread (a pipelined flight each): `arm(seconds)` before a step,
    `disarm()` after it; `expire` is called (from the watchdog's thread) when a step overruns. Cheaper than a
    Deadline per step, whose timer thread start and stop would each wait for the interpreter lock."""

    def __init__(self, expire: Callable[[], None]) -> None:
        self.expired = False
        self._expire = expire
        self._due: float | None = None
        self._closed = False
        self._wake = threading.Condition()
        threading.Thread(target=self._watch, name="outreach-smtp-watchdog", daemon=True).start()

    def arm(self, seconds: float) -> None:
        """The next step must end within `seconds` (0: no limit)."""
        self._due = time.monotonic() + seconds if seconds > 0 else None

    def disarm(self) -> None:
        """The step ended in time."""
        self._due = None

    def close(self) -> None:
        """No more steps: the thread ends."""
        with self._wake:
            self._closed = True
            self._wake.notify()

    def _watch(self) -> None:
        with self._wake:
            while not self._closed:
                due = self._due
                left = 1.0 if due is None else due - time.monotonic()
                if due is not None and left <= 0:
                    self.expired, self._due = True, None
                    self._expire()
                    continue
                self._wake.wait(min(left, 1.0))
