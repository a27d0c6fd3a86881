"""How an attempt ends: the transport's answer (a reply, or an exception) turned into what the queue records.

    reply (a parsed 2xx)         → sent
    TemporaryFailure (4xx)       → queued again after a backoff (60 s, 2 min, 4 min… up to an hour);
                                   failed once `max_attempts` attempts were made (a connection lost before the
                                   final dot, twice, is one of these: nothing can have been stored)
    PermanentFailure (5xx)       → failed; 5.1.x at RCPT (no such mailbox) is also a hard bounce
    DeliveryUncertain            → unknown (after the final dot no parsed reply — lost, timed out, unreadable:
                                   the server may hold the message)
    Rerouted                     → queued again, the attempt not counted: its relay was set aside, another takes it
    TransportError               → queued again, the attempt not counted (nothing left this machine); the run stops
                                   — also SenderRefused (5xx at MAIL FROM, login required, relay denied)
    anything else                → unknown (it broke while the message was handed over); the run stops

A pure function of the answer, the attempt number and the time, so that every branch is testable alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from outreach.clock import isoformat
from outreach.delivery.transport import DeliveryUncertain, PermanentFailure, TemporaryFailure
from outreach.errors import OutreachError, TransportError
from outreach.models import DeliveryStatus
from outreach.models.deliveries import Outcome

BACKOFF_BASE = 60.0  # seconds before the first retry of a 4xx; doubles each time
BACKOFF_MAX = 3600.0


class Rerouted(OutreachError):
    """The relay that had the message was set aside (delivery.relays): the delivery goes back to the queue, its
    attempt not counted, and the next pass gives it to another relay."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to record for one attempt, and what else follows from it."""

    outcome: Outcome
    hard_bounce: bool = False  # the mailbox does not exist: the contact is to be marked bounced
    stop: BaseException | None = None  # the run stops (with this error) once the outcome is recorded


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` temporary failures: 60 s, 2 min, 4 min… up to an hour."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2.0 ** max(0, attempts - 1))


def judge(answer: str | BaseException, attempts: int, max_attempts: int, now: datetime) -> Verdict:
    """The verdict on attempt number `attempts` (counting this one) that the transport answered with `answer`."""
    if isinstance(answer, str):
        return Verdict(Outcome(DeliveryStatus.SENT, answer))
    if isinstance(answer, TemporaryFailure):
        reply = f"{answer.code} {answer.reply}"
        if attempts >= max_attempts:
            return Verdict(Outcome(DeliveryStatus.FAILED, f"{reply} (after {attempts} attempts)"))
        retry_at = isoformat(now + timedelta(seconds=backoff(attempts)))
        return Verdict(Outcome(DeliveryStatus.QUEUED, reply, retry_at=retry_at))
    if isinstance(answer, PermanentFailure):
        return Verdict(Outcome(DeliveryStatus.FAILED, f"{answer.code} {answer.reply}"),
                       hard_bounce=answer.no_such_user)
    if isinstance(answer, DeliveryUncertain):
        return Verdict(Outcome(DeliveryStatus.UNKNOWN, answer.message))
    if isinstance(answer, Rerouted):
        return Verdict(Outcome.given_back())
    if isinstance(answer, TransportError):
        return Verdict(Outcome.given_back(), stop=answer)
    return Verdict(Outcome(DeliveryStatus.UNKNOWN, f"interrupted: {type(answer).__name__}"), stop=answer)
