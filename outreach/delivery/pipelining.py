"""RFC 2920 pipelining over the SMTP transport's connection, when the relay offers PIPELINING.

A message's envelope (MAIL FROM, RCPT TO, DATA) goes in one write, and the next message's envelope follows the
previous message's final dot in the same write, so one message costs about one round trip instead of four.
Replies are read in the order of the commands. The guarantees of delivery.transport stay:

- the body and its final dot go only after the envelope's replies were read (MAIL and RCPT accepted, 354 to
  DATA), and only for a message the sender has committed `sending` (it is handed over committed);
- the final dot and the next envelope leave in one write: when that write, or any read after it, fails, the
  dotted message is `DeliveryUncertain` (no guess from a reset: the unread bytes may be the next envelope); the
  next message had no dot yet and is sent again alone, on a new connection;
- a dotted message's reply counts only when the rest of its flight is in step too (the next envelope's replies
  fit their commands, nothing more waits after the 354): otherwise it is uncertain. A connection lost while
  reading the next envelope's replies leaves the dotted message's parsed reply standing.

A relay that answers out of step or drops a connection mid-flight makes this connection fall back to one
command per round trip (delivery.transport's `send`) for the rest of the run, with a warning in the log
(logger `outreach.delivery`). A 421 is an orderly close: the connection is opened again and still pipelines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from outreach.delivery.refusals import sender_refusal
from outreach.delivery.sockets import Watchdog, peer_spoke_or_closed, reply_waiting
from outreach.delivery.transport import (
    DeliveryUncertain,
    SmtpTransport,
    _ascii_domain,
    _mail_options,
    _Refusal,
    _refusal,
    _reply_text,
)

if TYPE_CHECKING:
    import smtplib

log = logging.getLogger("outreach.delivery")


class Letter(Protocol):
    """A built message with its envelope (delivery.connections.Job is one)."""

    @property
    def message(self) -> bytes: ...
    @property
    def envelope_from(self) -> str: ...
    @property
    def recipients(self) -> list[str]: ...


L = TypeVar("L", bound=Letter)
Answer = str | BaseException


class _Lost(Exception):
    """The connection failed (end of stream, reset, timeout) in the middle of a flight."""


class _OutOfStep(Exception):
    """A reply that does not fit the command it should answer, or a reply nobody asked for."""


class _Closing(Exception):
    """The relay answered 421: it closes the connection (orderly; the next connection may pipeline)."""


@dataclass
class _Open(Generic[L]):
    """A message whose envelope is (about to be) in flight."""

    letter: L
    envelope: bytes
    refused: list[_Refusal] = field(default_factory=list)


class Pipeline(Generic[L]):
    """One pipelined conversation on a transport's connection: `run(first)` sends `first` and every letter
    `take()` has ready without waiting, reporting each exactly once through `done`."""

    def __init__(self, transport: SmtpTransport, take: Callable[[], L | None],
                 done: Callable[[L, Answer], None]) -> None:
        self.transport = transport
        self.take = take
        self.done = done
        self.dotted: L | None = None  # its final dot is out; its reply is not judged yet
        self.dotted_refused: list[_Refusal] = []  # its recipients refused at RCPT (with others accepted)
        self.current: _Open[L] | None = None  # its envelope is out (or goes with the next write); no dot yet

    def run(self, first: L) -> None:
        """Send `first`, then whatever `take` has ready, until nothing is ready and every reply is read."""
        self.current = self._open(first)
        out = self.current.envelope if self.current else b""
        watchdog = Watchdog(self.transport._expire)  # each flight gets OUTREACH_SEND_DEADLINE seconds
        try:
            while self.current is not None or self.dotted is not None:
                watchdog.arm(self.transport.settings.send_deadline)
                try:
                    out = self._flight(out)
                except (_Lost, _OutOfStep, _Closing) as fault:
                    watchdog.disarm()
                    self._recover(fault)
                    return
                watchdog.disarm()
        finally:
            watchdog.close()

    # --- one flight: what `out` carries (a final dot, an envelope), then its replies --------------------------

    def _flight(self, out: bytes) -> bytes:
        """Write `out`, read the replies it asks for; returns what the next flight writes."""
        smtp = self._smtp()
        self._write(smtp, out)
        dotted_answer = self._final_reply(smtp) if self.dotted is not None else None
        if isinstance(dotted_answer, _Refusal) and dotted_answer.code == 421:  # closing: nothing more comes
            self._report_dotted(dotted_answer)
            raise _Closing(dotted_answer.reply)
        current = self.current
        try:
            refusal = None if current is None else self._envelope_replies(smtp, current)
        except (_Closing, _Lost):  # a 421 or a lost connection, not replies out of step: a parsed reply stands
            self._report_dotted(dotted_answer)
            raise
        if reply_waiting(smtp):
            raise _OutOfStep("a reply came that no command asked for")
        self._report_dotted(dotted_answer)  # its flight was in step: the replies count
        if current is None or refusal is not None:
            if current is not None and refusal is not None:  # refused: reported, and the transaction reset
                self.current = None
                self.done(current.letter, refusal)
                self.transport._reset(smtp)
            self.current = self._next()
            return self.current.envelope if self.current else b""
        self._write(smtp, _payload(current.letter.message))
        if peer_spoke_or_closed(smtp):
            raise _Lost("the server closed the connection during DATA, before the final dot")
        # From here the message may be stored: the final dot and the next envelope go in one write.
        self.dotted, self.dotted_refused, self.current = current.letter, current.refused, self._next()
        return b".\r\n" + (self.current.envelope if self.current else b"")

    def _report_dotted(self, answer: Answer | None) -> None:
        dotted, self.dotted = self.dotted, None
        if dotted is not None and answer is not None:
            self.done(dotted, answer)
        elif dotted is not None:
            self.dotted = dotted

    def _smtp(self) -> smtplib.SMTP:
        smtp = self.transport._smtp
        if smtp is None:
            raise _Lost("the connection is closed")
        return smtp

    @staticmethod
    def _write(smtp: smtplib.SMTP, data: bytes) -> None:
        if not data:
            return
        try:
            smtp.send(data)
        except OSError as error:  # smtplib.SMTPServerDisconnected is one
            raise _Lost(str(error) or type(error).__name__) from None

    @staticmethod
    def _reply(smtp: smtplib.SMTP) -> tuple[int, str]:
        import smtplib

        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as error:
            raise _Lost(str(error) or "timeout") from None
        if code == -1:
            raise _OutOfStep(f"an unreadable reply: {_reply_text(reply)[:200]!r}")
        return code, _reply_text(reply)

    def _final_reply(self, smtp: smtplib.SMTP) -> Answer:
        """The reply to the dotted message's final dot: a 2xx is the answer, 4xx/5xx a refusal."""
        code, text = self._reply(smtp)
        if 200 <= code < 300:
            if self.dotted_refused:  # only with several recipients: the others got it
                text += " (refused: " + "; ".join(f"{r.recipient} {r.code} {r.reply}"
                                                  for r in self.dotted_refused) + ")"
            return f"{code} {text}"
        if 400 <= code < 600:
            return _refusal(code, text, None, "data")
        raise _OutOfStep(f"the reply to the final dot was {code} {text[:200]!r}")

    def _envelope_replies(self, smtp: smtplib.SMTP, current: _Open[L]) -> BaseException | None:
        """Read MAIL's, each RCPT's and DATA's reply; None at 354 with a recipient accepted, else the refusal
        (of the sender, it stops the run: delivery.refusals)."""
        where = self.transport._where()
        letter = current.letter
        code, text = self._reply(smtp)
        _expect(code, text, "MAIL", (250, 251, 252))
        mail_refused = None if code < 300 else (sender_refusal(code, text, "mail", where)
                                                or _refusal(code, text, None, "mail"))
        accepted, stop = 0, None
        for address in letter.recipients:
            code, text = self._reply(smtp)
            _expect(code, text, "RCPT", (250, 251, 252))
            if code < 300:
                accepted += 1
            elif stop is None and mail_refused is None:
                stop = sender_refusal(code, text, "rcpt", where)
                current.refused.append(_refusal(code, text, address, "rcpt"))
        code, text = self._reply(smtp)
        _expect(code, text, "DATA", (354,))
        refusal = mail_refused or stop or (current.refused[0] if not accepted and current.refused else None)
        if code == 354 and refusal is None and accepted:
            return None
        if code == 354:  # DATA accepted with no recipient: RFC 2920 wants the dot alone, which must fail
            self._write(smtp, b".\r\n")
            self._reply(smtp)
        return refusal or _refusal(code, text, None, "data")

    def _next(self) -> _Open[L] | None:
        """The next letter that is ready (without waiting), its envelope built; None when there is none."""
        while (letter := self.take()) is not None:
            opened = self._open(letter)
            if opened is not None:
                return opened
        return None

    def _open(self, letter: L) -> _Open[L] | None:
        """The envelope's bytes; a letter refused here (no SMTPUTF8 for a UTF-8 address) is reported."""
        smtp = self.transport._smtp
        if smtp is None:
            return _Open(letter, b"")
        sender = _ascii_domain(letter.envelope_from)
        addresses = [_ascii_domain(a) for a in letter.recipients]
        try:
            options = _mail_options(smtp, sender, addresses)
        except _Refusal as refusal:
            self.done(letter, refusal)
            return None
        import smtplib

        lines = [f"MAIL FROM:{smtplib.quoteaddr(sender)}{''.join(' ' + o for o in options)}",
                 *(f"RCPT TO:{smtplib.quoteaddr(a)}" for a in addresses), "DATA"]
        if any("\r" in line or "\n" in line for line in lines):
            self.done(letter, _refusal(553, "5.1.3 a line break in an address", None, "local"))
            return None
        return _Open(letter, "".join(line + "\r\n" for line in lines).encode("utf-8" if options else "ascii"))

    # --- when a flight goes wrong ----------------------------------------------------------------------------

    def _recover(self, fault: Exception) -> None:
        """Close the connection; the dotted message is uncertain, the one without a dot goes again alone. Out
        of step or a lost connection: this connection sends one command per round trip from now on."""
        transport = self.transport
        transport._drop()
        if not isinstance(fault, _Closing):
            transport.pipelining_off = f"{type(fault).__name__.strip('_')}: {fault}"
            log.warning("The SMTP server %s advertised PIPELINING but %s (%s): this connection now sends one "
                        "command at a time; no message was sent twice.", transport._where(),
                        "answered out of step" if isinstance(fault, _OutOfStep) else "dropped the connection "
                        "mid-flight", fault)
        dotted, self.dotted = self.dotted, None
        if dotted is not None:
            self.done(dotted, DeliveryUncertain(
                f"The connection to {transport.host} failed after the message was sent, before the server "
                f"confirmed it in step (pipelined: {fault})"))
        current, self.current = self.current, None
        if current is not None:
            letter = current.letter
            answer: Answer
            try:
                answer = transport.send(letter.message, letter.envelope_from, letter.recipients)
            except Exception as error:
                answer = error
            self.done(letter, answer)


def _expect(code: int, text: str, command: str, good: tuple[int, ...]) -> None:
    """A reply must be one of `good` or a 4xx/5xx refusal; anything else is out of step."""
    if code not in good and not 400 <= code < 600:
        raise _OutOfStep(f"{command} was answered {code} {text[:200]!r}")
    if code == 421:
        raise _Closing(f"{code} {text}")


def _payload(message: bytes) -> bytes:
    """The message with its lines starting with a dot doubled, ending in CRLF (the dot goes apart)."""
    payload = re.sub(rb"(?m)^\.", b"..", message)
    return payload if payload.endswith(b"\r\n") else payload + b"\r\n"


def send_pipelined(transport: SmtpTransport, first: L, take: Callable[[], L | None],
                   done: Callable[[L, Answer], None]) -> None:
    """Send `first` and whatever `take` has ready over `transport`, pipelined when it `pipelines()`, else the
    usual one command per round trip; every letter taken is reported through `done` exactly once."""
    try:
        pipelined = transport.pipelines()
    except Exception as error:  # cannot connect: a TransportError the run stops on
        done(first, error)
        return
    if pipelined:
        Pipeline(transport, take, done).run(first)
        return
    answer: Answer
    try:
        answer = transport.send(first.message, first.envelope_from, first.recipients)
    except Exception as error:
        answer = error
    done(first, answer)
