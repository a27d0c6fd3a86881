"""Every subscriber page in all 24 EU languages, over real HTTP (uvicorn on 127.0.0.1), with the EU funding block;
and, in one real headless Chromium session, axe-core on the pages of every language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape
from web_support import SUBSCRIBER, csrf_of, free_socket, running_server, web_settings

from outreach.contacts.model import clean_fields, insert_contact
from outreach.countries import EU_LANGUAGES
from outreach.db.schema import open_database
from outreach.emblem import CONTENT_ID
from outreach.mail.tokens import Purpose, contact_token
from outreach.render.i18n import get_translations
from outreach.web import create_app

AUTHORITY = "EACEA"
REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def served(db_path: Path, tmp_path: Path, smtpd, clock) -> Iterator[tuple[str, dict[str, str]]]:
    """The pages on a real server with OUTREACH_EU_FUNDING on, and the paths of one contact's token pages."""
    from dataclasses import replace

    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = replace(web_settings(db_path, tmp_path, smtpd.env(), public_url=base), eu_funding="co-funded",
                       eu_granting_authority=AUTHORITY)
    db = open_database(db_path)
    person = insert_contact(db, clock, "eva.horvat@grad.example.org",
                            clean_fields({"name": "Eva Horvat", "kind": "authority", "country": "SI"}))
    db.close()
    secret = settings.secret_key or ""
    tokens = {purpose: contact_token(secret, purpose, person.id, person.email)
              for purpose in (Purpose.UNSUBSCRIBE, Purpose.PREFERENCES, Purpose.DATA)}
    paths = {"subscribe": "/subscribe", "archive": "/archive/", "not-found": "/no-such-page",
             "bad-link": "/confirm/forged", "unsubscribe": f"/unsubscribe/{tokens[Purpose.UNSUBSCRIBE]}",
             "preferences": f"/preferences/{tokens[Purpose.PREFERENCES]}", "data": f"/data/{tokens[Purpose.DATA]}",
             "erase": f"/data/{tokens[Purpose.DATA]}/erase"}
    with running_server(create_app(settings, clock=clock), sock):
        yield base, paths


def _web(language: str, msgid: str) -> str:
    return str(get_translations(language, "web").ugettext(msgid))


def test_every_page_in_every_eu_language_with_the_funding_block(served, smtpd) -> None:
    base, paths = served
    english_only = ["Skip to main content", "Past issues", "Co-funded by the European Union"]
    with httpx.Client(base_url=base) as client:
        for language in EU_LANGUAGES:
            statement = str(escape(_web(language, "Co-funded by the European Union")))
            alt = str(escape(_web(language, "Emblem of the European Union")))
            for name, path in paths.items():
                page = client.get(path, params={"lang": language})
                where = f"{name} in {language}"
                assert page.status_code in (200, 400, 404), where
                assert f'<html lang="{language}"' in page.text and page.headers["content-language"] == language, where
                footer = page.text[page.text.index('<footer class="site-footer">'):]
                assert statement in footer and f'alt="{alt}"' in footer, where
                assert 'src="/static/eu-emblem.svg"' in footer and f"{AUTHORITY}" in footer, where
                if language != "en":
                    assert not [s for s in english_only if s in page.text], where
            # the pages offer all 24 languages
            switcher = re.findall(r'hreflang="([a-z]+)"', client.get("/subscribe", params={"lang": language}).text)
            assert switcher == list(EU_LANGUAGES)
        emblem = client.get("/static/eu-emblem.svg")
        assert emblem.status_code == 200 and emblem.headers["content-type"].startswith("image/svg+xml")


def test_the_confirmation_mail_carries_the_emblem_in_every_language(served, smtpd, clock) -> None:
    base, _ = served
    with httpx.Client(base_url=base) as client:
        for number, language in enumerate(EU_LANGUAGES):
            clock.advance(3600)  # one sign-up an hour: the pages' limit on attempts from one client stays quiet
            form = client.get("/subscribe", params={"lang": language})
            data = {**SUBSCRIBER, "email": f"reader{number}@grad.example.org", "language": language,
                    "csrf_token": csrf_of(form.text)}
            sent = client.post("/subscribe", params={"lang": language}, data=data)
            assert sent.status_code == 200 and f'<html lang="{language}"' in sent.text, language
            message = smtpd.messages[-1].message()
            image = next(part for part in message.walk() if part.get_content_type() == "image/png")
            html = message.get_body(("html",)).get_content()
            assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html and CONTENT_ID in image["Content-ID"]
            assert str(escape(_web(language, "Co-funded by the European Union"))) in html, language
            disclaimer = _web(language, "Views and opinions expressed are however those of the author(s) only and "
                                        "do not necessarily reflect those of the European Union or %(authority)s. "
                                        "Neither the European Union nor the granting authority can be held "
                                        "responsible for them.") % {"authority": AUTHORITY}
            assert disclaimer in message.get_body(("plain",)).get_content(), language


def _axe(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists() or not AXE.exists(), reason="needs /usr/bin/chromium and axe-core")
def test_axe_clean_in_every_eu_language(served) -> None:
    """One browser session walks the pages in all 24 languages (with the EU block shown) and runs axe on each."""
    sync_api = pytest.importorskip("playwright.sync_api")
    base, paths = served
    problems: dict[str, list[str]] = {}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox",
                                                                                   "--disable-gpu"])
        try:
            page = browser.new_context(bypass_csp=True).new_page()  # bypass only to inject axe
            for language in EU_LANGUAGES:
                for name in ("subscribe", "preferences", "data"):
                    page.goto(f"{base}{paths[name]}?lang={language}")
                    assert page.locator("html").get_attribute("lang") == language
                    assert page.locator("img.eu-emblem").evaluate("img => img.complete && img.naturalWidth > 0")
                    found = _axe(page)
                    if found:
                        problems[f"{name}-{language}"] = found
        finally:
            browser.close()
    assert problems == {}
