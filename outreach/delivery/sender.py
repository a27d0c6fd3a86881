"""The durable queue and the sender loop: each recipient of a campaign gets its message exactly once.

One `deliveries` row per (campaign, contact) goes `queued → sending → sent | failed | unknown`, and every
transition is committed before the next network step. A SIGKILL at any instant therefore leaves either a
`queued` row (not sent: the next run sends it) or a `sending` row (the server may hold the message): the next run
turns those into `unknown`, lists them, and sends them again only when asked (`--retry-unknown`).

Only the main thread touches the database. Each SMTP connection (`--workers N`, default 1) has a thread of its
own that takes one message at a time; while a connection is busy with a message, the main thread renders and
builds the next one. A message is committed `sending` only when it is handed to a connection, in the same
transaction that records how the connection's previous message ended — one commit per message, and never more
than N deliveries `sending` (so at most N `unknown` after a crash). Rates and backoff go through the injected
Clock, and rows are read in small batches so that 100,000 recipients never sit in memory at once.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from outreach.clock import Clock, isoformat, utcnow_iso
from outreach.config import Settings
from outreach.contacts.model import Contact, ContactFilter, is_suppressed
from outreach.db.schema import Database
from outreach.delivery.compose import MessageSource, RecipientLike, dry_run, send_test
from outreach.delivery.locks import CampaignLock
from outreach.delivery.ratelimit import DomainLimiter, RateLimiter, parse_rates
from outreach.delivery.transport import DeliveryUncertain, PermanentFailure, TemporaryFailure, Transport, open_transport
from outreach.errors import OutreachError, TransportError
from outreach.mail.message import address_domain
from outreach.models import ContactStatus, DeliveryStatus

BATCH = 500
BACKOFF_BASE = 60.0  # seconds before the first retry of a 4xx; doubles each time
BACKOFF_MAX = 3600.0


@dataclass
class SendOptions:
    """What `outreach send` was asked to do (filters, limits, pace)."""

    extra: ContactFilter | None = None
    limit: int | None = None
    rate: str | None = None
    domain_rate: str | None = None
    workers: int = 1
    retry_unknown: bool = False
    lock_wait: float = 5.0


@dataclass
class Progress:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    retrying: int = 0  # 4xx replies waiting for their next attempt
    total: int = 0
    waiting: float = 0.0  # seconds the sender is pausing now (rate limit, backoff)

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.unknown


@dataclass
class SendReport:
    """What a run did, for the final summary."""

    campaign: str
    sent: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # reply → count
    unknown: list[str] = field(default_factory=list)  # found `sending` at start, or uncertain in this run
    bounced: int = 0  # 5.1.x at RCPT, recorded as hard bounces
    dropped: int = 0  # queued rows whose contact was no longer mailable
    enqueued: int = 0
    remaining: int = 0  # still queued when the run ended
    interrupted: bool = False
    recovered_lock: str | None = None

    @property
    def failed_count(self) -> int:
        return sum(self.failed.values())


def audience_filter(campaign: Any, extra: ContactFilter | None) -> tuple[str, list[Any]]:
    """SQL over `contacts c` for the campaign's audience AND the command line's filter."""
    where_a, params_a = campaign.audience.where("c")
    where_b, params_b = (extra or ContactFilter()).where("c")
    return f"({where_a}) AND ({where_b})", [*params_a, *params_b]


def record_campaign(db: Database, clock: Clock, campaign: Any) -> None:
    """Write or refresh the `campaigns` row: name, source language, content hash per language."""
    import hashlib
    import json

    hashes = {}
    for language, document in getattr(campaign, "documents", {}).items():
        hashes[language] = hashlib.sha256(document.raw).hexdigest()[:16]
    now = utcnow_iso(clock)
    db.execute(
        "INSERT INTO campaigns (slug, name, source_language, content_hashes, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(slug) DO UPDATE SET name = excluded.name, source_language = excluded.source_language, "
        "content_hashes = excluded.content_hashes",
        [campaign.slug, campaign.name, campaign.source_language, json.dumps(hashes, sort_keys=True), now])


def enqueue(db: Database, clock: Clock, slug: str, recipients: Iterable[RecipientLike]) -> int:
    """Queue every recipient that has no delivery for this campaign yet (a follow-up adds only new contacts)."""
    now = utcnow_iso(clock)
    added = 0
    batch: list[list[Any]] = []

    def flush() -> None:
        nonlocal added
        with db.atomic():
            for values in batch:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO deliveries (campaign, contact_id, email, country, kind, language, status, "
                    "queued_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)", values)
                added += cursor.rowcount
        batch.clear()

    for recipient in recipients:
        if recipient.skip_reason or not recipient.language:
            continue
        contact = recipient.contact
        batch.append([slug, contact.id, contact.email, contact.country, contact.kind, recipient.language, now, now])
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return added


def recover_interrupted(db: Database, clock: Clock, slug: str) -> list[str]:
    """`sending` rows left by a process that died mid-message become `unknown`; returns their addresses.

    Call only while holding the campaign's lock: a live sender's `sending` row is not interrupted.
    """
    rows = db.execute("SELECT id, email FROM deliveries WHERE campaign = ? AND status = 'sending'", [slug]).fetchall()
    if rows:
        db.execute("UPDATE deliveries SET status = 'unknown', updated_at = ?, last_reply = coalesce(last_reply, "
                   "'interrupted after the message was handed to the server') WHERE campaign = ? AND "
                   "status = 'sending'", [utcnow_iso(clock), slug])
    return [row[1] or f"(erased contact, delivery {row[0]})" for row in rows]


def requeue_unknown(db: Database, clock: Clock, slug: str) -> int:
    """Put `unknown` deliveries back in the queue (`--retry-unknown`); they keep their Message-ID."""
    cursor = db.execute("UPDATE deliveries SET status = 'queued', next_attempt_at = NULL, updated_at = ? "
                        "WHERE campaign = ? AND status = 'unknown' AND contact_id IS NOT NULL",
                        [utcnow_iso(clock), slug])
    return cursor.rowcount


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` temporary failures: 60 s, 2 min, 4 min… up to an hour."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1))


@dataclass
class _Job:
    delivery_id: int
    contact: Contact
    message: bytes
    message_id: str
    envelope_from: str
    attempts: int  # counting this one


class _Connections:
    """One thread per SMTP connection, each sending one message at a time: jobs in, (job, outcome) out.

    The threads never touch the database; their outcomes (the server's reply, or the exception) go back to
    the main thread, which records them.
    """

    def __init__(self, size: int, deliver: Callable[[_Job], str | BaseException]) -> None:
        self.size = size
        self.in_flight = 0
        self._deliver = deliver
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[_Job, str | BaseException]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._done.put((job, self._deliver(job)))

    def put(self, job: _Job) -> None:
        if len(self._threads) < min(self.size, self.in_flight + 1):  # a connection opens when first needed
            thread = threading.Thread(target=self._work, name=f"outreach-smtp-{len(self._threads) + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.in_flight += 1
        self._jobs.put(job)

    def finished(self, wait: bool) -> list[tuple[_Job, str | BaseException]]:
        """The outcomes that are back (waiting for one first when `wait` and something is in flight)."""
        done = []
        if wait and self.in_flight:
            done.append(self._done.get())
        while True:
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                break
        self.in_flight -= len(done)
        return done

    def close(self) -> None:
        """Let every thread finish its message and end."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()


class Sender:
    """Sends a campaign's queue. `run()` takes the lock, recovers, enqueues, sends, and returns a SendReport."""

    def __init__(self, settings: Settings, db: Database, clock: Clock, campaign: Any, *,
                 options: SendOptions | None = None, renderer: Any = None,
                 transport_factory: Callable[[], Transport] | None = None,
                 audience: Callable[[], Iterable[RecipientLike]] | None = None,
                 source: MessageSource | None = None) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.campaign = campaign
        self.options = options or SendOptions()
        self.source = source or MessageSource(settings, campaign, renderer)
        self.transport_factory = transport_factory or (lambda: open_transport(settings))
        if audience is None:
            from outreach.campaigns.folder import iter_audience

            def audience() -> Iterable[RecipientLike]:
                return iter_audience(db, campaign, self.options.extra)
        self.audience = audience
        self.limiter = RateLimiter(clock, parse_rates(self.options.rate or settings.rate,
                                                      "--rate" if self.options.rate else "OUTREACH_RATE"))
        self.domains = DomainLimiter(clock, parse_rates(
            self.options.domain_rate or settings.domain_rate,
            "--domain-rate" if self.options.domain_rate else "OUTREACH_DOMAIN_RATE"))
        self.where, self.params = audience_filter(campaign, self.options.extra)
        self.report = SendReport(campaign.slug)
        self.progress = Progress()
        self._local = threading.local()
        self._transports: list[Transport] = []
        self._transports_lock = threading.Lock()
        self._connections = _Connections(max(1, self.options.workers), self._deliver)
        self._stop = threading.Event()
        self._on_progress: Callable[[Progress], None] = lambda progress: None
        self._sent_span: tuple[str, str] | None = None  # first and last `sent_at` of this run, not yet written

    # --- the queue -------------------------------------------------------------------------------------------

    def _select(self, after_id: int, now: str) -> list[Any]:
        return list(self.db.query(
            "SELECT d.id AS delivery_id, d.language AS d_language, d.kind AS d_kind, d.attempts AS d_attempts, "
            "d.message_id AS d_message_id, c.* FROM deliveries d JOIN contacts c ON c.id = d.contact_id "
            f"WHERE d.campaign = ? AND d.status = 'queued' AND d.id > ? AND {self.where} "
            "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) ORDER BY d.id LIMIT ?",
            [self.campaign.slug, after_id, *self.params, now, BATCH]))

    def count_queued(self) -> int:
        """Queued deliveries this run may send (the audience filter applies)."""
        return int(self.db.execute(
            "SELECT count(*) FROM deliveries d JOIN contacts c ON c.id = d.contact_id "
            f"WHERE d.campaign = ? AND d.status = 'queued' AND {self.where}",
            [self.campaign.slug, *self.params]).fetchone()[0])

    def _next_due(self) -> float | None:
        row = self.db.execute(
            "SELECT min(d.next_attempt_at) FROM deliveries d JOIN contacts c ON c.id = d.contact_id "
            f"WHERE d.campaign = ? AND d.status = 'queued' AND {self.where}",
            [self.campaign.slug, *self.params]).fetchone()
        if not row or not row[0]:
            return None
        due = datetime.fromisoformat(row[0].replace("Z", "+00:00"))
        return max(0.0, (due - self.clock.now()).total_seconds())

    def _write_sent_span(self) -> None:
        # campaigns.first_sent_at / last_sent_at, once per batch and at the end rather than with every message
        if self._sent_span:
            first, last = self._sent_span
            self.db.execute("UPDATE campaigns SET first_sent_at = coalesce(first_sent_at, ?), last_sent_at = ? "
                            "WHERE slug = ?", [first, last, self.campaign.slug])
            self._sent_span = None

    # --- the run ---------------------------------------------------------------------------------------------

    def run(self, on_progress: Callable[[Progress], None] | None = None,
            stop: threading.Event | None = None) -> SendReport:
        """Send what is queued (and newly in the audience) until done, stopped, or the limit is reached."""
        self._stop = stop = stop or threading.Event()
        self._on_progress = on_progress or (lambda progress: None)
        lock = CampaignLock(self.db, self.clock, self.campaign.slug).acquire(self.options.lock_wait)
        if lock.recovered:
            self.report.recovered_lock = f"process {lock.recovered.pid} on {lock.recovered.host}"
        try:
            self.report.unknown = recover_interrupted(self.db, self.clock, self.campaign.slug)
            if self.options.retry_unknown:
                requeue_unknown(self.db, self.clock, self.campaign.slug)
                self.report.unknown = []
            record_campaign(self.db, self.clock, self.campaign)
            self.report.enqueued = enqueue(self.db, self.clock, self.campaign.slug, self.audience())
            self._seed_limiter()
            queued = self.count_queued()
            self.progress.total = min(queued, self.options.limit) if self.options.limit is not None else queued
            self._loop(lock)
            self.report.interrupted = stop.is_set()
        finally:
            self._connections.close()
            for transport in self._transports:
                transport.close()
            self._write_sent_span()
            self.report.remaining = self.count_queued()
            lock.release()
        return self.report

    def _seed_limiter(self) -> None:
        longest = max((rate.seconds for rate in self.limiter.rates), default=0)
        if longest > 60:  # messages already sent in the window count against today's/this hour's quota
            since = isoformat(self.clock.now() - timedelta(seconds=longest))
            now = self.clock.now()
            ages = [(now - datetime.fromisoformat(row[0].replace("Z", "+00:00"))).total_seconds()
                    for row in self.db.execute("SELECT sent_at FROM deliveries WHERE sent_at >= ?", [since])]
            self.limiter.seed(ages)

    def _loop(self, lock: CampaignLock) -> None:
        limit = self.options.limit
        started = 0
        stop = self._stop
        try:
            while True:
                after = 0
                throttled: list[float] = []
                while batch := self._select(after, utcnow_iso(self.clock)):
                    for row in batch:
                        after = row["delivery_id"]
                        if stop.is_set() or (limit is not None and started >= limit):
                            return
                        job = self._prepare(row, throttled)
                        if job is not None and self._hand_over(job):
                            started += 1
                        lock.beat()
                    self._write_sent_span()
                self._settle()
                if not self.count_queued():
                    return
                due = [d for d in (self._next_due(), min(throttled, default=None)) if d is not None]
                pause = max(0.05, min(due, default=1.0))
                self.progress.waiting = pause
                self._on_progress(self.progress)
                while pause > 0 and not stop.is_set():  # in steps, so Ctrl-C is heard during a long backoff
                    step = min(pause, 1.0)
                    self.clock.sleep(step)
                    pause -= step
                if stop.is_set():
                    return
                self.progress.waiting = 0.0
                lock.beat()
        except BaseException:
            self._settle(quiet=True)  # record what the connections finished; the first error is the one raised
            raise
        finally:
            self._settle()

    def _prepare(self, row: Any, throttled: list[float]) -> _Job | None:
        """Check the recipient, wait for the rate limit, render and build the message (nothing committed)."""
        contact = Contact.from_row({k: v for k, v in row.items() if not k.startswith(("d_", "delivery_id"))})
        if contact.status != ContactStatus.ACTIVE or is_suppressed(self.db, contact.email):
            # unsubscribed, bounced or erased since it was queued: never mail it; the row goes away
            self.db.execute("DELETE FROM deliveries WHERE id = ? AND status = 'queued'", [row["delivery_id"]])
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
        delivery_id = row["delivery_id"]
        message_id = row["d_message_id"] or self.source.message_id(delivery_id)
        # Built after any pause, so that Date is when the message goes.
        message = self.source.build(contact, row["d_language"], row["d_kind"], message_id, self.clock.now())
        envelope_from = self.campaign.sender_address
        if self.settings.verp_address:
            from outreach.mail.tokens import verp_address

            envelope_from = verp_address(self.source.secret, self.settings.verp_address, delivery_id)
        return _Job(delivery_id, contact, message, message_id, envelope_from, row["d_attempts"] + 1)

    # --- connections -----------------------------------------------------------------------------------------

    def _transport(self) -> Transport:
        transport = getattr(self._local, "transport", None)
        if transport is None:
            transport = self._local.transport = self.transport_factory()
            with self._transports_lock:
                self._transports.append(transport)
        return transport

    def _deliver(self, job: _Job) -> str | BaseException:
        try:
            return self._transport().send(job.message, job.envelope_from, [job.contact.email])
        except Exception as error:  # handed back to the main thread, which owns the database
            return error

    def _hand_over(self, job: _Job) -> bool:
        """Give a built message to a free connection (waiting for one), committing its `sending` together
        with how the messages that came back meanwhile ended. False when it was not handed over."""
        connections = self._connections
        done = connections.finished(wait=connections.in_flight >= connections.size)
        if not self._record(done, job):
            return False
        if self._stop.is_set():  # Ctrl-C (or the progress callback) while we waited: this one stays queued
            self.db.execute("UPDATE deliveries SET status = 'queued', attempts = attempts - 1, updated_at = ? "
                            "WHERE id = ? AND status = 'sending'", [utcnow_iso(self.clock), job.delivery_id])
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

    # --- outcomes --------------------------------------------------------------------------------------------

    def _record(self, done: list[tuple[_Job, str | BaseException]], job: _Job | None) -> bool:
        """One transaction: the outcomes in `done`, then `queued → sending` for `job` (unless an outcome
        stops the run). Returns whether `job` is now `sending`; raises the first outcome that stops the run."""
        if not done and job is None:
            return False
        error: BaseException | None = None
        handed = False
        now = utcnow_iso(self.clock)
        with self.db.atomic():
            for finished, outcome in done:
                try:
                    self._apply(finished, outcome, now)
                except BaseException as raised:  # finish recording the others before stopping
                    error = error or raised
            if job is not None and error is None:
                # The commit that makes a crash from here on an `unknown`, never a silent second copy.
                cursor = self.db.execute(
                    "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, message_id = ?, "
                    "updated_at = ? WHERE id = ? AND status = 'queued'", [job.message_id, now, job.delivery_id])
                handed = cursor.rowcount == 1
        if done:
            self._on_progress(self.progress)
        if error is not None:
            raise error
        return handed

    def _apply(self, job: _Job, outcome: str | BaseException, now: str) -> None:
        db, slug = self.db, self.campaign.slug
        progress = self.progress
        if isinstance(outcome, str):
            db.execute("UPDATE deliveries SET status = 'sent', last_reply = ?, sent_at = ?, updated_at = ?, "
                       "next_attempt_at = NULL WHERE id = ?", [outcome[:500], now, now, job.delivery_id])
            self._sent_span = (self._sent_span[0] if self._sent_span else now, now)
            self.report.sent += 1
            progress.sent += 1
        elif isinstance(outcome, TemporaryFailure):
            reply = f"{outcome.code} {outcome.reply}"
            if job.attempts >= self.settings.max_attempts:
                self._fail(job, f"{reply} (after {job.attempts} attempts)", now)
            else:
                due = isoformat(self.clock.now() + timedelta(seconds=backoff(job.attempts)))
                db.execute("UPDATE deliveries SET status = 'queued', last_reply = ?, next_attempt_at = ?, "
                           "updated_at = ? WHERE id = ?", [reply[:500], due, now, job.delivery_id])
                progress.retrying += 1
        elif isinstance(outcome, PermanentFailure):
            reply = f"{outcome.code} {outcome.reply}"
            self._fail(job, reply, now)
            if outcome.no_such_user:
                from outreach.tracking.events import hard_bounce

                hard_bounce(db, self.clock, job.contact, campaign=slug, delivery_id=job.delivery_id,
                            source="smtp", detail=reply)
                self.report.bounced += 1
        elif isinstance(outcome, DeliveryUncertain):
            db.execute("UPDATE deliveries SET status = 'unknown', last_reply = ?, updated_at = ? WHERE id = ?",
                       [outcome.message[:500], now, job.delivery_id])
            self.report.unknown.append(job.contact.email)
            progress.unknown += 1
        elif isinstance(outcome, TransportError):
            # Nothing left this machine: the delivery goes back to the queue untouched, and the run stops.
            db.execute("UPDATE deliveries SET status = 'queued', attempts = attempts - 1, updated_at = ? "
                       "WHERE id = ?", [now, job.delivery_id])
            raise outcome
        else:
            # An unexpected error while the message was being handed over: the server may hold it.
            db.execute("UPDATE deliveries SET status = 'unknown', last_reply = ?, updated_at = ? WHERE id = ?",
                       [f"interrupted: {type(outcome).__name__}", now, job.delivery_id])
            self.report.unknown.append(job.contact.email)
            raise outcome

    def _fail(self, job: _Job, reply: str, now: str) -> None:
        self.db.execute("UPDATE deliveries SET status = 'failed', last_reply = ?, updated_at = ?, "
                        "next_attempt_at = NULL WHERE id = ?", [reply[:500], now, job.delivery_id])
        self.report.failed[reply] += 1
        self.progress.failed += 1


def iter_new_recipients(db: Database, slug: str, recipients: Iterable[RecipientLike]) -> Iterator[RecipientLike]:
    """The recipients that have no delivery for this campaign yet (what a follow-up send would add)."""
    have = {row[0] for row in db.execute("SELECT contact_id FROM deliveries WHERE campaign = ?", [slug])}
    for recipient in recipients:
        if recipient.contact.id not in have:
            yield recipient


__all__ = ["DeliveryStatus", "MessageSource", "OutreachError", "RecipientLike", "SendOptions", "SendReport", "Sender",
           "backoff", "dry_run", "enqueue", "recover_interrupted", "requeue_unknown", "send_test"]
