"""Bounce, complaint and auto-reply detection: pure functions over `email.message.Message`.

`analyse(message)` says what an inbound message is — a hard or soft bounce (with the failed recipients, the DSN
status and diagnostic, and the original Message-ID), a spam complaint (ARF, RFC 5965), an auto-reply (RFC 3834,
out-of-office) or none of these — and never raises: a mailbox is full of strange mail, and one odd message must
not stop a run. Matching a result to a delivery and changing contacts is `outreach.tracking.events`'s job.

The order matters: DSNs themselves carry `Auto-Submitted: auto-replied` (Postfix, Gmail, Exim), so reports are
recognised before auto-replies, and only then flufl.bounce's heuristics read the non-standard formats.
"""

from __future__ import annotations

import email
import email.header
import re
from dataclasses import dataclass, field, replace
from email.message import Message
from email.parser import HeaderParser
from email.utils import collapse_rfc2231_value, getaddresses, parseaddr
from enum import StrEnum

from outreach.models import BounceType


class Verdict(StrEnum):
    """What an inbound message turned out to be."""

    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    AUTO_REPLY = "auto-reply"
    NOT_BOUNCE = "not-a-bounce"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class Failure:
    """One recipient a bounce reports as failed."""

    recipient: str
    bounce_type: BounceType
    status: str = ""  # the enhanced status code, e.g. 5.1.1
    action: str = ""  # failed | delayed (RFC 3464)
    diagnostic: str = ""


@dataclass(frozen=True)
class Analysis:
    """The verdict on one message and everything needed to match it to a delivery."""

    verdict: Verdict
    reason: str
    message_id: str | None = None  # the inbound message's own Message-ID
    original_message_id: str | None = None  # the Message-ID of the message we sent
    failures: tuple[Failure, ...] = ()
    complainant: str | None = None  # ARF: the original recipient who pressed "spam"
    envelope_addresses: tuple[str, ...] = ()  # To, Delivered-To, X-Original-To, Return-Path: where a VERP tag is
    sender: str | None = None  # From: the address an unsubscribe mail came from
    subject: str = ""
    defects: tuple[str, ...] = field(default=())


_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MESSAGE_ID_LINE = re.compile(r"^\s*Message-ID:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|mdaemon)$", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|returned mail|mail delivery (failed|failure|subsystem)|"
    r"delivery (failure|has failed)|failure notice|could not be delivered|non[- ]?delivery",
    re.IGNORECASE)
# Out-of-office subjects in the project's languages (the headers of most auto-responders are checked first).
_AUTO_REPLY_SUBJECT = re.compile(
    r"out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|^auto:|away from (the|my) office|"
    r"abwesenheit|automatische antwort|réponse automatique|absence du bureau|risposta automatica|fuori sede|"
    r"respuesta automática|automatisch antwoord|afwezig|automatyczna odpowied|nieobecno|automatické odpověď|"
    r"automatická odpověď|mimo kancelář|automatisk svar|frånvaro|fraværende|automatikus válasz|házon kívül|"
    r"răspuns automat|automatski odgovor|automātiska atbilde|αυτόματη απάντηση|εκτός γραφείου",
    re.IGNORECASE)
_STRUCTURAL_DEFECTS = ("CloseBoundaryNotFoundDefect", "StartBoundaryNotFoundDefect",
                       "MultipartInvariantViolationDefect", "MissingHeaderBodySeparatorDefect",
                       "InvalidMultipartContentTransferEncodingDefect")


def analyse_bytes(data: bytes) -> Analysis:
    """`analyse` over raw bytes; an empty or headerless blob is reported as malformed."""
    if not data.strip():
        return Analysis(Verdict.MALFORMED, "the message is empty")
    try:
        message = email.message_from_bytes(data)  # the lenient compat32 parser, as flufl.bounce expects
    except Exception as error:  # the parser is lenient, but guard against the unforeseen
        return Analysis(Verdict.MALFORMED, f"the message cannot be parsed ({type(error).__name__})")
    if not message.keys():
        return Analysis(Verdict.MALFORMED, "the message has no headers (truncated or not an email)")
    return analyse(message)


def analyse(message: Message) -> Analysis:
    """Classify one inbound message; never raises."""
    try:
        return _analyse(message)
    except Exception as error:  # a broken MIME structure can surprise any parser, ours or flufl's
        return Analysis(Verdict.MALFORMED, f"the message could not be read ({type(error).__name__}: {error})"[:300],
                        message_id=_safe_header(message, "Message-ID"))


def _analyse(message: Message) -> Analysis:
    # What every verdict carries; each return below fills in the verdict, the reason and what it found.
    base = Analysis(Verdict.NOT_BOUNCE, "", message_id=_clean_id(_safe_header(message, "Message-ID")),
                    envelope_addresses=tuple(envelope_addresses(message)),
                    sender=_address(_safe_header(message, "From")),
                    subject=_one_line(_safe_header(message, "Subject") or ""), defects=tuple(_defects(message)))
    report_type = _report_type(message)
    if report_type == "feedback-report":
        complainant, original_id, feedback = _parse_arf(message)
        return replace(base, verdict=Verdict.COMPLAINT, reason=f"spam complaint (ARF, feedback type "
                       f"{feedback or 'abuse'})", complainant=complainant, original_message_id=original_id)
    if report_type == "delivery-status":
        failures, original_id = parse_dsn(message)
        if not failures:
            failures = _flufl_failures(message)
        if failures:
            return _bounce(failures, original_id or _original_id_from_text(message), base)
        if base.defects:
            return replace(base, verdict=Verdict.MALFORMED, original_message_id=original_id,
                           reason="a damaged delivery report (" + ", ".join(base.defects) + ")")
        return replace(base, original_message_id=original_id,
                       reason="a delivery report without failed recipients (delivered or relayed)")
    looks_like_bounce = _looks_like_bounce(message, base.sender, base.subject)
    auto = auto_reply_reason(message)
    if auto and not looks_like_bounce:
        return replace(base, verdict=Verdict.AUTO_REPLY, reason=f"auto-reply ({auto})")
    failures = _flufl_failures(message)
    if failures:
        return _bounce(failures, _original_id_from_text(message), base)
    if auto:
        return replace(base, verdict=Verdict.AUTO_REPLY, reason=f"auto-reply ({auto})")
    if base.defects:
        return replace(base, verdict=Verdict.MALFORMED, reason="a damaged message (" + ", ".join(base.defects) + ")")
    if looks_like_bounce:
        return replace(base, reason="looks like a bounce, but no failed recipient could be read")
    return replace(base, reason="not a bounce: no delivery report or failure notice")


def _bounce(failures: list[Failure], original_id: str | None, base: Analysis) -> Analysis:
    kinds = sorted({f.bounce_type.value for f in failures})
    return replace(base, verdict=Verdict.BOUNCE, reason=f"{'/'.join(kinds)} bounce", original_message_id=original_id,
                   failures=tuple(failures))


def classify_status(status: str, action: str = "") -> BounceType:
    """Hard for a permanent (5.x.x) failure, soft for a transient one (4.x.x, or a `delayed` action)."""
    if status.startswith("4") or (not status.startswith("5") and action.lower() == "delayed"):
        return BounceType.SOFT
    return BounceType.HARD


def parse_dsn(message: Message) -> tuple[list[Failure], str | None]:
    """The failed recipients and the original Message-ID of an RFC 3464 delivery status notification."""
    failures: list[Failure] = []
    original_id: str | None = None
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            for block in _status_blocks(part)[1:]:  # the first block holds the per-message fields
                failure = _failure_from_block(block)
                if failure is not None:
                    failures.append(failure)
        elif ctype in ("text/rfc822-headers", "message/rfc822", "message/rfc822-headers",
                       "message/global", "message/global-headers") and original_id is None:
            original_id = _returned_message_id(part)
    return failures, original_id


def _failure_from_block(block: Message) -> Failure | None:
    action = (block.get("Action") or "").strip().lower()
    if action and action not in ("failed", "delayed"):
        return None  # delivered, relayed, expanded: not a failure
    recipient = _typed_address(block.get("Final-Recipient")) or _typed_address(block.get("Original-Recipient"))
    if not recipient:
        return None
    diagnostic = _one_line(block.get("Diagnostic-Code") or "")
    diagnostic = re.sub(r"^\s*(smtp|x-postfix|x-unix|x-local)\s*;\s*", "", diagnostic, flags=re.IGNORECASE)
    # The Status field, or else the enhanced code the diagnostic quotes.
    found = _STATUS.search((block.get("Status") or "").strip()) or _STATUS.search(diagnostic)
    status = found.group(0) if found else ""
    action = action or "failed"
    return Failure(recipient=recipient, bounce_type=classify_status(status, action), status=status, action=action,
                   diagnostic=diagnostic[:500])


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # A delivery-status body the parser left as text: split it into header blocks ourselves.
    text = payload if isinstance(payload, str) else ""
    blocks = [chunk for chunk in re.split(r"\r?\n\s*\r?\n", text.strip()) if chunk.strip()]
    return [HeaderParser().parsestr(chunk) for chunk in blocks]


def _returned_message_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return _clean_id(payload[0].get("Message-ID"))
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return None
    text = data.decode("utf-8", "replace")
    found = _clean_id(HeaderParser().parsestr(text).get("Message-ID"))
    match = None if found else _MESSAGE_ID_LINE.search(text)
    return found or (match.group(1) if match else None)


def _parse_arf(message: Message) -> tuple[str | None, str | None, str | None]:
    """(original recipient, original Message-ID, feedback type) of an RFC 5965 feedback report."""
    complainant = feedback = original_id = None
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/feedback-report":
            fields: dict[str, str] = {}
            for block in _status_blocks(part):
                for key, value in block.items():
                    fields.setdefault(key.lower(), str(value))
            feedback = fields.get("feedback-type", "").strip() or None
            complainant = _typed_address(fields.get("original-rcpt-to")) or None
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers") and original_id is None:
            original_id = _returned_message_id(part)
            payload = part.get_payload()
            if complainant is None and isinstance(payload, list) and payload and isinstance(payload[0], Message):
                complainant = _address(payload[0].get("To"))
    return complainant, original_id, feedback


def auto_reply_reason(message: Message) -> str | None:
    """Why this looks like an automatic reply (RFC 3834 and the common vendor headers), or None."""
    auto_submitted = (_safe_header(message, "Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Reply"):
        if message.get(name) is not None:
            return f"{name} header"
    precedence = (_safe_header(message, "Precedence") or "").strip().lower()
    if precedence in ("auto_reply", "auto-reply"):
        return f"Precedence: {precedence}"
    if (_safe_header(message, "X-MS-Exchange-Inbox-Rules-Loop") or
            (_safe_header(message, "X-MS-Exchange-Generated-Message-Source") or "").lower().startswith("mailbox")):
        return "Exchange automatic reply"
    subject = _one_line(_safe_header(message, "Subject") or "")
    if _AUTO_REPLY_SUBJECT.search(subject):
        return f"subject {subject[:60]!r}"
    return None


def envelope_addresses(message: Message) -> list[str]:
    """The addresses a bounce was delivered to, where a VERP tag (bounces+<id>-<mac>@…) can be found."""
    found: list[str] = []
    for name in ("Delivered-To", "X-Original-To", "To", "Envelope-To", "X-Envelope-To", "Return-Path"):
        for value in message.get_all(name) or []:
            for _, address in getaddresses([str(value)]):
                if "@" in address and address not in found:
                    found.append(address.strip())
    return found


def _flufl_failures(message: Message) -> list[Failure]:
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a flufl detector choking on an odd message is not our user's problem
        return []
    text = _plain_text(message)
    failures = []
    for raw, bounce_type in [(a, BounceType.SOFT) for a in temporary] + [(a, BounceType.HARD) for a in permanent]:
        address = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        address = address.strip().strip("<>")
        if "@" not in address:
            continue
        status, diagnostic = _status_near(text, address)
        if status and bounce_type == BounceType.HARD:
            bounce_type = classify_status(status)
        failures.append(Failure(recipient=address, bounce_type=bounce_type, status=status,
                                action="failed" if bounce_type == BounceType.HARD else "delayed",
                                diagnostic=diagnostic))
    return failures


def _status_near(text: str, address: str) -> tuple[str, str]:
    """The first SMTP reply (enhanced status code and its line) after the address in a plain-text bounce."""
    index = text.lower().find(address.lower())
    window = text[index:index + 800] if index >= 0 else text[:2000]
    for line in window.splitlines():
        match = _STATUS.search(line)
        if match and not line.lower().lstrip().startswith(("message-id", "date")):
            return match.group(0), _one_line(line)[:500]
    return "", ""


def _plain_text(message: Message) -> str:
    chunks = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                chunks.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(chunks)


def _original_id_from_text(message: Message) -> str | None:
    """The original Message-ID quoted in the body of a plain-text bounce (after its own headers)."""
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            found = _returned_message_id(part)
            if found:
                return found
    match = _MESSAGE_ID_LINE.search(_plain_text(message))
    return match.group(1) if match else None


def _report_type(message: Message) -> str | None:
    for part in message.walk():
        if part.get_content_type() == "multipart/report":
            value = part.get_param("report-type")
            if isinstance(value, tuple):  # an RFC 2231 encoded parameter
                value = collapse_rfc2231_value(value)
            return (value or "").lower() or None
        if part.get_content_type() == "message/feedback-report":
            return "feedback-report"
    return None


def _looks_like_bounce(message: Message, sender: str | None, subject: str) -> bool:
    if message.get("X-Failed-Recipients") is not None:
        return True
    local = (sender or "").partition("@")[0]
    return bool(_DAEMON.match(local)) or bool(_BOUNCE_SUBJECT.search(subject))


def _defects(message: Message) -> list[str]:
    names = []
    for part in message.walk():
        for defect in getattr(part, "defects", []):
            name = type(defect).__name__
            if name in _STRUCTURAL_DEFECTS and name not in names:
                names.append(name)
    return names


def _typed_address(value: object) -> str:
    """`rfc822; user@example.org` → `user@example.org`."""
    if value is None:
        return ""
    text = _one_line(str(value))
    if ";" in text:
        text = text.split(";", 1)[1]
    text = text.strip().strip("<>").strip()
    return text if "@" in text else ""


def _address(value: str | None) -> str | None:
    if not value:
        return None
    address = parseaddr(str(value))[1]
    return address or None


def _clean_id(value: object) -> str | None:
    if value is None:
        return None
    text = _one_line(str(value))
    match = re.search(r"<[^<>\s]+>", text)
    if match:
        return match.group(0)
    return f"<{text}>" if text and " " not in text else None


def _safe_header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
    except Exception:
        return None
    if value is None:
        return None
    text = str(value)
    if "=?" in text:  # RFC 2047 encoded words (Greek, Polish… subjects)
        try:
            text = str(email.header.make_header(email.header.decode_header(text)))
        except Exception:
            pass
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


