"""The one place that reads the wall clock or sleeps, so tests can advance time instead of waiting."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for rate limits)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait (or, in tests, advance time)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def isoformat(moment: datetime) -> str:
    """UTC ISO-8601 with seconds precision and a Z, the one timestamp format stored in the database."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow_iso(clock: Clock) -> str:
    """The clock's now as a stored timestamp."""
    return isoformat(clock.now())


def parse_isoformat(stamp: str) -> datetime:
    """A stored timestamp back as an aware UTC datetime (the inverse of `isoformat`)."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
