"""DKIM signatures (RFC 6376) on outgoing messages, with dkimpy, and the check of a key against its record.

An expert whose organisation lets them sign sets OUTREACH_DKIM_KEY (a PEM RSA private key, PKCS#1 or PKCS#8),
OUTREACH_DKIM_SELECTOR and, when it is not the sender's domain, OUTREACH_DKIM_DOMAIN. Every message is then signed
over the headers a receiver and RFC 8058 care about (From, Subject, Date, Message-ID, List-Unsubscribe,
List-Unsubscribe-Post …), relaxed/relaxed so that a relay re-folding a header does not break it.

Before a send, `check_key` compares the key with the selector's published record (OUTREACH_DKIM_RECORD, or DNS)
and signs a probe message that dkimpy verifies back against that record: a key that does not match its record
would make every signature fail at the receivers, so it stops the send before the first message.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outreach.config import Settings
from outreach.errors import ConfigError

# The header fields signed, in this order. A field a message lacks is still listed: the signature then says it was
# absent, so it cannot be added on the way (RFC 6376 §5.4). From is listed twice (over-signed) for the same reason.
SIGNED_HEADERS = ("From", "From", "Sender", "Reply-To", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                  "Content-Type", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted")
CANONICALIZATION = (b"relaxed", b"relaxed")
MAX_KEY_BYTES = 64 * 1024

RecordLookup = Callable[[str], str | None]


@dataclass(frozen=True)
class DkimKey:
    """A private key with the selector and domain it signs for."""

    selector: str
    domain: str
    pem: bytes
    path: Path

    @property
    def record_name(self) -> str:
        """The DNS name of the public record: `<selector>._domainkey.<domain>`."""
        return f"{self.selector}._domainkey.{self.domain}"

    def public_numbers(self) -> tuple[int, int]:
        """(modulus, public exponent) of the key."""
        from dkim.crypto import parse_pem_private_key

        numbers: dict[str, Any] = parse_pem_private_key(self.pem)
        return int(numbers["modulus"]), int(numbers["publicExponent"])

    def record(self) -> str:
        """The TXT record to publish at `record_name` for this key."""
        modulus, exponent = self.public_numbers()
        return f"v=DKIM1; k=rsa; p={base64.b64encode(_spki(modulus, exponent)).decode('ascii')}"


class DkimSigner:
    """Signs whole messages (bytes in, bytes out): the DKIM-Signature header goes on top."""

    def __init__(self, key: DkimKey) -> None:
        self.key = key
        self._selector = key.selector.encode("ascii")
        self._domain = key.domain.encode("ascii")

    def sign(self, message: bytes) -> bytes:
        import dkim

        header: bytes = dkim.sign(message, self._selector, self._domain, self.key.pem,
                                  canonicalize=CANONICALIZATION, include_headers=[h.encode() for h in SIGNED_HEADERS])
        return header + message


def load_key(key_path: Path | None, selector: str | None, domain: str | None, sender_address: str) -> DkimKey | None:
    """The configured key (None when DKIM is off), read and parsed now so that a bad key stops before sending."""
    if key_path is None:
        return None
    if not selector:
        raise ConfigError("OUTREACH_DKIM_KEY is set but OUTREACH_DKIM_SELECTOR is not",
                          "Set OUTREACH_DKIM_SELECTOR to the selector your DNS record is published under, e.g. "
                          "OUTREACH_DKIM_SELECTOR=outreach2027 for outreach2027._domainkey.example.org.")
    signing_domain = (domain or sender_address.rpartition("@")[2]).strip().lower().rstrip(".")
    if not signing_domain:
        raise ConfigError("no DKIM domain: OUTREACH_DKIM_DOMAIN is not set and the sender has no domain",
                          "Set OUTREACH_DKIM_DOMAIN, e.g. OUTREACH_DKIM_DOMAIN=example.org.")
    try:
        if key_path.stat().st_size > MAX_KEY_BYTES:
            raise ConfigError(f"OUTREACH_DKIM_KEY {key_path} is larger than {MAX_KEY_BYTES // 1024} KB",
                              "Point it at the PEM private key file itself.")
        pem = key_path.read_bytes()
    except OSError as error:
        raise ConfigError(f"OUTREACH_DKIM_KEY {key_path} cannot be read: {error.strerror}",
                          "Point OUTREACH_DKIM_KEY at the PEM private key file.") from None
    key = DkimKey(selector.strip(), signing_domain, pem, key_path)
    try:
        key.public_numbers()
    except Exception:  # dkimpy raises its own parse errors, IndexError or ValueError on what is not a key
        raise ConfigError(f"OUTREACH_DKIM_KEY {key_path} is not a PEM RSA private key",
                          "Use an RSA key (PKCS#1 'BEGIN RSA PRIVATE KEY' or PKCS#8 'BEGIN PRIVATE KEY'), e.g. "
                          "made with: openssl genrsa -out dkim.pem 2048") from None
    return key


def signer_for(settings: Settings, sender_address: str) -> DkimSigner | None:
    """The signer the settings ask for (None when OUTREACH_DKIM_KEY is not set)."""
    key = load_key(settings.dkim_key, settings.dkim_selector, settings.dkim_domain, sender_address)
    return DkimSigner(key) if key is not None else None


def dns_record(name: str) -> str | None:
    """The TXT record at `name` from DNS (None when there is none or DNS cannot be asked)."""
    try:
        from dkim.dnsplug import get_txt

        found: bytes | None = get_txt(name.encode("ascii"), timeout=5)
    except Exception:  # no resolver, no network, NXDOMAIN: all mean "not found here"
        return None
    return found.decode("ascii", "replace") if found else None


@dataclass(frozen=True)
class KeyCheck:
    """What `check_key` found: where the record came from and the key's size."""

    record_name: str
    source: str
    bits: int


def check_key(key: DkimKey, record: str | None, lookup: RecordLookup = dns_record) -> KeyCheck:
    """Check that `key` matches its public record and that a message it signs verifies; raise ConfigError if not.

    `record` is the record's text when given (OUTREACH_DKIM_RECORD, `dkim check --record`); otherwise it is looked
    up in DNS under the key's record name.
    """
    import dkim

    source = "given record"
    if record is None:
        record, source = lookup(key.record_name), f"DNS {key.record_name}"
    if not record:
        raise ConfigError(f"no DKIM record found for {key.record_name}",
                          f"Publish this TXT record at {key.record_name} (or set OUTREACH_DKIM_RECORD to it if DNS "
                          f"cannot be reached from here):\n  {key.record()}")
    record_bytes = record.strip().strip('"').encode("ascii", "replace")
    try:
        published, bits, _, _ = dkim.evaluate_pk(key.record_name.encode("ascii"), record_bytes)
    except dkim.DKIMException as error:
        raise ConfigError(f"the DKIM record for {key.record_name} ({source}) cannot be read: {error}",
                          f"It should look like: {key.record()}") from None
    if not isinstance(published, dict) or (published.get("modulus"), published.get("publicExponent")) != \
            key.public_numbers():
        raise ConfigError(f"the DKIM key {key.path} does not match the record for {key.record_name} ({source})",
                          f"Receivers would reject every signature. Use the key the record was made from, or "
                          f"publish this record for the key:\n  {key.record()}")
    probe = DkimSigner(key).sign(_probe_message(key.domain))
    if not dkim.verify(probe, dnsfunc=lambda name, timeout=5: record_bytes):
        raise ConfigError(f"a message signed with {key.path} does not verify against {key.record_name} ({source})",
                          "Check the record's k= and p= values.")
    return KeyCheck(key.record_name, source, int(bits))


def _probe_message(domain: str) -> bytes:
    return (f"From: outreach <dkim-check@{domain}>\r\nTo: <dkim-check@{domain}>\r\n"
            f"Subject: DKIM check\r\nDate: Mon, 01 Mar 2027 09:00:00 +0000\r\n"
            f"Message-ID: <dkim-check@{domain}>\r\nList-Unsubscribe: <https://{domain}/u>\r\n"
            f"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nDKIM check.\r\n").encode("ascii")


# --- the public key as X.509 SubjectPublicKeyInfo (what a DKIM record's p= holds) ----------------------------------

_RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")  # OID 1.2.840.113549.1.1.1


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _der_integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))  # +1 byte keeps the sign bit clear


def _spki(modulus: int, exponent: int) -> bytes:
    rsa_public_key = _der(0x30, _der_integer(modulus) + _der_integer(exponent))
    algorithm = _der(0x30, _der(0x06, _RSA_ENCRYPTION) + _der(0x05, b""))
    return _der(0x30, algorithm + _der(0x03, b"\x00" + rsa_public_key))
