"""The durable queue and the sender loop, against a real aiosmtpd on 127.0.0.1 and a FakeClock."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace

import pytest
from send_support import FakeCampaign, add_contacts, make_sender, smtp_settings

from outreach.contacts.model import get_contact, set_status
from outreach.delivery.locks import STALE_AFTER, CampaignLock
from outreach.delivery.ratelimit import parse_rates
from outreach.errors import LockedError, TransportError
from outreach.mail.tokens import parse_verp
from outreach.models import ContactStatus


def statuses(db) -> dict[str, int]:
    return {row["status"]: row["n"] for row in db.query(
        "SELECT status, count(*) AS n FROM deliveries GROUP BY status")}


def received_by(smtpd) -> Counter[str]:
    return Counter(rcpt for message in smtpd.messages for rcpt in message.rcpt_tos)


def test_sends_each_recipient_once_and_a_rerun_sends_nothing(settings, db, clock, smtpd) -> None:
    emails = add_contacts(db, clock, 12)
    settings = smtp_settings(settings, smtpd)
    report = make_sender(settings, db, clock).run()
    assert report.sent == 12 and report.remaining == 0
    assert received_by(smtpd) == Counter(emails)
    assert statuses(db) == {"sent": 12}
    row = next(db.query("SELECT * FROM deliveries ORDER BY id LIMIT 1"))
    assert row["message_id"].endswith("@bsi.example.org>") and row["sent_at"] and row["last_reply"].startswith("250")
    message = smtpd.messages[0].message()
    assert message["Message-ID"] == row["message_id"]
    campaign_row = next(db.query("SELECT * FROM campaigns"))
    assert campaign_row["first_sent_at"] and campaign_row["last_sent_at"]

    again = make_sender(settings, db, clock).run()
    assert again.sent == 0 and again.enqueued == 0
    assert len(smtpd.messages) == 12


def test_follow_up_send_adds_only_new_contacts(settings, db, clock, smtpd) -> None:
    add_contacts(db, clock, 5)
    settings = smtp_settings(settings, smtpd)
    make_sender(settings, db, clock).run()
    later = add_contacts(db, clock, 3, start=100)
    report = make_sender(settings, db, clock).run()
    assert report.enqueued == 3 and report.sent == 3
    assert set(received_by(smtpd).values()) == {1}
    assert all(received_by(smtpd)[e] == 1 for e in later)
    assert len(smtpd.messages) == 8


def test_temporary_refusals_are_retried_with_backoff_then_sent(settings, db, clock, smtpd) -> None:
    emails = add_contacts(db, clock, 4)
    smtpd.handler.rcpt_replies[emails[1]] = "451 4.7.1 Greylisted, try again later"
    smtpd.handler.rcpt_fail_times[emails[1]] = 2
    report = make_sender(smtp_settings(settings, smtpd), db, clock).run()
    assert report.sent == 4 and report.failed_count == 0
    assert received_by(smtpd)[emails[1]] == 1
    row = next(db.query("SELECT attempts, status FROM deliveries WHERE email = ?", [emails[1]]))
    assert row == {"attempts": 3, "status": "sent"}
    assert sum(clock.slept) >= 60 + 120  # waited (on the fake clock) for both backoffs


def test_temporary_refusals_fail_after_max_attempts(settings, db, clock, smtpd) -> None:
    emails = add_contacts(db, clock, 2)
    smtpd.handler.rcpt_replies[emails[0]] = "452 4.2.2 Mailbox full"
    settings = replace(smtp_settings(settings, smtpd), max_attempts=3)
    report = make_sender(settings, db, clock).run()
    assert report.sent == 1 and report.failed_count == 1
    row = next(db.query("SELECT * FROM deliveries WHERE email = ?", [emails[0]]))
    assert row["status"] == "failed" and row["attempts"] == 3 and "Mailbox full" in row["last_reply"]


def test_permanent_refusals_fail_at_once_and_no_such_user_is_a_hard_bounce(settings, db, clock, smtpd) -> None:
    emails = add_contacts(db, clock, 4)
    smtpd.handler.rcpt_replies[emails[0]] = "550 5.7.1 Recipient rejected by policy"
    smtpd.handler.rcpt_replies[emails[1]] = "550 5.1.1 <a0001@gmina.example.org>: No such user"
    report = make_sender(smtp_settings(settings, smtpd), db, clock).run()
    assert report.sent == 2 and report.failed_count == 2 and report.bounced == 1
    rows = {r["email"]: r for r in db.query("SELECT * FROM deliveries")}
    assert rows[emails[0]]["status"] == "failed" and rows[emails[0]]["attempts"] == 1
    assert "Recipient rejected" in rows[emails[0]]["last_reply"]
    assert rows[emails[1]]["last_reply"].startswith("550 5.1.1")
    assert get_contact(db, emails[0]).status == ContactStatus.ACTIVE
    assert get_contact(db, emails[1]).status == ContactStatus.BOUNCED
    event = next(db.query("SELECT * FROM events WHERE type = 'bounced'"))
    assert event["bounce_type"] == "hard" and event["delivery_id"] == rows[emails[1]]["id"]
    assert clock.slept == []  # no retry of a permanent refusal


def test_connection_dropped_after_each_few_messages_all_accounted(settings, db, clock, smtpd) -> None:
    emails = add_contacts(db, clock, 10)
    smtpd.handler.drop_after = 3  # the server hangs up right after every third message
    report = make_sender(smtp_settings(settings, smtpd), db, clock).run()
    got = received_by(smtpd)
    rows = {r["email"]: r["status"] for r in db.query("SELECT email, status FROM deliveries")}
    assert set(rows.values()) <= {"sent", "unknown"}
    assert report.sent + len(report.unknown) == 10
    for email in emails:
        assert got[email] <= 1
        if rows[email] == "sent":
            assert got[email] == 1  # "sent" is only ever written after the server's 250
    assert report.sent >= 7  # the connection was reopened after each drop


def test_server_closing_busy_connections_means_reconnecting(settings, db, clock, smtpd) -> None:
    emails = add_contacts(db, clock, 10)
    smtpd.handler.max_per_connection = 3  # "421 too many messages" at the fourth MAIL, then it hangs up
    report = make_sender(smtp_settings(settings, smtpd), db, clock).run()
    assert report.sent == 10 and report.unknown == []
    assert received_by(smtpd) == Counter(emails)


def test_auth_failure_stops_at_once_and_leaves_everything_queued(settings, db, clock, smtpd_auth) -> None:
    add_contacts(db, clock, 5)
    settings = replace(smtp_settings(settings, smtpd_auth), smtp_user="expert", smtp_password="wrong-password-123")
    with pytest.raises(TransportError) as caught:
        make_sender(settings, db, clock).run()
    assert "OUTREACH_SMTP_USER" in caught.value.message and "wrong-password" not in caught.value.message
    assert statuses(db) == {"queued": 5}
    assert next(db.query("SELECT max(attempts) AS a FROM deliveries"))["a"] == 0
    assert smtpd_auth.messages == []
    assert list(db.query("SELECT * FROM send_locks")) == []  # the lock is released


def test_refused_connection_stops_with_the_setting_named(settings, db, clock) -> None:
    from conftest import free_port

    add_contacts(db, clock, 3)
    settings = replace(settings, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
    with pytest.raises(TransportError, match="OUTREACH_SMTP_HOST"):
        make_sender(settings, db, clock).run()
    assert statuses(db) == {"queued": 3}


def test_contact_unsubscribed_after_queueing_is_never_mailed(settings, db, clock, smtpd) -> None:
    emails = add_contacts(db, clock, 3)
    sender = make_sender(smtp_settings(settings, smtpd), db, clock, limit=1)
    sender.run()
    set_status(db, clock, get_contact(db, emails[1]), ContactStatus.UNSUBSCRIBED)
    report = make_sender(smtp_settings(settings, smtpd), db, clock).run()
    assert emails[1] not in received_by(smtpd)
    assert report.dropped == 1 and report.sent == 1


def test_rate_limit_paces_messages(settings, db, clock, smtpd) -> None:
    add_contacts(db, clock, 31)
    times: list[float] = []

    def factory():  # type: ignore[no-untyped-def]
        from outreach.delivery.transport import open_transport

        inner = open_transport(smtp_settings(settings, smtpd))

        class Timed:
            def send(self, message, envelope_from, recipients):  # type: ignore[no-untyped-def]
                times.append(clock.monotonic())
                return inner.send(message, envelope_from, recipients)

            def close(self):  # type: ignore[no-untyped-def]
                inner.close()
        return Timed()

    report = make_sender(settings, db, clock, rate="30/min", transport_factory=factory).run()
    assert report.sent == 31
    for start in times:  # at most 30 in any 60-second window
        assert sum(1 for t in times if start <= t < start + 60) <= 30
    assert times[-1] - times[0] == pytest.approx(60, abs=0.5)


def test_domain_rate_throttles_one_domain_while_others_go_on(settings, db, clock, smtpd) -> None:
    slow = add_contacts(db, clock, 4, domain="ministry.example.org")
    others = [email for n in range(4) for email in add_contacts(db, clock, 1, domain=f"gmina{n}.example.org",
                                                                   start=50 + n)]
    report = make_sender(smtp_settings(settings, smtpd), db, clock, domain_rate="2/min").run()
    assert report.sent == 8
    order = [m.rcpt_tos[0] for m in smtpd.messages]
    # the other domains did not wait behind the throttled one: all went before its second message
    assert max(order.index(e) for e in others) < order.index(slow[1])
    assert order.index(slow[1]) < order.index(slow[2]) < order.index(slow[3])
    assert sum(clock.slept) >= 3 * 30  # 2/min: one message to that domain every 30 s


def test_interrupted_sending_rows_become_unknown_and_are_resent_only_on_request(settings, db, clock, smtpd) -> None:
    emails = add_contacts(db, clock, 4)
    make_sender(smtp_settings(settings, smtpd), db, clock, limit=1).run()
    make_sender(smtp_settings(settings, smtpd), db, clock, limit=1).run()
    # simulate a crash between the `sending` commit and the server's reply
    db.execute("UPDATE deliveries SET status = 'sending', attempts = 1 WHERE email = ?", [emails[2]])
    report = make_sender(smtp_settings(settings, smtpd), db, clock).run()
    assert report.unknown == [emails[2]]
    assert emails[2] not in received_by(smtpd)
    assert statuses(db) == {"sent": 3, "unknown": 1}
    report = make_sender(smtp_settings(settings, smtpd), db, clock, retry_unknown=True).run()
    assert report.sent == 1 and received_by(smtpd)[emails[2]] == 1


def test_several_workers_send_each_once(settings, db, clock, smtpd) -> None:
    emails = add_contacts(db, clock, 40)
    report = make_sender(smtp_settings(settings, smtpd), db, clock, workers=4).run()
    assert report.sent == 40 and received_by(smtpd) == Counter(emails)


def test_stop_event_stops_after_the_current_message(settings, db, clock, smtpd) -> None:
    import threading

    add_contacts(db, clock, 10)
    stop = threading.Event()

    def on_progress(progress):  # type: ignore[no-untyped-def]
        if progress.sent == 3:
            stop.set()

    report = make_sender(smtp_settings(settings, smtpd), db, clock).run(on_progress, stop)
    assert report.interrupted and report.sent == 3 and report.remaining == 7
    assert statuses(db) == {"sent": 3, "queued": 7}


def test_verp_envelope_sender_names_the_delivery(settings, db, clock, smtpd) -> None:
    add_contacts(db, clock, 2)
    settings = replace(smtp_settings(settings, smtpd), verp_address="bounces@bsi.example.org")
    make_sender(settings, db, clock).run()
    ids = {row["email"]: row["id"] for row in db.query("SELECT id, email FROM deliveries")}
    for message in smtpd.messages:
        assert message.mail_from.startswith("bounces+") and message.mail_from.endswith("@bsi.example.org")
        assert parse_verp(settings.secret_key, message.mail_from) == ids[message.rcpt_tos[0]]


def test_outbox_is_used_without_an_smtp_host(settings, db, clock) -> None:
    import mailbox

    add_contacts(db, clock, 3)
    report = make_sender(settings, db, clock).run()
    assert report.sent == 3
    assert len(mailbox.Maildir(settings.outbox_dir, create=False)) == 3


# --- the campaign lock --------------------------------------------------------------------------------------


def test_a_second_sender_on_the_same_campaign_is_refused(settings, db, clock, smtpd) -> None:
    add_contacts(db, clock, 2)
    held = CampaignLock(db, clock, FakeCampaign().slug).acquire()
    with pytest.raises(LockedError, match="is being sent by process"):
        make_sender(smtp_settings(settings, smtpd), db, clock, lock_wait=3).run()
    assert sum(clock.slept) >= 3  # it waited (on the fake clock) before refusing
    assert smtpd.messages == [] and statuses(db) == {}
    held.release()
    assert make_sender(smtp_settings(settings, smtpd), db, clock).run().sent == 2


def test_lock_of_a_dead_process_is_recovered(settings, db, clock, smtpd) -> None:
    add_contacts(db, clock, 2)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock = CampaignLock(db, clock, FakeCampaign().slug)
    lock.pid = int(dead.stdout)
    lock.acquire()
    report = make_sender(smtp_settings(settings, smtpd), db, clock).run()
    assert report.sent == 2 and report.recovered_lock and str(lock.pid) in report.recovered_lock


def test_lock_with_a_stale_heartbeat_from_another_host_is_recovered(settings, db, clock, smtpd) -> None:
    add_contacts(db, clock, 1)
    lock = CampaignLock(db, clock, FakeCampaign().slug)
    lock.host, lock.pid = "other-host.example.org", os.getpid()
    lock.acquire()
    with pytest.raises(LockedError):
        make_sender(smtp_settings(settings, smtpd), db, clock, lock_wait=0).run()
    clock.advance(STALE_AFTER + 1)
    assert make_sender(smtp_settings(settings, smtpd), db, clock).run().sent == 1


def test_rates_parse() -> None:
    assert [str(r) for r in parse_rates("30/min, 10000/day")] == ["30/min", "10000/day"]
    assert [str(r) for r in parse_rates("2/s,1000/hours")] == ["2/s", "1000/hour"]
    assert parse_rates(None) == [] and parse_rates("") == []
    from outreach.errors import InputError

    for bad in ("30", "30/fortnight", "fast", "0/min"):
        with pytest.raises(InputError, match="is not a rate"):
            parse_rates(bad)


# --- the outcome rules, one answer at a time ------------------------------------------------------------------


def test_each_answer_of_the_transport_becomes_what_the_queue_records() -> None:
    from datetime import UTC, datetime

    from outreach.delivery.outcomes import judge
    from outreach.delivery.transport import DeliveryUncertain, PermanentFailure, TemporaryFailure
    from outreach.models import DeliveryStatus
    from outreach.models.deliveries import Outcome

    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    greylisted = TemporaryFailure(451, "4.7.1 Greylisted", "a@gmina.example.org", "rcpt")
    assert judge("250 OK queued", 1, 5, now).outcome == Outcome(DeliveryStatus.SENT, "250 OK queued")
    assert judge(greylisted, 1, 5, now).outcome == Outcome(DeliveryStatus.QUEUED, "451 4.7.1 Greylisted",
                                                           retry_at="2026-11-25T09:01:00Z")
    assert judge(greylisted, 3, 5, now).outcome.retry_at == "2026-11-25T09:04:00Z"  # 60 s, 2 min, 4 min…
    assert judge(greylisted, 5, 5, now).outcome == Outcome(DeliveryStatus.FAILED,
                                                           "451 4.7.1 Greylisted (after 5 attempts)")
    no_such_user = judge(PermanentFailure(550, "5.1.1 No such user", "a@gmina.example.org", "rcpt"), 1, 5, now)
    assert no_such_user.outcome == Outcome(DeliveryStatus.FAILED, "550 5.1.1 No such user")
    assert no_such_user.hard_bounce and no_such_user.stop is None
    assert not judge(PermanentFailure(550, "5.7.1 Policy", None, "rcpt"), 1, 5, now).hard_bounce
    assert not judge(PermanentFailure(550, "5.1.1 Unknown", None, "data"), 1, 5, now).hard_bounce
    uncertain = judge(DeliveryUncertain("lost after the final dot"), 1, 5, now)
    assert uncertain.outcome == Outcome(DeliveryStatus.UNKNOWN, "lost after the final dot") and uncertain.stop is None
    refused = TransportError("cannot connect")
    given_back = judge(refused, 1, 5, now)
    assert given_back.outcome == Outcome(DeliveryStatus.QUEUED, counted=False) and given_back.stop is refused
    broken = RuntimeError("boom")
    crashed = judge(broken, 1, 5, now)
    assert crashed.outcome == Outcome(DeliveryStatus.UNKNOWN, "interrupted: RuntimeError") and crashed.stop is broken


def test_backoff_doubles_up_to_an_hour() -> None:
    from outreach.delivery.outcomes import backoff

    assert [backoff(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(20) == 3600
