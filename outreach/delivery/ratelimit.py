"""Sending rates: `30/min`, `1000/hour`, `10000/day` — what relays such as Microsoft 365 impose.

Short windows (per second, per minute) are paced evenly — 30/min sends one message every 2 s, as a careful
human would, and never more than 30 in any minute. Long windows (hour, day) are a sliding window over the
times of the last N messages, so a 10,000/day quota may be used at the short-window pace and the sender then
waits until the oldest message leaves the window. Limits can be combined (`30/min,10000/day`).

All time comes from the injected Clock: tests advance a fake clock, nothing here sleeps.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from outreach.clock import Clock
from outreach.errors import InputError

UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
         "d": 86400, "day": 86400}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*", re.IGNORECASE)
PACED_UP_TO = 60  # windows up to a minute are paced evenly; longer ones are sliding windows


@dataclass(frozen=True)
class Rate:
    """At most `count` messages in any `seconds`."""

    count: int
    seconds: float

    def __str__(self) -> str:
        unit = {1: "s", 60: "min", 3600: "hour", 86400: "day"}.get(int(self.seconds))
        return f"{self.count}/{unit}" if unit else f"{self.count}/{self.seconds:g}s"


def parse_rates(text: str | None, setting: str = "--rate") -> list[Rate]:
    """`30/min`, `1000/hour`, `10000/day`, `2/s`, `100/5min`, comma-separated for several; empty → none."""
    if not text or not text.strip() or text.strip().lower() in ("none", "unlimited", "0"):
        return []
    rates = []
    for part in text.split(","):
        match = _RATE.fullmatch(part)
        unit = match.group(3).lower() if match else ""
        if not match or unit not in UNITS or int(match.group(1)) < 1:
            raise InputError(f"{setting} {part.strip()!r} is not a rate",
                             "Write it as messages per unit, e.g. 30/min, 1000/hour or 10000/day.")
        multiple = int(match.group(2) or 1)
        rates.append(Rate(int(match.group(1)), float(UNITS[unit] * multiple)))
    return rates


def configured_rates(given: str | None, setting: str | None, option: str, variable: str) -> list[Rate]:
    """The command line's rate when one was given, else the setting's; an error names whichever was used."""
    return parse_rates(given, option) if given else parse_rates(setting, variable)


class RateLimiter:
    """Admits one message at a time within every configured rate."""

    def __init__(self, clock: Clock, rates: Iterable[Rate]) -> None:
        self.clock = clock
        self.rates = list(rates)
        self._last: float | None = None
        self._interval = max((r.seconds / r.count for r in self.rates if r.seconds <= PACED_UP_TO), default=0.0)
        self._windows = [(r, deque[float]()) for r in self.rates if r.seconds > PACED_UP_TO]

    def __bool__(self) -> bool:
        return bool(self.rates)

    def seed(self, ages: Iterable[float]) -> None:
        """Count messages already sent `age` seconds ago (from the database) against the long windows, so a
        restart does not forget today's quota."""
        now = self.clock.monotonic()
        for age in sorted(ages, reverse=True):
            for rate, times in self._windows:
                if age < rate.seconds:
                    times.append(now - age)
                    while len(times) > rate.count:
                        times.popleft()

    def delay(self) -> float:
        """Seconds to wait before the next message may go (0 when it may go now)."""
        now = self.clock.monotonic()
        wait = 0.0
        if self._last is not None and self._interval:
            wait = max(wait, self._last + self._interval - now)
        for rate, times in self._windows:
            while times and times[0] <= now - rate.seconds:
                times.popleft()
            if len(times) >= rate.count:
                wait = max(wait, times[0] + rate.seconds - now)
        return wait

    def record(self) -> None:
        """Note that a message went now."""
        now = self.clock.monotonic()
        self._last = now
        for _, times in self._windows:
            times.append(now)

    def wait(self) -> float:
        """Sleep (through the clock) until a message may go, and take its slot; returns the time waited."""
        waited = 0.0
        while (pause := self.delay()) > 0:
            self.clock.sleep(pause)
            waited += pause
        self.record()
        return waited


class DomainLimiter:
    """One RateLimiter per recipient domain (phpList's domain throttle): a throttled domain's messages wait
    while the others go on."""

    def __init__(self, clock: Clock, rates: Iterable[Rate]) -> None:
        self.clock = clock
        self.rates = list(rates)
        self._limiters: dict[str, RateLimiter] = {}

    def __bool__(self) -> bool:
        return bool(self.rates)

    def _limiter(self, domain: str) -> RateLimiter:
        limiter = self._limiters.get(domain)
        if limiter is None:
            limiter = self._limiters[domain] = RateLimiter(self.clock, self.rates)
        return limiter

    def delay(self, domain: str) -> float:
        """Seconds before the next message to `domain` may go."""
        return self._limiter(domain).delay() if self.rates else 0.0

    def record(self, domain: str) -> None:
        """Note that a message to `domain` went now."""
        if self.rates:
            self._limiter(domain).record()
