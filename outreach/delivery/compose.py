"""Personalised message bytes for a campaign: the variants (rendered once each) and a MessageFactory per
variant, plus the two ways of building messages without the queue — `--test-to` and `--dry-run`.

Kept apart from the queue and the sender loop (outreach/delivery.py), which hand these bytes to a transport.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from outreach.clock import Clock
from outreach.config import Settings
from outreach.contacts.model import Contact
from outreach.delivery.ratelimit import RateLimiter
from outreach.delivery.transport import Transport
from outreach.mail.message import MessageFactory, Personal, SenderInfo, address_domain, make_message_id
from outreach.models import Kind


class RecipientLike(Protocol):
    @property
    def contact(self) -> Contact: ...
    @property
    def language(self) -> str | None: ...
    @property
    def fallback(self) -> bool: ...
    @property
    def skip_reason(self) -> str | None: ...


class MessageSource:
    """Personalised message bytes: the campaign's variants (rendered once each) + a MessageFactory per variant."""

    def __init__(self, settings: Settings, campaign: Any, renderer: Any = None, subject_prefix: Callable[
            [str, str], str] | None = None) -> None:
        from outreach.mail.tokens import require_secret

        self.settings = settings
        self.campaign = campaign
        self.secret = require_secret(settings)
        if renderer is None:
            from outreach.render.inline import cached_inliner
            from outreach.render.renderer import Renderer

            # premailer's output kept on disk: most of a variant's cost
            renderer = Renderer(settings, campaign, cached_inliner(settings))
        self.renderer = renderer
        self.subject_prefix = subject_prefix
        self._variants: dict[tuple[str, str], tuple[Any, MessageFactory]] = {}
        self.domain = address_domain(campaign.sender_address)

    def _variant(self, language: str, kind: str) -> tuple[Any, MessageFactory]:
        key = (language, kind)
        found = self._variants.get(key)
        if found is None:
            campaign = self.campaign
            sender = SenderInfo(name=campaign.sender_name, address=campaign.sender_address,
                                reply_to=campaign.reply_to or self.settings.reply_to,
                                list_name=campaign.organisation or campaign.sender_name,
                                unsubscribe_mailto=self.settings.unsubscribe_mailto, language=language)
            found = (self.renderer.variant(language, kind), MessageFactory(sender, campaign.attachments_for(language)))
            self._variants[key] = found
        return found

    def build(self, contact: Contact, language: str, kind: str, message_id: str, date: datetime) -> bytes:
        """Render (fill in the variant) and build the MIME bytes for one contact."""
        from outreach.mail.tokens import archive_url, preferences_url, unsubscribe_url
        from outreach.render.renderer import Links

        variant, factory = self._variant(language, kind)
        slug = self.campaign.slug
        unsubscribe = unsubscribe_url(self.settings, self.secret, contact.id, contact.email, slug)
        links = Links(unsubscribe, preferences_url(self.settings, self.secret, contact.id, contact.email),
                      archive_url(self.settings, slug, language))
        rendered = variant.render(contact, links)
        subject = rendered.subject
        if self.subject_prefix:
            subject = self.subject_prefix(language, kind) + subject
        return factory.build(Personal(contact.name, contact.email, subject, rendered.text, rendered.html,
                                      unsubscribe, message_id, date))

    def message_id(self, delivery_id: int | str) -> str:
        return make_message_id(self.domain, self.campaign.slug, delivery_id)



def send_test(settings: Settings, clock: Clock, campaign: Any, address: str, languages: Iterable[str],
              kinds: Iterable[str], transport: Transport, renderer: Any = None,
              limiter: RateLimiter | None = None) -> list[tuple[str, str, str]]:
    """`--test-to`: one message per language × kind to one address, subject `[TEST lang/kind] …`, not recorded.

    Returns (language, kind, server reply) per message; a refusal raises (it is the one address asked for).
    """
    from outreach.contacts.model import normalize_email

    email = normalize_email(address)
    source = MessageSource(settings, campaign, renderer, subject_prefix=lambda lang, kind: f"[TEST {lang}/{kind}] ")
    results = []
    kinds = list(kinds)
    for language in languages:
        for kind in kinds:
            contact = Contact(id=0, email=email, name="Test", organisation=campaign.organisation, kind=Kind(kind),
                              language=language)
            message = source.build(contact, language, kind, source.message_id(f"test-{language}-{kind}"),
                                   clock.now())
            if limiter:
                limiter.wait()
            results.append((language, kind, transport.send(message, campaign.sender_address, [email])))
    return results


def dry_run(settings: Settings, clock: Clock, campaign: Any, recipients: Iterable[RecipientLike],
            renderer: Any = None) -> tuple[int, int]:
    """Render and build every message the audience would get, touching neither the queue nor a transport.

    Returns (messages built, total bytes); template errors surface here exactly as they would when sending.
    """
    source = MessageSource(settings, campaign, renderer)
    count = size = 0
    for recipient in recipients:
        if recipient.skip_reason or not recipient.language:
            continue
        contact = recipient.contact
        size += len(source.build(contact, recipient.language, contact.kind, source.message_id("dry-run"),
                                 clock.now()))
        count += 1
    return count, size
