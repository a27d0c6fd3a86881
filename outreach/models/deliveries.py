"""The rows of the delivery tables (`deliveries`, `send_locks`) as `outreach.db` hands them in and out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from outreach.models import DeliveryStatus

if TYPE_CHECKING:
    from outreach.models.contacts import Contact


class NewDelivery(NamedTuple):
    """A recipient to queue: one `deliveries` row in the making (a tuple: queued by the ten thousand)."""

    contact_id: int
    email: str
    country: str | None
    kind: str
    language: str


@dataclass(frozen=True, slots=True)
class QueuedDelivery:
    """A `queued` delivery due now, with its contact as stored at the time it was read."""

    id: int
    campaign: str
    contact: Contact
    language: str
    kind: str
    attempts: int  # attempts made so far
    message_id: str | None  # kept from an earlier attempt, so a retry is the same message


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt at a delivery ended, as the queue records it.

    SENT, FAILED and UNKNOWN end the delivery. QUEUED with `retry_at` waits for that time (a 4xx reply);
    QUEUED with `counted` False means nothing left this machine, so the attempt is not counted.
    """

    status: DeliveryStatus
    reply: str | None = None  # the server's reply, or why: kept as `last_reply`
    retry_at: str | None = None
    counted: bool = True
    relay: str | None = None  # the relay that answered (OUTREACH_RELAYS); None with the one relay of OUTREACH_SMTP_*

    @classmethod
    def given_back(cls) -> Outcome:
        """The message never left: the delivery is queued again as if it had not been tried."""
        return cls(DeliveryStatus.QUEUED, counted=False)


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The process holding a campaign's send lock (a `send_locks` row)."""

    owner: str
    host: str
    pid: int
    acquired_at: str
    heartbeat_at: str


@dataclass(frozen=True, slots=True)
class QueueCell:
    """Deliveries of one campaign in one country × language × status."""

    country: str | None
    language: str
    status: DeliveryStatus
    count: int


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """Failed deliveries of a campaign that got the same last reply."""

    reply: str
    count: int


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """A failed delivery whose contact still exists: what `--retry-failed` chooses from."""

    id: int
    email: str
    reply: str  # the last reply, e.g. "530 5.7.0 Authentication required"
    contact_status: str


@dataclass(frozen=True, slots=True)
class UnknownDelivery:
    """A delivery whose fate is unknown: the server may or may not have taken it."""

    email: str | None  # None once the contact was erased
    message_id: str | None
    reply: str


@dataclass(frozen=True, slots=True)
class Retries:
    """Queued deliveries waiting for their next attempt after a temporary refusal."""

    count: int
    next_attempt_at: str | None
