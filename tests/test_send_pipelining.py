"""RFC 2920 pipelining against real aiosmtpd servers on 127.0.0.1 (which serve pipelined commands in order; a
handler hook adds PIPELINING to EHLO), seen through a proxy that keeps what the client wrote in each chunk.

Each test checks the rows, how many copies the server received (never two), and whether the commands really
travelled together: an envelope (MAIL … DATA) in one chunk, the next envelope right after the previous final dot.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from conftest import SinkHandler, free_port
from send_support import add_contacts, make_sender

from benchmarks.delay_proxy import DelayProxy
from outreach.delivery.refusals import SenderRefused


class PipeliningHandler(SinkHandler):
    """The conftest sink, advertising PIPELINING (aiosmtpd reads pipelined commands in order anyway)."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


@contextmanager
def relay(pipelining: bool = True, protocol: Any = None, delay: float = 0.0) -> Iterator[tuple[Any, DelayProxy]]:
    """aiosmtpd (with PIPELINING or not, optionally another protocol class) behind a recording proxy."""
    from aiosmtpd.controller import Controller

    handler = PipeliningHandler() if pipelining else SinkHandler()
    port = free_port()

    class _Controller(Controller):  # type: ignore[misc]
        def factory(self):  # type: ignore[no-untyped-def]
            return (protocol or smtp_class())(self.handler, **self.SMTP_kwargs)

    controller = _Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True, decode_data=False)
    controller.start()
    try:
        with DelayProxy(port, delay=delay, keep_chunks=True) as proxy:
            yield handler, proxy
    finally:
        controller.stop()


def smtp_class() -> Any:  # aiosmtpd is imported when a test runs
    from aiosmtpd.smtp import SMTP

    return SMTP


def via(settings, proxy: DelayProxy, **extra: Any):  # type: ignore[no-untyped-def]
    return replace(settings, smtp_host="127.0.0.1", smtp_port=proxy.port, smtp_security="none", **extra)


def rows(db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r["email"]: r["status"] for r in db.query("SELECT email, status FROM deliveries")}


def received(handler: SinkHandler) -> Counter[str]:
    return Counter(rcpt for message in handler.messages for rcpt in message.rcpt_tos)


def envelopes_in_one_chunk(proxy: DelayProxy) -> int:
    return sum(1 for c in proxy.client_chunks if b"MAIL FROM:" in c and b"RCPT TO:" in c and b"DATA\r\n" in c)


def envelopes_after_a_dot(proxy: DelayProxy) -> int:
    """Chunks in which a final dot and the next MAIL FROM travelled together (one command per round trip would
    wait for the dot's reply first)."""
    return sum(1 for c in proxy.client_chunks if b"\r\n.\r\nMAIL FROM:" in c or c.startswith(b".\r\nMAIL FROM:"))


def test_with_pipelining_each_envelope_is_one_flight_and_follows_the_previous_dot(settings, db, clock) -> None:
    emails = add_contacts(db, clock, 30)
    with relay() as (handler, proxy):
        report = make_sender(via(settings, proxy), db, clock).run()
    assert report.sent == 30 and rows(db) == dict.fromkeys(emails, "sent")
    assert received(handler) == Counter(emails)
    assert envelopes_in_one_chunk(proxy) >= 15  # the first alone, most after a dot (chunks may split or merge)
    assert envelopes_after_a_dot(proxy) >= 10


@pytest.mark.parametrize("why", ["server does not offer it", "OUTREACH_SMTP_PIPELINING=off"])
def test_without_pipelining_one_command_per_round_trip(settings, db, clock, why) -> None:
    emails = add_contacts(db, clock, 10)
    with relay(pipelining=why.startswith("OUTREACH")) as (handler, proxy):
        extra = {"smtp_pipelining": "off"} if why.startswith("OUTREACH") else {}
        report = make_sender(via(settings, proxy, **extra), db, clock).run()
    assert report.sent == 10 and received(handler) == Counter(emails)
    assert envelopes_in_one_chunk(proxy) == 0 and envelopes_after_a_dot(proxy) == 0


def test_a_refused_rcpt_in_the_middle_of_a_flight_is_that_recipients_alone(settings, db, clock) -> None:
    emails = add_contacts(db, clock, 12)
    with relay() as (handler, proxy):
        handler.rcpt_replies[emails[5]] = "550 5.1.1 No such user"
        handler.rcpt_replies[emails[6]] = "452 4.2.2 Mailbox full"
        handler.rcpt_fail_times[emails[6]] = 1  # then accepted, at the retry after the backoff
        sender = make_sender(via(settings, proxy), db, clock)
        report = sender.run()
    states = rows(db)
    assert states.pop(emails[5]) == "failed"
    assert set(states.values()) == {"sent"} and report.sent == 11 and report.bounced == 1
    assert received(handler) == Counter(e for e in emails if e != emails[5])
    assert envelopes_after_a_dot(proxy) >= 5  # it went on pipelining after the refusals


def data_refusing_smtp(refuse: set[str]) -> Any:
    """A protocol that answers DATA with 451 when the envelope has one of `refuse` (the RCPT was accepted)."""
    from aiosmtpd.smtp import SMTP, syntax

    class RefusingData(SMTP):  # type: ignore[misc]
        @syntax("DATA")
        async def smtp_DATA(self, arg: str) -> None:
            if refuse & set(self.envelope.rcpt_tos):
                await self.push("451 4.3.0 Try again later")
                return
            await super().smtp_DATA(arg)

    return RefusingData


def test_451_on_data_in_a_flight_queues_that_message_again(settings, db, clock) -> None:
    emails = add_contacts(db, clock, 8)
    with relay(protocol=data_refusing_smtp({emails[3]})) as (handler, proxy):
        make_sender(via(settings, proxy), db, clock).run()
    states = rows(db)
    assert states.pop(emails[3]) == "failed"  # 451 at every attempt, until OUTREACH_MAX_ATTEMPTS
    assert set(states.values()) == {"sent"}
    assert received(handler) == Counter(e for e in emails if e != emails[3])
    assert envelopes_after_a_dot(proxy) >= 3


def dropping_smtp(drop: set[str]) -> Any:
    """A protocol that hangs up instead of answering DATA, once per address in `drop` (the envelope was
    accepted, no body was read: nothing can be stored)."""
    from aiosmtpd.smtp import SMTP, syntax

    class Dropping(SMTP):  # type: ignore[misc]
        @syntax("DATA")
        async def smtp_DATA(self, arg: str) -> None:
            hit = drop & set(self.envelope.rcpt_tos)
            if hit:
                drop.difference_update(hit)
                self.transport.close()
                return
            await super().smtp_DATA(arg)

    return Dropping


def test_a_connection_dropped_after_the_envelope_costs_no_copy_and_ends_pipelining(settings, db, clock,
                                                                                    caplog) -> None:
    emails = add_contacts(db, clock, 10)
    with caplog.at_level(logging.WARNING, logger="outreach.delivery"), \
            relay(protocol=dropping_smtp({emails[4]})) as (handler, proxy):
        report = make_sender(via(settings, proxy), db, clock).run()
        chunks_at_end = len(proxy.client_chunks)
    assert rows(db) == dict.fromkeys(emails, "sent") and report.sent == 10
    assert received(handler) == Counter(emails)  # the dropped one went again, alone, once
    assert proxy.connections == 2
    assert "advertised PIPELINING but dropped the connection" in caplog.text
    assert "one command at a time" in caplog.text
    later = proxy.client_chunks[chunks_at_end - 10:]
    assert not any(b".\r\nMAIL FROM:" in c for c in later)  # this connection no longer pipelines


def out_of_step_smtp(extra_before_mail: int) -> Any:
    """A protocol that sends one reply too many before answering MAIL FROM number `extra_before_mail`."""
    from aiosmtpd.smtp import SMTP, syntax

    seen = [0]

    class OutOfStep(SMTP):  # type: ignore[misc]
        @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
        async def smtp_MAIL(self, arg: str) -> None:
            seen[0] += 1
            if seen[0] == extra_before_mail:
                await self.push("250 2.0.0 and another thing")
            await super().smtp_MAIL(arg)

    return OutOfStep


def test_replies_out_of_step_make_the_dotted_message_unknown_never_a_second_copy(settings, db, clock,
                                                                                  caplog) -> None:
    emails = add_contacts(db, clock, 8)
    with caplog.at_level(logging.WARNING, logger="outreach.delivery"), \
            relay(protocol=out_of_step_smtp(3)) as (handler, proxy):
        report = make_sender(via(settings, proxy), db, clock).run()
    states = rows(db)
    assert states.pop(emails[1]) == "unknown"  # its dot's flight went out of step: its reply proves nothing
    assert set(states.values()) == {"sent"} and report.uncertain == 1
    assert received(handler) == Counter(emails)  # the server had stored it: one copy, reported unknown
    assert "answered out of step" in caplog.text


def test_a_refusal_of_the_sender_at_mail_stops_the_pipelined_run_with_the_queue_kept(settings, db, clock) -> None:
    emails = add_contacts(db, clock, 6)
    with relay() as (handler, proxy):
        handler.rcpt_replies = dict.fromkeys(emails, "530 5.7.0 Authentication required")
        with pytest.raises(SenderRefused):
            make_sender(via(settings, proxy), db, clock).run()
    assert set(rows(db).values()) == {"queued"} and handler.messages == []


def refusing_twice_smtp(address: str) -> Any:
    """A protocol that refuses `address` at RCPT, the first time with one reply too many."""
    from aiosmtpd.smtp import SMTP, syntax

    extra = [True]

    class RefusingTwice(SMTP):  # type: ignore[misc]
        @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
        async def smtp_RCPT(self, arg: str) -> None:
            if address in arg:
                await self.push("550 5.7.1 Not for this one")
                if extra.pop() if extra else False:
                    await self.push("550 5.7.1 Not for this one, again")
                return
            await super().smtp_RCPT(arg)

    return RefusingTwice


def test_a_refusal_in_a_flight_out_of_step_is_reported_once(settings, db, clock, caplog) -> None:
    emails = add_contacts(db, clock, 6)
    with caplog.at_level(logging.WARNING, logger="outreach.delivery"), \
            relay(protocol=refusing_twice_smtp(emails[3])) as (handler, proxy):
        report = make_sender(via(settings, proxy), db, clock).run()
    states = rows(db)
    assert states.pop(emails[3]) == "failed" and report.failed_count == 1
    assert set(states.values()) <= {"sent", "unknown"} and report.sent + report.uncertain == 5
    assert received(handler) == Counter(e for e in emails if e != emails[3])
    assert "out of step" in caplog.text
