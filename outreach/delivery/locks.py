"""One sender per campaign: a lock row in `send_locks` (outreach.db.locks), with a heartbeat.

Two `outreach send` on the same campaign (two terminals, a cron overlap) must never both send. A holder is dead
when it ran on this host and its process is gone, or when its heartbeat is older than STALE_AFTER (a crashed
machine, another host); its lock may then be taken over.
"""

from __future__ import annotations

import os
import socket
import uuid

from outreach.clock import Clock, parse_isoformat, utcnow_iso
from outreach.db.locks import beat_lock, get_lock, insert_lock, release_lock, take_over_lock
from outreach.db.schema import Database
from outreach.errors import LockedError
from outreach.models.deliveries import LockHolder

HEARTBEAT_EVERY = 10.0  # seconds between heartbeats while sending
STALE_AFTER = 120.0  # a heartbeat older than this means the holder is gone


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    return True


def is_stale(clock: Clock, holder: LockHolder, host: str | None = None) -> bool:
    """Whether a holder is certainly gone: same host and no such process, or no heartbeat for STALE_AFTER."""
    if holder.host == (host or socket.gethostname()) and not pid_alive(holder.pid):
        return True
    return (clock.now() - parse_isoformat(holder.heartbeat_at)).total_seconds() > STALE_AFTER


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
            holder = get_lock(self.db, self.campaign)
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
        me = LockHolder(self.owner, self.host, self.pid, now, now)
        if insert_lock(self.db, self.campaign, me):
            return True
        holder = get_lock(self.db, self.campaign)
        if holder is None:
            return False  # released meanwhile: the next round inserts
        if holder.owner == self.owner:
            return True
        if not is_stale(self.clock, holder, self.host):
            return False
        if take_over_lock(self.db, self.campaign, me, holder.owner):
            self.recovered = holder
            return True
        return False

    def beat(self, force: bool = False) -> None:
        """Refresh the heartbeat (cheap to call per message: writes at most every HEARTBEAT_EVERY seconds)."""
        now = self.clock.monotonic()
        if force or now - self._last_beat >= HEARTBEAT_EVERY:
            mine = beat_lock(self.db, self.campaign, self.owner, utcnow_iso(self.clock))
            self._last_beat = now
            if not mine:  # taken over because this process looked dead: stop before sending more
                raise LockedError(f"The lock on campaign {self.campaign!r} was taken over by another process",
                                  "This run stopped; see outreach status " + self.campaign + ".")

    def release(self) -> None:
        """Give the lock up."""
        release_lock(self.db, self.campaign, self.owner)
