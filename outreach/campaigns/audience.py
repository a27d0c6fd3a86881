"""Who gets a campaign, and in which language: the contact's own → their country's → the campaign's fallback.

The audience is every active, non-suppressed contact matching the campaign's `[audience]` (and the command
line's filter). A contact the campaign cannot serve (no translation and fallback "skip", or no event in their
country) is still listed, with the reason, so that `send` and `check` can report it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outreach.countries import country_languages
from outreach.db.contacts import iter_mailable
from outreach.db.schema import Database
from outreach.models.contacts import Contact, ContactFilter

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign


def choose_language(campaign: Campaign, contact: Contact) -> tuple[str | None, bool]:
    """(language, is_fallback): the contact's language if written, else their country's, else the fallback."""
    if contact.language and contact.language in campaign.documents:
        return contact.language, False
    for language in country_languages(contact.country or ""):
        if language in campaign.documents:
            return language, False
    if campaign.fallback == "source":
        return campaign.source_language, True
    return None, True


@dataclass(frozen=True)
class Recipient:
    """A contact of the audience and the language they will get (None, with a reason, when skipped)."""

    contact: Contact
    language: str | None
    fallback: bool
    skip_reason: str | None


def recipient_for(campaign: Campaign, contact: Contact) -> Recipient:
    """Decide language, fallback and skipping for one contact."""
    language, fallback = choose_language(campaign, contact)
    if language is None:
        wanted = contact.language or "/".join(country_languages(contact.country or "")) or "unknown"
        return Recipient(contact, None, True, f"no {wanted} translation and the campaign's fallback is skip")
    if campaign.event and campaign.session_for(contact.country) is None:
        return Recipient(contact, None, fallback, f"no [events.{contact.country or '?'}] for the contact's country")
    return Recipient(contact, language, fallback, None)


def iter_audience(db: Database, campaign: Campaign, extra: ContactFilter | None = None) -> Iterator[Recipient]:
    """Stream, by contact id, the active, non-suppressed contacts matching the campaign's audience and `extra`.

    Skipped contacts are included (language None and a reason) so that `send` and `check` can report them.
    """
    for contact in iter_mailable(db, campaign.audience, extra):
        yield recipient_for(campaign, contact)
