"""Row types of the double opt-in: what a sign-up form said, a stored sign-up, and the consent record.

`outreach.db.signups` returns and takes these; `outreach.web` builds them from the form and shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from outreach.models import Kind


@dataclass(frozen=True)
class SignupData:
    """What the subscribe form collected, already validated (or what a stored sign-up says it collected)."""

    email: str
    name: str = ""
    organisation: str = ""
    kind: Kind = Kind.SUBSCRIBER
    country: str | None = None
    language: str | None = None
    topics: tuple[str, ...] = ()
    consent_text: str = ""  # the statement as the person read it, in their language


@dataclass(frozen=True)
class Signup:
    """One row of `signups`: a sign-up waiting for (or past) its confirmation."""

    id: int
    nonce: str
    data: SignupData
    form_version: str | None  # None for a row stored without one
    client: str | None
    created_at: str
    expires_at: str
    confirmed_at: str | None


@dataclass(frozen=True)
class ConsentDetail:
    """The consent record a confirmation leaves on the contact (`contacts.consent_detail`), shown on request."""

    form_version: str
    signup_at: str
    signup_client: str | None
    confirmed_at: str
    confirmed_client: str | None
    consent_text: str
    language: str | None

    def as_dict(self) -> dict[str, str | None]:
        """The stored JSON object, keys in this order (the order the consent records have always had)."""
        return {"form_version": self.form_version, "signup_at": self.signup_at,
                "signup_client": self.signup_client, "confirmed_at": self.confirmed_at,
                "confirmed_client": self.confirmed_client, "consent_text": self.consent_text,
                "language": self.language}
