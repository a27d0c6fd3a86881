"""Relays that refuse the sender, garble, hang up or stall — real aiosmtpd servers on 127.0.0.1, a real
database, the sender as `outreach send` wires it. Each test checks the error, the rows and how many copies the
server received (never two)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from send_support import (
    FaultySmtpd,
    add_contacts,
    closing_during_data_smtp,
    make_sender,
    smtp_settings,
)

from outreach.contacts.model import get_contact, set_status, suppress
from outreach.delivery.refusals import SenderRefused
from outreach.delivery.store import DatabaseStore, reply_matches
from outreach.delivery.transport import SmtpTransport, TemporaryFailure
from outreach.delivery.watch import RefusalStreakError, StallError
from outreach.models import ContactStatus


def rows(db) -> dict[str, tuple[str, int]]:
    """email → (status, attempts)."""
    return {r["email"]: (r["status"], r["attempts"]) for r in db.query("SELECT email, status, attempts "
                                                                         "FROM deliveries")}


def received(server) -> Counter[str]:
    return Counter(rcpt for message in server.messages for rcpt in message.rcpt_tos)


def many_domains(db, clock, count: int, start: int = 0) -> list[str]:
    """One contact at each of `count` different domains."""
    return [add_contacts(db, clock, 1, domain=f"d{n}.example.org", start=n)[0] for n in range(start, start + count)]


@pytest.mark.parametrize(("reply", "setting"), [
    ("530 5.7.0 Authentication required", "OUTREACH_SMTP_USER and OUTREACH_SMTP_PASSWORD"),
    ("550 5.7.1 Relaying denied", "relay's policy"),
    ("553 5.7.1 Sender address rejected: not owned by user", "OUTREACH_FROM"),
])
def test_a_refusal_at_mail_from_stops_the_run_and_keeps_every_delivery_queued(settings, db, clock, reply,
                                                                              setting) -> None:
    emails = add_contacts(db, clock, 4)
    with FaultySmtpd() as server:
        server.handler.mail_reply = reply
        sender = make_sender(smtp_settings(settings, server), db, clock)
        with pytest.raises(SenderRefused) as refused:
            sender.run()
        assert reply in refused.value.message and "MAIL" in refused.value.message
        assert setting in refused.value.hint and "stay queued" in refused.value.hint
        assert refused.value.exit_code == 3
        assert rows(db) == dict.fromkeys(emails, ("queued", 0))  # the one in hand too, its attempt not counted
        assert server.handler.mails == 1 and server.messages == []  # stopped at the first refusal
        assert sender.report.failed_count == 0 and sender.report.remaining == 4

        server.handler.mail_reply = None  # the login is configured: the next run sends everyone, once
        report = make_sender(smtp_settings(settings, server), db, clock).run()
    assert report.sent == 4 and received(server) == Counter(emails)


def test_relay_access_denied_at_rcpt_is_the_senders_refusal(settings, db, clock) -> None:
    emails = add_contacts(db, clock, 3)
    with FaultySmtpd() as server:
        server.handler.rcpt_reply = "554 5.7.1 <a0000@gmina.example.org>: Relay access denied"
        with pytest.raises(SenderRefused, match="Relay access denied") as refused:
            make_sender(smtp_settings(settings, server), db, clock).run()
    assert "relay's policy" in refused.value.hint
    assert rows(db) == dict.fromkeys(emails, ("queued", 0)) and server.messages == []


def test_the_same_refusal_at_five_domains_in_a_row_stops_and_requeues_them(settings, db, clock) -> None:
    emails = many_domains(db, clock, 7)
    with FaultySmtpd() as server:
        server.handler.rcpt_reply = "550 5.7.1 Message rejected by policy"
        sender = make_sender(smtp_settings(settings, server), db, clock)
        with pytest.raises(RefusalStreakError) as streak:
            sender.run()
    assert "5 different domains" in streak.value.message and "550 5.7.1" in streak.value.message
    assert "OUTREACH_REFUSAL_STREAK=0" in streak.value.hint and streak.value.exit_code == 3
    assert rows(db) == dict.fromkeys(emails, ("queued", 0))  # the five refused went back, the rest untouched
    assert server.handler.mails == 5 and server.messages == []
    assert sender.report.failed_count == 0 and not sender.report.failed


def test_the_streak_can_be_turned_off_and_never_counts_unknown_mailboxes(settings, db, clock) -> None:
    emails = many_domains(db, clock, 6)
    with FaultySmtpd() as server:
        server.handler.rcpt_reply = "550 5.1.1 No such user here"  # a bad list, not a refusal of the sender
        report = make_sender(smtp_settings(settings, server), db, clock).run()
        assert report.failed_count == 6 and report.bounced == 6
        server.handler.rcpt_reply = "550 5.7.1 Message rejected by policy"
        more = many_domains(db, clock, 6, start=6)
        settings = replace(smtp_settings(settings, server), refusal_streak=0)
        report = make_sender(settings, db, clock).run()
    assert report.failed_count == 6
    assert {email: rows(db)[email][0] for email in emails + more} == dict.fromkeys(emails + more, "failed")


def test_an_unreadable_reply_after_the_final_dot_is_unknown_and_never_sent_again(settings, db, clock) -> None:
    emails = add_contacts(db, clock, 3)
    with FaultySmtpd() as server:
        server.handler.data_reply = "xyz garbage"  # the message is stored, the reply cannot be parsed (-1)
        report = make_sender(smtp_settings(settings, server), db, clock).run()
        assert sorted(report.unknown) == emails and report.uncertain == 3
        assert report.sent == 0 and report.failed_count == 0
        assert rows(db) == dict.fromkeys(emails, ("unknown", 1))
        reply = next(db.query("SELECT last_reply FROM deliveries"))["last_reply"]
        assert "could not be read" in reply and "garbage" in reply
        again = make_sender(smtp_settings(settings, server), db, clock).run()
    assert again.sent == 0 and again.unknown == []
    assert received(server) == Counter(emails)  # one copy each, however often it is run
    assert clock.slept == []  # nothing was deferred for a retry


def test_a_connection_closed_during_data_is_requeued_not_unknown(settings, db, clock) -> None:
    emails = add_contacts(db, clock, 2)
    with FaultySmtpd(closing_during_data_smtp()) as server:
        settings = replace(smtp_settings(settings, server), stall_limit=300.0)
        with pytest.raises(StallError) as stalled:
            make_sender(settings, db, clock).run()
    assert "OUTREACH_STALL_LIMIT=300" in stalled.value.message
    table = rows(db)
    assert {status for status, _ in table.values()} == {"queued"} and set(table) == set(emails)  # never unknown
    replies = [r["last_reply"] for r in db.query("SELECT last_reply FROM deliveries")]
    # Each attempt ends before the final dot; under load the server's close can also race the next connect, which
    # then ends as a 421 (a temporary refusal, queued as well). Which of the two came last is timing.
    assert all("final dot" in reply or reply.startswith("421") for reply in replies), replies
    assert any("final dot" in text for text in [*replies, stalled.value.message]), replies
    assert server.messages == []  # nothing was stored: a later run sends each one once


def test_a_relay_that_stalls_after_mail_from_stops_the_run(settings, db, clock) -> None:
    emails = add_contacts(db, clock, 2)
    with FaultySmtpd() as server:
        server.handler.mail_stall = 1.0
        settings = replace(smtp_settings(settings, server), smtp_timeout=0.2, stall_limit=50.0)
        with pytest.raises(StallError, match="decided no delivery") as stalled:
            make_sender(settings, db, clock).run()
        mails = server.handler.mails
    assert stalled.value.exit_code == 3
    assert {status for status, _ in rows(db).values()} == {"queued"} and set(rows(db)) == set(emails)
    assert mails <= 4  # two connections per delivery, and no retry round: the limit came first
    assert server.messages == []


def test_one_message_never_takes_longer_than_the_deadline(settings) -> None:
    with FaultySmtpd() as server:
        server.handler.mail_stall = 2.0
        transport = SmtpTransport(replace(smtp_settings(settings, server), smtp_timeout=10.0, send_deadline=0.3))
        with pytest.raises(TemporaryFailure, match=r"OUTREACH_SEND_DEADLINE=0\.3 s"):
            transport.send(b"Subject: x\r\n\r\nbody\r\n", "a@bsi.example.org", ["b@example.org"])
        transport.close()
    assert server.messages == []


def test_retry_failed_requeues_only_what_may_be_mailed_and_matches_the_code(settings, db, clock, smtpd) -> None:
    emails = many_domains(db, clock, 5)
    smtpd.handler.rcpt_replies = {emails[0]: "550 5.7.1 Recipient rejected by policy",
                                  emails[1]: "550 5.1.1 No such user",  # a hard bounce: never again
                                  emails[2]: "550 5.7.1 Recipient rejected by policy",
                                  emails[3]: "552 5.2.2 Mailbox full"}
    report = make_sender(smtp_settings(settings, smtpd), db, clock).run()
    assert report.failed_count == 4 and report.sent == 1
    set_status(db, clock, get_contact(db, emails[2]), ContactStatus.UNSUBSCRIBED)
    smtpd.handler.rcpt_replies = {}
    store = DatabaseStore(db, clock)
    assert store.requeue_failed("autumn-news", "4.*") == 0
    retried = make_sender(smtp_settings(settings, smtpd), db, clock, retry_failed=True, reply_code="5.7.*").run()
    assert retried.retried_failed == 1 and retried.sent == 1
    suppress(db, clock, emails[3], "asked by phone")
    assert store.requeue_failed("autumn-news", None) == 0  # suppressed, bounced and unsubscribed stay failed
    assert received(smtpd) == Counter([emails[4], emails[0]])
    assert rows(db)[emails[0]] == ("sent", 1)  # attempts start again from zero


@pytest.mark.parametrize(("reply", "pattern", "matches"), [
    ("530 5.7.0 Authentication required", "5.7.*", True),
    ("530 5.7.0 Authentication required", "530", True),
    ("550 5.1.1 No such user", "5.7.*", False),
    ("421 4.4.2 connection lost twice (after 5 attempts)", "4*", True),
    ("550 Requested action not taken", "5.*", False),
    ("", "*", False),
])
def test_reply_codes_match_the_basic_or_enhanced_code(reply, pattern, matches) -> None:
    assert reply_matches(reply, pattern) is matches


def test_a_close_before_the_final_dot_is_seen_without_waiting() -> None:
    """The check made between the body and the final dot, on real sockets: a silent live peer is not a close;
    a peer that hung up, or spoke out of turn, is (the dot then never leaves)."""
    import socket
    from types import SimpleNamespace

    from outreach.delivery.sockets import peer_spoke_or_closed

    ours, theirs = socket.socketpair()
    ours.settimeout(5.0)
    connection = SimpleNamespace(sock=ours)
    assert peer_spoke_or_closed(connection) is False  # type: ignore[arg-type]
    assert ours.gettimeout() == 5.0  # the connection's timeout is restored
    theirs.sendall(b"421 4.4.2 timeout\r\n")
    assert peer_spoke_or_closed(connection) is True  # type: ignore[arg-type]
    ours2, theirs2 = socket.socketpair()
    theirs2.close()
    assert peer_spoke_or_closed(SimpleNamespace(sock=ours2)) is True  # type: ignore[arg-type]
    for sock in (ours, theirs, ours2):
        sock.close()


def test_an_unreadable_reply_before_the_dot_retries_on_a_new_connection_never_unknown(settings) -> None:
    with FaultySmtpd() as server:
        server.handler.rcpt_reply = "xyz garbage"
        transport = SmtpTransport(smtp_settings(settings, server))
        with pytest.raises(TemporaryFailure, match="connection lost twice") as failure:
            transport.send(b"Subject: x\r\n\r\nbody\r\n", "a@bsi.example.org", ["b@example.org"])
        transport.close()
    assert "-1" in failure.value.reply and server.handler.mails == 2 and server.messages == []
