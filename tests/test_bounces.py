"""Bounce detection over realistic samples, mailboxes (mbox, Maildir, truncated), matching and idempotency."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from _tracking_data import DATA, add_campaign, add_delivery, events_of, seed, status_of
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from outreach.config import Settings
from outreach.contacts.model import clean_fields, insert_contact, is_suppressed
from outreach.mail.tokens import Purpose, contact_token, verp_address
from outreach.models import BounceType
from outreach.tracking.bounces import Verdict, analyse, analyse_bytes, classify_status
from outreach.tracking.events import Mode, Outcome, import_paths, process_message
from outreach.tracking.mailboxes import read_paths

SAMPLES = sorted(DATA.glob("*.eml"))

# file, verdict, failed recipient (or complainant), bounce type, DSN status, original Message-ID tag
CASES = [
    ("postfix_hard.eml", Verdict.BOUNCE, "jan.kowalski@gmina.example.org", BounceType.HARD, "5.1.1", "1.k7Qp2x"),
    ("exim_hard.eml", Verdict.BOUNCE, "mette.hansen@kommune.example.net", BounceType.HARD, "5.1.1", "2.Zr81aa"),
    ("exchange_hard.eml", Verdict.BOUNCE, "pieter.devries@stad.example.com", BounceType.HARD, "5.1.10",
     "3.Pq9wLm"),
    ("gmail_hard.eml", Verdict.BOUNCE, "giulia.rossi@cooperativa.example.com", BounceType.HARD, "5.1.1",
     "4.Gm3vXy"),
    ("rfc3464_plain.eml", Verdict.BOUNCE, "claire.martin@ministere.example", BounceType.HARD, "5.2.1", "5.Fr0nce"),
    ("soft_mailbox_full.eml", Verdict.BOUNCE, "petra.novakova@obec.example.com", BounceType.SOFT, "4.2.2",
     "6.Cz4kia"),
    ("arf_complaint.eml", Verdict.COMPLAINT, "anna.svensson@kommun.example.net", None, "", "7.Se5vn1"),
    ("out_of_office.eml", Verdict.AUTO_REPLY, None, None, "", None),
    ("not_bounce.eml", Verdict.NOT_BOUNCE, None, None, "", None),
    ("malformed.eml", Verdict.MALFORMED, None, None, "", None),
]


def test_every_sample_has_a_case() -> None:
    assert {case[0] for case in CASES} == {path.name for path in SAMPLES}


@pytest.mark.parametrize(("name", "verdict", "recipient", "bounce_type", "status", "tag"), CASES,
                         ids=[case[0] for case in CASES])
def test_sample(name: str, verdict: Verdict, recipient: str | None, bounce_type: BounceType | None, status: str,
                tag: str | None) -> None:
    result = analyse_bytes((DATA / name).read_bytes())
    assert result.verdict == verdict, result.reason
    expected_id = f"<bsi-awareness.{tag}@news.bsi.example.org>" if tag else None
    if verdict == Verdict.BOUNCE:
        assert [(f.recipient, f.bounce_type, f.status) for f in result.failures] == [(recipient, bounce_type, status)]
        assert result.failures[0].diagnostic  # the server's words are kept for the person's history
        assert result.original_message_id == expected_id
    elif verdict == Verdict.COMPLAINT:
        assert result.complainant == recipient
        assert result.original_message_id == expected_id
    else:
        assert result.failures == ()


def test_diagnostic_keeps_the_servers_words() -> None:
    result = analyse_bytes((DATA / "exchange_hard.eml").read_bytes())
    assert "RESOLVER.ADR.RecipientNotFound" in result.failures[0].diagnostic


@pytest.mark.parametrize(("status", "action", "expected"), [
    ("5.1.1", "failed", BounceType.HARD), ("4.2.2", "failed", BounceType.SOFT), ("", "delayed", BounceType.SOFT),
    ("5.7.1", "delayed", BounceType.HARD), ("", "failed", BounceType.HARD), ("4.4.7", "", BounceType.SOFT)])
def test_hard_or_soft_by_status_class(status: str, action: str, expected: BounceType) -> None:
    assert classify_status(status, action) == expected


@pytest.mark.parametrize("subject", ["Out of Office: Re: BSI", "Automatische Antwort: Vergabe", "Réponse automatique",
                                     "Automatyczna odpowiedź: BSI", "Αυτόματη απάντηση: BSI"])
def test_out_of_office_subjects_without_headers_are_auto_replies(subject: str) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "someone@agency.example.org"
    message["Subject"] = subject
    message.set_content("I am away until Monday.")
    assert analyse(message).verdict == Verdict.AUTO_REPLY


@given(st.binary(max_size=3000))
@hsettings(max_examples=300, deadline=None)
def test_parser_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    result = analyse_bytes(data)
    assert result.verdict in set(Verdict)


@given(st.sampled_from(SAMPLES), st.integers(min_value=0, max_value=6000), st.binary(max_size=40))
@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parser_never_raises_on_damaged_samples(path: Path, cut: int, junk: bytes) -> None:
    data = path.read_bytes()
    damaged = data[:cut] + junk + data[cut + len(junk):]
    assert analyse_bytes(damaged).verdict in set(Verdict)
    assert analyse_bytes(data[:cut]).verdict in set(Verdict)


# --- mailboxes -----------------------------------------------------------------------------------------------


def make_mbox(path: Path) -> Path:
    box = mailbox.mbox(str(path))
    for sample in SAMPLES:
        box.add(sample.read_bytes())
    box.flush()
    box.close()
    return path


def make_maildir(path: Path) -> Path:
    box = mailbox.Maildir(str(path))
    for sample in SAMPLES:
        box.add(sample.read_bytes())
    box.close()
    return path


def test_mbox_and_maildir_yield_every_message(tmp_path: Path) -> None:
    for source in (make_mbox(tmp_path / "bounces.mbox"), make_maildir(tmp_path / "Maildir")):
        messages = list(read_paths([source]))
        assert len(messages) == len(SAMPLES)
        verdicts = sorted(analyse_bytes(m.data).verdict for m in messages)
        assert verdicts == sorted(case[1] for case in CASES)


def test_truncated_mbox_is_reported_and_the_rest_read(tmp_path: Path, db, clock, settings) -> None:
    seed(db, clock)
    whole = make_mbox(tmp_path / "whole.mbox").read_bytes()
    cut = tmp_path / "cut.mbox"
    cut.write_bytes(whole[: len(whole) - 200])  # the last message (soft bounce, sorted last) loses its end
    messages = list(read_paths([cut]))
    assert len(messages) == len(SAMPLES)
    assert messages[-1].warning and "truncated" in messages[-1].warning
    report = import_paths(db, clock, settings, [cut])
    assert len(report.of(Outcome.MATCHED)) == 6
    # The cut took the quoted original (its Message-ID) with it: the soft bounce no longer proves it is ours.
    assert [r.email for r in report.of(Outcome.REVIEW)] == ["petra.novakova@obec.example.com"]
    assert any(r.warning for r in report.results)


def test_missing_path_is_refused_before_anything_is_written(tmp_path: Path, db, clock, settings) -> None:
    from outreach.errors import InputError

    seed(db, clock)
    with pytest.raises(InputError, match=r"nowhere\.mbox does not exist"):
        import_paths(db, clock, settings, [DATA / "postfix_hard.eml", tmp_path / "nowhere.mbox"])
    assert status_of(db, "jan.kowalski@gmina.example.org") == "active"


# --- applying bounces ----------------------------------------------------------------------------------------


def test_import_applies_bounces_and_complaints_and_twice_changes_nothing(tmp_path: Path, db, clock, settings) -> None:
    seed(db, clock)
    box = make_mbox(tmp_path / "bounces.mbox")
    report = import_paths(db, clock, settings, [box])
    counts = report.counts()
    assert counts == {"matched": 7, "ignored": 2, "unmatched": 0, "review": 0, "problem": 1}
    for email in ("jan.kowalski@gmina.example.org", "mette.hansen@kommune.example.net",
                  "pieter.devries@stad.example.com", "giulia.rossi@cooperativa.example.com",
                  "claire.martin@ministere.example"):
        assert status_of(db, email) == "bounced"
        assert is_suppressed(db, email)
        assert events_of(db, email) == [("bounced", "hard", "bsi-awareness")]
    assert status_of(db, "petra.novakova@obec.example.com") == "active"  # one soft bounce is not enough
    assert events_of(db, "petra.novakova@obec.example.com") == [("bounced", "soft", "bsi-awareness")]
    assert status_of(db, "anna.svensson@kommun.example.net") == "complained"
    assert status_of(db, "klaus.weber@stadtwerke.example.com") == "active"  # out of office: ignored
    assert events_of(db, "klaus.weber@stadtwerke.example.com") == []
    reasons = {Path(r.source.split(" #")[0]).name + r.source.split(" #")[1]: r.reason for r in report.results}
    assert any("auto-reply" in reason for reason in reasons.values())

    before = db.execute("SELECT count(*) FROM events").fetchone()[0]
    again = import_paths(db, clock, settings, [box])
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == before
    assert again.counts() == {"matched": 0, "ignored": 9, "unmatched": 0, "review": 0, "problem": 1}
    assert all("already processed" in r.reason for r in again.of(Outcome.IGNORED))


def test_bounce_for_an_unknown_address_is_listed_as_unmatched(db, clock, settings) -> None:
    result = process_message(db, clock, settings, (DATA / "postfix_hard.eml").read_bytes(), source="x.eml")
    assert result.outcome == Outcome.UNMATCHED
    assert result.email == "jan.kowalski@gmina.example.org"
    assert db.execute("SELECT count(*) FROM inbound_messages").fetchone()[0] == 0  # retried once the contact exists


def test_message_id_matches_even_when_the_recipient_was_forwarded(db, clock, settings) -> None:
    contacts = seed(db, clock)
    data = (DATA / "rfc3464_plain.eml").read_bytes().replace(b"claire.martin@ministere.example",
                                                             b"c.martin@forward.example.org")
    result = process_message(db, clock, settings, data, source="fwd.eml")
    assert result.outcome == Outcome.MATCHED and "Message-ID" in result.reason
    assert status_of(db, contacts["claire.martin@ministere.example"].email) == "bounced"


def test_a_bounce_quoting_no_message_of_ours_is_listed_for_review(db, clock, settings) -> None:
    """Its recipient was mailed, but without the original Message-ID or a VERP address anyone could have written it."""
    seed(db, clock)
    data = (DATA / "postfix_hard.eml").read_bytes().replace(b"Message-ID: <bsi-awareness.1.k7Qp2x",
                                                           b"X-Old: <bsi-awareness.1.k7Qp2x")
    result = process_message(db, clock, settings, data, source="noid.eml")
    assert result.outcome == Outcome.REVIEW and result.email == "jan.kowalski@gmina.example.org"
    assert "not applied" in result.reason and "Message-ID or VERP" in result.reason
    assert status_of(db, "jan.kowalski@gmina.example.org") == "active"
    assert events_of(db, "jan.kowalski@gmina.example.org") == []
    assert not is_suppressed(db, "jan.kowalski@gmina.example.org")


def test_verp_address_names_the_delivery(db, clock, settings) -> None:
    seed(db, clock)
    delivery_id = db.execute("SELECT id FROM deliveries WHERE email = 'giulia.rossi@cooperativa.example.com'"
                             ).fetchone()[0]
    verp = verp_address(settings.secret_key, "bounces@bsi.example.org", delivery_id)
    data = (DATA / "gmail_hard.eml").read_bytes()
    # A bounce that names neither the original Message-ID nor the address, only the VERP envelope recipient.
    data = data.replace(b"Delivered-To: news@bsi.example.org", f"Delivered-To: {verp}".encode())
    data = data.replace(b"giulia.rossi@cooperativa.example.com", b"g.rossi@old-alias.example.com")
    data = data.replace(b"bsi-awareness.4.Gm3vXy", b"unknown.4")
    result = process_message(db, clock, settings, data, source="verp.eml")
    assert result.outcome == Outcome.MATCHED and result.reason == "matched by VERP address"
    assert status_of(db, "giulia.rossi@cooperativa.example.com") == "bounced"


def test_soft_bounces_across_campaigns_make_a_contact_bounced(db, clock) -> None:
    settings = Settings.from_env({"OUTREACH_SOFT_BOUNCE_LIMIT": "3", "OUTREACH_SOFT_BOUNCE_CAMPAIGNS": "2"})
    contact = seed(db, clock)["petra.novakova@obec.example.com"]
    add_campaign(db, clock, "bsi-training")
    training = add_delivery(db, clock, "bsi-training", contact, message_id="<bsi-training.6@news.bsi.example.org>")
    sample = (DATA / "soft_mailbox_full.eml").read_bytes()

    def soft(n: int, message_id: bytes) -> None:
        data = sample.replace(b"Message-Id: <20261120131000", b"Message-Id: <%d-20261120131000" % n)
        data = data.replace(b"<bsi-awareness.6.Cz4kia@news.bsi.example.org>", message_id)
        assert process_message(db, clock, settings, data, source=f"soft{n}").outcome == Outcome.MATCHED

    soft(1, b"<bsi-awareness.6.Cz4kia@news.bsi.example.org>")
    soft(2, b"<bsi-awareness.6.Cz4kia@news.bsi.example.org>")
    assert status_of(db, contact.email) == "active"  # two soft bounces, one campaign
    soft(3, b"<bsi-training.6@news.bsi.example.org>")
    assert status_of(db, contact.email) == "bounced"  # three, across two campaigns
    assert is_suppressed(db, contact.email)
    assert db.execute("SELECT count(*) FROM events WHERE delivery_id = ?", [training]).fetchone()[0] == 1


# --- unsubscribes by mail ------------------------------------------------------------------------------------


def unsubscribe_mail(sender: str, subject: str = "unsubscribe", body: str = "Please remove me.") -> bytes:
    return (f"From: {sender}\r\nTo: unsubscribe@bsi.example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash((sender, subject, body)))}@mail.example.org>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def test_an_unsubscribe_mail_without_the_token_is_listed_not_applied(tmp_path: Path, db, clock, settings) -> None:
    """A From: address proves nothing: anyone can write one."""
    seed(db, clock)
    folder = tmp_path / "unsubscribe-mails"
    folder.mkdir()
    (folder / "u1.eml").write_bytes(unsubscribe_mail("Maria Pop <Maria.Pop@primaria.example.org>"))
    (folder / "u2.eml").write_bytes(unsubscribe_mail("stranger@elsewhere.example.com"))
    (folder / "u3.eml").write_bytes((DATA / "out_of_office.eml").read_bytes())
    report = import_paths(db, clock, settings, [folder], mode=Mode.UNSUBSCRIBES)
    assert report.counts() == {"matched": 0, "ignored": 1, "unmatched": 1, "review": 1, "problem": 0}
    assert status_of(db, "maria.pop@primaria.example.org") == "active"
    assert events_of(db, "maria.pop@primaria.example.org") == []
    review = report.of(Outcome.REVIEW)[0]
    assert review.email == "maria.pop@primaria.example.org" and "token" in review.reason
    assert report.as_dict()["messages"][0]["outcome"] == "review"
    assert report.of(Outcome.UNMATCHED)[0].email == "stranger@elsewhere.example.com"


def test_unsubscribe_token_in_the_subject_wins_over_the_sender(db, clock, settings) -> None:
    contacts = seed(db, clock)
    anna = contacts["anna.svensson@kommun.example.net"]
    token = contact_token(settings.secret_key, Purpose.UNSUBSCRIBE, anna.id, anna.email, "bsi-awareness")
    data = unsubscribe_mail("assistant@kommun.example.net", subject=f"unsubscribe {token}")
    result = process_message(db, clock, settings, data, source="t.eml", mode=Mode.UNSUBSCRIBES)
    assert result.outcome == Outcome.MATCHED and result.reason == "unsubscribed (token)"
    assert status_of(db, anna.email) == "unsubscribed"
    assert events_of(db, anna.email) == [("unsubscribed", None, "bsi-awareness")]


def test_a_forged_token_unsubscribes_no_one(db, clock, settings) -> None:
    seed(db, clock)
    contact = insert_contact(db, clock, "helper@kommun.example.net", clean_fields({"country": "SE"}))
    data = unsubscribe_mail(contact.email, subject="unsubscribe eyJjIjoxLCJlIjoiYWJjIn0.ZmFrZQ.c2lnbmF0dXJlZm9yZ2Vk")
    result = process_message(db, clock, settings, data, source="f.eml", mode=Mode.UNSUBSCRIBES)
    assert result.outcome == Outcome.REVIEW and result.email == "helper@kommun.example.net"
    assert status_of(db, "anna.svensson@kommun.example.net") == "active"
    assert status_of(db, "helper@kommun.example.net") == "active"


def test_the_token_of_another_purpose_is_refused(db, clock, settings) -> None:
    """A preferences-link token (quoted from the mail's footer) is not an unsubscribe token."""
    anna = seed(db, clock)["anna.svensson@kommun.example.net"]
    token = contact_token(settings.secret_key, Purpose.PREFERENCES, anna.id, anna.email)
    data = unsubscribe_mail("someone@elsewhere.example.com", subject=f"unsubscribe {token}")
    result = process_message(db, clock, settings, data, source="p.eml", mode=Mode.UNSUBSCRIBES)
    assert result.outcome == Outcome.UNMATCHED
    assert status_of(db, anna.email) == "active"
