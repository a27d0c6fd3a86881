"""Helpers shared by the web tests: settings pointing at the SMTP sink, forms with their CSRF token, a real server."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from outreach.config import Settings
from outreach.contacts.model import Contact, get_contact
from outreach.db.schema import open_database

TOPICS = "Reserved contracts,Social clauses,Events"


def web_settings(db_path: Path, tmp_path: Path, smtp_env: dict[str, str] | None = None,
                 public_url: str = "https://news.example.org") -> Settings:
    from conftest import REPO, SECRET

    env = {
        "OUTREACH_DB": str(db_path),
        "OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>",
        "OUTREACH_ORGANISATION": "Buying for Social Impact",
        "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
        "OUTREACH_PUBLIC_URL": public_url,
        "OUTREACH_SECRET_KEY": SECRET,
        "OUTREACH_CAMPAIGNS": str(REPO / "campaigns"),
        "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
        "OUTREACH_OUTBOX": str(tmp_path / "outbox"),
        "OUTREACH_TOPICS": TOPICS,
    }
    env.update(smtp_env or {})
    return Settings.from_env(env)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def form_of(client: Any, path: str, **fields: Any) -> dict[str, Any]:
    """GET `path` (which sets the CSRF cookie) and return `fields` plus the page's CSRF token."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return {"csrf_token": csrf_of(page.text), **fields}


SUBSCRIBER = {"email": "Ana.Kovac@Grad.example.org", "name": "Ana Kovač", "organisation": "Grad Zagreb",
              "kind": "authority", "country": "HR", "language": "hr", "topics": ["Reserved contracts"],
              "consent": "yes"}


def link_in(text: str, kind: str) -> str:
    """The path of the first `/<kind>/<token>` link in a text (a mail body)."""
    match = re.search(r"https?://[^/\s]+(/" + kind + r"/[A-Za-z0-9_.\-]+)", text)
    assert match, f"no /{kind}/ link in: {text[:500]}"
    return match.group(1)


def free_socket() -> socket.socket:
    """A listening socket on 127.0.0.1 at a free port: connections wait in its backlog until the server runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@contextmanager
def running_server(app: Any, sock: socket.socket | None = None, proxies: tuple[str, ...] = ()) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 in a thread, configured as `outreach serve` does (`proxies` as its
    --proxy-headers); yields its base URL. No waiting: the socket listens first."""
    import uvicorn

    from outreach.web.server import server_config

    sock = sock or free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app, proxies=proxies, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def events(db_path: Path, contact_id: int | None = None) -> list[str]:
    """The types of the events stored (for one contact), oldest first."""
    db = open_database(db_path)
    try:
        sql = "SELECT type FROM events" + (" WHERE contact_id = ?" if contact_id else "") + " ORDER BY id"
        return [row[0] for row in db.execute(sql, [contact_id] if contact_id else [])]
    finally:
        db.close()


def contact(db_path: Path, email: str) -> Contact | None:
    """The contact with this address, read from a fresh connection."""
    db = open_database(db_path)
    try:
        return get_contact(db, email)
    finally:
        db.close()
