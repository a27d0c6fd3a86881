"""Event registration over real HTTP (uvicorn) with mails into aiosmtpd: the invitation's attend/decline links,
the public event page (double opt-in), the waiting list and its promotion mail, closed and cancelled sessions,
bad links, link scanners and two registrations racing for the last place."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from events_web_support import (
    CAMPAIGN,
    add_contact,
    calendar_of,
    path_in,
    registration_rows,
    registrations,
    stored_contact,
    text_of,
    write_campaign,
)
from web_support import csrf_of, free_socket, running_server, web_settings

from outreach.mail.tokens import Purpose, answer_token, answer_urls
from outreach.models import ContactStatus
from outreach.web import create_app


@pytest.fixture
def server(db_path: Path, tmp_path: Path, smtpd, clock) -> Iterator[tuple[str, Any]]:
    """The pages on a real uvicorn server whose public URL is itself; campaigns from a folder in tmp_path."""
    campaigns = write_campaign(tmp_path / "campaigns")
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = web_settings(db_path, tmp_path, {**smtpd.env(), "OUTREACH_CAMPAIGNS": str(campaigns)},
                            public_url=base)
    with running_server(create_app(settings, clock=clock), sock):
        yield base, settings


def client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30)


def links(settings, person, code: str = "PL") -> tuple[str, str]:
    """The attend and decline paths of an invitation to `person` for session `code`."""
    attend, decline = answer_urls(settings, settings.secret_key, person.id, person.email, CAMPAIGN, code)
    return attend.removeprefix(settings.public_url), decline.removeprefix(settings.public_url)


def press(http: httpx.Client, path: str) -> httpx.Response:
    """Open a page and press its one button, as a person would."""
    page = http.get(path)
    assert page.status_code == 200, page.text
    return http.post(path, data={"csrf_token": csrf_of(page.text)})


def test_a_link_scanner_registers_nobody_and_the_button_registers_with_a_calendar_file(server, smtpd, db_path):
    base, settings = server
    anna = add_contact(db_path, "anna.nowak@gmina.example.org", "Anna Nowak")
    attend, _ = links(settings, anna)
    with client(base) as http:
        for _ in range(3):  # a scanner opens the link, maybe several times, and follows nothing else
            page = http.get(attend)
            assert page.status_code == 200 and 'lang="pl"' in page.text
            assert "Czy chcą Państwo zarejestrować się na to wydarzenie?" in page.text
            assert page.text.count("<button") == 1
        assert registrations(db_path) == {} and smtpd.messages == []
        done = http.post(attend, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200
    assert "Dziękujemy, miejsce zostało zarezerwowane." in done.text
    assert registrations(db_path) == {"anna.nowak@gmina.example.org": "registered"}
    [received] = smtpd.messages
    mail = received.message()
    assert received.rcpt_tos == ["anna.nowak@gmina.example.org"]
    assert mail["Subject"] == "Rejestracja potwierdzona" and mail["Auto-Submitted"] == "auto-generated"
    calendar = calendar_of(mail)
    assert calendar is not None
    from icalendar import Calendar

    parsed = Calendar.from_ical(calendar)
    assert str(parsed["METHOD"]) == "REQUEST"
    [event] = parsed.walk("VEVENT")
    assert str(event["SUMMARY"]).startswith("Dzień szkoleniowy")
    assert event["DTSTART"].dt.tzinfo is not None and "anna.nowak@gmina.example.org" in str(event["ATTENDEE"])
    assert "/decline/" in text_of(mail)  # the way to free the place again


def test_without_the_csrf_token_the_post_changes_nothing(server, db_path):
    base, settings = server
    anna = add_contact(db_path, "anna.nowak@gmina.example.org", "Anna Nowak")
    attend, _ = links(settings, anna)
    with client(base) as http:
        refused = http.post(attend, data={})
    assert refused.status_code == 403 and registrations(db_path) == {}


def test_waiting_list_then_a_cancelled_place_promotes_the_first_waiting_person(server, smtpd, db_path):
    base, settings = server
    anna = add_contact(db_path, "anna.nowak@gmina.example.org", "Anna Nowak")
    jan = add_contact(db_path, "jan.kowalski@powiat.example.org", "Jan Kowalski")
    eva = add_contact(db_path, "eva.novak@obec.example.org", "Eva Nováková", country="PL", language="cs")
    with client(base) as http:
        assert "miejsce zostało zarezerwowane" in press(http, links(settings, anna)[0]).text
        assert "listę oczekujących" in press(http, links(settings, jan)[0]).text  # capacity 1: Jan waits
        assert "čekací listině" in press(http, links(settings, eva)[0]).text  # Eva waits after Jan, in Czech
        assert registrations(db_path) == {"anna.nowak@gmina.example.org": "registered",
                                          "jan.kowalski@powiat.example.org": "waiting",
                                          "eva.novak@obec.example.org": "waiting"}
        waiting_mail = smtpd.messages[1].message()
        assert waiting_mail["Subject"] == "Państwa zgłoszenie jest na liście oczekujących"
        assert calendar_of(waiting_mail) is None  # no place, no calendar entry

        # Anna cannot come after all: the "I cannot attend" link of her confirmation mail frees her place.
        cancel = path_in(text_of(smtpd.messages[0].message()), "decline")
        assert "wziąć udziału" in http.get(cancel).text
        assert registrations(db_path)["anna.nowak@gmina.example.org"] == "registered"  # the GET changed nothing
        assert "Dziękujemy za informację" in press(http, cancel).text
    assert registrations(db_path) == {"anna.nowak@gmina.example.org": "cancelled",
                                      "jan.kowalski@powiat.example.org": "registered",
                                      "eva.novak@obec.example.org": "waiting"}
    promotion = smtpd.messages[-1]
    assert promotion.rcpt_tos == ["jan.kowalski@powiat.example.org"]
    assert promotion.message()["Subject"].startswith("Zwolniło się miejsce")
    assert calendar_of(promotion.message()) is not None


def test_forged_expired_or_someone_elses_links_change_nothing(server, db_path, monkeypatch):
    base, settings = server
    anna = add_contact(db_path, "anna.nowak@gmina.example.org", "Anna Nowak")
    attend, _ = links(settings, anna)
    forged = attend[:-3] + ("aaa" if not attend.endswith("aaa") else "bbb")
    other_purpose = "/decline/" + attend.removeprefix("/attend/")  # an attend token used to decline
    other_secret = answer_token("another-secret-key-0123456789-abcdefghijkl", Purpose.ATTEND, anna.email,
                                CAMPAIGN, "PL", contact_id=anna.id)
    # A token signed for Anna's id but another address (as if Anna's address had changed): the link died.
    other_person = answer_token(settings.secret_key, Purpose.ATTEND, "someone@else.example.org", CAMPAIGN, "PL",
                                contact_id=anna.id)
    import itsdangerous.timed

    with monkeypatch.context() as patch:  # a token signed 401 days ago
        patch.setattr(itsdangerous.timed.time, "time", lambda: 1_700_000_000.0 - 401 * 24 * 3600)
        expired = "/attend/" + answer_token(settings.secret_key, Purpose.ATTEND, anna.email, CAMPAIGN, "PL",
                                            contact_id=anna.id)
    with client(base) as http:
        page = http.get(attend)  # a real page, for a valid CSRF token
        token = csrf_of(page.text)
        for path, status, text in ((forged, 400, "This link is not valid"),
                                   (other_purpose, 400, "This link is not valid"),
                                   ("/attend/" + other_secret, 400, "This link is not valid"),
                                   ("/attend/" + other_person, 410, "This link no longer works"),
                                   (expired, 410, "This link has expired")):
            for answer in (http.get(path + "?lang=en"), http.post(path + "?lang=en", data={"csrf_token": token})):
                assert answer.status_code == status, (path, answer.text)
                assert text in answer.text
    assert registrations(db_path) == {}


def test_after_the_deadline_a_clear_page_in_the_readers_language(server, db_path, smtpd):
    base, settings = server
    petr = add_contact(db_path, "petr.svoboda@mesto.example.org", "Petr Svoboda", country="CZ", language="cs")
    attend, _ = links(settings, petr, "CZ")
    with client(base) as http:
        page = http.get(attend)
        assert page.status_code == 200 and 'lang="cs"' in page.text
        assert "Registrace na tento termín je uzavřena, proto jsme Vás nemohli zaregistrovat." in page.text
        assert "<form" not in page.text
        public = http.get("/events/training/CZ?lang=cs")
        assert "Registrace na tento termín je uzavřena." in public.text and "<form" not in public.text
    assert registrations(db_path) == {} and smtpd.messages == []


def test_a_cancelled_session_gets_a_clear_page_not_an_error(server, db_path, clock):
    from outreach.db.schema import open_database
    from outreach.db.sessions import cancel_session, get_session

    base, settings = server
    anna = add_contact(db_path, "anna.nowak@gmina.example.org", "Anna Nowak")
    attend, _ = links(settings, anna)
    with client(base) as http:
        page = http.get(attend)  # the session's row is created on first use
        db = open_database(db_path)
        row = get_session(db, CAMPAIGN, "PL")
        assert row is not None
        cancel_session(db, "2026-11-25T09:00:00Z", row.id)
        db.close()
        answer = http.post(attend, data={"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 200
        assert "Ta sesja została odwołana, więc rejestracja nie jest możliwa." in answer.text
    assert registrations(db_path) == {}


def test_public_page_registers_someone_not_on_the_list_after_confirming_the_address(server, smtpd, db_path):
    base, _ = server
    with client(base) as http:
        page = http.get("/events/training/PL?lang=pl")
        assert page.status_code == 200 and "Dzień szkoleniowy" in page.text
        assert "/events/training/PL.ics" in page.text and "calendar.google.com" in page.text
        ics = http.get("/events/training/PL.ics")
        assert ics.headers["content-type"].startswith("text/calendar")
        assert b"METHOD:PUBLISH" in ics.content and b"TZID=Europe/Warsaw" in ics.content
        english = http.get("/events/training?lang=en").text  # the list of sessions, in English
        assert "Training day" in english and "Thursday 13 May 2027" in english  # day-month-year for en

        form = {"csrf_token": csrf_of(page.text), "email": "Maria.Zielinska@Fundacja.example.org",
                "name": "Maria Zielińska", "organisation": "Fundacja Razem", "kind": "supplier", "country": "PL",
                "consent": "yes"}
        missing = http.post("/events/training/PL/register?lang=pl", data={**form, "consent": "", "name": ""})
        assert missing.status_code == 400 and "Prosimy zaznaczyć to pole" in missing.text
        sent = http.post("/events/training/PL/register?lang=pl", data=form)
        assert sent.status_code == 200 and "Prosimy sprawdzić skrzynkę odbiorczą" in sent.text
        assert registrations(db_path) == {}  # nothing is booked before the address is confirmed

        mail = smtpd.messages[-1].message()
        assert mail["Subject"] == "Prosimy o potwierdzenie rejestracji"
        confirm = path_in(text_of(mail), "register")
        shown = http.get(confirm)
        assert shown.status_code == 200 and "m•••@fundacja.example.org" in shown.text
        assert registrations(db_path) == {}
        done = http.post(confirm, data={"csrf_token": csrf_of(shown.text)})
        assert "Dziękujemy, miejsce zostało zarezerwowane." in done.text
        assert "jest już zapisana" in http.get(confirm).text  # the link opened again: nothing more to do
        again = http.post(confirm, data={"csrf_token": csrf_of(shown.text)})  # a second click counts once
        assert "jest już zapisana" in again.text
    [row] = registration_rows(db_path)
    assert (row["email"], row["status"], row["source"], row["name"]) == (
        "maria.zielinska@fundacja.example.org", "registered", "web", "Maria Zielińska")
    assert row["organisation"] == "Fundacja Razem" and row["client"] == "127.0.0.1"
    assert "organizacji tego wydarzenia" in str(row["consent_text"])
    assert stored_contact(db_path, "maria.zielinska@fundacja.example.org") is None  # not subscribed to news
    assert smtpd.messages[-1].message()["Subject"] == "Rejestracja potwierdzona"


def test_ticking_the_news_box_also_subscribes_once_the_address_is_confirmed(server, smtpd, db_path):
    base, _ = server
    with client(base) as http:
        page = http.get("/events/training/PL?lang=en")
        http.post("/events/training/PL/register?lang=en", data={
            "csrf_token": csrf_of(page.text), "email": "tom.byrne@council.example.org", "name": "Tom Byrne",
            "kind": "authority", "country": "IE", "consent": "yes", "news": "yes"})
        press(http, path_in(text_of(smtpd.messages[-1].message()), "register"))
    person = stored_contact(db_path, "tom.byrne@council.example.org")
    assert person is not None and person.status == ContactStatus.ACTIVE and person.language == "en"
    assert "news" in person.consent_detail["consent_text"]
    assert registrations(db_path) == {"tom.byrne@council.example.org": "registered"}


def test_two_simultaneous_posts_never_exceed_the_capacity(server, db_path):
    base, settings = server
    people = [add_contact(db_path, f"person{n}@gmina.example.org", f"Person {n}") for n in range(6)]
    pages = []
    for person in people:  # every page opened first, each in its own browser (cookie jar)
        http = client(base)
        path = links(settings, person)[0]
        pages.append((http, path, csrf_of(http.get(path).text)))
    barrier = threading.Barrier(len(pages))
    answers: list[int] = []

    def post(http: httpx.Client, path: str, token: str) -> None:
        barrier.wait()
        answers.append(http.post(path, data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=post, args=page) for page in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for http, _, _ in pages:
        http.close()
    assert answers == [200] * len(people)
    statuses = sorted(registrations(db_path).values())
    assert statuses == ["registered"] + ["waiting"] * (len(people) - 1)


def test_unknown_events_and_sessions_are_not_found(server):
    base, _ = server
    with client(base) as http:
        for path in ("/events/nothing", "/events/training/XX", "/events/training/pl", "/events/training/XX.ics",
                     "/events/..%2f..%2fetc"):
            assert http.get(path).status_code == 404, path


def test_a_session_registering_on_an_outside_page_links_there_and_gets_no_answer_links(server, db_path):
    from outreach.campaigns.folder import load_campaign
    from outreach.delivery.compose import MessageSource
    from outreach.render.renderer import Renderer

    base, settings = server
    with client(base) as http:
        page = http.get("/events/training/HR?lang=hr")
        assert 'href="https://bsi.example.org/hr/training"' in page.text and "<form" not in page.text
        refused = http.post("/events/training/HR/register", data={"csrf_token": csrf_of(http.get(
            "/events/training/PL").text), "email": "ivana@grad.example.org", "name": "Ivana", "consent": "yes"})
        assert refused.status_code == 404
    campaign = load_campaign(settings, CAMPAIGN)
    source = MessageSource(settings, campaign, Renderer(settings, campaign))
    ivana = add_contact(db_path, "ivana.horvat@grad.example.org", "Ivana Horvat", country="HR", language="hr")
    anna = add_contact(db_path, "anna.nowak@gmina.example.org", "Anna Nowak")
    assert source.answer_links(ivana) == ("", "")
    attend, decline = source.answer_links(anna)
    assert attend.startswith(base + "/attend/") and decline.startswith(base + "/decline/")
    assert registrations(db_path) == {}


def test_the_event_page_speaks_the_browsers_language_and_a_decline_without_a_place_is_noted(server, db_path, smtpd):
    base, settings = server
    with client(base) as http:
        page = http.get("/events/training/PL", headers={"accept-language": "de-AT,de;q=0.9,en;q=0.5"})
        assert 'lang="de"' in page.text and "Anmeldeschluss" in page.text
        piotr = add_contact(db_path, "piotr.zielinski@urzad.example.org", "Piotr Zieliński")
        answer = press(http, links(settings, piotr)[1])
        assert "Dziękujemy za informację" in answer.text
    assert registrations(db_path) == {"piotr.zielinski@urzad.example.org": "declined"}
    assert smtpd.messages == []  # nothing to confirm, nobody moved up
