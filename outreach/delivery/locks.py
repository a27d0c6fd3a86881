"""One sender per campaign: a lock row in `send_locks`, with a heartbeat.

Two `outreach send` on the same campaign (two terminals, a cron overlap) must never both send. The lock is a row
keyed by the campaign; taking it is an INSERT (the primary key decides the race), taking over a dead holder's
lock is a compare-and-swap UPDATE on the old owner. A holder is dead when it ran on this host and its process is
gone, or when its heartbeat is older than STALE_AFTER (a crashed machine, another host).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime

from outreach.clock import Clock, utcnow_iso
from outreach.db.schema import Database
from outreach.errors import LockedError

HEARTBEAT_EVERY = 10.0  # seconds between heartbeats while sending
STALE_AFTER = 120.0  # a heartbeat older than this means the holder is gone


@dataclass(frozen=True)
class LockHolder:
    owner: str
    host: str
    pid: int
    acquired_at: str
    heartbeat_at: str


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    return True


def _age(clock: Clock, stamp: str) -> float:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (clock.now() - moment).total_seconds()


def lock_holder(db: Database, campaign: str) -> LockHolder | None:
    """Who holds the campaign's lock now (dead or alive), or None."""
    row = db.execute("SELECT owner, host, pid, acquired_at, heartbeat_at FROM send_locks WHERE campaign = ?",
                     [campaign]).fetchone()
    return LockHolder(*row) if row else None


def is_stale(clock: Clock, holder: LockHolder, host: str | None = None) -> bool:
    """Whether a holder is certainly gone: same host and no such process, or no heartbeat for STALE_AFTER."""
    if holder.host == (host or socket.gethostname()) and not _pid_alive(holder.pid):
        return True
    return _age(clock, holder.heartbeat_at) > STALE_AFTER


class CampaignLock:
    """The lock on one campaign for this process: acquire (waiting up to `wait` seconds), beat, release."""

    def __init__(self, db: Database, clock: Clock, campaign: str) -> None:
        self.db = db
        self.clock = clock
        self.campaign = campaign
        self.owner = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.recovered: LockHolder | None = None  # a dead holder whose lock was taken over
        self._last_beat = 0.0

    def acquire(self, wait: float = 0.0) -> CampaignLock:
        """Take the lock; wait up to `wait` seconds for a live holder, then refuse with LockedError."""
        waited = 0.0
        while True:
            if self._try():
                self._last_beat = self.clock.monotonic()
                return self
            holder = lock_holder(self.db, self.campaign)
            if waited >= wait:
                where = f"process {holder.pid} on {holder.host}" if holder else "another process"
                since = f" since {holder.acquired_at}" if holder else ""
                raise LockedError(
                    f"Campaign {self.campaign!r} is being sent by {where}{since}",
                    "Wait for that send to finish (see: outreach status " + self.campaign + "). If that process "
                    f"is gone, its lock is freed automatically {int(STALE_AFTER)} s after its last heartbeat.")
            pause = min(1.0, wait - waited)
            self.clock.sleep(pause)
            waited += pause

    def _try(self) -> bool:
        now = utcnow_iso(self.clock)
        try:
            self.db.execute("INSERT INTO send_locks (campaign, owner, host, pid, acquired_at, heartbeat_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)", [self.campaign, self.owner, self.host, self.pid, now, now])
            return True
        except sqlite3.IntegrityError:
            pass
        holder = lock_holder(self.db, self.campaign)
        if holder is None:
            return False  # released meanwhile: the next round inserts
        if holder.owner == self.owner:
            return True
        if not is_stale(self.clock, holder, self.host):
            return False
        cursor = self.db.execute(
            "UPDATE send_locks SET owner = ?, host = ?, pid = ?, acquired_at = ?, heartbeat_at = ? "
            "WHERE campaign = ? AND owner = ?",
            [self.owner, self.host, self.pid, now, now, self.campaign, holder.owner])
        if cursor.rowcount == 1:
            self.recovered = holder
            return True
        return False

    def beat(self, force: bool = False) -> None:
        """Refresh the heartbeat (cheap to call per message: writes at most every HEARTBEAT_EVERY seconds)."""
        now = self.clock.monotonic()
        if force or now - self._last_beat >= HEARTBEAT_EVERY:
            cursor = self.db.execute("UPDATE send_locks SET heartbeat_at = ? WHERE campaign = ? AND owner = ?",
                                     [utcnow_iso(self.clock), self.campaign, self.owner])
            self._last_beat = now
            if cursor.rowcount != 1:  # taken over because this process looked dead: stop before sending more
                raise LockedError(f"The lock on campaign {self.campaign!r} was taken over by another process",
                                  "This run stopped; see outreach status " + self.campaign + ".")

    def release(self) -> None:
        self.db.execute("DELETE FROM send_locks WHERE campaign = ? AND owner = ?", [self.campaign, self.owner])

    def __enter__(self) -> CampaignLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
