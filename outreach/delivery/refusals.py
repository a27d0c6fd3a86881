"""Refusals aimed at the sender rather than a recipient: recognised from the SMTP stage and the reply, they stop
a run (a TransportError) instead of failing every recipient one after the other."""

from __future__ import annotations

import re

from outreach.errors import TransportError


class SenderRefused(TransportError):
    """The relay refused the sender, not a recipient: every other recipient would be refused the same way."""

    def __init__(self, message: str, hint: str, code: int, reply: str) -> None:
        super().__init__(message, hint)
        self.code = code
        self.reply = reply


_AUTH = re.compile(r"\b(authentication|authenticate|auth(entication)? required|login)\b|^5\.7\.[08]\b", re.I)
_RELAY = re.compile(r"relay(ing)? (access )?(denied|not (permitted|allowed))|unable to relay|not permitted to "
                    r"relay|relay not permitted", re.I)


def sender_refusal(code: int, reply: str, stage: str, where: str) -> SenderRefused | None:
    """A refusal that is about the sender (the login, the relay's policy, OUTREACH_FROM), or None when it may be
    about the recipient alone: any 5xx at MAIL FROM (it carries nothing but the sender), and at RCPT an
    authentication demand (530, 535) or a relay denial, which no recipient could cause."""
    if not 500 <= code < 600:
        return None
    auth = code in (530, 535) or bool(_AUTH.search(reply))
    relay = bool(_RELAY.search(reply))
    if stage != "mail" and not (code in (530, 535) or relay):
        return None
    message = f"The SMTP server {where} refused the sender at {stage.upper()}: {code} {reply}".rstrip()
    if auth:
        hint = ("The relay wants a login: set OUTREACH_SMTP_USER and OUTREACH_SMTP_PASSWORD (in .env), with "
                "OUTREACH_SMTP_SECURITY=starttls or tls.")
    elif relay:
        hint = ("The relay does not accept mail from this machine or this sender: check the relay's policy "
                "(allowed senders, this machine's address, a login with OUTREACH_SMTP_USER) and OUTREACH_FROM.")
    else:
        hint = ("Check OUTREACH_FROM (the envelope sender, or OUTREACH_VERP) and the relay's policy for it "
                "with your mail administrator.")
    return SenderRefused(message, hint + " Nothing more was sent; the deliveries stay queued for the next run.",
                         code, reply)
