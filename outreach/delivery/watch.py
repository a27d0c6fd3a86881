"""What a run watches beyond single deliveries: a relay that stopped answering, and refusals that are the
sender's, not the recipients'.

- **Stall**: progress is a delivery decided by a parsed reply of the server (2xx after the final dot, a 4xx or
  5xx refusal). Timeouts, lost connections, the per-message deadline and unreadable replies are trouble. When
  trouble has lasted `OUTREACH_STALL_LIMIT` seconds without any progress, the run stops (`StallError`, exit 3);
  a wait for a retry after a parsed 4xx (greylisting) is not trouble, however long.
- **Refusal streak**: the same permanent refusal (basic and enhanced code) for deliveries to
  `OUTREACH_REFUSAL_STREAK` distinct recipient domains in a row is a refusal of the sender (a relay's policy
  answered at RCPT or DATA): the run stops (`RefusalStreakError`, exit 3) and the streak's deliveries go back
  to the queue. Refusals about one mailbox (5.1.x, 5.2.x) never count: a bad list is not the sender's fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from outreach.clock import Clock
from outreach.delivery.connections import Answer
from outreach.delivery.transport import PermanentFailure, TemporaryFailure
from outreach.errors import TransportError
from outreach.mail.headers import address_domain
from outreach.models import DeliveryStatus
from outreach.models.deliveries import Outcome, QueuedDelivery

_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})\b")


class StallError(TransportError):
    """No delivery was decided by the relay for `OUTREACH_STALL_LIMIT` seconds."""


class RefusalStreakError(TransportError):
    """The same permanent refusal for several recipient domains in a row: aimed at the sender."""

    streak: list[tuple[QueuedDelivery, Outcome]]


def _is_progress(answer: Answer) -> bool:
    if isinstance(answer, str):
        return True
    return isinstance(answer, TemporaryFailure | PermanentFailure) and answer.stage not in ("connect", "local")


def refusal_key(answer: Answer) -> str | None:
    """"550 5.7.1" for a permanent refusal that may be the sender's; None for anything else."""
    if not isinstance(answer, PermanentFailure) or answer.stage == "local" or answer.no_such_user:
        return None
    enhanced = _ENHANCED.match(answer.reply)
    if enhanced and enhanced.group(2) in ("1", "2"):  # addressing / mailbox status: about this recipient
        return None
    return f"{answer.code} {enhanced.group(0) if enhanced else ''}".strip()


@dataclass
class RunWatch:
    """Watches one run's answers; `observe` raises when the run must stop."""

    clock: Clock
    stall_limit: float  # seconds; 0 turns the detector off
    streak_limit: int  # distinct domains; 0 turns the detector off
    _trouble_since: float | None = None
    _last_trouble: str = ""
    _streak_key: str | None = None
    _streak: list[tuple[QueuedDelivery, Outcome]] = field(default_factory=list)

    def observe(self, delivery: QueuedDelivery, answer: Answer, outcome: Outcome) -> None:
        """Note how a delivery ended; raises RefusalStreakError (see `streak`) or StallError."""
        if _is_progress(answer):
            self._trouble_since = None
        else:
            if self._trouble_since is None:
                self._trouble_since = self.clock.monotonic()
            self._last_trouble = str(answer) if isinstance(answer, BaseException) else answer
        self._follow_streak(delivery, answer, outcome)
        self.check_stall()

    def check_stall(self) -> None:
        """Raise StallError when trouble has lasted the stall limit without any progress."""
        if not self.stall_limit or self._trouble_since is None:
            return
        waited = self.clock.monotonic() - self._trouble_since
        if waited >= self.stall_limit:
            raise StallError(
                f"The SMTP relay decided no delivery for {waited:.0f} s (OUTREACH_STALL_LIMIT={self.stall_limit:g}); "
                f"the last attempt ended: {self._last_trouble[:300]}",
                "The relay accepts connections but does not finish messages: check it (or its rate limits) with "
                "your mail administrator, and OUTREACH_SMTP_TIMEOUT. The deliveries not sent stay queued; run "
                "the same `outreach send` again later.")

    def _follow_streak(self, delivery: QueuedDelivery, answer: Answer, outcome: Outcome) -> None:
        key = refusal_key(answer) if outcome.status == DeliveryStatus.FAILED else None
        if key is None or key != self._streak_key:
            self._streak.clear()
        self._streak_key = key
        if key is None:
            return
        self._streak.append((delivery, outcome))
        domains = {address_domain(d.contact.email) for d, _ in self._streak}
        if self.streak_limit and len(domains) >= self.streak_limit:
            error = RefusalStreakError(
                f"The relay refused {len(self._streak)} recipients at {len(domains)} different domains in a row with "
                f"the same reply ({outcome.reply}): that is a refusal of the sender, not of the recipients",
                "Check the relay's policy for this sender (OUTREACH_FROM, OUTREACH_SMTP_USER and "
                "OUTREACH_SMTP_PASSWORD, this machine's address). These deliveries were put back in the queue; "
                "nothing more was sent. If these recipients really refuse this message, set "
                "OUTREACH_REFUSAL_STREAK=0 for the next run.")
            error.streak, self._streak = self._streak, []
            raise error
