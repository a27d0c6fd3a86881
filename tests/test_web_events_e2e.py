"""Event registration end to end in real headless Chromium: a Polish invitation sent by `outreach send` into
aiosmtpd, its "I will attend" link opened and pressed, the waiting list filled (capacity 1), a place given back
from the confirmation mail, and the promotion mail arriving; axe-core on every event page.

Debian's /usr/bin/chromium driven by playwright (never a downloaded browser); axe-core from node_modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from events_web_support import add_contact, calendar_of, registrations, text_of, write_campaign
from test_web_e2e import ARGS, AXE, CHROMIUM, axe_problems, sender_env, shoot
from web_support import free_socket, running_server, web_settings

from outreach.web import create_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture
def server(db_path: Path, tmp_path: Path, smtpd, clock) -> Iterator[tuple[str, Any]]:
    """The pages on uvicorn, public URL = itself; the `training` campaign (Polish session, capacity 1)."""
    campaigns = write_campaign(tmp_path / "campaigns", capacity=1)
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = web_settings(db_path, tmp_path, {**smtpd.env(), "OUTREACH_CAMPAIGNS": str(campaigns)},
                            public_url=base)
    with running_server(create_app(settings, clock=clock), sock):
        yield base, settings


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def mail_to(smtpd, address: str, index: int = -1):
    """The `index`-th message received for `address` (the last by default)."""
    found = [m for m in smtpd.messages if address in m.rcpt_tos]
    assert found, f"no mail to {address}"
    return found[index].message()


def html_link(message, kind: str) -> str:
    """The first /<kind>/<token> link in the HTML part (what a reader clicks)."""
    html = message.get_body(("html",)).get_content()
    match = re.search(r'href="(https?://[^"]+/' + kind + r'/[^"]+)"', html)
    assert match, html[:800]
    return match.group(1)


def test_register_from_a_polish_invitation_waiting_list_and_promotion(server, browser, smtpd, db_path, runner):
    _, settings = server
    add_contact(db_path, "anna.nowak@gmina.example.org", "Anna Nowak")
    add_contact(db_path, "jan.kowalski@powiat.example.org", "Jan Kowalski")
    sent = runner("send", "training", "--yes", env=sender_env(settings, smtpd))
    assert sent.exit_code == 0, sent.output
    invitation = mail_to(smtpd, "anna.nowak@gmina.example.org")
    assert invitation["Subject"] == "Zaproszenie na szkolenie" and invitation["Content-Language"] == "pl"
    assert "Wezmę udział" in text_of(invitation)

    page = browser.new_page(locale="pl-PL")
    page.goto(html_link(invitation, "attend"))
    page.get_by_role("button", name="Potwierdzam rejestrację").wait_for()
    shoot(page, "events-01-attend-pl")
    assert registrations(db_path) == {}  # opening the link registered nobody
    page.get_by_role("button", name="Potwierdzam rejestrację").click()
    page.get_by_text("Dziękujemy, miejsce zostało zarezerwowane.").wait_for()
    shoot(page, "events-02-registered-pl")
    confirmation = mail_to(smtpd, "anna.nowak@gmina.example.org")
    assert confirmation["Subject"] == "Rejestracja potwierdzona" and calendar_of(confirmation) is not None

    other = browser.new_page(locale="pl-PL")  # Jan, in his own browser: the only place is taken
    other.goto(html_link(mail_to(smtpd, "jan.kowalski@powiat.example.org"), "attend"))
    other.get_by_role("button", name="Potwierdzam rejestrację").click()
    other.get_by_text("Wszystkie miejsca są zajęte, dlatego Państwa zgłoszenie trafiło na listę oczekujących.",
                      exact=False).wait_for()
    shoot(other, "events-03-waiting-pl")
    assert registrations(db_path) == {"anna.nowak@gmina.example.org": "registered",
                                      "jan.kowalski@powiat.example.org": "waiting"}

    page.goto(html_link(confirmation, "decline"))  # Anna gives her place back from her confirmation mail
    page.get_by_role("button", name="Nie mogę wziąć udziału").click()
    page.get_by_text("Dziękujemy za informację, że nie mogą Państwo wziąć udziału.").wait_for()
    shoot(page, "events-04-declined-pl")
    assert registrations(db_path) == {"anna.nowak@gmina.example.org": "cancelled",
                                      "jan.kowalski@powiat.example.org": "registered"}
    promotion = mail_to(smtpd, "jan.kowalski@powiat.example.org")
    assert promotion["Subject"].startswith("Zwolniło się miejsce dla Państwa")
    assert calendar_of(promotion) is not None


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (run npm ci)")
def test_event_pages_pass_axe(server, browser, smtpd, db_path) -> None:
    base, _ = server
    context = browser.new_context(bypass_csp=True, locale="en-GB")  # bypass_csp only to inject axe
    page = context.new_page()
    checked: dict[str, list[str]] = {}

    def check(name: str) -> None:
        shoot(page, f"axe-events-{name}")
        checked[name] = axe_problems(page)

    page.goto(base + "/events/training")
    check("list-en")
    page.goto(base + "/events/training/CZ?lang=cs")
    check("closed-cs")
    page.goto(base + "/events/training/PL?lang=el")
    check("session-el")
    page.goto(base + "/events/training/PL")
    page.get_by_role("button", name="Register").click()  # empty form: errors announced
    page.get_by_role("alert").wait_for()
    check("register-errors-en")
    page.get_by_label("Email address").fill("lena.berg@kommun.example.org")
    page.get_by_label("Name").fill("Lena Berg")
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Register").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    check("check-inbox")
    link = re.search(r"https?://\S+/register/\S+", text_of(smtpd.messages[-1].message()))
    assert link
    page.goto(link.group(0))
    check("confirm-registration")
    page.get_by_role("button", name="Confirm my registration").click()
    page.get_by_text("your place is booked", exact=False).wait_for()
    check("registered")
    assert checked and all(not problems for problems in checked.values()), checked
