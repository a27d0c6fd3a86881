"""Transports: how a built message leaves outreach — an SMTP relay, or the local outbox Maildir.

The SMTP transport speaks the protocol step by step (MAIL, RCPT, DATA, the body, then the final dot on its own)
instead of calling `sendmail`, so it knows exactly when the server may already hold a message: a connection lost
before the final dot left this machine (or reset with the dot unread) is retried on a new connection — nothing can
have been stored; after it, only a parsed reply decides — 2xx is sent, 4xx/5xx a refusal — and anything else (an
end of stream, a timeout, an unparsable line that smtplib reports as -1) is `DeliveryUncertain`, which the queue
records as `unknown` rather than guess. A connection that cannot be opened, authenticated or secured, and a
refusal aimed at the sender (`delivery.refusals`: 5xx at MAIL FROM, authentication required, relay denied), is a
`TransportError`, which stops a run at once. One message gets at most `OUTREACH_SEND_DEADLINE` seconds.

This is the only module that imports smtplib. No message here ever contains the password.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from outreach.config import Settings
from outreach.delivery.refusals import sender_refusal
from outreach.delivery.sockets import Deadline, no_delay, peer_spoke_or_closed, reset_by_peer
from outreach.errors import OutreachError, TransportError

if TYPE_CHECKING:  # imported when first used: `outreach --help` and the web pages need neither
    import mailbox
    import smtplib


class Transport(Protocol):
    def send(self, message: bytes, envelope_from: str, recipients: list[str]) -> str:
        """Deliver one message; returns the server's reply or where the message was stored."""
        ...

    def close(self) -> None:
        """Release the connection (idempotent)."""
        ...


class _Refusal(OutreachError):
    def __init__(self, code: int, reply: str, recipient: str | None = None, stage: str = "") -> None:
        self.code = code
        self.reply = reply
        self.recipient = recipient
        self.stage = stage  # "mail", "rcpt", "data" or "local"
        who = f" for {recipient}" if recipient else ""
        super().__init__(f"The server refused the message{who} at {stage or 'send'}: {code} {reply}".strip())


class TemporaryFailure(_Refusal):
    """A 4xx reply: try again later."""


class PermanentFailure(_Refusal):
    """A 5xx reply (or a local reason that no retry can fix)."""

    @property
    def no_such_user(self) -> bool:
        """RFC 3463 5.1.x at RCPT: the mailbox does not exist — a hard bounce."""
        return self.stage == "rcpt" and bool(re.match(r"5\.1\.\d{1,3}\b", self.reply))


class DeliveryUncertain(OutreachError):
    """After the final dot, no parsed reply: the connection was lost, timed out, or the reply was unreadable."""


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _ascii_domain(address: str) -> str:
    """An address with an IDN domain in punycode (valid on any server); the local part is left as is."""
    local, _, domain = address.rpartition("@")
    if domain and not domain.isascii():
        import idna

        domain = idna.encode(domain, uts46=True).decode("ascii")
    return f"{local}@{domain}" if local else address


class SmtpTransport:
    """One SMTP connection, opened lazily, reused for many messages and reopened when the server drops it."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise TransportError("OUTREACH_SMTP_HOST is not set", "Set it to your relay's host name.")
        self.settings = settings
        self.host = settings.smtp_host
        self.port = settings.effective_smtp_port
        self._smtp: smtplib.SMTP | None = None
        self.pipelining_off: str | None = None  # why this connection stopped pipelining (delivery.pipelining)

    def pipelines(self) -> bool:
        """Connect when needed; whether the next messages go pipelined: the relay offers PIPELINING (RFC 2920),
        OUTREACH_SMTP_PIPELINING is on and this connection has not fallen back to one command at a time."""
        if self._smtp is None:
            self._smtp = self._connect()
        return (self.settings.smtp_pipelining == "on" and self.pipelining_off is None
                and self._smtp.has_extn("pipelining"))

    # --- connection --------------------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.host}:{self.port} (OUTREACH_SMTP_HOST/OUTREACH_SMTP_PORT)"

    def _connect(self) -> smtplib.SMTP:
        import smtplib

        settings = self.settings
        helo = settings.smtp_helo or None
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        try:
            if settings.smtp_security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, local_hostname=helo, timeout=settings.smtp_timeout,
                                        context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=helo, timeout=settings.smtp_timeout)
            no_delay(smtp)
            smtp.ehlo_or_helo_if_needed()
            if settings.smtp_security == "starttls":
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise TransportError(
                        f"The SMTP server {self._where()} does not offer STARTTLS",
                        "Set OUTREACH_SMTP_SECURITY=tls (port 465) if the relay uses implicit TLS, or =none only "
                        "for a local test server.")
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
        except TransportError:
            raise
        except smtplib.SMTPAuthenticationError as error:
            raise TransportError(
                f"The SMTP server {self._where()} refused the login of OUTREACH_SMTP_USER={settings.smtp_user!r}: "
                f"{error.smtp_code} {_reply_text(error.smtp_error)}",
                "Check OUTREACH_SMTP_USER and OUTREACH_SMTP_PASSWORD (in .env); some relays need an app password."
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise TransportError(
                f"The SMTP server {self._where()} does not offer authentication on this connection",
                "Use OUTREACH_SMTP_SECURITY=starttls or tls: most relays only allow login over TLS.") from None
        except ssl.SSLError as error:
            raise TransportError(
                f"TLS with the SMTP server {self._where()} failed: {error.reason or error}",
                "Check OUTREACH_SMTP_SECURITY (starttls on 587, tls on 465) and that the relay's certificate is "
                "valid for OUTREACH_SMTP_HOST.") from None
        except smtplib.SMTPResponseException as error:
            raise TransportError(
                f"The SMTP server {self._where()} refused the connection: {error.smtp_code} "
                f"{_reply_text(error.smtp_error)}", "Check the relay settings with your mail administrator."
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error) or "timeout"
            raise TransportError(
                f"Cannot connect to the SMTP server {self._where()}: {reason}",
                "Check OUTREACH_SMTP_HOST, OUTREACH_SMTP_PORT and OUTREACH_SMTP_SECURITY, and that this machine "
                "may reach the relay.") from None
        return smtp

    def close(self) -> None:
        """QUIT the connection, if one is open."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:
                try:
                    smtp.close()
                except Exception:
                    pass

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except Exception:
                pass

    # --- sending -----------------------------------------------------------------------------------------

    def send(self, message: bytes, envelope_from: str, recipients: list[str]) -> str:
        """Send over the open connection; when it turns out dropped before the final dot, reconnect once.

        The whole of it gets `send_deadline` seconds (a connection being opened is bounded per step by
        `smtp_timeout`): then the socket is shut, which ends the message as a drop before the dot (queued
        again) or as uncertain after it."""
        deadline = Deadline(self.settings.send_deadline, self._expire)
        try:
            for attempt in (1, 2):
                try:
                    if self._smtp is None:
                        self._smtp = self._connect()
                    if deadline.expired:  # it fired while connecting, when there was no socket yet to shut
                        raise _Dropped("the connection took the whole deadline")
                    return self._transaction(self._smtp, message, envelope_from, recipients)
                except _Dropped as dropped:
                    self._drop()
                    if deadline.expired:
                        raise TemporaryFailure(
                            421, f"4.4.2 no answer within OUTREACH_SEND_DEADLINE={self.settings.send_deadline:g} s "
                            f"({dropped})", stage="connect") from None
                    if attempt == 2:
                        raise TemporaryFailure(421, f"4.4.2 connection lost twice ({dropped})",
                                               stage="connect") from None
        finally:
            deadline.cancel()
        raise AssertionError("unreachable")

    def _expire(self) -> None:
        """Called by the deadline's timer thread: shut the socket, so that the blocked read or write returns."""
        smtp = self._smtp
        sock = smtp.sock if smtp is not None else None
        if sock is not None:
            import socket

            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _transaction(self, smtp: smtplib.SMTP, message: bytes, envelope_from: str, recipients: list[str]) -> str:
        addresses = [_ascii_domain(a) for a in recipients]
        sender = _ascii_domain(envelope_from)
        options = _mail_options(smtp, sender, addresses)
        try:
            refused = self._envelope(smtp, sender, options, addresses)
            smtp.putcmd("data")
            code, reply = smtp.getreply()
            if code == 421 or not 200 <= code < 600:  # no DATA went out: safe on a new connection
                raise _Dropped(f"{code} {_reply_text(reply)}")
            if code != 354:
                self._reset(smtp)
                raise _refusal(code, reply, None, "data")
            payload = re.sub(rb"(?m)^\.", b"..", message)
            if not payload.endswith(b"\r\n"):
                payload += b"\r\n"
            smtp.send(payload)
            # The last moment nothing can have been stored: a server that hung up (or spoke) during the body
            # never saw the end of the message. Checked without waiting — a close we cannot see yet is judged
            # after the dot, conservatively, as uncertain.
            if peer_spoke_or_closed(smtp):
                raise _Dropped("the server closed the connection during DATA, before the final dot")
            smtp.send(b".\r\n")
        except OSError as error:  # smtplib.SMTPServerDisconnected, resets and timeouts are all OSErrors
            # Nothing was accepted yet: the message can safely go again on a new connection.
            raise _Dropped(str(error) or type(error).__name__) from None
        code, text = self._final_reply(smtp)
        if refused:  # only with several recipients: the others got it
            text += " (refused: " + "; ".join(f"{r.recipient} {r.code} {r.reply}" for r in refused) + ")"
        return f"{code} {text}"

    def _envelope(self, smtp: smtplib.SMTP, sender: str, options: list[str], addresses: list[str]
                  ) -> list[_Refusal]:
        """MAIL FROM and one RCPT TO per address; returns the recipients refused (raising when all were)."""
        code, reply = smtp.mail(sender, options)
        if code == 421 or not 200 <= code < 600:  # closing, or out of step: a new connection may well take it
            raise _Dropped(f"{code} {_reply_text(reply)}")
        if code != 250:
            self._reset(smtp)
            raise sender_refusal(code, _reply_text(reply), "mail", self._where()) or _refusal(code, reply, None,
                                                                                               "mail")
        refused: list[_Refusal] = []
        accepted = 0
        for address in addresses:
            code, reply = smtp.rcpt(address)
            if code == 421 or not 200 <= code < 600:
                raise _Dropped(f"{code} {_reply_text(reply)}")
            if code in (250, 251):
                accepted += 1
                continue
            about_sender = sender_refusal(code, _reply_text(reply), "rcpt", self._where())
            if about_sender is not None:
                self._reset(smtp)
                raise about_sender
            refused.append(_refusal(code, reply, address, "rcpt"))
        if not accepted:
            self._reset(smtp)
            raise refused[0]
        return refused

    def _final_reply(self, smtp: smtplib.SMTP) -> tuple[int, str]:
        """The reply to the final dot: 2xx is returned, 4xx/5xx raised as a refusal; anything else (no reply,
        a lost connection, an unparsable line) is DeliveryUncertain — the server may hold the message."""
        import smtplib

        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as error:  # includes smtplib's own "500 Line too long."
            self._drop()
            if reset_by_peer(error):
                # A reset, not an end of stream: the server's socket was closed with our bytes unread (or they
                # came after it closed) — its program never read the final dot, so nothing was stored.
                raise _Dropped("the server reset the connection: it closed before reading the final dot") from None
            raise DeliveryUncertain(
                f"The connection to {self.host} was lost after the message was sent, before the server confirmed "
                f"it ({error or 'timeout'})") from None
        text = _reply_text(reply)
        if 200 <= code < 300:
            return code, text
        if 400 <= code < 600:
            if code == 421:
                self._drop()
            raise _refusal(code, reply, None, "data")
        self._drop()  # out of step with the server: the next message starts on a new connection
        raise DeliveryUncertain(f"The server's reply after the message could not be read (code {code}): "
                                f"{text[:200]!r}")

    @staticmethod
    def _reset(smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except Exception:
            pass


def _mail_options(smtp: smtplib.SMTP, sender: str, addresses: list[str]) -> list[str]:
    """MAIL FROM options: SMTPUTF8 (and 8BITMIME) when an address has non-ASCII letters before the @."""
    if sender.isascii() and all(a.isascii() for a in addresses):
        return []
    if not smtp.has_extn("smtputf8"):
        raise PermanentFailure(
            553, "5.6.7 the address has non-ASCII letters before the @ and the SMTP server does not offer "
            "SMTPUTF8 (RFC 6531)", recipient=next((a for a in addresses if not a.isascii()), None), stage="local")
    options = ["SMTPUTF8"]
    if smtp.has_extn("8bitmime"):  # the UTF-8 To header
        options.append("BODY=8BITMIME")
    return options


class _Dropped(Exception):
    """The connection went away before the message was complete (safe to send again)."""


def _refusal(code: int, reply: bytes | str, recipient: str | None, stage: str) -> _Refusal:
    text = _reply_text(reply)
    if code == -1 or 400 <= code < 500:
        return TemporaryFailure(code, text, recipient, stage)
    return PermanentFailure(code, text, recipient, stage)


class OutboxTransport:
    """Messages go into a local Maildir (settings.outbox_dir) instead of a relay — for trying outreach out."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._maildir: mailbox.Maildir | None = None  # opened on the first message

    def send(self, message: bytes, envelope_from: str, recipients: list[str]) -> str:
        """Store the message (with its envelope as Return-Path/Delivered-To) in the outbox; returns its path."""
        import mailbox

        if self._maildir is None:
            try:
                self._maildir = mailbox.Maildir(self.directory, create=True)
            except OSError as error:
                raise TransportError(f"The outbox {self.directory} cannot be created ({error.strerror})",
                                     "Set OUTREACH_OUTBOX to a folder you can write to.") from None
        # What a local delivery agent adds: the envelope, so the outbox shows who would have received it.
        trace = f"Return-Path: <{envelope_from}>\r\n" + "".join(f"Delivered-To: {r}\r\n" for r in recipients)
        try:
            key = self._maildir.add(trace.encode("utf-8") + message.replace(b"\r\n", b"\n"))
        except OSError as error:
            raise TransportError(f"Cannot write to the outbox {self.directory} ({error.strerror})",
                                 "Check the free space and permissions of OUTREACH_OUTBOX.") from None
        return f"stored in {self.directory / 'new' / key}"

    def close(self) -> None:
        """Forget the open Maildir."""
        self._maildir = None


def open_transport(settings: Settings) -> Transport:
    """SMTP when OUTREACH_SMTP_HOST is set, else the outbox Maildir. Nothing connects until the first send."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return OutboxTransport(settings.outbox_dir)


def describe_transport(settings: Settings) -> str:
    """Where messages will go, for the confirmation prompt (no secrets)."""
    if settings.relays:
        return f"SMTP relays {', '.join(settings.relays)} (OUTREACH_RELAYS)"
    if settings.smtp_host:
        user = f" as {settings.smtp_user}" if settings.smtp_user else ""
        return f"SMTP {settings.smtp_host}:{settings.effective_smtp_port} ({settings.smtp_security}){user}"
    return f"the local outbox {settings.outbox_dir} (no OUTREACH_SMTP_HOST set)"
