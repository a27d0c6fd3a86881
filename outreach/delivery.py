"""The durable queue and the sender loop: each recipient of a campaign gets its message exactly once.

One `deliveries` row per (campaign, contact) goes `queued → sending → sent | failed | unknown`, and every
transition is committed before the next network step. A SIGKILL at any instant therefore leaves either a
`queued` row (not sent: the next run sends it) or a `sending` row (the server may hold the message): the next run
turns those into `unknown`, lists them, and sends them again only when asked (`--retry-unknown`).

Only the main thread touches the database; with `--workers N` up to N messages are in flight on N SMTP
connections (so at most N deliveries can end up `unknown` after a crash). Rates and backoff go through the
injected Clock, and rows are read in small batches so that 100,000 recipients never sit in memory at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from outreach.clock import Clock, isoformat, utcnow_iso
from outreach.config import Settings
from outreach.contacts import Contact, ContactFilter, is_suppressed
from outreach.db import Database
from outreach.errors import OutreachError, TransportError
from outreach.locks import CampaignLock
from outreach.mail import MessageFactory, Personal, SenderInfo, address_domain, make_message_id
from outreach.models import ContactStatus, DeliveryStatus
from outreach.ratelimit import DomainLimiter, RateLimiter, parse_rates
from outreach.transport import DeliveryUncertain, PermanentFailure, TemporaryFailure, Transport, open_transport

BATCH = 500
BACKOFF_BASE = 60.0  # seconds before the first retry of a 4xx; doubles each time
BACKOFF_MAX = 3600.0


class RecipientLike(Protocol):
    @property
    def contact(self) -> Contact: ...
    @property
    def language(self) -> str | None: ...
    @property
    def fallback(self) -> bool: ...
    @property
    def skip_reason(self) -> str | None: ...


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


class MessageSource:
    """Personalised message bytes: the campaign's variants (rendered once each) + a MessageFactory per variant."""

    def __init__(self, settings: Settings, campaign: Any, renderer: Any = None, subject_prefix: Callable[
            [str, str], str] | None = None) -> None:
        from outreach.tokens import require_secret

        self.settings = settings
        self.campaign = campaign
        self.secret = require_secret(settings)
        if renderer is None:
            from outreach.render import Renderer

            renderer = Renderer(settings, campaign)
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
        from outreach.render import Links
        from outreach.tokens import archive_url, preferences_url, unsubscribe_url

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


@dataclass
class _Job:
    delivery_id: int
    contact: Contact
    message: bytes
    envelope_from: str
    domain: str
    attempts: int


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
            from outreach.campaigns import iter_audience

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

    # --- the run ---------------------------------------------------------------------------------------------

    def run(self, on_progress: Callable[[Progress], None] | None = None,
            stop: threading.Event | None = None) -> SendReport:
        """Send what is queued (and newly in the audience) until done, stopped, or the limit is reached."""
        stop = stop or threading.Event()
        lock = CampaignLock(self.db, self.clock, self.campaign.slug).acquire(self.options.lock_wait)
        if lock.recovered:
            self.report.recovered_lock = f"process {lock.recovered.pid} on {lock.recovered.host}"
        executor = ThreadPoolExecutor(self.options.workers) if self.options.workers > 1 else None
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
            self._loop(lock, executor, stop, on_progress or (lambda progress: None))
            self.report.interrupted = stop.is_set()
        finally:
            if executor is not None:
                executor.shutdown(wait=True)
            for transport in self._transports:
                transport.close()
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

    def _loop(self, lock: CampaignLock, executor: ThreadPoolExecutor | None, stop: threading.Event,
              on_progress: Callable[[Progress], None]) -> None:
        pending: dict[Future[Any], _Job] = {}
        limit = self.options.limit
        started = 0
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
                        if job is None:
                            continue
                        self._dispatch(job, executor, pending, on_progress)
                        started += 1
                        lock.beat()
                self._collect(pending, on_progress, block_all=True)
                if not self.count_queued():
                    return
                due = [d for d in (self._next_due(), min(throttled, default=None)) if d is not None]
                pause = max(0.05, min(due, default=1.0))
                self.progress.waiting = pause
                on_progress(self.progress)
                while pause > 0 and not stop.is_set():  # in steps, so Ctrl-C is heard during a long backoff
                    step = min(pause, 1.0)
                    self.clock.sleep(step)
                    pause -= step
                if stop.is_set():
                    return
                self.progress.waiting = 0.0
                lock.beat()
        finally:
            self._collect(pending, on_progress, block_all=True)

    def _prepare(self, row: Any, throttled: list[float]) -> _Job | None:
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
        waited = self.limiter.wait() if self.limiter else 0.0
        if waited:
            self.progress.waiting = 0.0
        if self.domains:
            self.domains.record(domain)
        delivery_id = row["delivery_id"]
        message_id = row["d_message_id"] or self.source.message_id(delivery_id)
        message = self.source.build(contact, row["d_language"], row["d_kind"], message_id, self.clock.now())
        envelope_from = self.campaign.sender_address
        if self.settings.verp_address:
            from outreach.tokens import verp_address

            envelope_from = verp_address(self.source.secret, self.settings.verp_address, delivery_id)
        # The commit that makes a crash from here on an `unknown`, never a silent second copy.
        cursor = self.db.execute(
            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, message_id = ?, updated_at = ? "
            "WHERE id = ? AND status = 'queued'", [message_id, utcnow_iso(self.clock), delivery_id])
        if cursor.rowcount != 1:
            return None
        return _Job(delivery_id, contact, message, envelope_from, domain, row["d_attempts"] + 1)

    # --- workers ---------------------------------------------------------------------------------------------

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

    def _dispatch(self, job: _Job, executor: ThreadPoolExecutor | None, pending: dict[Future[Any], _Job],
                  on_progress: Callable[[Progress], None]) -> None:
        if executor is None:
            self._handle(job, self._deliver(job), on_progress)
            return
        pending[executor.submit(self._deliver, job)] = job
        if len(pending) >= self.options.workers:
            self._collect(pending, on_progress, block_all=False)

    def _collect(self, pending: dict[Future[Any], _Job], on_progress: Callable[[Progress], None],
                 block_all: bool) -> None:
        error: BaseException | None = None
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                try:
                    self._handle(job, future.result(), on_progress)
                except BaseException as raised:  # finish recording the others before stopping
                    error = error or raised
            if not block_all and error is None:
                break
        if error is not None:
            raise error

    def _handle(self, job: _Job, outcome: str | BaseException, on_progress: Callable[[Progress], None]) -> None:
        now = utcnow_iso(self.clock)
        db, slug = self.db, self.campaign.slug
        progress = self.progress
        if isinstance(outcome, str):
            with db.atomic():
                db.execute("UPDATE deliveries SET status = 'sent', last_reply = ?, sent_at = ?, updated_at = ?, "
                           "next_attempt_at = NULL WHERE id = ?", [outcome[:500], now, now, job.delivery_id])
                db.execute("UPDATE campaigns SET first_sent_at = coalesce(first_sent_at, ?), last_sent_at = ? "
                           "WHERE slug = ?", [now, now, slug])
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
            with db.atomic():
                self._fail(job, reply, now)
                if outcome.no_such_user:
                    from outreach.tracking import hard_bounce

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
        on_progress(progress)

    def _fail(self, job: _Job, reply: str, now: str) -> None:
        self.db.execute("UPDATE deliveries SET status = 'failed', last_reply = ?, updated_at = ?, "
                        "next_attempt_at = NULL WHERE id = ?", [reply[:500], now, job.delivery_id])
        self.report.failed[reply] += 1
        self.progress.failed += 1


def send_test(settings: Settings, clock: Clock, campaign: Any, address: str, languages: Iterable[str],
              kinds: Iterable[str], transport: Transport, renderer: Any = None,
              limiter: RateLimiter | None = None) -> list[tuple[str, str, str]]:
    """`--test-to`: one message per language × kind to one address, subject `[TEST lang/kind] …`, not recorded.

    Returns (language, kind, server reply) per message; a refusal raises (it is the one address asked for).
    """
    from outreach.contacts import normalize_email

    email = normalize_email(address)
    source = MessageSource(settings, campaign, renderer, subject_prefix=lambda lang, kind: f"[TEST {lang}/{kind}] ")
    results = []
    kinds = list(kinds)
    for language in languages:
        for kind in kinds:
            contact = Contact(id=0, email=email, name="Test", organisation=campaign.organisation, kind=kind,
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


def iter_new_recipients(db: Database, slug: str, recipients: Iterable[RecipientLike]) -> Iterator[RecipientLike]:
    """The recipients that have no delivery for this campaign yet (what a follow-up send would add)."""
    have = {row[0] for row in db.execute("SELECT contact_id FROM deliveries WHERE campaign = ?", [slug])}
    for recipient in recipients:
        if recipient.contact.id not in have:
            yield recipient


__all__ = ["DeliveryStatus", "MessageSource", "OutreachError", "SendOptions", "SendReport", "Sender", "backoff",
           "enqueue", "recover_interrupted", "requeue_unknown"]
