"""The sender loop: each recipient of a campaign gets its message exactly once.

One delivery per (campaign, contact) goes `queued → sending → sent | failed | unknown`, and every transition is
committed before the next network step. A SIGKILL at any instant therefore leaves either a `queued` delivery
(not sent: the next run sends it) or a `sending` one (the server may hold the message): the next run turns those
into `unknown`, lists them, and sends them again only when asked (`--retry-unknown`).

Only the sender's thread touches the store. Each SMTP connection (`--workers N`, default 1) has a thread of its
own that takes one message at a time (delivery.connections); while a connection is busy with a message, this
thread renders and builds the next one. A message is committed `sending` only when it is handed to a connection,
in the same transaction that records how the connection's previous message ended — one commit per message, and
never more than N deliveries `sending` (so at most N `unknown` after a crash); a connection that pipelines (RFC
2920, delivery.pipelining) holds up to three, see delivery.connections. Rates and backoff go through the
injected Clock, and deliveries are read in small batches so that 100,000 recipients never sit in memory at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from outreach.clock import Clock
from outreach.config import Settings
from outreach.contacts.model import Contact
from outreach.delivery.compose import MessageSource
from outreach.delivery.connections import Answer, ConnectionPool, Connections, Job
from outreach.delivery.outcomes import Verdict, judge
from outreach.delivery.ratelimit import DomainLimiter, Rate, RateLimiter, configured_rates
from outreach.delivery.seams import DeliveryStore, RecipientLike, SendLock
from outreach.delivery.transport import Transport
from outreach.delivery.watch import RefusalStreakError, RunWatch, StallError
from outreach.mail.headers import address_domain
from outreach.models import ContactStatus, DeliveryStatus
from outreach.models.deliveries import Outcome, QueuedDelivery

BATCH = 500  # deliveries read from the store at a time


@dataclass
class SendOptions:
    """How `outreach send` was asked to send: limits, pace, retries."""

    limit: int | None = None
    rates: Sequence[Rate] = ()
    domain_rates: Sequence[Rate] = ()
    workers: int = 1
    retry_unknown: bool = False
    retry_failed: bool = False
    reply_code: str | None = None  # with retry_failed: only the failures whose last reply matches this glob
    lock_wait: float = 5.0
    max_attempts: int = 5  # attempts before a temporary refusal counts as failed
    stall_limit: float = 600.0  # seconds of trouble without any delivery decided before the run stops
    refusal_streak: int = 5  # distinct domains refused alike in a row that stop the run

    @classmethod
    def from_settings(cls, settings: Settings, *, rate: str | None = None, domain_rate: str | None = None,
                      workers: int | None = None, limit: int | None = None, retry_unknown: bool = False,
                      retry_failed: bool = False, reply_code: str | None = None,
                      lock_wait: float = 5.0) -> SendOptions:
        """The command line's choices, the settings (OUTREACH_RATE, …) where it made none; a rate that does
        not parse is an InputError naming the option or the setting it came from."""
        return cls(limit=limit, rates=configured_rates(rate, settings.rate, "--rate", "OUTREACH_RATE"),
                   domain_rates=configured_rates(domain_rate, settings.domain_rate, "--domain-rate",
                                                 "OUTREACH_DOMAIN_RATE"),
                   workers=workers or settings.workers, retry_unknown=retry_unknown, retry_failed=retry_failed,
                   reply_code=reply_code, lock_wait=lock_wait, max_attempts=settings.max_attempts,
                   stall_limit=settings.stall_limit, refusal_streak=settings.refusal_streak)


@dataclass
class Progress:
    """Where a run stands, for a progress bar."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    retrying: int = 0  # 4xx replies waiting for their next attempt
    total: int = 0
    waiting: float = 0.0  # seconds the sender is pausing now (rate limit, backoff)

    @property
    def done(self) -> int:
        """Deliveries that reached an end this run."""
        return self.sent + self.failed + self.unknown


@dataclass
class SendReport:
    """What a run did, for the final summary."""

    campaign: str
    sent: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # reply → count
    unknown: list[str] = field(default_factory=list)  # found `sending` at start, or uncertain in this run
    uncertain: int = 0  # of those, the ones this run's attempts left `unknown`
    retried_failed: int = 0  # failed deliveries put back in the queue by --retry-failed
    bounced: int = 0  # 5.1.x at RCPT, recorded as hard bounces
    dropped: int = 0  # queued deliveries whose contact was no longer mailable
    enqueued: int = 0
    remaining: int = 0  # still queued when the run ended
    interrupted: bool = False
    recovered_lock: str | None = None

    @property
    def failed_count(self) -> int:
        """Deliveries that failed in this run."""
        return sum(self.failed.values())


@dataclass(frozen=True, slots=True)
class HardBounce:
    """The server said at RCPT that the mailbox does not exist (RFC 3463 5.1.x): handed to `on_hard_bounce`."""

    contact: Contact
    campaign: str
    delivery_id: int
    detail: str  # the server's reply


class Sender:
    """Sends a campaign's queue. `run()` takes the lock, recovers, enqueues, sends, and returns a SendReport.

    The caller hands in what the sender does not own: the store, the message source (which knows the campaign),
    the transport factory (one transport per connection), the clock, the audience to enqueue, and what to do
    about a hard bounce (tracking records it; delivery does not know how).
    """

    def __init__(self, store: DeliveryStore, source: MessageSource, transports: Callable[[], Transport],
                 clock: Clock, *, audience: Callable[[], Iterable[RecipientLike]],
                 on_hard_bounce: Callable[[HardBounce], None], options: SendOptions | None = None,
                 connections: Connections | None = None) -> None:
        self.store = store
        self.source = source
        self.campaign = source.campaign
        self.clock = clock
        self.audience = audience
        self.on_hard_bounce = on_hard_bounce
        self.options = options or SendOptions()
        self.limiter = RateLimiter(clock, self.options.rates)
        self.domains = DomainLimiter(clock, self.options.domain_rates)
        self.report = SendReport(self.campaign.slug)
        self.progress = Progress()
        # Several relays (delivery.relays) bring their own connections; else `workers` of `transports`.
        self._connections = connections or ConnectionPool(self.options.workers, transports)
        self.watch = RunWatch(clock, self.options.stall_limit, self.options.refusal_streak)
        self._stop = threading.Event()
        self._on_progress: Callable[[Progress], None] = lambda progress: None

    def run(self, on_progress: Callable[[Progress], None] | None = None,
            stop: threading.Event | None = None) -> SendReport:
        """Send what is queued (and newly in the audience) until done, stopped, or the limit is reached."""
        self._stop = stop = stop or threading.Event()
        self._on_progress = on_progress or (lambda progress: None)
        store, slug = self.store, self.campaign.slug
        lock = store.lock(slug, self.options.lock_wait)
        if lock.recovered:
            self.report.recovered_lock = f"process {lock.recovered.pid} on {lock.recovered.host}"
        try:
            self.report.unknown = store.recover_interrupted(slug)
            if self.options.retry_unknown:
                store.requeue_unknown(slug)
                self.report.unknown = []
            if self.options.retry_failed:
                self.report.retried_failed = store.requeue_failed(slug, self.options.reply_code)
            store.record_campaign(self.campaign)
            self.report.enqueued = store.enqueue(slug, self.audience())
            self._seed_limiter()
            queued = store.count_queued(slug)
            self.progress.total = min(queued, self.options.limit) if self.options.limit is not None else queued
            self._loop(lock)
            self.report.interrupted = stop.is_set()
        finally:
            self._connections.close()
            store.flush()
            self.report.remaining = store.count_queued(slug)
            lock.release()
        return self.report

    def _seed_limiter(self) -> None:
        longest = max((rate.seconds for rate in self.limiter.rates), default=0)
        if longest > 60:  # messages already sent in the window count against today's/this hour's quota
            now = self.clock.now()
            sent = self.store.sent_since(now - timedelta(seconds=longest))
            self.limiter.seed((now - moment).total_seconds() for moment in sent)

    def _loop(self, lock: SendLock) -> None:
        limit, stop, slug = self.options.limit, self._stop, self.campaign.slug
        started = 0
        try:
            while True:
                after = 0
                throttled: list[float] = []  # seconds until each domain held back by its rate may go again
                while batch := self.store.next_queued(slug, after, BATCH):
                    for delivery in batch:
                        after = delivery.id
                        if stop.is_set() or (limit is not None and started >= limit):
                            return
                        job = self._prepare(delivery, throttled)
                        if job is not None and self._hand_over(job):
                            started += 1
                        lock.beat()
                    self.store.flush()
                self._settle()
                if not self.store.count_queued(slug) or not self._pause(throttled):
                    return
                lock.beat()
        except BaseException:
            self._settle(quiet=True)  # record what the connections finished; the first error is the one raised
            raise
        finally:
            self._settle()

    def _pause(self, throttled: list[float]) -> bool:
        """Wait until a deferred delivery or a throttled domain is due; False when stopped meanwhile."""
        due = self.store.next_due(self.campaign.slug)
        waits = [w for w in (None if due is None else max(0.0, (due - self.clock.now()).total_seconds()),
                             min(throttled, default=None)) if w is not None]
        pause = max(0.05, min(waits, default=1.0))
        self.progress.waiting = pause
        self._on_progress(self.progress)
        while pause > 0 and not self._stop.is_set():  # in steps, so Ctrl-C is heard during a long backoff
            step = min(pause, 1.0)
            self.clock.sleep(step)
            pause -= step
            self.watch.check_stall()  # a relay that only drops or times out does not keep the run for ever
        if self._stop.is_set():
            return False
        self.progress.waiting = 0.0
        return True

    def _prepare(self, delivery: QueuedDelivery, throttled: list[float]) -> Job | None:
        """Check the recipient, wait for the rate limit, render and build the message (nothing committed)."""
        contact = delivery.contact
        if contact.status != ContactStatus.ACTIVE or self.store.is_suppressed(contact.email):
            # unsubscribed, bounced or erased since it was queued: never mail it; the delivery goes away
            self.store.drop(delivery)
            self.report.dropped += 1
            return None
        domain = address_domain(contact.email)
        if self.domains:
            wait_for = self.domains.delay(domain)
            if wait_for > 0:
                throttled.append(wait_for)
                return None
        if self.limiter:
            if self.limiter.delay() > 0:
                self._settle()  # what is in flight is recorded before the pause, not after it
                self.limiter.wait()
                self.progress.waiting = 0.0
            else:
                self.limiter.record()
        if self.domains:
            self.domains.record(domain)
        message_id = delivery.message_id or self.source.message_id(delivery.id)
        # Built after any pause, so that Date is when the message goes.
        message = self.source.build(contact, delivery.language, delivery.kind, message_id, self.clock.now())
        return Job(delivery, message, message_id, self.source.envelope_from(delivery.id))

    def _hand_over(self, job: Job) -> bool:
        """Give a built message to a free connection (waiting for one), committing its `sending` together
        with how the messages that came back meanwhile ended. False when it was not handed over."""
        connections = self._connections
        if not self._record(connections.finished(wait=connections.full), job):
            return False
        if self._stop.is_set():  # Ctrl-C (or the progress callback) while we waited: this one stays queued
            self.store.settle(job.delivery, Outcome.given_back())
            return False
        connections.put(job)
        return True

    def _settle(self, quiet: bool = False) -> None:
        """Wait for every message in flight and record how each ended."""
        error: BaseException | None = None
        while self._connections.in_flight:
            try:
                self._record(self._connections.finished(wait=True), None)
            except BaseException as raised:
                error = error or raised
        if error is not None and not quiet:
            raise error

    def _record(self, done: list[tuple[Job, Answer]], job: Job | None) -> bool:
        """One transaction: the answers in `done`, then `queued → sending` for `job` (unless an answer stops
        the run). Returns whether `job` is now `sending`; raises the first answer that stops the run."""
        if not done and job is None:
            return False
        error: BaseException | None = None
        handed = False
        with self.store.transaction():
            for finished, answer in done:
                # An answer that stops the run is raised once the others are recorded too. An error of the
                # store itself (a full disk) is not caught: it leaves the block, and the transaction rolls back.
                error = self._apply(finished, answer) or error
            if job is not None and error is None:
                # The commit that makes a crash from here on an `unknown`, never a silent second copy.
                handed = self.store.mark_sending(job.delivery, job.message_id)
        if done:
            self._on_progress(self.progress)
        if error is not None:
            raise error
        return handed

    def _apply(self, job: Job, answer: Answer) -> BaseException | None:
        """Record how `job` ended; returns the error that stops the run after this answer, if any."""
        delivery = job.delivery
        verdict = judge(answer, delivery.attempts + 1, self.options.max_attempts, self.clock.now())
        relay = self._connections.relay_of(job)
        self.store.settle(delivery, replace(verdict.outcome, relay=relay) if relay else verdict.outcome)
        self._count(delivery, verdict)
        if verdict.hard_bounce:
            self.on_hard_bounce(HardBounce(delivery.contact, delivery.campaign, delivery.id,
                                           verdict.outcome.reply or ""))
            self.report.bounced += 1
        if verdict.stop is not None:
            return verdict.stop
        try:
            self.watch.observe(delivery, answer, verdict.outcome)
        except RefusalStreakError as error:
            for refused, outcome in error.streak:  # not the recipients' fault: queued again, nothing lost
                self.store.reopen(refused)
                self.report.failed[outcome.reply or ""] -= 1
                self.progress.failed -= 1
            self.report.failed += Counter()  # drops the replies counted down to zero
            return error
        except StallError as error:
            return error
        return None

    def _count(self, delivery: QueuedDelivery, verdict: Verdict) -> None:
        outcome, report, progress = verdict.outcome, self.report, self.progress
        if outcome.status == DeliveryStatus.SENT:
            report.sent += 1
            progress.sent += 1
        elif outcome.status == DeliveryStatus.FAILED:
            report.failed[outcome.reply or ""] += 1
            progress.failed += 1
        elif outcome.status == DeliveryStatus.UNKNOWN:
            report.unknown.append(delivery.contact.email)
            report.uncertain += 1
            if verdict.stop is None:  # a run that stops on it reports it, but no longer counts progress
                progress.unknown += 1
        elif outcome.retry_at is not None:
            progress.retrying += 1
