"""MIME building: the fast MessageFactory parses back to the same message as the straightforward EmailMessage
build, for tricky inputs; no header injection; RFC 8058 headers; no line over 998 octets."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from send_support import write_file

from benchmarks.reference_mail import build_reference
from outreach.campaigns.folder import Attachment
from outreach.mail.message import MessageFactory, Personal, SenderInfo, make_message_id

# (language, recipient name, subject) — real names and subjects in the 15 BSI languages
SAMPLES = [
    ("hr", "Ivana Horvat", "Društveno odgovorna javna nabava: poziv na radionicu"),
    ("cs", "Jana Nováková", "Sociálně odpovědné zadávání veřejných zakázek – pozvánka"),
    ("da", "Mette Jensen", "Socialt ansvarlige offentlige indkøb: reserverede kontrakter"),
    ("fr", "Claire Martin-Lefèvre", "Achats publics socialement responsables : marchés réservés"),
    ("de", "Jürgen Groß", "Sozial verantwortliche öffentliche Beschaffung – vorbehaltene Aufträge"),
    ("el", "Μαρία Παπαδοπούλου-Γεωργίου", "Κοινωνικά υπεύθυνες δημόσιες συμβάσεις: η αναθέτουσα αρχή και η "
     "κοινωνική οικονομία σε μια ημερίδα για όλους"),
    ("hu", "Nagy Katalin", "Társadalmilag felelős közbeszerzés – fenntartott szerződések"),
    ("it", "Giulia Rossi", "Appalti pubblici socialmente responsabili e appalti riservati"),
    ("en", "Aoife O'Murphy", "Buying for Social Impact: socially responsible public procurement"),
    ("lv", "Līga Bērziņa", "Sociāli atbildīgs publiskais iepirkums: rezervētie līgumi"),
    ("nl", "Sanne de Vries", "Maatschappelijk verantwoord inkopen (MVI) en voorbehouden opdrachten"),
    ("pl", "Zażółć Gęślą-Jaźń", "Społecznie odpowiedzialne zamówienia publiczne – zamówienia zastrzeżone"),
    ("ro", "Ioana Popescu-Ștefănescu", "Achiziții publice responsabile social: contracte rezervate"),
    ("sk", "Zuzana Horváthová", "Sociálne zodpovedné verejné obstarávanie – vyhradené zákazky"),
    ("sv", "Karin Lindqvist-Åström", "Socialt ansvarsfull offentlig upphandling: reserverade kontrakt"),
]
TRICKY_NAMES = ['Kowalski, Jan "JK"', "Eve\r\nBcc: victim@example.com", "x" * 300,
                "back\\slash", "  spaced   out  ", "\x00nul\u2028line\x85next", "Ωmega <omega@example.net>"]

SENDER = SenderInfo(name="Buying for Social Impact", address="news@bsi.example.org",
                    reply_to="team@bsi.example.org", list_name="Buying for Social Impact",
                    language="pl")
DATE = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def personal(name: str, subject: str, text: str = "", html: str = "") -> Personal:
    return Personal(name, "jan.kowalski@gmina.example.org", subject,
                    text or f"Dear {name},\n\nŁódź — Αθήνα — Rīga.\n. a line starting with a dot\n",
                    html or f"<p>Dear {name},</p>\n<p>Łódź — Αθήνα — Rīga.</p>\n",
                    "https://news.example.org/unsubscribe/eyJjIjo0MiwiZSI6ImFiYyJ9.Z4x1bQ.sig_-nature",
                    make_message_id("bsi.example.org", "bsi-awareness", 42), DATE)


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def same_message(fast: bytes, reference: bytes) -> None:
    a, b = parse(fast), parse(reference)
    assert not a.defects
    headers_a = {k: str(v) for k, v in a.items() if k != "Content-Type"}
    headers_b = {k: str(v) for k, v in b.items() if k != "Content-Type"}
    assert headers_a == headers_b
    assert a.get_content_type() == b.get_content_type()
    parts_a = [(p.get_content_type(), p.get_filename(), p.get_content()) for p in a.walk() if not p.is_multipart()]
    parts_b = [(p.get_content_type(), p.get_filename(), p.get_content()) for p in b.walk() if not p.is_multipart()]
    assert parts_a == parts_b
    assert max(len(line) for line in fast.split(b"\r\n")) <= 998
    assert b"\n" not in fast.replace(b"\r\n", b"")  # CRLF only


@pytest.fixture
def attachments(tmp_path: Path) -> list[Attachment]:
    pdf = write_file(tmp_path / "brochure.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 40)
    txt = write_file(tmp_path / "notes.txt", "Zamówienia zastrzeżone\n".encode())
    return [Attachment("Μπροσούρα κοινωνική οικονομία — zamówienia zastrzeżone 2026.pdf", pdf, "application/pdf"),
            Attachment('plain "quoted" name.txt', txt, "text/plain")]


@pytest.mark.parametrize(("language", "name", "subject"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_fast_path_equals_reference_in_every_language(language, name, subject, attachments) -> None:
    sender = SenderInfo(SENDER.name, SENDER.address, SENDER.reply_to, SENDER.list_name, language=language)
    for files in ([], attachments):
        data = personal(name, subject)
        same_message(MessageFactory(sender, files).build(data), build_reference(sender, files, data))


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_fast_path_equals_reference_for_tricky_names_and_subjects(name, attachments) -> None:
    data = personal(name, f"Re: {name} – {'a very long subject ' * 12}")
    same_message(MessageFactory(SENDER, attachments).build(data), build_reference(SENDER, attachments, data))


def test_text_that_looks_like_an_encoded_word_stays_literal() -> None:
    # EmailMessage decodes such text on the way in (the reference shows "fake"); the fast path keeps what was typed
    data = personal("=?utf-8?q?fake?=", "Re: =?utf-8?q?fake?= news")
    message = parse(MessageFactory(SENDER).build(data))
    assert message["To"].addresses[0].display_name == "=?utf-8?q?fake?="
    assert message["Subject"] == "Re: =?utf-8?q?fake?= news"


def test_message_structure_and_list_headers(attachments) -> None:
    message = parse(MessageFactory(SENDER, attachments).build(personal("Anna Kowalska", "Zaproszenie")))
    assert message.get_content_type() == "multipart/mixed"
    alternative, *files = message.iter_parts()
    text, html = alternative.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")  # text first
    assert text.get_content_charset() == "utf-8" and "Łódź" in text.get_content()
    assert [f.get_filename() for f in files] == [a.filename for a in attachments]
    assert files[0].get_content() == attachments[0].path.read_bytes()
    assert message["List-Unsubscribe"] == ("<https://news.example.org/unsubscribe/eyJjIjo0MiwiZSI6ImFiYyJ9.Z4x1bQ."
                                           "sig_-nature>, <mailto:news@bsi.example.org?subject=unsubscribe%20"
                                           "eyJjIjo0MiwiZSI6ImFiYyJ9.Z4x1bQ.sig_-nature>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "Buying for Social Impact <news.bsi.example.org>"
    assert message["Message-ID"].endswith("@bsi.example.org>") and message["Reply-To"] == "team@bsi.example.org"
    assert message["Date"].datetime == DATE
    assert message["To"].addresses[0].display_name == "Anna Kowalska"


def test_without_attachments_the_top_is_multipart_alternative() -> None:
    message = parse(MessageFactory(SENDER).build(personal("Anna", "Hello")))
    assert message.get_content_type() == "multipart/alternative"


def test_idn_domains_are_punycode_in_headers() -> None:
    data = personal("Jan", "Hi")
    data = Personal(data.to_name, "jan@gmina-łódź.example.org", *list(vars(data).values())[2:])
    message = parse(MessageFactory(SENDER).build(data))
    assert message["To"].addresses[0].domain == "xn--gmina-d-q0a42esr.example.org"


text_values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120)


@settings(max_examples=150, deadline=None)
@given(name=text_values, subject=text_values, organisation=text_values)
def test_no_value_can_inject_a_header(name: str, subject: str, organisation: str) -> None:
    from hypothesis import assume

    assume("=?" not in name + subject + organisation)  # the reference decodes those (see the test above)
    sender = SenderInfo(name=organisation or "X", address="news@bsi.example.org", list_name=organisation)
    data = personal(name, subject, text=name + "\n" + subject, html=f"<p>{name}</p>")
    raw = MessageFactory(sender).build(data)
    message = parse(raw)
    assert sorted(message.keys()) == sorted(["From", "To", "Subject", "Date", "Message-ID", "List-Id",
                                             "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version",
                                             "Content-Type"])
    assert not message.defects
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    same_message(raw, build_reference(sender, [], data))


@settings(max_examples=100, deadline=None)
@given(body=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3000))
def test_bodies_round_trip_exactly(body: str) -> None:
    data = personal("Anna", "Hi", text=body or "x", html=body or "x")
    message = parse(MessageFactory(SENDER).build(data))
    text, html = message.iter_parts()
    expected = (body or "x").replace("\r\n", "\n").replace("\r", "\n")
    expected = expected if expected.endswith("\n") else expected + "\n"
    assert text.get_content().replace("\r\n", "\n") == expected
    assert html.get_content().replace("\r\n", "\n") == expected


def test_line_cache_keeps_the_variants_lines_only_however_many_messages() -> None:
    # Each message has personal lines (the name, a signed link) that no other message repeats: caching them
    # made memory grow with every message of a 100,000-recipient campaign.
    static_text = "".join(f"Paragraph {n} about reserved contracts — zamówienia zastrzeżone.\n" for n in range(40))
    static_html = "".join(f"<p>Paragraph {n} — zamówienia zastrzeżone.</p>\n" for n in range(40))
    factory = MessageFactory(SENDER)

    def build(n: int) -> bytes:
        name = f"Osoba {n}"
        return factory.build(personal(name, "Subject", f"Dear {name},\n{static_text}token-{n}\n",
                                      f"<p>Dear {name},</p>\n{static_html}<a href='x?t={n}'>x</a>\n"))

    for n in range(50):
        build(n)
    after_50 = factory.cached_lines
    assert 80 <= after_50 <= 90  # the 40 + 40 static lines (and the few shared ones)
    for n in range(50, 3000):
        build(n)
    assert factory.cached_lines == after_50
    # the cached lines still encode exactly as the reference does
    name = "Zażółć Gęślą-Jaźń"
    text, html = f"Dear {name},\n{static_text}", f"<p>Dear {name},</p>\n{static_html}"
    data = personal(name, "Subject", text, html)
    same_message(factory.build(data), build_reference(SENDER, [], data))


def test_utf8_text_attachment_declares_its_charset(attachments) -> None:
    message = parse(MessageFactory(SENDER, attachments).build(personal("Anna Nowak", "Zamówienia")))
    notes = next(p for p in message.walk() if p.get_filename() == 'plain "quoted" name.txt')
    assert notes.get_content_charset() == "utf-8"
    assert notes.get_content() == "Zamówienia zastrzeżone\n"


def test_transactional_mail_is_auto_submitted_and_carries_no_list_headers() -> None:
    sender = SenderInfo("Buying for Social Impact", "news@bsi.example.org", reply_to="team@bsi.example.org",
                        language="el", transactional=True)
    message = parse(MessageFactory(sender).build(personal("Μαρία Παπαδοπούλου", "Επιβεβαίωση εγγραφής")))
    assert sorted(message.keys()) == sorted(["From", "To", "Subject", "Date", "Message-ID", "Reply-To",
                                             "Auto-Submitted", "Content-Language", "MIME-Version", "Content-Type"])
    assert message["Auto-Submitted"] == "auto-generated" and message["Content-Language"] == "el"
    assert message["Subject"] == "Επιβεβαίωση εγγραφής"
    assert message["To"].addresses[0].display_name == "Μαρία Παπαδοπούλου"
    text, html = message.iter_parts()
    assert "Łódź" in text.get_content() and "Łódź" in html.get_content()
