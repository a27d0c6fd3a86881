"""Inbound mail changes a contact only when it can be ours: forged bounces, complaints and unsubscribe mails.

A bounce or complaint counts when it quotes the Message-ID or reaches the VERP address of a message outreach sent;
an unsubscribe by mail when it carries the recipient's token, which every campaign message puts in its
List-Unsubscribe mailto subject. Anything else that names a contact is listed for review and changes nothing.
The end-to-end cases send a real campaign to aiosmtpd on 127.0.0.1 and answer the messages it received.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from _tracking_data import DATA, events_of, seed, status_of
from conftest import REPO, SECRET

from outreach.contacts.model import clean_fields, insert_contact, is_suppressed, normalize_email
from outreach.db.schema import open_database
from outreach.mail.tokens import verp_address
from outreach.tracking.events import Mode, Outcome, process_message

CAMPAIGN = "bsi-awareness"
PEOPLE = ["ewa.nowak@gmina.example.org", "lukas.bauer@stadt.example.com", "eleni@dimos.example.org"]


def unchanged(db, email: str) -> None:
    assert status_of(db, email) == "active"
    assert events_of(db, email) == []
    assert not is_suppressed(db, email)


# --- forged mail, one message at a time -----------------------------------------------------------------------


def test_a_hand_made_dsn_for_a_contact_never_mailed_bounces_no_one(db, clock, settings) -> None:
    insert_contact(db, clock, "never.mailed@urzad.example.org", clean_fields({"country": "PL"}))
    data = (DATA / "postfix_hard.eml").read_bytes()
    data = data.replace(b"jan.kowalski@gmina.example.org", b"never.mailed@urzad.example.org")
    data = data.replace(b"<bsi-awareness.1.k7Qp2x@news.bsi.example.org>", b"<made.up.1@news.bsi.example.org>")
    result = process_message(db, clock, settings, data, source="forged-dsn.eml")
    assert result.outcome == Outcome.REVIEW and result.email == "never.mailed@urzad.example.org"
    unchanged(db, "never.mailed@urzad.example.org")


def test_a_dsn_with_a_guessed_message_id_bounces_no_one(db, clock, settings) -> None:
    """Our Message-IDs carry 48 random bits: the campaign and delivery number alone do not make one."""
    seed(db, clock)
    data = (DATA / "postfix_hard.eml").read_bytes().replace(b"bsi-awareness.1.k7Qp2x", b"bsi-awareness.1.000000")
    result = process_message(db, clock, settings, data, source="guessed.eml")
    assert result.outcome == Outcome.REVIEW
    unchanged(db, "jan.kowalski@gmina.example.org")


def test_a_forged_verp_address_bounces_no_one(db, clock, settings) -> None:
    seed(db, clock)
    delivery = db.execute("SELECT id FROM deliveries WHERE email = 'giulia.rossi@cooperativa.example.com'"
                          ).fetchone()[0]
    real = verp_address(settings.secret_key, "bounces@bsi.example.org", delivery)
    forged = real[:-len("@bsi.example.org") - 1] + ("0" if real[-len("@bsi.example.org") - 1] != "0" else "1") \
        + "@bsi.example.org"
    data = (DATA / "gmail_hard.eml").read_bytes()
    data = data.replace(b"Delivered-To: news@bsi.example.org", f"Delivered-To: {forged}".encode())
    data = data.replace(b"bsi-awareness.4.Gm3vXy", b"unknown.4")
    result = process_message(db, clock, settings, data, source="verp.eml")
    assert result.outcome == Outcome.REVIEW
    unchanged(db, "giulia.rossi@cooperativa.example.com")


def test_a_complaint_quoting_no_message_of_ours_is_listed_for_review(db, clock, settings) -> None:
    seed(db, clock)
    data = (DATA / "arf_complaint.eml").read_bytes().replace(b"bsi-awareness.7.Se5vn1", b"somewhere.else.7")
    result = process_message(db, clock, settings, data, source="arf.eml")
    assert result.outcome == Outcome.REVIEW and result.email == "anna.svensson@kommun.example.net"
    unchanged(db, "anna.svensson@kommun.example.net")


def test_a_complaint_quoting_our_message_id_counts(db, clock, settings) -> None:
    seed(db, clock)
    result = process_message(db, clock, settings, (DATA / "arf_complaint.eml").read_bytes(), source="arf.eml")
    assert result.outcome == Outcome.MATCHED and result.reason == "matched by original Message-ID"
    assert status_of(db, "anna.svensson@kommun.example.net") == "complained"


def test_a_spoofed_from_unsubscribes_no_one(db, clock, settings) -> None:
    seed(db, clock)
    data = (b"From: Anna Svensson <anna.svensson@kommun.example.net>\r\nTo: news@bsi.example.org\r\n"
            b"Subject: unsubscribe\r\nMessage-ID: <spoof-1@attacker.example.com>\r\n\r\nRemove me.\r\n")
    result = process_message(db, clock, settings, data, source="spoof.eml", mode=Mode.UNSUBSCRIBES)
    assert result.outcome == Outcome.REVIEW and "token" in result.reason
    unchanged(db, "anna.svensson@kommun.example.net")
    assert db.execute("SELECT count(*) FROM inbound_messages").fetchone()[0] == 0  # listed again next time


# --- end to end: a real send, then the replies to what was received ------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>",
            "OUTREACH_SECRET_KEY": SECRET, "OUTREACH_PUBLIC_URL": "https://news.example.org",
            "OUTREACH_ORGANISATION": "Buying for Social Impact",
            "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
            "OUTREACH_UNSUBSCRIBE_MAILTO": "unsubscribe@bsi.example.org",
            "OUTREACH_VERP": "bounces@bsi.example.org",
            "OUTREACH_CAMPAIGNS": str(REPO / "campaigns"), "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
            "OUTREACH_OUTBOX": str(tmp_path / "outbox")}


@pytest.fixture
def sent(runner, env, smtpd, db_path: Path, clock) -> dict[str, object]:
    """The campaign sent to three people; each received message by its recipient."""
    db = open_database(db_path)
    for email in PEOPLE:
        insert_contact(db, clock, normalize_email(email), clean_fields({"kind": "authority", "country": "PL"}))
    db.close()
    result = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env()})
    assert result.exit_code == 0, result.output
    return {m.rcpt_tos[0]: m for m in smtpd.messages}


def reply_to_mailto(received, sender: str) -> bytes:
    """What a mail client sends when the reader picks the List-Unsubscribe mailto of a received message."""
    header = received.message()["List-Unsubscribe"]
    mailto = next(part.strip(" <>") for part in header.split(",") if "mailto:" in part)
    url = urlsplit(mailto)
    subject = parse_qs(url.query)["subject"][0]
    return (f"From: {sender}\r\nTo: {unquote(url.path)}\r\nSubject: {subject}\r\n"
            f"Message-ID: <reply-{abs(hash(sender))}@client.example.net>\r\n\r\n\r\n").encode()


def test_the_mailto_of_every_message_carries_its_recipients_token(runner, env, sent, tmp_path: Path,
                                                                   db_path: Path) -> None:
    genuine = tmp_path / "genuine.eml"
    # Sent from another address of hers (a colleague's mailbox, an alias): the token, not the From, decides.
    genuine.write_bytes(reply_to_mailto(sent["ewa.nowak@gmina.example.org"], "sekretariat@gmina.example.org"))
    spoofed = tmp_path / "spoofed.eml"
    spoofed.write_bytes(b"From: lukas.bauer@stadt.example.com\r\nTo: unsubscribe@bsi.example.org\r\n"
                        b"Subject: unsubscribe\r\nMessage-ID: <spoofed@attacker.example.com>\r\n\r\n\r\n")
    result = runner("unsubscribes", "import", str(genuine), str(spoofed), "--json", env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["counts"] == {"matched": 1, "ignored": 0, "unmatched": 0, "review": 1, "problem": 0}
    by_outcome = {m["outcome"]: m for m in document["messages"]}
    assert by_outcome["matched"]["email"] == "ewa.nowak@gmina.example.org"
    assert by_outcome["matched"]["campaign"] == CAMPAIGN
    assert by_outcome["review"]["email"] == "lukas.bauer@stadt.example.com"
    db = open_database(db_path)
    assert status_of(db, "ewa.nowak@gmina.example.org") == "unsubscribed"
    assert status_of(db, "lukas.bauer@stadt.example.com") == "active"
    db.close()

    shown = runner("unsubscribes", "import", str(spoofed), env=env)
    assert "1 for review (not applied)" in shown.stdout and "lukas.bauer@stadt.example.com" in shown.stdout


def dsn_for(received, failed: str, envelope_to: str) -> bytes:
    """A DSN as Postfix writes it, for a message we sent (its headers quoted), delivered to `envelope_to`."""
    original = received.message()
    return (f"From: MAILER-DAEMON@mx.example.net\r\nTo: {envelope_to}\r\nDelivered-To: {envelope_to}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-{abs(hash(failed))}@mx.example.net>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
            f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
            f"\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original['Message-ID']}\r\n"
            f"To: {failed}\r\n\r\n--B--\r\n").encode()


def test_a_bounce_counts_for_the_message_it_quotes_not_for_the_address_it_names(runner, env, sent,
                                                                                 tmp_path: Path,
                                                                                 db_path: Path) -> None:
    eleni = sent["eleni@dimos.example.org"]
    verp = eleni.mail_from
    assert verp.startswith("bounces+") and verp.endswith("@bsi.example.org")
    genuine = tmp_path / "genuine.eml"
    genuine.write_bytes(dsn_for(eleni, "eleni@dimos.example.org", verp))
    # A DSN about Lukas, quoting Eleni's Message-ID: it can only be about the message Eleni received.
    crossed = tmp_path / "crossed.eml"
    crossed.write_bytes(dsn_for(eleni, "lukas.bauer@stadt.example.com", "news@bsi.example.org")
                        .replace(b"Message-ID: <dsn-", b"Message-ID: <dsn-x-"))
    result = runner("bounces", "import", str(genuine), str(crossed), "--json", env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [m["email"] for m in document["messages"]] == ["eleni@dimos.example.org"] * 2
    assert document["messages"][0]["reason"] == "matched by VERP address"
    db = open_database(db_path)
    assert status_of(db, "eleni@dimos.example.org") == "bounced"
    assert status_of(db, "lukas.bauer@stadt.example.com") == "active"
    db.close()
