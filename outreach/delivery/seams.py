"""What delivery needs from the rest of outreach, declared here by the consumer (as listmonk's manager declares
its `Store` and `Messenger`) and handed in by the caller: delivery imports neither campaigns nor tracking.

- `CampaignLike`: what a campaign must offer to be sent (outreach.campaigns.folder.Campaign is one).
- `RecipientLike`: one contact of the audience and the language chosen for them (campaigns.folder.Recipient).
- `VariantSource`: renders a campaign per language × kind (outreach.render.renderer.Renderer).
- `CalendarSource`: a recipient's calendar file (outreach.events.invitations.InvitationCalendars).
- `DeliveryStore`: the durable queue the sender asks for work and tells outcomes (delivery.store.DatabaseStore).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from outreach.contacts.model import Contact
    from outreach.mail.calendar import CalendarPart
    from outreach.mail.message import AttachmentLike
    from outreach.models.deliveries import LockHolder, Outcome, QueuedDelivery
    from outreach.render.renderer import Links, Rendered


class DocumentLike(Protocol):
    """One language's source file of a campaign."""

    @property
    def raw(self) -> bytes: ...


class SessionLike(Protocol):
    """An event session an invitation is for (outreach.events.model.Session is one)."""

    @property
    def code(self) -> str: ...
    @property
    def registration_url(self) -> str: ...


class CampaignLike(Protocol):
    """What delivery reads of a campaign: its identity, its sender, its documents and attachments, and the event
    session a recipient is invited to (for the "I will attend" / "I cannot attend" links)."""

    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def source_language(self) -> str: ...
    @property
    def sender_name(self) -> str: ...
    @property
    def sender_address(self) -> str: ...
    @property
    def reply_to(self) -> str | None: ...
    @property
    def organisation(self) -> str: ...
    @property
    def documents(self) -> Mapping[str, DocumentLike]: ...

    def attachments_for(self, language: str) -> Sequence[AttachmentLike]: ...

    def session_for(self, country: str | None) -> SessionLike | None: ...


class RecipientLike(Protocol):
    """A contact of the audience, the language they get (None when skipped) and why they are skipped."""

    @property
    def contact(self) -> Contact: ...
    @property
    def language(self) -> str | None: ...
    @property
    def fallback(self) -> bool: ...
    @property
    def skip_reason(self) -> str | None: ...


class VariantLike(Protocol):
    """A campaign rendered for one language × kind, filled in per recipient."""

    def render(self, contact: Contact, links: Links) -> Rendered: ...


class VariantSource(Protocol):
    """Builds (once each) the variants of a campaign."""

    def variant(self, language: str, kind: str) -> VariantLike: ...


class CalendarSource(Protocol):
    """The calendar file (if any) a recipient's message carries: an event invitation's session .ics."""

    def for_contact(self, contact: Contact, language: str) -> CalendarPart | None: ...


class SendLock(Protocol):
    """The lock that keeps a second sender off a campaign while this run sends it."""

    @property
    def recovered(self) -> LockHolder | None: ...

    def beat(self) -> None:
        """Tell that this run is alive; raises LockedError when another process took the lock over."""

    def release(self) -> None: ...


class DeliveryStore(Protocol):
    """The durable queue of deliveries, as the sender uses it.

    Writes happen when asked, inside `transaction()` when the sender opens one: a crash between two calls leaves
    what the last commit says (see outreach.delivery.sender for why that is always a state to continue from).
    """

    def lock(self, campaign: str, wait: float) -> SendLock:
        """Take the campaign's send lock, waiting up to `wait` seconds for another sender (LockedError after)."""

    def recover_interrupted(self, campaign: str) -> list[str]:
        """`sending` deliveries left by a dead process become `unknown`; returns their addresses."""

    def requeue_unknown(self, campaign: str) -> int:
        """`unknown` deliveries go back to the queue (`--retry-unknown`); returns how many."""

    def requeue_failed(self, campaign: str, reply_code: str | None) -> int:
        """Failed deliveries of still mailable contacts (whose reply matches the glob) go back to the queue
        (`--retry-failed`); returns how many."""

    def reopen(self, delivery: QueuedDelivery) -> None:
        """A delivery just recorded `failed` goes back to the queue, its attempt not counted."""

    def record_campaign(self, campaign: CampaignLike) -> None:
        """Write or refresh what is kept of the campaign itself (name, source language, content hashes)."""

    def enqueue(self, campaign: str, recipients: Iterable[RecipientLike]) -> int:
        """Queue every sendable recipient without a delivery for this campaign yet; returns how many."""

    def sent_since(self, since: datetime) -> list[datetime]:
        """When each message sent since `since` went (any campaign), for a rate limit's long windows."""

    def count_queued(self, campaign: str) -> int:
        """Queued deliveries this run may send, due now or later."""

    def next_due(self, campaign: str) -> datetime | None:
        """When the earliest deferred delivery may be tried again."""

    def next_queued(self, campaign: str, after: int, limit: int) -> list[QueuedDelivery]:
        """Up to `limit` deliveries due now with an id above `after`, in id order."""

    def is_suppressed(self, email: str) -> bool:
        """Whether the address is on the suppression list (it may have got there since it was queued)."""

    def drop(self, delivery: QueuedDelivery) -> None:
        """Remove a queued delivery whose contact may no longer be mailed."""

    def transaction(self) -> AbstractContextManager[object]:
        """One commit for everything written inside."""

    def mark_sending(self, delivery: QueuedDelivery, message_id: str) -> bool:
        """`queued → sending` (counting the attempt); False when it was not queued any more."""

    def settle(self, delivery: QueuedDelivery, outcome: Outcome) -> None:
        """Record how an attempt ended."""

    def flush(self) -> None:
        """Write what `settle` keeps back to write once per batch (the campaigns' first and last send times)."""
