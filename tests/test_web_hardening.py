"""Issue 15 on the subscriber pages: the Host header, redirects, security headers on every reply (errors too),
X-Forwarded-For only from a named proxy, and a non-ASCII local part in the confirmation mail."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from web_support import SUBSCRIBER, contact, csrf_of, form_of, link_in, running_server, web_settings

from outreach.web import create_app
from outreach.web.security import PAGE_CSP, allowed_hosts, host_name

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

PUBLIC = "https://news.example.org"


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.fixture
def settings(db_path: Path, tmp_path: Path, smtpd):
    return web_settings(db_path, tmp_path, smtpd.env())


@pytest.fixture
def http_settings(db_path: Path, tmp_path: Path, smtpd):
    """For real uvicorn over plain HTTP: an http public URL, so the CSRF cookie is not `Secure` (an https one
    makes it Secure, and a client speaking plain HTTP rightly never sends it back)."""
    return web_settings(db_path, tmp_path, smtpd.env(), public_url="http://news.example.org")


def raw_request(base: str, request: bytes) -> bytes:
    """Send `request` as typed (no client fixing the Host header) and return the whole answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# --- Host header (issue item 7), over real uvicorn -----------------------------------------------------------


def test_foreign_host_gets_400_and_no_redirect_over_real_uvicorn(settings, clock) -> None:
    """`curl -H 'Host: evil.example' http://127.0.0.1:PORT/confirm/abc/` answered 307 to http://evil.example/…"""
    with running_server(create_app(settings, clock=clock)) as base:
        answer = raw_request(base, b"GET /confirm/abc/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 ")
        assert b"evil.example" not in answer and b"\r\nlocation:" not in head.lower()
        assert b"content-security-policy: default-src 'none'" in head.lower() and b"x-content-type-options" in head
        assert body == b"Invalid host header.\n"

        for host in ("evil.example", "127.0.0.1", "news.example.org.evil.example", "news.example.org@evil.example"):
            response = httpx.get(base + "/subscribe", headers={"host": host})
            assert response.status_code == 400, host
            assert_security_headers(response)
        absolute = raw_request(base, b"GET http://evil.example/confirm/abc/ HTTP/1.1\r\nHost: evil.example\r\n"
                                     b"Connection: close\r\n\r\n")
        assert absolute.startswith(b"HTTP/1.1 400 ") and b"evil.example" not in absolute
        no_host = raw_request(base, b"GET /subscribe HTTP/1.0\r\n\r\n")
        assert no_host.startswith(b"HTTP/1.1 400 ")

        # The public host is served, with or without port, in any case, with a final dot; the slash redirect is
        # built from OUTREACH_PUBLIC_URL, not from the request.
        for host in ("news.example.org", "NEWS.example.org:443", "news.example.org."):
            redirect = httpx.get(base + "/confirm/abc/?lang=pl", headers={"host": host})
            assert redirect.status_code == 307, host
            assert redirect.headers["location"] == PUBLIC + "/confirm/abc?lang=pl"
            assert_security_headers(redirect)


def test_loopback_names_only_for_a_loopback_public_url(db_path, tmp_path, smtpd, clock) -> None:
    """Development (OUTREACH_PUBLIC_URL on loopback) answers to every loopback name; production to none of them,
    unless `outreach serve --allow-host` names one."""
    from starlette.testclient import TestClient

    def status(app, host: str) -> int:
        with TestClient(app, base_url=f"http://{host}") as client:
            return client.get("/healthz").status_code

    dev = web_settings(db_path, tmp_path, smtpd.env(), public_url="http://127.0.0.1:8000")
    dev_app = create_app(dev, clock=clock)
    assert [status(dev_app, h) for h in ("127.0.0.1:8000", "localhost:9000", "[::1]:8000", "evil.example")] == [
        200, 200, 200, 400]
    prod = web_settings(db_path, tmp_path, smtpd.env())
    assert [status(create_app(prod, clock=clock), h) for h in ("news.example.org", "localhost", "127.0.0.1")] == [
        200, 400, 400]
    allowed = create_app(prod, clock=clock, allow_hosts=["127.0.0.1"])
    assert [status(allowed, h) for h in ("127.0.0.1:8000", "localhost", "evil.example")] == [200, 400, 400]


def test_host_names_are_parsed_strictly() -> None:
    assert host_name("News.Example.org:8443") == "news.example.org"
    assert host_name("[::1]:8000") == "::1" and host_name("news.example.org.") == "news.example.org"
    assert host_name("") is None and host_name("evil.example/x") is None and host_name("[::1") is None
    assert allowed_hosts("https://news.example.org/path") == {"news.example.org"}
    assert allowed_hosts("http://localhost:8000") == {"localhost", "127.0.0.1", "::1"}


# --- redirects and security headers on every reply -----------------------------------------------------------


def test_redirects_come_from_the_public_url(settings, clock) -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(settings, clock=clock), base_url=PUBLIC) as client:
        assert client.get("/", follow_redirects=False).headers["location"] == PUBLIC + "/subscribe"
        assert client.get("/archive?lang=de", follow_redirects=False).headers["location"] == (
            PUBLIC + "/archive/?lang=de")
        slash = client.get("/subscribe/", follow_redirects=False)
        assert slash.status_code == 307 and slash.headers["location"] == PUBLIC + "/subscribe"
        # Only a GET is redirected (a POST would be repeated elsewhere); a path no page answers is a 404.
        assert client.post("/confirm/abc/", data={}, follow_redirects=False).status_code == 404
        assert client.get("/nowhere/", follow_redirects=False).status_code == 404
        for path in ("//evil.example/", "/\\evil.example/", "/archive//evil.example"):
            response = client.get(path, follow_redirects=False)
            assert response.headers.get("location", PUBLIC + "/").startswith(PUBLIC + "/"), path


def test_security_headers_on_every_error(settings, clock, smtpd) -> None:
    """400 (bad host), 404, 405, 413 (issue item 10) and 500 carry the same headers as every page."""
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def boom(request):
        raise RuntimeError("a bug")

    app = create_app(settings, clock=clock)
    app.router.routes.append(Route("/boom", boom))
    with TestClient(app, base_url=PUBLIC, raise_server_exceptions=False) as client:
        replies = {
            400: client.get("/subscribe", headers={"host": "evil.example"}),
            404: client.get("/nowhere"),
            405: client.put("/subscribe"),
            413: client.post("/subscribe", content=b"email=" + b"x" * 200_000,
                             headers={"content-type": "application/x-www-form-urlencoded"}),
            500: client.get("/boom?lang=fr"),
        }
        chunked = client.post("/subscribe", content=iter([b"email=" + b"x" * 40_000] * 3),
                              headers={"content-type": "application/x-www-form-urlencoded"})
    for status, response in {**replies, 4130: chunked}.items():
        assert response.status_code == (413 if status == 4130 else status), status
        assert_security_headers(response)
    assert "Une erreur s’est produite" in replies[500].text and 'lang="fr"' in replies[500].text
    assert "a bug" not in replies[500].text and "Traceback" not in replies[500].text
    assert smtpd.messages == []


# --- X-Forwarded-For only from a named proxy (issue item 10) -------------------------------------------------


def sign_up_many(base: str, count: int, forwarded: bool) -> list[int]:
    statuses = []
    with httpx.Client(base_url=base, headers={"host": "news.example.org"}) as browser:
        for i in range(count):
            form = form_of(browser, "/subscribe")
            headers = {"x-forwarded-for": f"203.0.113.{i}"} if forwarded else {}
            statuses.append(browser.post("/subscribe", data={**SUBSCRIBER, "email": f"p{i}@example.org", **form},
                                         headers=headers).status_code)
    return statuses


def test_forwarded_for_is_ignored_without_proxy_headers(http_settings, clock, db_path, smtpd) -> None:
    settings = http_settings
    """A local process could name any client address and so escape the per-client limit."""
    with running_server(create_app(settings, clock=clock)) as base:
        assert sign_up_many(base, 11, forwarded=True) == [200] * 10 + [429]
    path = link_in(smtpd.messages[0].message().get_body(("plain",)).get_content(), "confirm")
    with running_server(create_app(settings, clock=clock)) as base, \
            httpx.Client(base_url=base, headers={"host": "news.example.org"}) as browser:
        page = browser.get(path)
        browser.post(path, data={"csrf_token": csrf_of(page.text)}, headers={"x-forwarded-for": "198.51.100.7"})
    detail = contact(db_path, "p0@example.org").consent_detail
    assert detail["signup_client"] == "127.0.0.1" and detail["confirmed_client"] == "127.0.0.1"


def test_forwarded_for_is_believed_from_the_named_proxy(http_settings, clock, db_path, smtpd) -> None:
    settings = http_settings
    with running_server(create_app(settings, clock=clock), proxies=("127.0.0.1",)) as base:
        assert sign_up_many(base, 11, forwarded=True) == [200] * 11  # eleven clients, each under its limit
    db_signups = [c for c in (contact(db_path, f"p{i}@example.org") for i in range(11)) if c]
    assert db_signups == []  # nothing before confirmation
    path = link_in(smtpd.messages[3].message().get_body(("plain",)).get_content(), "confirm")
    with running_server(create_app(settings, clock=clock), proxies=("127.0.0.1",)) as base, \
            httpx.Client(base_url=base, headers={"host": "news.example.org"}) as browser:
        page = browser.get(path)
        browser.post(path, data={"csrf_token": csrf_of(page.text)}, headers={"x-forwarded-for": "198.51.100.7"})
    detail = contact(db_path, "p3@example.org").consent_detail
    assert (detail["signup_client"], detail["confirmed_client"]) == ("203.0.113.3", "198.51.100.7")


def test_serve_refuses_a_proxy_that_is_not_an_address(runner) -> None:
    result = runner("serve", "--proxy-headers", "127.0.0.1,my-proxy")
    assert result.exit_code == 2
    assert "my-proxy" in result.output and "is not an IP address" in result.output


def test_trusted_proxies_accepts_addresses_and_networks() -> None:
    from outreach.errors import InputError
    from outreach.web.server import trusted_proxies

    assert trusted_proxies(["127.0.0.1, ::1", "10.0.0.0/24"]) == ["127.0.0.1", "::1", "10.0.0.0/24"]
    with pytest.raises(InputError, match="'\\*'"):
        trusted_proxies(["*"])


# --- a non-ASCII local part (issue item 10) ------------------------------------------------------------------


def test_confirmation_to_a_non_ascii_local_part_is_an_smtputf8_message(settings, clock, smtpd, db_path) -> None:
    """The mail to jürgen2@example.org carried `<=?utf-8?q?j=C3=BCrgen2?=@example.org>`: no address at all."""
    from starlette.testclient import TestClient

    with TestClient(create_app(settings, clock=clock), base_url=PUBLIC) as client:
        page = client.post("/subscribe", data=form_of(client, "/subscribe", **{
            **SUBSCRIBER, "email": "jürgen2@example.org", "name": "Jürgen Groß", "language": "de"}))
        assert page.status_code == 200
        received = smtpd.messages[0]
        assert received.rcpt_tos == ["jürgen2@example.org"]
        head = received.data.split(b"\r\n\r\n", 1)[0]
        to_line = next(line for line in head.split(b"\r\n") if line.lower().startswith(b"to:"))
        # The address itself is UTF-8 (RFC 6532), never an encoded word; the display name may be one (RFC 2047
        # allows it in a phrase, and the one message factory writes campaign mail the same way).
        assert to_line.endswith(" <jürgen2@example.org>".encode())
        assert b"=?" not in to_line.rpartition(b"<")[2]
        message = received.message()
        assert str(message["To"]) == "Jürgen Groß <jürgen2@example.org>"
        assert str(message["Subject"]) == "Bitte bestätigen Sie Ihre Anmeldung"
        path = link_in(message.get_body(("plain",)).get_content(), "confirm")
        client.post(path, data={"csrf_token": csrf_of(client.get(path).text)})
    assert contact(db_path, "jürgen2@example.org").status == "active"
    # An ASCII address still gets a plain 7-bit message with the name as an encoded word.
    with TestClient(create_app(settings, clock=clock), base_url=PUBLIC) as client:
        client.post("/subscribe", data=form_of(client, "/subscribe", **{**SUBSCRIBER, "email": "jurgen@example.org",
                                                                       "name": "Jürgen Groß"}))
    assert smtpd.messages[-1].data.isascii()


def test_non_ascii_local_part_without_smtputf8_is_a_clear_503(db_path, tmp_path, clock) -> None:
    """A relay without SMTPUTF8 cannot carry such an address: the page says the mail failed; nothing is garbled."""
    from aiosmtpd.controller import Controller
    from conftest import SinkHandler, Smtpd, free_port
    from starlette.testclient import TestClient

    handler, port = SinkHandler(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        settings = web_settings(db_path, tmp_path, Smtpd("127.0.0.1", port, handler).env())
        with TestClient(create_app(settings, clock=clock), base_url=PUBLIC) as client:
            page = client.post("/subscribe", data=form_of(client, "/subscribe", **{
                **SUBSCRIBER, "email": "jürgen2@example.org", "language": "en"}))
    finally:
        controller.stop()
    assert page.status_code == 503 and "We could not send the email" in page.text
    assert handler.messages == []


def test_every_page_string_is_in_the_catalog() -> None:
    """What the templates and pages ask gettext for exists in the English catalog (so, by test_web, in all 24)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    from outreach.render.i18n import catalog_path

    web = Path(__file__).resolve().parent.parent / "outreach" / "web"
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2")]
    used = {message for _, _, message, _, _ in extract_from_dir(str(web), method_map, keywords={"_": None, "N_": None})
            if isinstance(message, str)}
    with catalog_path("en", "web").open("rb") as handle:
        known = {message.id for message in read_po(handle) if message.id}
    assert used and sorted(used - known) == []


def test_data_tokens_never_reach_the_access_log() -> None:
    from outreach.web.security import redact_tokens

    assert redact_tokens("/data/eyJjIjo.abc-DEF_1/erase?lang=pl") == "/data/…/erase?lang=pl"
