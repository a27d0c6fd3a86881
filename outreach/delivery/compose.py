"""Personalised message bytes for a campaign: the variants (rendered once each) and a MessageFactory per
variant, plus the two ways of building messages without the queue — `--test-to` and `--dry-run`.

Kept apart from the queue and the sender loop (delivery.sender), which hand these bytes to a transport.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from outreach.clock import Clock
from outreach.config import Settings
from outreach.contacts.model import Contact, normalize_email
from outreach.delivery.ratelimit import Rate, RateLimiter
from outreach.delivery.seams import CalendarSource, CampaignLike, RecipientLike, VariantLike, VariantSource
from outreach.delivery.transport import Transport
from outreach.emblem import related_parts
from outreach.mail.dkim import signer_for
from outreach.mail.headers import address_domain
from outreach.mail.message import MessageFactory, Personal, SenderInfo, make_message_id
from outreach.mail.tokens import (
    answer_urls,
    archive_url,
    preferences_url,
    require_secret,
    unsubscribe_url,
    verp_address,
)
from outreach.models import Kind


class MessageSource:
    """Personalised message bytes: the campaign's variants (rendered once each) + a MessageFactory per variant."""

    def __init__(self, settings: Settings, campaign: CampaignLike, renderer: VariantSource,
                 subject_prefix: Callable[[str, str], str] | None = None,
                 calendars: CalendarSource | None = None) -> None:
        self.settings = settings
        self.calendars = calendars
        self.campaign = campaign
        self.secret = require_secret(settings)
        self.renderer = renderer
        self.subject_prefix = subject_prefix
        self._variants: dict[tuple[str, str], tuple[VariantLike, MessageFactory]] = {}
        self.domain = address_domain(campaign.sender_address)
        self.signer = signer_for(settings, campaign.sender_address)  # DKIM, when OUTREACH_DKIM_KEY is set

    def _variant(self, language: str, kind: str) -> tuple[VariantLike, MessageFactory]:
        key = (language, kind)
        found = self._variants.get(key)
        if found is None:
            campaign = self.campaign
            sender = SenderInfo(name=campaign.sender_name, address=campaign.sender_address,
                                reply_to=campaign.reply_to or self.settings.reply_to,
                                list_name=campaign.organisation or campaign.sender_name,
                                unsubscribe_mailto=self.settings.unsubscribe_mailto, language=language)
            factory = MessageFactory(sender, campaign.attachments_for(language), related_parts(self.settings))
            found = (self.renderer.variant(language, kind), factory)
            self._variants[key] = found
        return found

    def build(self, contact: Contact, language: str, kind: str, message_id: str, date: datetime) -> bytes:
        """Render (fill in the variant) and build the MIME bytes for one contact."""
        from outreach.render.renderer import Links

        variant, factory = self._variant(language, kind)
        slug = self.campaign.slug
        unsubscribe = unsubscribe_url(self.settings, self.secret, contact.id, contact.email, slug)
        links = Links(unsubscribe, preferences_url(self.settings, self.secret, contact.id, contact.email),
                      archive_url(self.settings, slug, language), *self.answer_links(contact))
        rendered = variant.render(contact, links)
        subject = rendered.subject
        if self.subject_prefix:
            subject = self.subject_prefix(language, kind) + subject
        calendar = self.calendars.for_contact(contact, language) if self.calendars else None
        message = factory.build(Personal(contact.name, contact.email, subject, rendered.text, rendered.html,
                                         unsubscribe, message_id, date, calendar))
        return self.signer.sign(message) if self.signer else message

    def answer_links(self, contact: Contact) -> tuple[str, str]:
        """The contact's "I will attend" / "I cannot attend" links when the campaign invites them to a session
        that outreach registers for (no outside `registration_url`); empty otherwise."""
        session = self.campaign.session_for(contact.country)
        if session is None or session.registration_url:
            return "", ""
        return answer_urls(self.settings, self.secret, contact.id, contact.email, self.campaign.slug, session.code)

    def message_id(self, delivery_id: int | str) -> str:
        """A new Message-ID for a delivery (or a test message) of this campaign."""
        return make_message_id(self.domain, self.campaign.slug, delivery_id)

    def envelope_from(self, delivery_id: int) -> str:
        """The envelope sender: a VERP address naming the delivery when OUTREACH_VERP_ADDRESS is set (so that a
        bounce finds its delivery), else the campaign's sender."""
        if self.settings.verp_address:
            return verp_address(self.secret, self.settings.verp_address, delivery_id)
        return self.campaign.sender_address


def send_test(source: MessageSource, clock: Clock, address: str, languages: Iterable[str], kinds: Iterable[str],
              transport: Transport, rates: Sequence[Rate] = (),
              country: str | None = None) -> list[tuple[str, str, str]]:
    """`--test-to`: one message per language × kind to one address, not recorded. Give `source` a subject prefix
    such as `[TEST lang/kind] `; `rates` pace the messages as a send would. `country` places the test reader
    (and so picks the campaign's event session for that country).

    Returns (language, kind, server reply) per message; a refusal raises (it is the one address asked for).
    """
    email = normalize_email(address)
    campaign = source.campaign
    limiter = RateLimiter(clock, rates)
    results = []
    kinds = list(kinds)
    for language in languages:
        for kind in kinds:
            contact = Contact(id=0, email=email, name="Test", organisation=campaign.organisation, kind=Kind(kind),
                              country=country, language=language)
            message = source.build(contact, language, kind, source.message_id(f"test-{language}-{kind}"),
                                   clock.now())
            if limiter:
                limiter.wait()
            results.append((language, kind, transport.send(message, campaign.sender_address, [email])))
    return results


def dry_run(source: MessageSource, clock: Clock, recipients: Iterable[RecipientLike]) -> tuple[int, int]:
    """Render and build every message the audience would get, touching neither the queue nor a transport.

    Returns (messages built, total bytes); template errors surface here exactly as they would when sending.
    """
    count = size = 0
    for recipient in recipients:
        if recipient.skip_reason or not recipient.language:
            continue
        contact = recipient.contact
        size += len(source.build(contact, recipient.language, contact.kind, source.message_id("dry-run"),
                                 clock.now()))
        count += 1
    return count, size
