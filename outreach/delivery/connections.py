"""SMTP connections for one run: one thread per connection, each sending one message at a time.

Jobs go in (`put`), (job, answer) pairs come back (`finished`): the answer is the server's reply or the exception
the transport raised. The threads never touch the database — the sender's thread records every answer — and a
connection opens (in its own thread, through the `transports` factory) only when a message first needs it.

A connection whose relay offers PIPELINING (delivery.pipelining) takes up to PIPELINED_DEPTH jobs at a time: the
one whose final dot is out, the one whose envelope went with it, and the next, already waiting when the second's
354 comes back, so that its envelope can follow the body. Every job handed over is committed `sending` first, so
after a crash a pipelining connection leaves at most that many `unknown` (one of which may have been delivered).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from outreach.delivery.pipelining import send_pipelined
from outreach.delivery.transport import SmtpTransport, Transport
from outreach.models.deliveries import QueuedDelivery

Answer = str | BaseException  # the server's reply, or what the transport raised
PIPELINED_DEPTH = 3  # jobs a pipelining connection holds: dotted, envelope in flight, next


@dataclass(frozen=True, slots=True)
class Job:
    """A built message on its way to one recipient."""

    delivery: QueuedDelivery
    message: bytes
    message_id: str
    envelope_from: str

    @property
    def recipients(self) -> list[str]:
        """The envelope's recipients: the delivery's contact."""
        return [self.delivery.contact.email]


class Connections(Protocol):
    """What the sender needs of its connections: a ConnectionPool, or several relays' (delivery.relays)."""

    @property
    def in_flight(self) -> int: ...
    @property
    def full(self) -> bool: ...
    def put(self, job: Job) -> None: ...
    def finished(self, wait: bool) -> list[tuple[Job, Answer]]: ...
    def relay_of(self, job: Job) -> str | None: ...
    def close(self) -> None: ...


class ConnectionPool:
    """Up to `size` connections; `in_flight` counts the jobs handed over and not yet collected."""

    def __init__(self, size: int, transports: Callable[[], Transport]) -> None:
        self.size = max(1, size)
        self.in_flight = 0
        self._transports = transports
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[Job, Answer]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._opened: list[Transport] = []
        self._opened_lock = threading.Lock()
        self._depths: list[int] = []  # jobs each started connection takes at a time (1, or pipelined more)

    def _work(self, slot: int) -> None:
        transport: Transport | None = None
        closing = False

        def take() -> Job | None:  # a job that is ready now, for a pipelined flight
            nonlocal closing
            if closing:
                return None
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return None
            closing = job is None
            return job

        while not closing and (job := self._jobs.get()) is not None:
            try:
                if transport is None:
                    transport = self._transports()
                    with self._opened_lock:
                        self._opened.append(transport)
            except Exception as error:  # handed back to the sender's thread, which owns the database
                self._done.put((job, error))
                continue
            if isinstance(transport, SmtpTransport):
                try:
                    pipelined = transport.pipelines()  # connects: the depth is known before any answer
                except Exception as error:
                    self._done.put((job, error))
                    continue
                self._depths[slot] = PIPELINED_DEPTH if pipelined else 1
                send_pipelined(transport, job, take, self._report)
                if transport.pipelining_off:  # it fell back to one command at a time
                    self._depths[slot] = 1
                continue
            answer: Answer
            try:
                answer = transport.send(job.message, job.envelope_from, job.recipients)
            except Exception as error:
                answer = error
            self._done.put((job, answer))

    def _report(self, job: Job, answer: Answer) -> None:
        self._done.put((job, answer))

    @property
    def full(self) -> bool:
        """Whether every connection is busy (the next job has to wait for one)."""
        return self.in_flight >= sum(self._depths) + self.size - len(self._threads)

    def put(self, job: Job) -> None:
        """Hand a job to a free connection (starting one when all started ones are busy)."""
        if len(self._threads) < self.size and self.in_flight >= sum(self._depths):
            slot = len(self._threads)
            self._depths.append(1)
            thread = threading.Thread(target=self._work, args=(slot,), name=f"outreach-smtp-{slot + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.in_flight += 1
        self._jobs.put(job)

    def finished(self, wait: bool) -> list[tuple[Job, Answer]]:
        """The answers that are back (waiting for one first when `wait` and something is in flight)."""
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

    def relay_of(self, job: Job) -> str | None:
        """None: one relay, the OUTREACH_SMTP_* one (delivery.relays names several)."""
        return None

    def close(self) -> None:
        """Let every thread finish its message and end, then close the connections."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        for transport in self._opened:
            transport.close()
