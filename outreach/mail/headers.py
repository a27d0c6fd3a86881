"""Header values for RFC 5322 messages: cleaned to one line, addresses checked (IDN domains in punycode), and
RFC 2047 / RFC 2231 encoded and folded, so that no value — a name, an organisation, a subject — can ever start a
header of its own or break a line limit.
"""

from __future__ import annotations

import binascii
import re
from datetime import datetime
from email.utils import format_datetime

from outreach.errors import InputError

# Every character str.splitlines() breaks on, plus the other C0 controls and DEL: none may reach a header.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")
# RFC 5322 atext plus space: a display name made only of these needs no quoting.
_ATEXT_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*")
_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")
_ENCODED_WORD_BYTES = 45  # 60 base64 characters: "=?utf-8?b?" + 60 + "?=" = 72 ≤ 75 (RFC 2047 §2)
HEADER_WIDTH = 78
MAX_NAME = 200  # characters of a display name kept in a header (UTF-8 base64 of 200 Greek letters: 536 chars)


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


def format_date(moment: datetime) -> str:
    """An RFC 5322 Date value."""
    return format_datetime(moment)


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


def list_phrase(name: str) -> str:
    """List-Id's phrase (RFC 2919): bare when it is plain atext, else encoded-words (never a quoted string, so
    that readers that treat the header as unstructured text show the same name)."""
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


def mime_param(name: str, value: str) -> str:
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
