"""RFC 5322 messages: one personalised message per recipient, built fast.

`MessageFactory` is made once per campaign variant (language × kind). It pre-builds everything that is the same
for every recipient — the constant header block, the MIME boundaries and part headers, the attachments already
base64-encoded — so that per recipient only To, Subject, Date, Message-ID, List-Unsubscribe and the two personal
bodies are encoded and joined. `build_reference` builds the same message the straightforward way with
`email.message.EmailMessage`; a test proves both parse back to the same headers and parts.

Every header value goes through `clean_header_value`, so a CR, LF, NUL or other line break in a name, an
organisation or a subject can never start a header of its own.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from outreach.errors import InputError

CRLF = b"\r\n"
# Every character str.splitlines() breaks on, plus the other C0 controls and DEL: none may reach a header.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")
# RFC 5322 atext plus space: a display name made only of these needs no quoting.
_ATEXT_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*")
_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")
_ENCODED_WORD_BYTES = 45  # 60 base64 characters: "=?utf-8?b?" + 60 + "?=" = 72 ≤ 75 (RFC 2047 §2)
HEADER_WIDTH = 78
MAX_NAME = 200  # characters of a display name kept in a header (UTF-8 base64 of 200 Greek letters: 536 chars)


class AttachmentLike(Protocol):
    @property
    def filename(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def content_type(self) -> str: ...


def clean_header_value(value: str | None) -> str:
    """A header value on one line: every run of line breaks and control characters becomes one space."""
    if not value:
        return ""
    cleaned = _BREAKS.sub(" ", value)
    return _SPACES.sub(" ", cleaned).strip()


def header_address(address: str) -> str:
    """An address as it may appear in a header or envelope: checked, with an IDN domain in ASCII (punycode).

    A non-ASCII local part stays UTF-8: such an address can only travel over SMTPUTF8 (RFC 6531), which the
    SMTP transport checks before sending.
    """
    if not _ADDRESS.fullmatch(address or ""):
        raise InputError(f"{address!r} cannot be used as an email address in a message header",
                         "Correct the address of this contact.")
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        import idna

        domain = idna.encode(domain, uts46=True).decode("ascii")
    return f"{local}@{domain}"


def address_domain(address: str) -> str:
    """The (ASCII) domain of an address, e.g. for a Message-ID or a per-domain rate limit."""
    return header_address(address).rpartition("@")[2].lower()


def make_message_id(domain: str, *parts: str | int) -> str:
    """A Message-ID on the sender's domain: `<parts.random@domain>` (the parts help find a delivery again)."""
    stem = ".".join(re.sub(r"[^A-Za-z0-9-]", "-", str(part)) for part in parts if str(part))
    return f"<{stem + '.' if stem else ''}{secrets.token_hex(6)}@{domain}>"


def format_date(moment: datetime) -> str:
    """An RFC 5322 Date value."""
    return format_datetime(moment)


# --- header encoding ------------------------------------------------------------------------------------------


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 base64 encoded-words, each ≤ 75 characters, split only between characters."""
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > _ENCODED_WORD_BYTES and chunk:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    if chunk:
        words.append("".join(chunk))
    return ["=?utf-8?b?" + binascii.b2a_base64(word.encode("utf-8"), newline=False).decode("ascii") + "?="
            for word in words]


def _fold_plain(name: str, value: str) -> str | None:
    """Fold a plain ASCII value at single spaces to lines ≤ 78; None when that cannot be done exactly."""
    if not value.isascii() or "=?" in value or "  " in value or "\t" in value:
        return None
    line = f"{name}: "
    lines: list[str] = []
    for index, word in enumerate(value.split(" ")):
        if len(word) > HEADER_WIDTH - 1:
            return None
        if index == 0:
            line += word
        elif len(line) + 1 + len(word) <= HEADER_WIDTH:
            line += " " + word
        else:
            lines.append(line)
            line = " " + word
    lines.append(line)
    return "\r\n".join(lines)


def encode_unstructured(name: str, value: str) -> str:
    """`Name: value` (without the final CRLF), RFC 2047-encoded when not ASCII, folded to short lines."""
    value = clean_header_value(value)
    plain = _fold_plain(name, value)
    if plain is not None:
        return plain
    return f"{name}: " + "\r\n ".join(_encoded_words(value))


def _one_encoded_word(text: str) -> str:
    # Inside a phrase (a display name) a name stays ONE encoded-word, even past RFC 2047's 75 characters:
    # readers disagree on the space between two encoded-words there (CPython keeps it, RFC 2047 drops it),
    # while every reader decodes a long word. The name is cut at MAX_NAME characters to bound the line.
    data = text[:MAX_NAME].encode("utf-8")
    return "=?utf-8?b?" + binascii.b2a_base64(data, newline=False).decode("ascii") + "?="


def encode_phrase(name: str) -> str:
    """A display name for an address header: bare, quoted or RFC 2047-encoded, as it requires."""
    name = clean_header_value(name)[:MAX_NAME]
    if not name:
        return ""
    if _ATEXT_PHRASE.fullmatch(name) and "=?" not in name:
        return name
    if name.isascii() and "=?" not in name:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _one_encoded_word(name)


def _list_phrase(name: str) -> str:
    # List-Id's phrase (RFC 2919): bare when it is plain atext, else encoded-words (never a quoted string, so
    # that readers that treat the header as unstructured text show the same name).
    name = clean_header_value(name)[:MAX_NAME]
    if _ATEXT_PHRASE.fullmatch(name) and "=?" not in name:
        return name
    return _one_encoded_word(name)


def encode_address_header(name: str, display_name: str, address: str) -> str:
    """`To: Name <address>` (without the final CRLF)."""
    phrase = encode_phrase(display_name)
    mailbox = f"<{header_address(address)}>"
    if not phrase:
        return f"{name}: {mailbox}"
    separator = " " if len(name) + len(phrase.rpartition("\n")[2]) + len(mailbox) < HEADER_WIDTH - 3 else "\r\n "
    return f"{name}: {phrase}{separator}{mailbox}"


def _mime_param(name: str, value: str) -> str:
    """`; name="value"`, or RFC 2231 `name*0*=utf-8''…` continuations for non-ASCII or long values."""
    value = clean_header_value(value)
    if value.isascii() and len(value) < 60 and '"' not in value and "\\" not in value:
        return f';\r\n {name}="{value}"'
    from urllib.parse import quote

    encoded = quote(value.encode("utf-8"), safe="!#$&+-.^_`|~")
    pieces = []
    rest = "utf-8''" + encoded
    while rest:
        cut = 60
        if len(rest) > cut:
            # never split a %XX escape between two continuations
            percent = rest.rfind("%", cut - 2, cut)
            cut = percent if percent != -1 else cut
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return "".join(f";\r\n {name}*{index}*={piece}" for index, piece in enumerate(pieces))


# --- body encoding --------------------------------------------------------------------------------------------


def _normalise_lines(text: str) -> str:
    # Like EmailMessage.set_content: CR, LF and CRLF alike end a line, and the text ends with a line end.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def _base64_lines(data: bytes) -> bytes:
    encoded = binascii.b2a_base64(data, newline=False)
    return CRLF.join([encoded[i:i + 76] for i in range(0, len(encoded), 76)])


class _QuotedPrintable:
    """Quoted-printable with a per-line cache: a rendered variant repeats almost every line for every
    recipient, so only the lines holding personal values are encoded again (binascii's C encoder).

    Use one instance per part of a variant (text, HTML). Only lines seen in two consecutive messages are kept:
    the variant's own lines repeat in every message, while a line holding a name or a signed link does not, so
    the cache holds about one part's lines however many messages are built (caching every new line grew it by
    ~3 lines, ~2 KB, per message). It also stops taking lines at `budget` characters (without clearing: the
    variant's lines are in it by then), in case some personal value repeats in consecutive messages.
    """

    def __init__(self, budget: int = 256 * 1024) -> None:
        self.cache: dict[str, bytes] = {}
        self.room = budget  # characters the cache may still take
        self._last: dict[str, bytes] = {}  # the previous message's uncached lines, encoded

    def encode(self, text: str) -> bytes:
        cache = self.cache
        lines = text.split("\n")
        out = list(map(cache.get, lines))  # the loop stays in C for the lines already seen
        if None in out:
            last = self._last
            fresh: dict[str, bytes] = {}
            index = -1
            for _ in range(out.count(None)):
                index = out.index(None, index + 1)
                line = lines[index]
                encoded = last.get(line)
                if encoded is None:
                    # b2a_qp writes CRLF soft breaks only when its input uses CRLF
                    encoded = binascii.b2a_qp((line + "\r\n").encode("utf-8"))[:-2]
                    fresh[line] = encoded
                elif self.room > len(line):  # in the previous message too: a line of the variant
                    cache[line] = encoded
                    self.room -= len(line) + 1
                out[index] = encoded
            self._last = fresh
        return CRLF.join(out)  # type: ignore[arg-type]


def encode_body(text: str, qp: _QuotedPrintable) -> tuple[bytes, bytes]:
    """(transfer encoding, encoded body) for a UTF-8 text part.

    Mostly-Latin text goes quoted-printable (readable, and spam filters frown on base64 text); text that is
    mostly non-Latin (Greek) goes base64, which is then a third of the size.
    """
    text = _normalise_lines(text)
    if text.isascii():
        return b"quoted-printable", qp.encode(text)
    data = text.encode("utf-8")
    if (len(data) - len(text)) * 4 > len(text):
        return b"base64", _base64_lines(data.replace(b"\n", CRLF))  # canonical text: CRLF line ends
    return b"quoted-printable", qp.encode(text)


# --- messages -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SenderInfo:
    """What a variant's messages share: sender, Reply-To, list identity, the unsubscribe mailbox, language."""

    name: str
    address: str
    reply_to: str | None = None
    list_name: str = ""
    list_id: str = ""  # e.g. "news.bsi.example.org"; default derived from the sender
    unsubscribe_mailto: str | None = None
    language: str | None = None

    @property
    def domain(self) -> str:
        return address_domain(self.address)

    @property
    def effective_list_id(self) -> str:
        if self.list_id:
            return self.list_id
        local = re.sub(r"[^A-Za-z0-9-]", "-", self.address.rpartition("@")[0]) or "list"
        return f"{local}.{self.domain}"


@dataclass(frozen=True)
class Personal:
    """What differs per recipient."""

    to_name: str
    to_address: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str
    message_id: str
    date: datetime


def list_unsubscribe_value(url: str, mailto: str | None) -> str:
    """`<https://…/TOKEN>, <mailto:…?subject=unsubscribe%20TOKEN>` (RFC 2369, the RFC 8058 one-click URL first).

    The mailto subject carries the URL's per-recipient token: a mailed request is applied only with it, since a
    From: address proves nothing (outreach.tracking.events).
    """
    url = clean_header_value(url)
    if any(char in url for char in "<> ,"):
        raise InputError(f"The unsubscribe URL {url!r} is not a plain URL", "Check OUTREACH_PUBLIC_URL.")
    value = f"<{url}>"
    if mailto:
        token = re.sub(r"[^A-Za-z0-9._-]", "", url.rstrip("/").rpartition("/")[2])
        value += f", <mailto:{header_address(mailto)}?subject=unsubscribe%20{token}>"
    return value


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_attachment(attachment: AttachmentLike) -> bytes:
    try:
        return Path(attachment.path).read_bytes()
    except OSError as error:
        raise InputError(f"The attachment {attachment.path} cannot be read ({error.strerror})",
                         "Check the attachments listed in campaign.toml.") from None


class MessageFactory:
    """Builds the bytes of a personalised message fast; one factory per campaign variant."""

    def __init__(self, sender: SenderInfo, attachments: Sequence[AttachmentLike] = ()) -> None:
        self.sender = sender
        self._qp_text, self._qp_html = _QuotedPrintable(), _QuotedPrintable()
        self._subjects: dict[str, bytes] = {}
        token = secrets.token_hex(12)
        self._alt_boundary = f"==alt-{token}=="  # "==" can never occur in quoted-printable or base64 text
        self._mixed_boundary = f"==mixed-{token}==" if attachments else None
        self._mailto = sender.unsubscribe_mailto or sender.address

        self._from = (encode_address_header("From", sender.name, sender.address) + "\r\n").encode("ascii")
        head = []
        if sender.reply_to:
            head.append(encode_address_header("Reply-To", "", sender.reply_to))
        list_phrase = _list_phrase(sender.list_name)
        head.append(f"List-Id: {list_phrase + ' ' if list_phrase else ''}<{sender.effective_list_id}>")
        head.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        if sender.language:
            head.append(f"Content-Language: {clean_header_value(sender.language)}")
        head.append("MIME-Version: 1.0")
        if self._mixed_boundary:
            head.append(f'Content-Type: multipart/mixed;\r\n boundary="{self._mixed_boundary}"')
        else:
            head.append(f'Content-Type: multipart/alternative;\r\n boundary="{self._alt_boundary}"')
        self._head = ("\r\n".join(head) + "\r\n\r\n").encode("ascii")

        alt = self._alt_boundary.encode("ascii")
        self._text_open = b"--" + alt + b'\r\nContent-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: '
        self._html_open = (b"\r\n--" + alt
                           + b'\r\nContent-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: ')
        self._alt_close = b"\r\n--" + alt + b"--\r\n"
        if self._mixed_boundary:
            mixed = self._mixed_boundary.encode("ascii")
            self._mixed_open = (b"--" + mixed + b'\r\nContent-Type: multipart/alternative;\r\n boundary="' + alt
                                + b'"\r\n\r\n')
            tail = []
            for attachment in attachments:
                maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition("/")
                data = _read_attachment(attachment)
                # A text attachment without a charset is read as US-ASCII by mail clients (RFC 2046 §4.1.2).
                charset = '; charset="utf-8"' if maintype == "text" and _is_utf8(data) else ""
                headers = (f"Content-Type: {maintype}/{subtype or 'octet-stream'}{charset}\r\n"
                           f"Content-Transfer-Encoding: base64\r\n"
                           f"Content-Disposition: attachment{_mime_param('filename', attachment.filename)}\r\n")
                tail.append(b"\r\n--" + mixed + b"\r\n" + headers.encode("ascii") + b"\r\n"
                            + _base64_lines(data))
            self._mixed_tail = b"".join(tail) + b"\r\n--" + mixed + b"--\r\n"

    def _subject(self, subject: str) -> bytes:
        encoded = self._subjects.get(subject)
        if encoded is None:
            encoded = (encode_unstructured("Subject", subject) + "\r\n").encode("ascii")
            if len(self._subjects) >= 64:  # a personalised subject differs per recipient: keep few
                self._subjects.clear()
            self._subjects[subject] = encoded
        return encoded

    def build(self, personal: Personal) -> bytes:
        """The complete message (CRLF line ends, no line over 998 octets) for one recipient."""
        to = encode_address_header("To", personal.to_name, personal.to_address)
        unsubscribe = list_unsubscribe_value(personal.unsubscribe_url, self._mailto)
        if len(unsubscribe) > HEADER_WIDTH - 18 and ", " in unsubscribe:
            unsubscribe = unsubscribe.replace(", ", ",\r\n ", 1)
        middle = (f"Date: {format_date(personal.date)}\r\nMessage-ID: {personal.message_id}\r\n"
                  f"List-Unsubscribe: {unsubscribe}\r\n")
        text_cte, text_body = encode_body(personal.text, self._qp_text)
        html_cte, html_body = encode_body(personal.html, self._qp_html)
        parts = [self._from, to.encode("utf-8"), b"\r\n", self._subject(personal.subject), middle.encode("ascii"),
                 self._head]
        if self._mixed_boundary:
            parts.append(self._mixed_open)
        parts += [self._text_open, text_cte, b"\r\n\r\n", text_body,
                  self._html_open, html_cte, b"\r\n\r\n", html_body, self._alt_close]
        if self._mixed_boundary:
            parts.append(self._mixed_tail)
        return b"".join(parts)


def build_reference(sender: SenderInfo, attachments: Sequence[AttachmentLike], personal: Personal) -> bytes:
    """The same message built the straightforward way (EmailMessage); the yardstick for `MessageFactory`.

    Headers are written unfolded (max_line_length=0): CPython 3.11's folder drops the space between some
    encoded-words and RFC 2047-encodes List-Unsubscribe, both wrong. These bytes are only parsed back and
    compared, never sent.
    """
    import email.policy
    from email.headerregistry import Address
    from email.message import EmailMessage

    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(display_name=clean_header_value(sender.name)[:MAX_NAME],
                              addr_spec=header_address(sender.address))
    message["To"] = Address(display_name=clean_header_value(personal.to_name)[:MAX_NAME],
                            addr_spec=header_address(personal.to_address))
    message["Subject"] = clean_header_value(personal.subject)
    message["Date"] = format_date(personal.date)
    message["Message-ID"] = personal.message_id
    if sender.reply_to:
        message["Reply-To"] = header_address(sender.reply_to)
    list_name = clean_header_value(sender.list_name)[:MAX_NAME]
    message["List-Id"] = (f"{list_name} " if list_name else "") + f"<{sender.effective_list_id}>"
    message["List-Unsubscribe"] = list_unsubscribe_value(personal.unsubscribe_url,
                                                         sender.unsubscribe_mailto or sender.address)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(personal.text, charset="utf-8")
    message.add_alternative(personal.html, subtype="html", charset="utf-8")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        data = _read_attachment(attachment)
        params = {"charset": "utf-8"} if maintype == "text" and _is_utf8(data) else None
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=clean_header_value(attachment.filename), params=params)
    if sender.language:  # after the parts: set_content and add_attachment move Content-* headers
        message["Content-Language"] = sender.language
    return message.as_bytes(policy=email.policy.SMTP.clone(max_line_length=0))
