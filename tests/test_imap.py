"""`bounces fetch` against a real (small) IMAP server over TLS on 127.0.0.1: new messages only, then done."""

from __future__ import annotations

import datetime
import re
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _tracking_data import DATA, seed, status_of

from outreach.config import Settings
from outreach.errors import TransportError
from outreach.tracking.events import Outcome, fetch_mailbox

USER, PASSWORD = "bounces@bsi.example.org", "imap-password-123"


@dataclass
class Mail:
    uid: int
    data: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class Store:
    folders: dict[str, list[Mail]] = field(default_factory=lambda: {"INBOX": []})
    move: bool = True
    next_uid: int = 1

    def add(self, data: bytes, *flags: str) -> None:
        self.folders["INBOX"].append(Mail(self.next_uid, data, set(flags)))
        self.next_uid += 1


class Handler(socketserver.StreamRequestHandler):
    """Just enough IMAP4rev1 (RFC 3501) + MOVE (RFC 6851) for imaplib and outreach.tracking.mailboxes."""

    def send(self, line: str | bytes) -> None:
        self.wfile.write((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def handle(self) -> None:
        store: Store = self.server.store  # type: ignore[attr-defined]
        folder = "INBOX"
        self.send("* OK test IMAP ready")
        while line := self.rfile.readline():
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1" + (" MOVE" if store.move else ""))
            elif command == "LOGIN":
                user, password = [a.strip('"') for a in args.split(" ", 1)]
                if (user, password) != (USER, PASSWORD):
                    self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")
                    continue
            elif command == "SELECT":
                folder = args.strip('"')
                self.send(f"* {len(store.folders.get(folder, []))} EXISTS")
            elif command == "CREATE":
                store.folders.setdefault(args.strip('"'), [])
            elif command == "UID":
                self.uid(tag, args, store, folder)
                continue
            elif command == "EXPUNGE":
                store.folders[folder] = [m for m in store.folders[folder] if "\\Deleted" not in m.flags]
            elif command == "LOGOUT":
                self.send("* BYE")
                self.send(f"{tag} OK LOGOUT completed")
                return
            self.send(f"{tag} OK {command} completed")

    def uid(self, tag: str, args: str, store: Store, folder: str) -> None:
        sub, _, rest = args.partition(" ")
        sub = sub.upper()
        mails = store.folders[folder]
        if sub == "SEARCH":
            found = " ".join(str(m.uid) for m in mails if "\\Seen" not in m.flags)
            self.send(f"* SEARCH {found}".rstrip())
        else:
            uid_text, _, more = rest.partition(" ")
            mail = next(m for m in mails if m.uid == int(uid_text))
            if sub == "FETCH":
                self.send(f"* {mails.index(mail) + 1} FETCH (UID {mail.uid} BODY[] {{{len(mail.data)}}}".encode())
                self.wfile.write(mail.data)
                self.send(")")
            elif sub == "STORE":
                mail.flags |= set(re.findall(r"\\\w+", more))
            elif sub in ("MOVE", "COPY"):
                store.folders.setdefault(more.strip('"'), []).append(Mail(mail.uid, mail.data, set(mail.flags)))
                if sub == "MOVE":
                    mails.remove(mail)
        self.send(f"{tag} OK UID {sub} completed")


class TLSServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context: ssl.SSLContext, store: Store) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.context, self.store = context, store

    def get_request(self):  # type: ignore[override]
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True), address


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (subjectAltName IP), made with `cryptography`."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "imap-cert.pem", folder / "imap-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Imap:
    port: int
    store: Store
    cert: Path

    def settings(self, **extra: str) -> Settings:
        return Settings.from_env({"OUTREACH_IMAP_HOST": "127.0.0.1", "OUTREACH_IMAP_PORT": str(self.port),
                                  "OUTREACH_IMAP_USER": USER, "OUTREACH_IMAP_PASSWORD": PASSWORD, **extra})

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture
def imap(tmp_path: Path) -> Iterator[Imap]:
    pytest.importorskip("cryptography")
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    store = Store()
    server = TLSServer(context, store)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Imap(server.server_address[1], store, cert)
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_processes_new_messages_and_flags_them_seen(imap: Imap, db, clock) -> None:
    seed(db, clock)
    imap.store.add((DATA / "postfix_hard.eml").read_bytes())
    imap.store.add((DATA / "exim_hard.eml").read_bytes(), "\\Seen")  # read by a person already: not new
    imap.store.add((DATA / "out_of_office.eml").read_bytes())
    report = fetch_mailbox(db, clock, imap.settings(), ssl_context=imap.client_context())
    assert [r.outcome for r in report.results] == [Outcome.MATCHED, Outcome.IGNORED]
    assert status_of(db, "jan.kowalski@gmina.example.org") == "bounced"
    assert status_of(db, "mette.hansen@kommune.example.net") == "active"
    assert all("\\Seen" in m.flags for m in imap.store.folders["INBOX"])
    assert fetch_mailbox(db, clock, imap.settings(), ssl_context=imap.client_context()).results == []


@pytest.mark.parametrize("move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
def test_fetch_moves_done_messages(imap: Imap, db, clock, move: bool) -> None:
    seed(db, clock)
    imap.store.move = move
    imap.store.add((DATA / "gmail_hard.eml").read_bytes())
    imap.store.add((DATA / "arf_complaint.eml").read_bytes())
    settings = imap.settings(OUTREACH_IMAP_DONE_FOLDER="Processed")
    report = fetch_mailbox(db, clock, settings, ssl_context=imap.client_context())
    assert report.counts()["matched"] == 2
    assert imap.store.folders["INBOX"] == []
    assert len(imap.store.folders["Processed"]) == 2
    assert status_of(db, "anna.svensson@kommun.example.net") == "complained"


def test_wrong_password_and_untrusted_certificate(imap: Imap, db, clock) -> None:
    bad = Settings.from_env({"OUTREACH_IMAP_HOST": "127.0.0.1", "OUTREACH_IMAP_PORT": str(imap.port),
                             "OUTREACH_IMAP_USER": USER, "OUTREACH_IMAP_PASSWORD": "wrong-password"})
    with pytest.raises(TransportError, match="refused the login") as caught:
        fetch_mailbox(db, clock, bad, ssl_context=imap.client_context())
    assert "wrong-password" not in str(caught.value) + (caught.value.hint or "")
    with pytest.raises(TransportError, match="over TLS"):
        fetch_mailbox(db, clock, imap.settings())  # the system trust store does not know our test certificate


def test_cli_fetch(imap: Imap, runner, db_path, monkeypatch) -> None:
    from clock_support import FakeClock

    from outreach.db.schema import open_database

    database = open_database(db_path)
    seed(database, FakeClock())
    database.close()
    imap.store.add((DATA / "exchange_hard.eml").read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(imap.cert))
    env = {"OUTREACH_IMAP_HOST": "127.0.0.1", "OUTREACH_IMAP_PORT": str(imap.port), "OUTREACH_IMAP_USER": USER,
           "OUTREACH_IMAP_PASSWORD": PASSWORD}
    result = runner("bounces", "fetch", env=env)
    assert result.exit_code == 0, result.output
    assert "1 matched" in result.stdout and PASSWORD not in result.output
