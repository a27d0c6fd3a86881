"""`outreach send` and `outreach status` end to end: the real campaign folder, layouts and renderer, a real
aiosmtpd on 127.0.0.1, the messages parsed back."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import REPO, SECRET

from outreach.contacts.model import clean_fields, insert_contact, normalize_email
from outreach.db.schema import open_database
from outreach.models import ContactStatus

CAMPAIGN = "bsi-awareness"
PEOPLE = [  # email, name, organisation, kind, country
    ("anna.kowalska@gmina.example.org", "Anna Kowalska", "Gmina Łódź", "authority", "PL"),
    ("maria@koinsep.example.org", "Μαρία Παπαδοπούλου", "ΚοινΣΕπ Αθήνα", "supplier", "GR"),
    ("aoife@council.example.org", "Aoife Murphy", "Dublin City Council", "authority", "IE"),
    ("jan@obec.example.org", "Jan Novák", "Obec Příklad", "authority", "CZ"),
    ("lea@ville.example.org", "Léa Dubois", "Ville d'Exemple", "authority", "FR"),
]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {"OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>",
            "OUTREACH_SECRET_KEY": SECRET, "OUTREACH_PUBLIC_URL": "https://news.example.org",
            "OUTREACH_ORGANISATION": "Buying for Social Impact",
            "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
            "OUTREACH_CAMPAIGNS": str(REPO / "campaigns"), "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
            "OUTREACH_OUTBOX": str(tmp_path / "outbox")}


@pytest.fixture
def people(db_path, clock) -> list[str]:
    db = open_database(db_path)
    for email, name, organisation, kind, country in PEOPLE:
        insert_contact(db, clock, normalize_email(email),
                       clean_fields({"name": name, "organisation": organisation, "kind": kind, "country": country}))
    insert_contact(db, clock, "gone@gmina.example.org", clean_fields({"kind": "authority", "country": "PL"}),
                   status=ContactStatus.UNSUBSCRIBED)
    db.close()
    return [p[0] for p in PEOPLE]


def test_send_refuses_without_confirmation_when_there_is_no_terminal(runner, env, smtpd, people, db_path) -> None:
    result = runner("send", CAMPAIGN, env={**env, **smtpd.env()})
    assert result.exit_code == 1
    assert "--yes" in result.output and "PL" in result.output  # the summary was shown first
    assert smtpd.messages == []
    db = open_database(db_path)
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0


def test_send_then_rerun_sends_nothing(runner, env, smtpd, people, db_path) -> None:
    result = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert result.exit_code == 0, result.output
    assert "Recipients now: 5" in result.output and "1 unsubscribed" in result.output
    assert "Sent 5, failed 0, unknown 0, remaining 0" in result.output
    assert Counter(r for m in smtpd.messages for r in m.rcpt_tos) == Counter(people)
    greek = next(m.message() for m in smtpd.messages if m.rcpt_tos == ["maria@koinsep.example.org"])
    assert greek["To"].addresses[0].display_name == "Μαρία Παπαδοπούλου"
    assert greek["Content-Language"] == "el"
    text = greek.get_body(("plain",)).get_content()
    assert "Μαρία Παπαδοπούλου" in text
    assert greek["List-Unsubscribe"].startswith("<https://news.example.org/unsubscribe/")
    assert any(part.get_filename() for part in greek.iter_attachments())

    again = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert again.exit_code == 0 and "Nothing new to send" in again.output
    assert len(smtpd.messages) == 5

    status = runner("status", CAMPAIGN, "--json", env=env)
    document = json.loads(status.stdout)
    assert document["counts"]["sent"] == 5 and document["total"] == 5 and document["lock"] is None


def test_dry_run_touches_no_transport_and_records_nothing(runner, env, smtpd, people, db_path, tmp_path) -> None:
    result = runner("send", CAMPAIGN, "--dry-run", env={**env, **smtpd.env()})
    assert result.exit_code == 0, result.output
    assert "5 messages rendered and built" in result.output
    assert smtpd.messages == []
    assert not (tmp_path / "outbox").exists()
    db = open_database(db_path)
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0


def test_dry_run_renders_what_the_send_would_send(runner, env, smtpd, people) -> None:
    first = runner("send", CAMPAIGN, "--yes", "--limit", "2", env={**env, **smtpd.env()})
    assert first.exit_code == 0 and "remaining 3" in first.output
    partly = runner("send", CAMPAIGN, "--dry-run", env={**env, **smtpd.env()})
    assert "Recipients now: 3 (0 new, 3 already queued)" in partly.output
    assert "Dry run: 3 messages rendered and built" in partly.output
    runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    finished = runner("send", CAMPAIGN, "--dry-run", env={**env, **smtpd.env()})
    assert finished.exit_code == 0 and "Recipients now: 0" in finished.output
    assert "nothing to send now for 'bsi-awareness', so no message was built" in finished.output
    assert "messages rendered" not in finished.output and len(smtpd.messages) == 5


def test_filters_limit_and_partial_failure_exit_code(runner, env, smtpd, people) -> None:
    smtpd.handler.rcpt_replies["jan@obec.example.org"] = "550 5.7.1 Rejected by policy"
    result = runner("send", CAMPAIGN, "--yes", "--country", "PL,CZ", env={**env, **smtpd.env()})
    assert result.exit_code == 4
    assert "failed ×1: 550 5.7.1 Rejected by policy" in result.output
    assert sorted(r for m in smtpd.messages for r in m.rcpt_tos) == ["anna.kowalska@gmina.example.org"]
    result = runner("send", CAMPAIGN, "--yes", "--limit", "1", env={**env, **smtpd.env()})
    assert result.exit_code == 0 and "Sent 1," in result.output and "remaining 2" in result.output


def test_wrong_password_exits_3_with_everything_queued(runner, env, smtpd_auth, people, db_path) -> None:
    result = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd_auth.env(), "OUTREACH_SMTP_USER": "expert",
                                                     "OUTREACH_SMTP_PASSWORD": "hunter2-secret"})
    assert result.exit_code == 3
    assert "Error:" in result.output and "OUTREACH_SMTP_USER" in result.output
    assert "hunter2" not in result.output
    db = open_database(db_path)
    assert {row[0] for row in db.execute("SELECT status FROM deliveries")} == {"queued"}


def test_test_to_sends_one_per_language_and_kind_unrecorded(runner, env, smtpd, people, db_path) -> None:
    result = runner("send", CAMPAIGN, "--test-to", "tester@bsi.example.org", "--language", "pl,el",
                    "--kind", "authority", env={**env, **smtpd.env()})
    assert result.exit_code == 0, result.output
    subjects = sorted(str(m.message()["Subject"]) for m in smtpd.messages)
    assert len(subjects) == 2
    assert subjects[0].startswith("[TEST el/authority] ") and subjects[1].startswith("[TEST pl/authority] ")
    assert {r for m in smtpd.messages for r in m.rcpt_tos} == {"tester@bsi.example.org"}
    db = open_database(db_path)
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0


def test_header_injection_through_every_contact_field(runner, env, smtpd, db_path, clock) -> None:
    db = open_database(db_path)
    evil = "x\r\nBcc: victim@example.com\r\nSubject: hijacked"
    # written past the importer's cleaning, as a damaged or hostile database row would be
    db.execute("INSERT INTO contacts (email, name, organisation, role, kind, country, language, attributes, "
               "created_at, updated_at) VALUES (?, ?, ?, ?, 'authority', 'PL', 'pl', ?, ?, ?)",
               ["target@gmina.example.org", evil, evil, evil, json.dumps({"city": evil}), "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00Z"])
    db.close()
    result = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert result.exit_code == 0, result.output
    (received,) = smtpd.messages
    assert received.rcpt_tos == ["target@gmina.example.org"]
    message = received.message()
    assert "Bcc" not in message and len(message.get_all("Subject")) == 1
    assert "hijacked" not in str(message["Subject"])
    header_block = received.data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in header_block and b"\r\nSubject: hijacked" not in header_block


def test_status_of_an_unsent_campaign(runner, db, env) -> None:
    result = runner("status", CAMPAIGN, env=env)
    assert result.exit_code == 0 and "no deliveries yet" in result.output


# --- a relay that refuses the sender, garbles, hangs up or stalls (issue 15) ------------------------------------


def _rows(db_path) -> dict[str, str]:
    db = open_database(db_path)
    try:
        return {email: status for email, status in db.execute("SELECT email, status FROM deliveries")}
    finally:
        db.close()


def test_a_relay_that_wants_a_login_stops_the_send_and_a_second_run_sends_everyone_once(runner, env, people,
                                                                                        db_path) -> None:
    from send_support import FaultySmtpd

    with FaultySmtpd() as server:
        server.handler.mail_reply = "530 5.7.0 Authentication required"
        result = runner("send", CAMPAIGN, "--yes", env={**env, **server.env()})
        assert result.exit_code == 3, result.output
        assert "530 5.7.0 Authentication required" in result.output
        assert "OUTREACH_SMTP_USER" in result.output and "Traceback" not in result.output
        assert "failed ×" not in result.output and "remaining 5" in result.output
        assert _rows(db_path) == dict.fromkeys(people, "queued")
        assert server.messages == [] and server.handler.mails == 1

        server.handler.mail_reply = None  # the login was configured
        again = runner("send", CAMPAIGN, "--yes", env={**env, **server.env()})
        assert again.exit_code == 0, again.output
        assert "Sent 5, failed 0" in again.output
    assert Counter(r for m in server.messages for r in m.rcpt_tos) == Counter(people)


def test_retry_failed_sends_the_failures_again_and_status_says_how(runner, env, smtpd, people, db_path) -> None:
    refused = ["jan@obec.example.org", "lea@ville.example.org"]
    for address in refused:
        smtpd.handler.rcpt_replies[address] = "550 5.7.1 Recipient rejected by policy"
    first = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert first.exit_code == 4 and "failed ×2: 550 5.7.1 Recipient rejected by policy" in first.output

    status = runner("status", CAMPAIGN, env=env)
    assert f"to send these again: outreach send {CAMPAIGN} --retry-failed" in status.output
    nothing = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert nothing.exit_code == 0 and "Nothing new to send" in nothing.output and "--retry-failed" in nothing.output
    usage = runner("send", CAMPAIGN, "--yes", "--reply-code", "5.7.*", env={**env, **smtpd.env()})
    assert usage.exit_code == 2 and "--retry-failed" in usage.output
    bad = runner("send", CAMPAIGN, "--yes", "--retry-failed", "--reply-code", "x; DROP", env={**env, **smtpd.env()})
    assert bad.exit_code == 2 and "reply-code pattern" in bad.output

    smtpd.handler.rcpt_replies.clear()
    none_match = runner("send", CAMPAIGN, "--yes", "--retry-failed", "--reply-code", "4.*",
                        env={**env, **smtpd.env()})
    assert none_match.exit_code == 0 and "Nothing new to send" in none_match.output
    czech = runner("send", CAMPAIGN, "--yes", "--retry-failed", "--country", "CZ", env={**env, **smtpd.env()})
    assert czech.exit_code == 0, czech.output  # the filter narrows the retry as it narrows a send
    assert "1 failed to retry" in czech.output and "Sent 1, failed 0" in czech.output
    retried = runner("send", CAMPAIGN, "--yes", "--retry-failed", "--reply-code", "5.7.*",
                     env={**env, **smtpd.env()})
    assert retried.exit_code == 0, retried.output
    assert "1 failed to retry" in retried.output and "Sent 1, failed 0" in retried.output
    assert Counter(r for m in smtpd.messages for r in m.rcpt_tos) == Counter(people)  # each exactly once
    assert _rows(db_path) == dict.fromkeys(people, "sent")


def test_an_unreadable_reply_after_the_dot_is_unknown_exit_4_and_never_resent(runner, env, people, db_path) -> None:
    from send_support import FaultySmtpd

    with FaultySmtpd() as server:
        server.handler.data_reply = "xyz garbage"
        result = runner("send", CAMPAIGN, "--yes", env={**env, **server.env()})
        assert result.exit_code == 4, result.output  # nothing is known to have arrived: not a success
        assert "Sent 0, failed 0, unknown 5" in result.output and "--retry-unknown" in result.output
        again = runner("send", CAMPAIGN, "--yes", env={**env, **server.env()})
        assert again.exit_code == 0 and "Nothing new to send" in again.output
    assert _rows(db_path) == dict.fromkeys(people, "unknown")
    assert Counter(r for m in server.messages for r in m.rcpt_tos) == Counter(people)  # one copy each


@pytest.mark.parametrize("fault", ["close during DATA", "stall after MAIL FROM"])
def test_a_relay_that_never_finishes_a_message_stops_the_send_with_the_queue_kept(runner, env, people, db_path,
                                                                                  fault) -> None:
    from send_support import FaultySmtpd, closing_during_data_smtp

    settings = {"OUTREACH_STALL_LIMIT": "0.5", "OUTREACH_SMTP_TIMEOUT": "0.2"}
    with FaultySmtpd(closing_during_data_smtp() if fault == "close during DATA" else None) as server:
        server.handler.mail_stall = 1.0 if fault == "stall after MAIL FROM" else 0.0
        result = runner("send", CAMPAIGN, "--yes", env={**env, **server.env(**settings)})
    assert result.exit_code == 3, result.output
    assert "decided no delivery" in result.output and "OUTREACH_STALL_LIMIT" in result.output
    assert set(_rows(db_path).values()) == {"queued"} and "unknown" not in result.output.split("Error")[-1]
    assert server.messages == []
