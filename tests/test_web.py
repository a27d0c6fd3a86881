"""The subscriber pages over HTTP: double opt-in, no enumeration, CSRF, tokens, languages, headers, real server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from web_support import SUBSCRIBER, contact, csrf_of, events, form_of, link_in, running_server, web_settings

from outreach.contacts.model import get_contact, insert_contact, is_suppressed
from outreach.db.schema import open_database
from outreach.models import ContactStatus, EventType
from outreach.web import create_app

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def site(db_path: Path, tmp_path: Path, smtpd, clock):
    """(settings, app, client) with mail going to the real aiosmtpd sink."""
    from starlette.testclient import TestClient

    settings = web_settings(db_path, tmp_path, smtpd.env())
    app = create_app(settings, clock=clock)
    with TestClient(app, base_url="https://news.example.org") as client:
        yield settings, app, client


def signups(db_path: Path) -> list[dict]:
    db = open_database(db_path)
    try:
        return [dict(row) for row in db.query("SELECT * FROM signups")]
    finally:
        db.close()


def subscribe(client, **overrides) -> httpx.Response:
    data = form_of(client, "/subscribe", **{**SUBSCRIBER, **overrides})
    return client.post("/subscribe", data=data)


# --- double opt-in ---------------------------------------------------------------------------------------------


def test_subscribe_mails_a_confirmation_and_only_the_post_confirms(site, smtpd, db_path) -> None:
    _, _, client = site
    page = subscribe(client, language="pl")
    assert page.status_code == 200
    assert "ana.kovac@grad.example.org" in page.text
    assert contact(db_path, "ana.kovac@grad.example.org") is None  # nothing before confirmation

    assert len(smtpd.messages) == 1
    received = smtpd.messages[0]
    assert received.rcpt_tos == ["ana.kovac@grad.example.org"]
    message = received.message()
    assert message["Subject"] == "Prosimy o potwierdzenie subskrypcji"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "pl"
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"].addresses[0].display_name == "Ana Kovač"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    path = link_in(text, "confirm")
    assert path in html and "Buying for Social Impact" in text

    shown = client.get(path)  # what a link scanner does: nothing may change
    assert shown.status_code == 200 and 'lang="pl"' in shown.text
    assert contact(db_path, "ana.kovac@grad.example.org") is None

    done = client.post(path, data={"csrf_token": csrf_of(shown.text)})
    assert done.status_code == 200
    assert "Subskrypcja potwierdzona" in done.text
    person = contact(db_path, "ana.kovac@grad.example.org")
    assert person is not None and person.status == ContactStatus.ACTIVE
    assert (person.name, person.organisation, person.kind, person.country, person.language) == (
        "Ana Kovač", "Grad Zagreb", "authority", "HR", "pl")
    assert person.topics == ["Reserved contracts"]
    assert (person.consent_basis, person.consent_source) == ("consent", "web form")
    detail = person.consent_detail
    assert detail["signup_client"] == "testclient" and detail["confirmed_client"] == "testclient"
    assert detail["form_version"] and detail["signup_at"] and detail["confirmed_at"]
    assert "Buying for Social Impact" in detail["consent_text"]
    assert events(db_path, person.id) == [EventType.SUBSCRIBED, EventType.CONFIRMED]


def test_reused_confirmation_link_changes_nothing(site, smtpd, db_path) -> None:
    _, _, client = site
    subscribe(client)
    path = link_in(smtpd.messages[0].message().get_body(("plain",)).get_content(), "confirm")
    token = csrf_of(client.get(path).text)
    assert client.post(path, data={"csrf_token": token}).status_code == 200
    again = client.post(path, data={"csrf_token": token})
    assert again.status_code == 200
    assert len(events(db_path)) == 2
    assert "već potvrđena" in client.get(path).text  # Croatian page: "already confirmed"


def test_forged_and_expired_confirmation_links(site, smtpd, db_path, clock) -> None:
    _, _, client = site
    subscribe(client, language="en")
    path = link_in(smtpd.messages[0].message().get_body(("plain",)).get_content(), "confirm")
    forged = path[:-3] + ("xyz" if not path.endswith("xyz") else "abc")
    assert client.get(forged).status_code == 400
    assert "This link is not valid" in client.post(forged, data={}).text
    assert client.get("/confirm/" + "A" * 40).status_code == 400

    clock.advance(8 * 24 * 3600)  # the sign-up expired: the page says so, and the row is purged
    page = client.get(path)
    assert page.status_code == 410 and "This link has expired" in page.text
    token = form_of(client, "/subscribe")["csrf_token"]
    assert client.post(path, data={"csrf_token": token}).status_code == 410
    assert signups(db_path) == []
    assert contact(db_path, "ana.kovac@grad.example.org") is None


def test_confirmation_needs_the_csrf_token(site, smtpd, db_path) -> None:
    _, _, client = site
    subscribe(client)
    path = link_in(smtpd.messages[0].message().get_body(("plain",)).get_content(), "confirm")
    client.get(path)
    assert client.post(path, data={}).status_code == 403
    assert client.post(path, data={"csrf_token": "forged"}).status_code == 403
    assert contact(db_path, "ana.kovac@grad.example.org") is None


def test_subscribe_refuses_forged_or_missing_csrf(site, smtpd, db_path) -> None:
    from starlette.testclient import TestClient

    _, app, client = site
    response = client.post("/subscribe", data=SUBSCRIBER)  # no token at all
    assert response.status_code == 403
    assert 'role="alert"' in response.text and 'value="Ana Kovač"' in response.text  # values kept
    token = form_of(client, "/subscribe")["csrf_token"]
    with TestClient(app, base_url="https://news.example.org") as other:  # another browser: other cookie
        other.get("/subscribe")
        assert other.post("/subscribe", data={**SUBSCRIBER, "csrf_token": token}).status_code == 403
    assert smtpd.messages == [] and signups(db_path) == []


def test_validation_errors_are_announced_and_linked(site, smtpd) -> None:
    _, _, client = site
    page = subscribe(client, email="not-an-address", consent="", kind="king", country="US", language="xx")
    assert page.status_code == 400
    assert 'role="alert"' in page.text
    for field in ("email", "kind", "country", "language", "consent"):
        assert f'href="#{field}"' in page.text
        assert f'id="{field}-error"' in page.text
    assert 'aria-describedby="email-error" aria-invalid="true"' in page.text
    assert smtpd.messages == []


@pytest.mark.parametrize("field", ["name", "organisation"])
def test_line_breaks_cannot_reach_a_mail_header(site, smtpd, field) -> None:
    _, _, client = site
    page = subscribe(client, **{field: "Ana\r\nBcc: victim@example.com"})
    assert page.status_code == 400 and f'id="{field}-error"' in page.text
    assert smtpd.messages == []


XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_every_field_is_escaped(site, smtpd, db_path) -> None:
    _, _, client = site
    page = subscribe(client, email=XSS + "@example.org", name=XSS, organisation=XSS, kind=XSS, country=XSS,
                     language=XSS, topics=[XSS], consent="")
    assert page.status_code == 400
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert client.get("/subscribe?lang=" + XSS).status_code == 200
    assert "<script>" not in client.get("/subscribe?lang=" + XSS).text

    subscribe(client, name=XSS, organisation=XSS)  # valid otherwise: the mail and the pages escape it
    mail = smtpd.messages[0].message()
    assert "<script>alert(1)" not in mail.get_body(("html",)).get_content()
    path = link_in(mail.get_body(("plain",)).get_content(), "confirm")
    done = client.post(path, data={"csrf_token": csrf_of(client.get(path).text)})
    prefs_path = done.text.split('href="/preferences/')[1].split('"')[0].join(["/preferences/", ""])
    prefs = client.get(prefs_path)
    assert prefs.status_code == 200 and "alert(1)" not in prefs.text  # no personal data on a forwardable page
    client.post(prefs_path + "/data", data={"csrf_token": csrf_of(prefs.text)})  # the data: by a mailed link
    held = client.get(link_in(smtpd.messages[-1].message().get_body(("plain",)).get_content(), "data"))
    assert held.status_code == 200
    assert "<script>alert(1)" not in held.text and "&lt;script&gt;alert(1)" in held.text
    assert contact(db_path, "ana.kovac@grad.example.org").name == XSS  # stored as typed, escaped when shown


# --- no enumeration --------------------------------------------------------------------------------------------


def _comparable(response: httpx.Response) -> tuple[int, str, list[str]]:
    body = response.text
    if 'name="csrf_token"' in body:
        body = body.replace(csrf_of(body), "TOKEN")
    headers = sorted(k for k in response.headers if k not in ("content-length", "set-cookie"))
    return response.status_code, body, headers


def test_known_address_gets_exactly_the_same_page(site, smtpd, db_path, clock) -> None:
    _, _, client = site
    db = open_database(db_path)
    known = insert_contact(db, clock, "known@example.org", {"name": "Jan Novák", "language": "cs"})
    db.close()
    new = subscribe(client, email="new@example.org")
    same = subscribe(client, email="known@example.org")
    assert _comparable(new) == _comparable(same) or (
        _comparable(new)[1].replace("new@example.org", "X") == _comparable(same)[1].replace("known@example.org", "X"))
    # The owner of the active address is told, in their own language, and nothing changed; no sign-up row.
    assert [m.rcpt_tos for m in smtpd.messages] == [["new@example.org"], ["known@example.org"]]
    notice = smtpd.messages[1].message()
    assert notice["Subject"] == "Již jste přihlášeni k odběru"
    assert "/preferences/" in notice.get_body(("plain",)).get_content()
    assert [row["email"] for row in signups(db_path)] == ["new@example.org"]
    assert contact(db_path, "known@example.org").name == "Jan Novák" == known.name


# --- rate limits -----------------------------------------------------------------------------------------------


def test_per_address_limit_answers_the_same_and_mails_nothing(site, smtpd, clock) -> None:
    _, _, client = site
    pages = [subscribe(client) for _ in range(4)]
    assert {page.status_code for page in pages} == {200}
    assert len(smtpd.messages) == 3  # the fourth in a day sends nothing, so the form cannot flood a mailbox
    clock.advance(24 * 3600 + 1)
    subscribe(client)
    assert len(smtpd.messages) == 4


def test_per_client_limit(site, smtpd, clock) -> None:
    _, _, client = site
    statuses = [subscribe(client, email=f"person{i}@example.org").status_code for i in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
    last = subscribe(client, email="late@example.org")
    assert last.status_code == 429 and int(last.headers["retry-after"]) > 0
    assert "Too many attempts" in last.text
    clock.advance(3601)
    assert subscribe(client, email="later@example.org").status_code == 200


# --- languages, headers, small routes --------------------------------------------------------------------------


def test_language_from_query_then_accept_language(site) -> None:
    _, _, client = site
    assert 'lang="de"' in client.get("/subscribe", headers={"accept-language": "de-AT,de;q=0.9,en;q=0.5"}).text
    assert 'lang="el"' in client.get("/subscribe", headers={"accept-language": "ja, el;q=0.8"}).text
    assert 'lang="en"' in client.get("/subscribe", headers={"accept-language": "ja"}).text
    page = client.get("/subscribe?lang=lv", headers={"accept-language": "de"})
    assert 'lang="lv"' in page.text and "Abonēt" in page.text
    assert 'href="/subscribe?lang=sk" hreflang="sk" lang="sk">Slovenčina</a>' in page.text
    assert 'aria-current="page">Latviešu</a>' in page.text


@pytest.mark.parametrize("path", ["/subscribe", "/archive/", "/confirm/bad", "/nowhere", "/healthz"])
def test_security_headers_everywhere(site, path) -> None:
    _, _, client = site
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp and "'unsafe-inline'" not in csp
    assert "default-src 'none'" in csp and "style-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_no_open_redirects(site) -> None:
    _, _, client = site
    home = client.get("/?lang=https://evil.example", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "https://news.example.org/subscribe"
    assert (client.get("/?lang=pl", follow_redirects=False).headers["location"]
            == "https://news.example.org/subscribe?lang=pl")
    page = client.get("//evil.example/subscribe")
    assert "//evil.example" not in page.text
    assert client.get("/subscribe?next=https://evil.example", follow_redirects=False).status_code == 200


def test_pages_are_not_cached_and_cookie_is_httponly(site) -> None:
    _, _, client = site
    response = client.get("/subscribe")
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


def test_healthz_and_not_found(site) -> None:
    _, _, client = site
    assert client.get("/healthz").json() == {"status": "ok"}
    missing = client.get("/nowhere?lang=it")
    assert missing.status_code == 404 and "Pagina non trovata" in missing.text


def test_static_css_is_served(site) -> None:
    _, _, client = site
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in css.text


def test_app_refuses_a_short_secret(db_path, tmp_path) -> None:
    from outreach.errors import ConfigError

    settings = web_settings(db_path, tmp_path).with_overrides(secret_key="too-short-for-signing")
    with pytest.raises(ConfigError, match="OUTREACH_SECRET_KEY"):
        create_app(settings)


def test_serve_refuses_without_a_secret(runner) -> None:
    result = runner("serve", env={"OUTREACH_SECRET_KEY": ""})
    assert result.exit_code == 3
    assert "OUTREACH_SECRET_KEY" in result.output and "secrets.token_urlsafe" in result.output


def test_over_a_real_server(db_path, tmp_path, smtpd, clock) -> None:
    """uvicorn on 127.0.0.1: the same app, real sockets, real cookies, the RFC 8058 POST a mail provider sends."""
    # An http public URL: with an https one the CSRF cookie is Secure, and this plain-HTTP client would not send it.
    settings = web_settings(db_path, tmp_path, smtpd.env(), public_url="http://news.example.org")
    # As behind a reverse proxy that passes the Host header: the pages answer only to the public URL's host.
    host = {"host": "news.example.org"}
    with running_server(create_app(settings, clock=clock)) as base, \
            httpx.Client(base_url=base, headers=host) as browser:
        form = browser.get("/subscribe?lang=sv")
        assert form.status_code == 200 and 'lang="sv"' in form.text
        sent = browser.post("/subscribe?lang=sv", data={**SUBSCRIBER, "language": "sv",
                                                        "csrf_token": csrf_of(form.text)})
        assert sent.status_code == 200 and "Kontrollera din inkorg" in sent.text
        path = link_in(smtpd.messages[0].message().get_body(("plain",)).get_content(), "confirm")
        page = browser.get(path)
        assert browser.post(path, data={"csrf_token": csrf_of(page.text)}).status_code == 200
        person = contact(db_path, SUBSCRIBER["email"])
        assert person.status == ContactStatus.ACTIVE and person.consent_detail["confirmed_client"] == "127.0.0.1"

        from outreach.mail.tokens import unsubscribe_url

        url = unsubscribe_url(settings, settings.secret_key, person.id, person.email, None)
        one_click = httpx.post(base + url.split("news.example.org", 1)[1], data={"List-Unsubscribe": "One-Click"},
                               headers=host)
        assert one_click.status_code == 200
        assert contact(db_path, SUBSCRIBER["email"]).status == ContactStatus.UNSUBSCRIBED
        assert json.loads(httpx.get(base + "/healthz", headers=host).text) == {"status": "ok"}


def test_suppressed_address_comes_back_only_through_confirmation(site, smtpd, db_path, clock) -> None:
    from outreach.contacts.model import erase

    _, _, client = site
    db = open_database(db_path)
    insert_contact(db, clock, "gone@example.org", {"name": "Gone"})
    erase(db, clock, "gone@example.org")
    db.close()
    subscribe(client, email="gone@example.org")
    db = open_database(db_path)
    assert is_suppressed(db, "gone@example.org") and get_contact(db, "gone@example.org") is None
    db.close()
    path = link_in(smtpd.messages[0].message().get_body(("plain",)).get_content(), "confirm")
    client.post(path, data={"csrf_token": csrf_of(client.get(path).text)})
    db = open_database(db_path)
    assert not is_suppressed(db, "gone@example.org")
    assert get_contact(db, "gone@example.org").status == ContactStatus.ACTIVE
    db.close()


def test_oversized_bodies_and_wrong_methods(site, smtpd) -> None:
    _, _, client = site
    huge = client.post("/subscribe", content=b"email=" + b"x" * 200_000,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413 and smtpd.messages == []
    wrong = client.put("/subscribe?lang=da")
    assert wrong.status_code == 405 and "Anmodningen kan ikke behandles" in wrong.text
    assert wrong.headers["x-content-type-options"] == "nosniff"


def test_web_catalogs_are_complete() -> None:
    from outreach.render.i18n import check_catalogs, missing_report

    statuses = check_catalogs("web")
    assert len(statuses) == 24 and all(s.ok for s in statuses), missing_report(statuses)


@pytest.mark.parametrize("language", ["bg", "es", "cs", "da", "de", "et", "el", "en", "fr", "ga", "hr", "it", "lv",
                                      "lt", "hu", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "fi", "sv"])
def test_every_page_language_is_really_translated(site, language) -> None:
    import re

    _, _, client = site
    page = client.get(f"/subscribe?lang={language}")
    assert f'<html lang="{language}"' in page.text
    heading = re.search(r"<h1>(.*?)</h1>", page.text).group(1)
    label = re.search(r'<label for="email">(.*?) <span', page.text).group(1)
    if language == "en":
        assert (heading, label) == ("Subscribe to the news", "Email address")
    else:
        assert heading != "Subscribe to the news" and label != "Email address"
    error = client.get(f"/confirm/forged?lang={language}")
    assert error.status_code == 400 and (language == "en") == ("This link is not valid" in error.text)


def test_tokens_never_reach_the_access_log() -> None:
    import logging

    from outreach.web.security import TokenRedactingFilter, redact_tokens

    assert redact_tokens("/unsubscribe/eyJjIjo.abc-DEF_1?lang=pl") == "/unsubscribe/…?lang=pl"
    assert redact_tokens("/preferences/eyJ.x/erase") == "/preferences/…/erase"
    assert redact_tokens("/subscribe?lang=pl") == "/subscribe?lang=pl"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/confirm/eyJzIjoiYWJj.ZZ.yy", "1.1", 200), None)
    assert TokenRedactingFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /confirm/… HTTP/1.1" 200'
