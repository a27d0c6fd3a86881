"""RFC 5322 messages: one personalised message per recipient, built fast.

`MessageFactory` is made once per campaign variant (language × kind). It pre-builds everything that is the same
for every recipient — the constant header block, the MIME boundaries and part headers, the attachments already
base64-encoded — so that per recipient only To, Subject, Date, Message-ID, List-Unsubscribe and the two personal
bodies are encoded and joined. `benchmarks/reference_mail.py` builds the same message the straightforward way
with `email.message.EmailMessage` (the benchmarks' baseline); a test proves both parse back to the same headers and
parts.

Every header value goes through `outreach.mail.headers` (`clean_header_value`), so a CR, LF, NUL or other line
break in a name, an organisation or a subject can never start a header of its own.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, cast

from outreach.errors import InputError
from outreach.mail.calendar import CalendarPart
from outreach.mail.headers import (
    HEADER_WIDTH,
    address_domain,
    clean_header_value,
    encode_address_header,
    encode_unstructured,
    format_date,
    list_phrase,
    list_unsubscribe_value,
    mime_param,
)

CRLF = b"\r\n"


class AttachmentLike(Protocol):
    """A file to attach (campaigns.folder.Attachment is one)."""

    @property
    def filename(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def content_type(self) -> str: ...


@dataclass(frozen=True)
class RelatedPart:
    """An image the HTML shows from inside the message (`<img src="cid:CONTENT_ID">`), e.g. the EU emblem."""

    content_id: str  # without angle brackets
    content_type: str
    filename: str
    data: bytes


def make_message_id(domain: str, *parts: str | int) -> str:
    """A Message-ID on the sender's domain: `<parts.random@domain>` (the parts help find a delivery again)."""
    stem = ".".join(re.sub(r"[^A-Za-z0-9-]", "-", str(part)) for part in parts if str(part))
    return f"<{stem + '.' if stem else ''}{secrets.token_hex(6)}@{domain}>"


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
        return CRLF.join(cast("list[bytes]", out))  # every None was filled in above


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
    """What a variant's messages share: sender, Reply-To, list identity, the unsubscribe mailbox, language.

    `transactional` marks mail sent in answer to a request (the web pages' confirmation mails): it carries
    `Auto-Submitted: auto-generated` (RFC 3834, so auto-responders stay quiet) and none of the List-* headers.
    """

    name: str
    address: str
    reply_to: str | None = None
    list_name: str = ""
    list_id: str = ""  # e.g. "news.bsi.example.org"; default derived from the sender
    unsubscribe_mailto: str | None = None
    language: str | None = None
    transactional: bool = False

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
    """What differs per recipient (`unsubscribe_url` is not used in transactional mail)."""

    to_name: str
    to_address: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str
    message_id: str
    date: datetime
    calendar: CalendarPart | None = None  # an event's .ics: added as a text/calendar alternative and attachment


def is_utf8(data: bytes) -> bool:
    """Whether `data` is valid UTF-8 (a text attachment is declared as such only then)."""
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

    def __init__(self, sender: SenderInfo, attachments: Sequence[AttachmentLike] = (),
                 related: Sequence[RelatedPart] = ()) -> None:
        self.sender = sender
        self._qp_text, self._qp_html = _QuotedPrintable(), _QuotedPrintable()
        self._subjects: dict[str, bytes] = {}
        token = secrets.token_hex(12)
        self._alt_boundary = f"==alt-{token}=="  # "==" can never occur in quoted-printable or base64 text
        self._mixed_boundary = f"==mixed-{token}==" if attachments else None
        self._attachment_parts = b""
        self._calendar_encoded: tuple[CalendarPart, bytes] | None = None
        self._mailto = sender.unsubscribe_mailto or sender.address

        self._from = (encode_address_header("From", sender.name, sender.address) + "\r\n").encode("ascii")
        head = []
        if sender.reply_to:
            head.append(encode_address_header("Reply-To", "", sender.reply_to))
        if sender.transactional:
            head.append("Auto-Submitted: auto-generated")
        else:
            phrase = list_phrase(sender.list_name)
            head.append(f"List-Id: {phrase + ' ' if phrase else ''}<{sender.effective_list_id}>")
            head.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        if sender.language:
            head.append(f"Content-Language: {clean_header_value(sender.language)}")
        head.append("MIME-Version: 1.0")
        common = "\r\n".join(head) + "\r\n"
        # A message with a calendar file is always multipart/mixed (the .ics also goes as an attachment).
        self._calendar_boundary = self._mixed_boundary or f"==mixed-{token}=="
        self._head_calendar = (common + f'Content-Type: multipart/mixed;\r\n boundary="{self._calendar_boundary}"'
                               + "\r\n\r\n").encode("ascii")
        if self._mixed_boundary:
            head.append(f'Content-Type: multipart/mixed;\r\n boundary="{self._mixed_boundary}"')
        else:
            head.append(f'Content-Type: multipart/alternative;\r\n boundary="{self._alt_boundary}"')
        self._head = ("\r\n".join(head) + "\r\n\r\n").encode("ascii")

        alt = self._alt_boundary.encode("ascii")
        self._text_open = b"--" + alt + b'\r\nContent-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: '
        self._html_open = (b"\r\n--" + alt
                           + b'\r\nContent-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: ')
        self._html_close = b""  # the HTML's images and the end of its multipart/related, when it has images
        self._alt_close = b"\r\n--" + alt + b"--\r\n"
        if related:
            self._wrap_related(token, related)
        if self._mixed_boundary:
            mixed = self._mixed_boundary.encode("ascii")
            self._mixed_open = (b"--" + mixed + b'\r\nContent-Type: multipart/alternative;\r\n boundary="' + alt
                                + b'"\r\n\r\n')
            tail = []
            for attachment in attachments:
                maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition("/")
                data = _read_attachment(attachment)
                # A text attachment without a charset is read as US-ASCII by mail clients (RFC 2046 §4.1.2).
                charset = '; charset="utf-8"' if maintype == "text" and is_utf8(data) else ""
                headers = (f"Content-Type: {maintype}/{subtype or 'octet-stream'}{charset}\r\n"
                           f"Content-Transfer-Encoding: base64\r\n"
                           f"Content-Disposition: attachment{mime_param('filename', attachment.filename)}\r\n")
                tail.append(b"\r\n--" + mixed + b"\r\n" + headers.encode("ascii") + b"\r\n"
                            + _base64_lines(data))
            self._attachment_parts = b"".join(tail)
            self._mixed_tail = self._attachment_parts + b"\r\n--" + mixed + b"--\r\n"

    def _wrap_related(self, token: str, related: Sequence[RelatedPart]) -> None:
        """multipart/alternative { text, multipart/related { html, images } }: the HTML's images travel with it."""
        alt, rel = self._alt_boundary.encode("ascii"), f"==rel-{token}==".encode("ascii")
        self._html_open = (b"\r\n--" + alt + b'\r\nContent-Type: multipart/related;\r\n type="text/html";\r\n'
                           b' boundary="' + rel + b'"\r\n\r\n--' + rel
                           + b'\r\nContent-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: ')
        parts = []
        for part in related:
            headers = (f"Content-Type: {clean_header_value(part.content_type)}\r\n"
                       f"Content-Transfer-Encoding: base64\r\n"
                       f"Content-ID: <{clean_header_value(part.content_id)}>\r\n"
                       f"Content-Disposition: inline{mime_param('filename', part.filename)}\r\n")
            parts.append(b"\r\n--" + rel + b"\r\n" + headers.encode("ascii") + b"\r\n" + _base64_lines(part.data))
        self._html_close = b"".join(parts) + b"\r\n--" + rel + b"--"

    @property
    def cached_lines(self) -> int:
        """How many encoded body lines the factory keeps: about one variant's worth, however many messages."""
        return len(self._qp_text.cache) + len(self._qp_html.cache)

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
        middle = f"Date: {format_date(personal.date)}\r\nMessage-ID: {personal.message_id}\r\n"
        if not self.sender.transactional:
            unsubscribe = list_unsubscribe_value(personal.unsubscribe_url, self._mailto)
            if len(unsubscribe) > HEADER_WIDTH - 18 and ", " in unsubscribe:
                unsubscribe = unsubscribe.replace(", ", ",\r\n ", 1)
            middle += f"List-Unsubscribe: {unsubscribe}\r\n"
        text_cte, text_body = encode_body(personal.text, self._qp_text)
        html_cte, html_body = encode_body(personal.html, self._qp_html)
        parts = [self._from, to.encode("utf-8"), b"\r\n", self._subject(personal.subject), middle.encode("ascii")]
        if personal.calendar is not None:
            return b"".join([*parts, self._head_calendar, *self._calendar_body(personal.calendar, text_cte, text_body,
                                                                              html_cte, html_body)])
        parts.append(self._head)
        if self._mixed_boundary:
            parts.append(self._mixed_open)
        parts += [self._text_open, text_cte, b"\r\n\r\n", text_body,
                  self._html_open, html_cte, b"\r\n\r\n", html_body, self._html_close, self._alt_close]
        if self._mixed_boundary:
            parts.append(self._mixed_tail)
        return b"".join(parts)

    def _calendar_body(self, calendar: CalendarPart, text_cte: bytes, text_body: bytes, html_cte: bytes,
                       html_body: bytes) -> list[bytes]:
        """multipart/mixed: (text | HTML | text/calendar) alternatives, the campaign's attachments, the .ics file.

        The calendar travels twice, as most calendar-sending systems do: as the third alternative (mail clients
        show "add to calendar" / accept buttons from it, RFC 6047 §2.4) and as an `invite.ics` attachment for
        clients that only offer attachments.
        """
        mixed = self._calendar_boundary.encode("ascii")
        alt = self._alt_boundary.encode("ascii")
        method = calendar.method.value.encode("ascii")
        if self._calendar_encoded is None or self._calendar_encoded[0] is not calendar:
            self._calendar_encoded = (calendar, _base64_lines(calendar.data))  # the same file for a whole variant
        data = self._calendar_encoded[1]
        return [b"--" + mixed + b'\r\nContent-Type: multipart/alternative;\r\n boundary="' + alt + b'"\r\n\r\n',
                self._text_open, text_cte, b"\r\n\r\n", text_body, self._html_open, html_cte, b"\r\n\r\n", html_body,
                self._html_close,
                b"\r\n--" + alt + b'\r\nContent-Type: text/calendar; charset="utf-8"; method=' + method
                + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + data, self._alt_close,
                self._attachment_parts,
                b"\r\n--" + mixed + b'\r\nContent-Type: application/ics; name="' + calendar.filename.encode("ascii")
                + b'"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="'
                + calendar.filename.encode("ascii") + b'"\r\n\r\n' + data,
                b"\r\n--" + mixed + b"--\r\n"]
