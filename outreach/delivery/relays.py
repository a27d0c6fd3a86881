"""Several relays: `OUTREACH_RELAYS=m365,ses` names them, `OUTREACH_RELAY_<NAME>_<KEY>` sets each one.

Keys: HOST (required), PORT, SECURITY (starttls | tls | none), USER, PASSWORD (a secret: keep it in `.env`),
WORKERS (connections, default 1), RATE (its own limits, e.g. `30/min,10000/day`), WEIGHT (share of the
recipients not routed by domain, default 1) and DOMAINS (recipient domains that always go through it). The
settings not named here (HELO, timeouts, pipelining) are the OUTREACH_SMTP_* ones. Without OUTREACH_RELAYS, the
one relay of OUTREACH_SMTP_* is used as before.

`RelayPool` offers the sender what a ConnectionPool offers (`put`, `finished`, `full`, `in_flight`, `close`):
each relay has a ConnectionPool and a RateLimiter of its own; a message goes to its domain's relay, else to the
open relay that has carried the least for its weight. A relay that fails — cannot be reached, refuses the login or
TLS, or closes with 421 three times in a row — is set aside for the rest of the run with a warning naming it;
the message it had goes back to the queue (its attempt not counted, `Rerouted`) and everything after goes to
the others. When none is left, the last failure stops the run as with one relay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from outreach.clock import Clock
from outreach.config import RELAY_PREFIX, SECURITY_CHOICES, Settings
from outreach.delivery.connections import Answer, ConnectionPool, Job
from outreach.delivery.outcomes import Rerouted
from outreach.delivery.ratelimit import Rate, RateLimiter, configured_rates
from outreach.delivery.transport import SmtpTransport, TemporaryFailure, Transport
from outreach.errors import ConfigError, TransportError
from outreach.mail.headers import address_domain
from outreach.suggest import did_you_mean

log = logging.getLogger("outreach.delivery")
KEYS = ("HOST", "PORT", "SECURITY", "USER", "PASSWORD", "WORKERS", "RATE", "WEIGHT", "DOMAINS")
CLOSES_BEFORE_ASIDE = 3  # 421 replies in a row that set a relay aside


@dataclass(frozen=True)
class Relay:
    """One relay: its name, the SMTP settings its connections use, and how much it carries."""

    name: str
    settings: Settings
    workers: int = 1
    rates: tuple[Rate, ...] = ()
    weight: float = 1.0
    domains: frozenset[str] = frozenset()

    def variable(self, key: str) -> str:
        """The environment variable of one of its keys, for messages."""
        return f"{RELAY_PREFIX}{self.name.upper()}_{key}"


def configured_relays(settings: Settings) -> list[Relay]:
    """The relays of OUTREACH_RELAYS (empty when it is not set); a ConfigError names a wrong variable."""
    names = [name.strip() for name in settings.relays if name.strip()]
    values = dict(settings.relay_values)
    known = {f"{RELAY_PREFIX}{name.upper()}_{key}" for name in names for key in KEYS}
    for variable in values:
        if variable not in known:
            raise ConfigError(f"{variable} is set, but names no relay of OUTREACH_RELAYS ({', '.join(names)})"
                              f"{did_you_mean(variable, known)}",
                              f"Write it as {RELAY_PREFIX}<NAME>_<KEY> with a NAME listed in OUTREACH_RELAYS and a "
                              f"KEY among {', '.join(KEYS)}.")
    relays = [_relay(settings, name, values) for name in names]
    routed: dict[str, str] = {}
    for relay in relays:
        for domain in relay.domains:
            if domain in routed:
                raise ConfigError(f"The recipient domain {domain} is routed to two relays, {routed[domain]} and "
                                  f"{relay.name}", f"Keep it in one {RELAY_PREFIX}<NAME>_DOMAINS.")
            routed[domain] = relay.name
    return relays


def _relay(settings: Settings, name: str, values: dict[str, str]) -> Relay:
    def get(key: str) -> str | None:
        return values.get(f"{RELAY_PREFIX}{name.upper()}_{key}")

    def number(key: str, default: float) -> float:
        raw = get(key)
        try:
            value = default if raw is None else float(raw)
        except ValueError:
            value = -1
        if value <= 0 or (key != "WEIGHT" and value != int(value)):
            raise ConfigError(f"{RELAY_PREFIX}{name.upper()}_{key} is {raw!r}",
                              "Set it to a positive " + ("number." if key == "WEIGHT" else "whole number."))
        return value

    host, security = get("HOST"), get("SECURITY") or settings.smtp_security
    if not host:
        raise ConfigError(f"OUTREACH_RELAYS names {name!r} but {RELAY_PREFIX}{name.upper()}_HOST is not set",
                          "Set the relay's host name (and its PORT, SECURITY, USER, PASSWORD as needed).")
    if security not in SECURITY_CHOICES:
        raise ConfigError(f"{RELAY_PREFIX}{name.upper()}_SECURITY is {security!r}",
                          f"Use one of: {', '.join(SECURITY_CHOICES)}.")
    port = get("PORT")
    own = replace(settings, smtp_host=host, smtp_port=int(number("PORT", 1)) if port else None,
                  smtp_security=security, smtp_user=get("USER"), smtp_password=get("PASSWORD"), relays=(),
                  relay_values=())
    rates = configured_rates(None, get("RATE"), "", f"{RELAY_PREFIX}{name.upper()}_RATE")
    domains = frozenset(d.strip().lower() for d in (get("DOMAINS") or "").split(",") if d.strip())
    return Relay(name, own, int(number("WORKERS", 1)), tuple(rates), number("WEIGHT", 1.0), domains)


@dataclass
class _Lane:
    """A relay during a run: its connections, its rate, how it is doing."""

    relay: Relay
    pool: ConnectionPool
    limiter: RateLimiter
    carried: int = 0  # messages handed to it
    closes: int = 0  # 421 replies in a row
    aside: str | None = None  # why it was set aside


class RelayPool:
    """The connections of several relays, as one pool for the sender (see the module's docstring)."""

    def __init__(self, relays: list[Relay], clock: Clock,
                 transports: Callable[[Settings], Transport] = SmtpTransport) -> None:
        self.clock = clock
        self.lanes = [_Lane(r, ConnectionPool(r.workers, _factory(transports, r.settings)),
                            RateLimiter(clock, r.rates)) for r in relays]
        self.size = sum(r.workers for r in relays)
        self.set_aside: list[str] = []  # one message per relay set aside, for the summary
        self._carried_by: dict[int, str] = {}  # delivery id → the relay whose answer is being recorded

    @property
    def in_flight(self) -> int:
        """Jobs handed to any relay and not yet collected."""
        return sum(lane.pool.in_flight for lane in self.lanes)

    @property
    def full(self) -> bool:
        """Whether every open relay is busy."""
        return all(lane.pool.full for lane in self._open())

    def _open(self) -> list[_Lane]:
        return [lane for lane in self.lanes if lane.aside is None]

    def put(self, job: Job) -> None:
        """Hand the job to its domain's relay, else to the open relay that has carried the least for its weight (waiting
        for a relay's own rate when every candidate has to wait)."""
        lane = self._choose(address_domain(job.delivery.contact.email))
        if lane.limiter:
            lane.limiter.wait()
        lane.carried += 1
        lane.pool.put(job)

    def _choose(self, domain: str) -> _Lane:
        lanes = self._open()
        if not lanes:
            raise TransportError("Every relay of OUTREACH_RELAYS was set aside: " + "; ".join(self.set_aside),
                                 "Check each relay's settings; the deliveries not sent stay queued.")
        routed = [lane for lane in lanes if domain in lane.relay.domains]
        if routed:
            return routed[0]
        # Strictly by weight (the share of the recipients each relay carries), preferring a relay whose own rate
        # lets it send now; a busy relay's message waits for its next free connection.
        ready = [lane for lane in lanes if not lane.limiter or lane.limiter.delay() <= 0] or lanes
        return min(ready, key=lambda lane: (lane.carried + 1) / lane.relay.weight)

    def finished(self, wait: bool) -> list[tuple[Job, Answer]]:
        """The answers that are back from any relay (waiting for one when `wait` and something is in flight);
        a relay's failure becomes `Rerouted` while another relay is open."""
        done: list[tuple[Job, Answer]] = []
        while True:
            for lane in self.lanes:
                done += [(job, self._judge(lane, job, answer)) for job, answer in lane.pool.finished(wait=False)]
            if done or not wait or not self.in_flight:
                return done
            time.sleep(0.002)  # the connections' threads run on real time, whatever the run's clock

    def _judge(self, lane: _Lane, job: Job, answer: Answer) -> Answer:
        self._carried_by[job.delivery.id] = lane.relay.name
        if isinstance(answer, str):
            lane.closes = 0
            return answer
        failing = isinstance(answer, TransportError) and not _about_sender(answer)
        if isinstance(answer, TemporaryFailure) and answer.code == 421:
            lane.closes += 1
            failing = lane.closes >= CLOSES_BEFORE_ASIDE
        if not failing:
            return answer
        if lane.aside is None:
            lane.aside = str(answer)
            message = (f"The relay {lane.relay.name} ({lane.relay.variable('HOST')}={lane.relay.settings.smtp_host}) "
                       f"was set aside for this run: {answer}")
            self.set_aside.append(message)
            log.warning("%s. Its messages go to the other relays.", message)
        if self._open():
            return Rerouted(f"relay {lane.relay.name} set aside: {answer}")
        return answer  # no relay left: the run stops on it

    def relay_of(self, job: Job) -> str | None:
        """The name of the relay that answered for the job (asked once, when its answer is recorded)."""
        return self._carried_by.pop(job.delivery.id, None)

    def figures(self) -> list[tuple[str, int, str | None]]:
        """(relay, messages handed to it, why it was set aside) for each relay."""
        return [(lane.relay.name, lane.carried, lane.aside) for lane in self.lanes]

    def close(self) -> None:
        """Close every relay's connections."""
        for lane in self.lanes:
            lane.pool.close()


def _about_sender(error: BaseException) -> bool:
    """A refusal of the sender (5xx at MAIL FROM…) is not the relay's failure: every relay would refuse it."""
    from outreach.delivery.refusals import SenderRefused

    return isinstance(error, SenderRefused)


def _factory(transports: Callable[[Settings], Transport], settings: Settings) -> Callable[[], Transport]:
    return lambda: transports(settings)


def relay_pool(settings: Settings, clock: Clock) -> RelayPool | None:
    """The pool of OUTREACH_RELAYS, or None when it is not set (the one relay of OUTREACH_SMTP_*)."""
    relays = configured_relays(settings)
    return RelayPool(relays, clock) if relays else None
