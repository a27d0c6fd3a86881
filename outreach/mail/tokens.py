"""Signed tokens for the links in emails and on the web pages (itsdangerous).

A token is bound to a purpose (its salt: an unsubscribe token cannot confirm a sign-up), to a contact id and to
a short hash of the address (so a token dies when the address changes or is erased), and expires where that
makes sense. Unsubscribe and preference links never expire: RFC 8058 expects a List-Unsubscribe URL in an old
message to keep working.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from outreach.config import Settings
from outreach.errors import ConfigError, InputError

if TYPE_CHECKING:
    from itsdangerous import URLSafeTimedSerializer

MIN_SECRET_LENGTH = 32


class Purpose(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    PREFERENCES = "preferences"
    CONFIRM = "confirm"  # double opt-in; payload names a sign-up, not a contact
    DATA = "data"  # a fresh link mailed to the address itself: see the data held, or erase it
    BOUNCE = "bounce"  # VERP envelope sender
    ATTEND = "attend"  # "I will attend" in an invitation: names a contact and an event session
    DECLINE = "decline"  # "I cannot attend" (or cancel a place): names a contact and an event session
    REGISTER = "register"  # confirms a registration from the public event page; names a sign-up, like CONFIRM
    CLICK = "click"  # a tracked link: names campaign, link, language, country and kind — never a contact


MAX_AGE: dict[Purpose, int | None] = {
    Purpose.UNSUBSCRIBE: None,
    Purpose.PREFERENCES: None,
    Purpose.CONFIRM: 7 * 24 * 3600,
    Purpose.DATA: 3600,  # short: it shows personal data and can erase it
    Purpose.BOUNCE: None,
    # An invitation's answer links live as long as an invitation matters; the session's deadline decides earlier.
    Purpose.ATTEND: 400 * 24 * 3600,
    Purpose.DECLINE: 400 * 24 * 3600,
    Purpose.REGISTER: 7 * 24 * 3600,
    Purpose.CLICK: None,  # a link in an old message keeps leading where it led
}


class TokenError(InputError):
    """A link that is forged, damaged, expired or meant for something else; `expired` tells the last apart."""

    def __init__(self, message: str, hint: str | None = None, *, expired: bool = False) -> None:
        super().__init__(message, hint)
        self.expired = expired


def require_secret(settings: Settings) -> str:
    """The secret key, or a ConfigError saying how to make one."""
    key = settings.secret_key
    if not key or len(key) < MIN_SECRET_LENGTH:
        raise ConfigError(
            "OUTREACH_SECRET_KEY is missing or shorter than 32 characters; it signs every link in the emails",
            'Make one with: python -c "import secrets; print(secrets.token_urlsafe(48))" '
            "and put OUTREACH_SECRET_KEY=<that> in .env",
        )
    return key


def email_fingerprint(email: str) -> str:
    """A short hash of an address, bound into tokens so they die with the address."""
    return hashlib.sha256(email.encode("utf-8")).hexdigest()[:12]


def _serializer(secret: str, purpose: Purpose) -> URLSafeTimedSerializer:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret, salt=f"outreach/{purpose.value}")


def make_token(secret: str, purpose: Purpose, payload: dict[str, Any]) -> str:
    """Sign a small JSON payload for one purpose. The token is URL-safe."""
    return str(_serializer(secret, purpose).dumps(payload))


def read_token(secret: str, purpose: Purpose, token: str, max_age: int | None = None) -> dict[str, Any]:
    """The payload of a valid token, or TokenError (forged, damaged, expired, other purpose)."""
    from itsdangerous import BadSignature, SignatureExpired

    age = max_age if max_age is not None else MAX_AGE[purpose]
    try:
        payload = _serializer(secret, purpose).loads(token, max_age=age)
    except SignatureExpired:
        raise TokenError("This link has expired", "Ask for a new one.", expired=True) from None
    except BadSignature:
        raise TokenError("This link is not valid", "Check that the whole link was copied.") from None
    if not isinstance(payload, dict):
        raise TokenError("This link is not valid")
    return payload


def contact_token(secret: str, purpose: Purpose, contact_id: int, email: str,
                  campaign: str | None = None) -> str:
    """A token naming a contact (and the campaign the link came in, for tracking)."""
    payload: dict[str, Any] = {"c": contact_id, "e": email_fingerprint(email)}
    if campaign:
        payload["k"] = campaign
    return make_token(secret, purpose, payload)


def answer_token(secret: str, purpose: Purpose, email: str, event: str, session: str, *,
                 contact_id: int | None = None, registration_id: int | None = None) -> str:
    """An attend/decline token for one event session, naming a contact (the links of an invitation) or a
    registration (the "I cannot attend" link of a confirmation mail), with the address's fingerprint."""
    payload: dict[str, Any] = {"e": email_fingerprint(email), "v": event, "s": session}
    if contact_id is not None:
        payload["c"] = contact_id
    if registration_id is not None:
        payload["r"] = registration_id
    return make_token(secret, purpose, payload)


def answer_urls(settings: Settings, secret: str, contact_id: int, email: str, event: str,
                session: str) -> tuple[str, str]:
    """The "I will attend" and "I cannot attend" links of one recipient of an invitation for one session."""
    attend = answer_token(secret, Purpose.ATTEND, email, event, session, contact_id=contact_id)
    decline = answer_token(secret, Purpose.DECLINE, email, event, session, contact_id=contact_id)
    return public_link(settings, f"attend/{attend}"), public_link(settings, f"decline/{decline}")


def public_link(settings: Settings, path: str) -> str:
    """An absolute URL on the subscriber pages."""
    return settings.public_url.rstrip("/") + "/" + path.lstrip("/")


def unsubscribe_url(settings: Settings, secret: str, contact_id: int, email: str, campaign: str | None) -> str:
    """The List-Unsubscribe (RFC 8058 one-click) and footer link of a contact, naming the campaign it came in."""
    return public_link(settings, "unsubscribe/" + contact_token(secret, Purpose.UNSUBSCRIBE, contact_id, email,
                                                               campaign))


def preferences_url(settings: Settings, secret: str, contact_id: int, email: str) -> str:
    """The link to a contact's preferences page (languages, topics)."""
    return public_link(settings, "preferences/" + contact_token(secret, Purpose.PREFERENCES, contact_id, email))


def archive_url(settings: Settings, slug: str, language: str) -> str:
    """The web version of a campaign ("view in your browser")."""
    return public_link(settings, f"archive/{quote(slug)}/{quote(language)}")


_CLICK_SALT = f"outreach/{Purpose.CLICK.value}"


@dataclass(frozen=True)
class ClickTarget:
    """What a tracked link names: the campaign, the link it leads to, and the variant it was sent in."""

    campaign: str
    url: str
    language: str
    country: str  # "" when the recipients had no country
    kind: str


def click_url(settings: Settings, secret: str, target: ClickTarget) -> str:
    """The `/l/<token>` link that counts a click on `target.url` and leads there. One per variant, not per person."""
    from itsdangerous import URLSafeSerializer

    payload = {"k": target.campaign, "u": target.url, "l": target.language, "c": target.country, "t": target.kind}
    # Without a timestamp: the same variant gets the same link in every run of a send (and tests compare renders).
    token = URLSafeSerializer(secret, salt=_CLICK_SALT).dumps(payload)
    return public_link(settings, "l/" + str(token))


def read_click(secret: str, token: str) -> ClickTarget:
    """The target of a tracked link; TokenError when the token is forged, damaged or another purpose's."""
    from itsdangerous import BadSignature, URLSafeSerializer

    try:
        payload = URLSafeSerializer(secret, salt=_CLICK_SALT).loads(token)
    except BadSignature:
        raise TokenError("This link is not valid") from None
    if not isinstance(payload, dict):
        raise TokenError("This link is not valid")
    values = [payload.get(key) for key in ("k", "u", "l", "c", "t")]
    if not all(isinstance(value, str) for value in values):
        raise TokenError("This link is not valid")
    target = ClickTarget(*(str(value) for value in values))
    url = target.url
    if not url.lower().startswith(("https://", "http://")) or any(not "!" <= char <= "~" for char in url):
        raise TokenError("This link is not valid")  # only web links in printable ASCII are ever signed
    return target


def _verp_mac(secret: str, delivery_id: int) -> str:
    import hmac

    digest = hmac.new(secret.encode("utf-8"), f"outreach/verp/{delivery_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:10]


def verp_address(secret: str, bounce_address: str, delivery_id: int) -> str:
    """The envelope sender for one delivery: `bounces+<id>-<mac>@domain` (short: a local part holds 64 octets)."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{delivery_id}-{_verp_mac(secret, delivery_id)}@{domain}"


def parse_verp(secret: str, address: str) -> int | None:
    """The delivery id in a VERP address written by `verp_address`, or None if it is not one of ours."""
    local = address.strip().strip("<>").rpartition("@")[0]
    _, plus, tag = local.partition("+")
    delivery, dash, mac = tag.partition("-")
    if not plus or not dash or not delivery.isdigit():
        return None
    import hmac

    return int(delivery) if hmac.compare_digest(mac, _verp_mac(secret, int(delivery))) else None
