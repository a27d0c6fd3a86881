"""SMTP connections for one run: one thread per connection, each sending one message at a time.

Jobs go in (`put`), (job, answer) pairs come back (`finished`): the answer is the server's reply or the exception
the transport raised. The threads never touch the database — the sender's thread records every answer — and a
connection opens (in its own thread, through the `transports` factory) only when a message first needs it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from outreach.delivery.transport import Transport
from outreach.models.deliveries import QueuedDelivery

Answer = str | BaseException  # the server's reply, or what the transport raised


@dataclass(frozen=True, slots=True)
class Job:
    """A built message on its way to one recipient."""

    delivery: QueuedDelivery
    message: bytes
    message_id: str
    envelope_from: str


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

    def _work(self) -> None:
        transport: Transport | None = None
        while (job := self._jobs.get()) is not None:
            answer: Answer
            try:
                if transport is None:
                    transport = self._transports()
                    with self._opened_lock:
                        self._opened.append(transport)
                answer = transport.send(job.message, job.envelope_from, [job.delivery.contact.email])
            except Exception as error:  # handed back to the sender's thread, which owns the database
                answer = error
            self._done.put((job, answer))

    @property
    def full(self) -> bool:
        """Whether every connection is busy (the next job has to wait for one)."""
        return self.in_flight >= self.size

    def put(self, job: Job) -> None:
        """Hand a job to a free connection (starting one when all started ones are busy)."""
        if len(self._threads) < min(self.size, self.in_flight + 1):
            thread = threading.Thread(target=self._work, name=f"outreach-smtp-{len(self._threads) + 1}", daemon=True)
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

    def close(self) -> None:
        """Let every thread finish its message and end, then close the connections."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        for transport in self._opened:
            transport.close()
