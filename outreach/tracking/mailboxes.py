"""Reading inbound mail: mbox files, Maildir folders, single .eml files, and an IMAP mailbox over TLS.

Readers yield `RawMessage`s — the bytes and where they came from — and never stop at a bad message: a truncated
mbox or a message that cannot be read becomes a RawMessage with a `problem`, reported by the caller while the
rest of the mailbox is processed. What a message means is `outreach.tracking.bounces`' job, what it changes is
`outreach.tracking.events`'s.
"""

from __future__ import annotations

import imaplib
import mailbox
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from outreach.config import Settings
from outreach.errors import ConfigError, InputError, TransportError


@dataclass(frozen=True)
class RawMessage:
    """One message as read, or the problem that kept it from being read."""

    source: str  # "bounces.mbox #3", "Maildir/new/1763…", "imap:INBOX uid 42"
    data: bytes | None
    problem: str | None = None  # unreadable: nothing to analyse
    warning: str | None = None  # read, but something looks wrong (truncated)


def check_paths(paths: Iterable[Path]) -> list[Path]:
    """Every path exists and is readable, or one InputError naming the first that is not — before any write."""
    checked = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path} does not exist", "Give an mbox file, a Maildir folder or .eml files.")
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    handle.read(1)
            except OSError as error:
                raise InputError(f"{path} cannot be read ({error.strerror})", "Check the file's permissions.") \
                    from None
        checked.append(path)
    return checked


def read_paths(paths: Iterable[Path]) -> Iterator[RawMessage]:
    """Every message in the given files and folders, in a stable order."""
    for path in check_paths(paths):
        if path.is_dir():
            if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
                yield from read_maildir(path)
            else:
                files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
                if not files:
                    yield RawMessage(str(path), None, "the folder holds no messages (and is not a Maildir)")
                for file in files:
                    yield from read_file(file)
        else:
            yield from read_file(path)


def read_file(path: Path) -> Iterator[RawMessage]:
    """An mbox (it starts with a `From ` line) or one message (.eml)."""
    try:
        head = path.read_bytes()[:5]
    except OSError as error:
        yield RawMessage(str(path), None, f"cannot be read ({error.strerror})")
        return
    if head == b"From ":
        yield from read_mbox(path)
        return
    try:
        data = path.read_bytes()
    except OSError as error:
        yield RawMessage(str(path), None, f"cannot be read ({error.strerror})")
        return
    if not data.strip():
        yield RawMessage(str(path), None, "the file is empty")
        return
    yield RawMessage(str(path), data)


def read_mbox(path: Path) -> Iterator[RawMessage]:
    """The messages of an mbox file; a file cut off mid-message is flagged on its last message."""
    try:
        box = mailbox.mbox(str(path), create=False)
        keys = list(box.keys())
    except (OSError, mailbox.Error) as error:
        yield RawMessage(str(path), None, f"is not a readable mbox ({error})")
        return
    truncated = _ends_mid_line(path)
    for index, key in enumerate(keys, start=1):
        source = f"{path} #{index}"
        try:
            data = box.get_bytes(key)
        except Exception as error:  # a damaged mbox can fail in many ways; report it and go on
            yield RawMessage(source, None, f"cannot be read ({type(error).__name__}: {error})")
            continue
        warning = None
        if truncated and index == len(keys):
            warning = "the mbox ends in the middle of this message (truncated file?)"
        if not data.strip():
            yield RawMessage(source, None, "an empty message")
            continue
        yield RawMessage(source, data, warning=warning)
    box.close()


def read_maildir(path: Path) -> Iterator[RawMessage]:
    """The messages of a Maildir folder (new and cur), read only: nothing is moved or flagged."""
    box = mailbox.Maildir(str(path), factory=None, create=False)
    for key in sorted(box.keys()):
        source = f"{path}/{key}"
        try:
            data = box.get_bytes(key)
        except Exception as error:  # a file that vanished or cannot be read
            yield RawMessage(source, None, f"cannot be read ({type(error).__name__}: {error})")
            continue
        if not data.strip():
            yield RawMessage(source, None, "an empty message")
            continue
        yield RawMessage(source, data)


def _ends_mid_line(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) != b"\n"


# --- IMAP ------------------------------------------------------------------------------------------------------


def fetch_imap(settings: Settings, handle: Callable[[RawMessage], object], *,
               ssl_context: ssl.SSLContext | None = None) -> int:
    """Process the new (unseen) messages of the IMAP folder, then move each to the done folder or flag it seen.

    `handle` is called with each message and must have committed its work when it returns; only then is the
    message marked done, so a crash in between processes it again next time (harmless: inbound messages are
    keyed). Returns the number of messages handled.
    """
    host, user = settings.imap_host, settings.imap_user
    conn = _connect(settings, ssl_context or ssl.create_default_context())
    try:
        try:
            conn.login(str(user), str(settings.imap_password))
        except imaplib.IMAP4.error:
            raise TransportError(f"The IMAP server {host} refused the login of {user}",
                                 "Check OUTREACH_IMAP_USER and OUTREACH_IMAP_PASSWORD.") from None
        status, _ = conn.select(_quote(settings.imap_folder))
        if status != "OK":
            raise ConfigError(f"The IMAP folder {settings.imap_folder!r} cannot be opened on {host}",
                              "Check OUTREACH_IMAP_FOLDER.")
        return _handle_unseen(conn, settings, handle)
    except (OSError, imaplib.IMAP4.error) as error:
        raise TransportError(f"The IMAP connection to {host} failed ({error})",
                             "Run `outreach bounces fetch` again; messages already handled are not repeated.") \
            from None
    finally:
        try:
            conn.logout()
        except Exception:
            pass


def _connect(settings: Settings, context: ssl.SSLContext) -> imaplib.IMAP4_SSL:
    """An IMAP-over-TLS connection, or a ConfigError / TransportError saying which setting to fix."""
    host, user, password = settings.imap_host, settings.imap_user, settings.imap_password
    missing = [name for name, value in (("OUTREACH_IMAP_HOST", host), ("OUTREACH_IMAP_USER", user),
                                        ("OUTREACH_IMAP_PASSWORD", password)) if not value]
    if missing:
        raise ConfigError(f"{', '.join(missing)} not set", "Put the bounce mailbox's IMAP settings in .env.")
    try:
        return imaplib.IMAP4_SSL(str(host), settings.imap_port, ssl_context=context, timeout=settings.smtp_timeout)
    except (OSError, ssl.SSLError) as error:
        raise TransportError(f"Cannot connect to the IMAP server {host}:{settings.imap_port} over TLS ({error})",
                             "Check OUTREACH_IMAP_HOST and OUTREACH_IMAP_PORT (993 for IMAP over TLS).") from None


def _handle_unseen(conn: imaplib.IMAP4_SSL, settings: Settings, handle: Callable[[RawMessage], object]) -> int:
    """Hand each unseen message of the selected folder to `handle`, then mark it done; how many there were."""
    done = settings.imap_done_folder
    if done:
        conn.create(_quote(done))  # fails harmlessly when it exists
    can_move = "MOVE" in getattr(conn, "capabilities", ())
    status, found = conn.uid("SEARCH", "UNSEEN")
    uids = found[0].split() if status == "OK" and found and found[0] else []
    for uid in uids:
        status, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
        data = next((p[1] for p in parts or [] if isinstance(p, tuple) and len(p) > 1), None)
        source = f"imap:{settings.imap_folder} uid {uid.decode()}"
        handle(RawMessage(source, data) if status == "OK" and data else RawMessage(source, None, "cannot fetch"))
        if done and can_move:
            conn.uid("MOVE", uid, _quote(done))
        elif done:
            conn.uid("COPY", uid, _quote(done))
            conn.uid("STORE", uid, "+FLAGS", "(\\Deleted \\Seen)")
        else:
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    if done and not can_move and uids:
        conn.expunge()
    return len(uids)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
