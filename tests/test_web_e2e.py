"""End to end in real headless Chromium: subscribe in Polish, confirm from the mail, unsubscribe; axe on every page.

Debian's /usr/bin/chromium driven by playwright (never a downloaded browser); axe-core from node_modules (npm ci).
Screenshots of the pages go to /tmp/outreach-screens/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import contact, free_socket, running_server, web_settings

from outreach.db.schema import open_database
from outreach.mail.tokens import unsubscribe_url
from outreach.models import ContactStatus
from outreach.web import create_app

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = Path("/tmp/outreach-screens")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture
def server(db_path: Path, tmp_path: Path, smtpd, clock) -> Iterator[tuple[str, Any]]:
    """The app on a real uvicorn server whose public URL is itself, so the mailed links lead back to it."""
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = web_settings(db_path, tmp_path, smtpd.env(), public_url=base)
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


def shoot(page: Any, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def mailed_link(smtpd, kind: str) -> str:
    text = smtpd.messages[-1].message().get_body(("plain",)).get_content()
    match = re.search(r"https?://\S+/" + kind + r"/\S+", text)
    assert match, text
    return match.group(0)


def sender_env(settings, smtpd) -> dict[str, str]:
    """The environment of `outreach send` for the same deployment: same public URL, secret and campaigns."""
    return {"OUTREACH_PUBLIC_URL": settings.public_url, "OUTREACH_SECRET_KEY": settings.secret_key,
            "OUTREACH_FROM": settings.sender, "OUTREACH_ORGANISATION": settings.organisation,
            "OUTREACH_POSTAL_ADDRESS": settings.postal_address, "OUTREACH_CAMPAIGNS": str(settings.campaigns_dir),
            "OUTREACH_TEMPLATES": str(settings.templates_dir), **smtpd.env()}


def test_subscribe_confirm_unsubscribe_in_polish(server, browser, smtpd, db_path, runner) -> None:
    base, settings = server
    page = browser.new_page(locale="pl-PL")
    page.goto(base + "/subscribe")  # the browser says Polish: the page is in Polish
    assert page.locator("html").get_attribute("lang") == "pl"
    page.get_by_label("Adres e-mail").fill("Zofia.Wisniewska@Gmina.example.org")
    page.get_by_label("Imię i nazwisko").fill("Zofia Wiśniewska")
    page.get_by_label("Organizacja").fill("Gmina Łódź — Wydział Zamówień Publicznych")
    page.get_by_label("Instytucję zamawiającą").check()
    page.get_by_label("Kraj").select_option("PL")
    page.get_by_label("Język wiadomości").select_option("pl")
    page.get_by_label("Reserved contracts").check()
    page.get_by_label("Zgadzam się").check()
    shoot(page, "01-subscribe-pl")
    page.get_by_role("button", name="Zapisz się").click()

    page.get_by_role("heading", name="Prosimy sprawdzić skrzynkę odbiorczą").wait_for()
    shoot(page, "02-check-inbox-pl")
    assert contact(db_path, "zofia.wisniewska@gmina.example.org") is None
    mail = smtpd.messages[-1].message()
    assert mail["Subject"] == "Prosimy o potwierdzenie subskrypcji"

    page.goto(mailed_link(smtpd, "confirm"))
    page.get_by_role("heading", name="Potwierdzenie subskrypcji").wait_for()
    shoot(page, "03-confirm-pl")
    assert contact(db_path, "zofia.wisniewska@gmina.example.org") is None  # opening the link changed nothing
    page.get_by_role("button", name="Potwierdź").click()
    page.get_by_role("heading", name="Subskrypcja potwierdzona").wait_for()
    shoot(page, "04-confirmed-pl")
    person = contact(db_path, "zofia.wisniewska@gmina.example.org")
    assert person.status == ContactStatus.ACTIVE and person.language == "pl"
    assert person.organisation == "Gmina Łódź — Wydział Zamówień Publicznych"
    assert person.consent_detail["confirmed_client"] == "127.0.0.1"

    # A real campaign goes out through the real sender; its List-Unsubscribe header leads back to the pages.
    result = runner("send", "bsi-awareness", "--yes", env=sender_env(settings, smtpd))
    assert result.exit_code == 0, result.output
    newsletter = smtpd.messages[-1].message()
    assert newsletter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_link = re.search(r"<(http[^>]+)>", newsletter["List-Unsubscribe"]).group(1)
    assert unsubscribe_link.startswith(base + "/unsubscribe/")

    page.goto(base + "/archive/")  # the sent campaign is in the archive, in Polish too
    page.get_by_role("main").get_by_role("link", name="Polski").click()
    assert page.locator("html").get_attribute("lang") == "pl"
    assert "Zofia" not in page.content()
    shoot(page, "07-archive-web-version-pl")

    page.goto(unsubscribe_link)
    page.get_by_role("heading", name="Wypisz się").wait_for()
    shoot(page, "05-unsubscribe-pl")
    assert contact(db_path, person.email).status == ContactStatus.ACTIVE
    page.get_by_role("button", name="Wypisz się").click()
    page.get_by_role("heading", name="Wypisano Państwa z listy").wait_for()
    shoot(page, "06-unsubscribed-pl")
    assert contact(db_path, person.email).status == ContactStatus.UNSUBSCRIBED
    db = open_database(db_path)
    events = [tuple(r) for r in db.execute("SELECT type, campaign FROM events WHERE contact_id = ? ORDER BY id",
                                           [person.id])]
    db.close()
    assert events == [("subscribed", None), ("confirmed", None), ("unsubscribed", "bsi-awareness")]


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_problems(page: Any) -> list[str]:
    """Serious and critical axe-core violations of the current page, as readable lines."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (run npm ci)")
def test_every_page_passes_axe(server, browser, smtpd, db_path) -> None:
    base, settings = server
    # bypass_csp only so that axe can be injected; the pages themselves run no script.
    context = browser.new_context(bypass_csp=True, locale="en-GB")
    page = context.new_page()
    checked: dict[str, list[str]] = {}

    def check(name: str) -> None:
        shoot(page, f"axe-{name}")
        checked[name] = axe_problems(page)

    page.goto(base + "/subscribe?lang=el")
    check("subscribe-el")
    page.keyboard.press("Tab")  # the first stop is the skip link, and it is visible when focused
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate("document.activeElement.getBoundingClientRect().top") >= 0
    page.goto(base + "/subscribe?lang=en")
    page.get_by_role("button", name="Subscribe").click()  # empty form: errors announced
    page.get_by_role("alert").wait_for()
    check("subscribe-errors-en")
    page.get_by_label("Email address").fill("lena.berg@kommun.example.org")
    page.get_by_label("Name").fill("Lena Berg")
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    check("check-inbox")
    page.goto(mailed_link(smtpd, "confirm"))
    check("confirm")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Subscription confirmed").wait_for()
    check("confirmed")
    page.get_by_role("link", name="Change your preferences").click()
    page.get_by_role("heading", name="Your preferences").wait_for()
    check("preferences")
    page.get_by_label("Language of the emails").select_option("sv")
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_role("status").wait_for()
    check("preferences-saved-sv")
    person = contact(db_path, "lena.berg@kommun.example.org")
    assert person.language == "sv"
    page.goto(unsubscribe_url(settings, settings.secret_key, person.id, person.email, None))
    check("unsubscribe-sv")
    page.get_by_role("button", name="Avsluta prenumerationen").click()
    check("unsubscribed-sv")
    page.get_by_role("link", name="Se de uppgifter vi har om dig, eller radera dem").click()
    # The unsubscribe link may have been forwarded: the data only through a fresh link mailed to the address.
    assert "Lena Berg" not in page.content() and "lena.berg@" not in page.content()
    page.get_by_role("button", name="Skicka en länk till mig").click()
    page.get_by_role("heading", name="Kontrollera din inkorg").wait_for()
    check("data-link-sent-sv")
    page.goto(mailed_link(smtpd, "data"))
    assert "Lena Berg" in page.content()
    check("data-sv")
    page.get_by_role("link", name="Radera mina uppgifter").click()
    check("erase-sv")
    page.get_by_role("button", name="Radera mina uppgifter").click()
    page.get_by_role("heading", name="Dina uppgifter har raderats").wait_for()
    check("erased-sv")
    assert contact(db_path, "lena.berg@kommun.example.org") is None
    page.go_back()
    page.go_back()  # the data link of an erased contact
    page.reload()
    check("link-gone-sv")
    page.goto(base + "/archive/?lang=hu")
    check("archive-hu")
    page.goto(base + "/confirm/forged-token?lang=lv")
    check("invalid-link-lv")
    page.goto(base + "/nowhere?lang=ro")
    check("not-found-ro")

    problems = {name: found for name, found in checked.items() if found}
    assert problems == {}, problems
    assert len(checked) == 17
