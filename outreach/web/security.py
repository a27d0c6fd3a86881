"""Security of the subscriber pages: CSRF tokens, attempt limits, response headers, safe paths.

CSRF uses a signed double submit: a random value lives in an HttpOnly cookie, and each form carries that value
signed with the secret key (itsdangerous). A forged form from another site can neither read the cookie nor sign a
value, so it cannot make a matching pair. The RFC 8058 one-click unsubscribe is the one POST without it: mail
providers send it without cookies, and its token in the URL already proves the mail was received.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from outreach.clock import Clock

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "outreach_csrf"
CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE = 24 * 3600  # a form left open overnight still works; older ones ask for a reload

# No script at all, styles only from /static, nothing may frame the pages (clickjacking), forms post only here.
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
# The archived web version is the email's own HTML, whose CSS is inlined into style attributes for mail clients:
# it keeps those styles, but still runs no script, loads nothing but images and has no forms.
ARCHIVE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'none'; "
               "frame-ancestors 'none'; base-uri 'none'")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # the tokens in our URLs must never leak to another site
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


class CsrfGuard:
    """Issues and checks the signed double-submit tokens for one secret key."""

    def __init__(self, secret: str) -> None:
        from itsdangerous import URLSafeTimedSerializer

        self._serializer = URLSafeTimedSerializer(secret, salt="outreach/csrf")

    @staticmethod
    def new_cookie_value() -> str:
        """A fresh random value for a browser that has no CSRF cookie yet."""
        return secrets.token_urlsafe(32)

    def form_token(self, cookie_value: str) -> str:
        """The value to put in a form's hidden field, bound to this browser's cookie."""
        return str(self._serializer.dumps(cookie_value))

    def valid(self, cookie_value: str | None, form_token: str | None) -> bool:
        """Whether a submitted form token was signed by us for this very cookie, recently enough."""
        from itsdangerous import BadSignature

        if not cookie_value or not form_token:
            return False
        try:
            signed_for = self._serializer.loads(form_token, max_age=CSRF_MAX_AGE)
        except BadSignature:  # SignatureExpired is a BadSignature too
            return False
        return isinstance(signed_for, str) and hmac.compare_digest(signed_for, cookie_value)


class AttemptLimiter:
    """At most `limit` attempts per key (a client address, an email address) within `window` seconds.

    A sliding window per key, in memory, on the injected clock. It refuses an attempt rather than delaying it,
    unlike `outreach.delivery.ratelimit.RateLimiter`, which paces one stream of outgoing messages; the two share
    no logic. In memory is enough for one server process, and each app holds its own limiters; a restart only
    ever loosens the limit.
    The number of keys is capped so that a flood of distinct keys cannot grow memory without bound.
    """

    def __init__(self, clock: Clock, limit: int, window: float, max_keys: int = 50_000) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Count one attempt for `key`; False when it is over the limit (the attempt is then not counted)."""
        now = self.clock.monotonic()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._prune(now)
                hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again (0 when it may now)."""
        now = self.clock.monotonic()
        with self._lock:
            hits = self._hits.get(key)
            if not hits or len(hits) < self.limit:
                return 0
            return max(1, int(hits[0] + self.window - now) + 1)

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:  # still full of live keys: forget the oldest
            del self._hits[next(iter(self._hits))]


def safe_path(path: str) -> str:
    """A same-site path for links built from the request (the language switcher), never another host.

    `//evil.example/x` or `/\\evil.example` would be read by browsers as another host: those become `/`.
    """
    if not path.startswith("/") or path.startswith(("//", "/\\")) or any(ch in path for ch in "\r\n\t\\"):
        return "/"
    return path


# Host names a development server (whose OUTREACH_PUBLIC_URL is itself on loopback) also answers to.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

log = logging.getLogger("outreach.web")


def host_name(value: str) -> str | None:
    """The host name of a Host header or URL authority, lower case, without port, brackets or final dot.

    None when it is not a plausible host (empty, or characters no host name has).
    """
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8000
        name, bracket, _ = value[1:].partition("]")
        if not bracket:
            return None
    else:
        name = value.rpartition(":")[0] if value.count(":") == 1 else value
    name = name.rstrip(".")
    if not name or not re.fullmatch(r"[a-z0-9.\-:_]+", name):
        return None
    return name


def allowed_hosts(public_url: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names the pages answer to: the host of OUTREACH_PUBLIC_URL, plus `extra`.

    When the public URL is itself on loopback (a development setup), every loopback name is allowed too, so that
    http://localhost:8000 and http://127.0.0.1:8000 both work; in production loopback names are refused like any
    other foreign host unless named in `extra` (`outreach serve --allow-host`).
    """
    own = urlsplit(public_url).hostname or ""
    names = {own.rstrip(".").lower()}
    if own in LOOPBACK_NAMES:
        names |= LOOPBACK_NAMES
    names |= {name for name in (host_name(value) for value in extra) if name}
    return frozenset(names - {""})


class HostGuardMiddleware:
    """Refuses (400) every request whose Host header names a host the pages do not serve.

    Nothing is built from the Host header (links and redirects come from OUTREACH_PUBLIC_URL), but a foreign
    Host would still reach the pages through a misconfigured proxy or DNS rebinding; refusing it early keeps
    caches and logs clean of it. The first refusal of each host name is logged with the remedy.
    """

    def __init__(self, app: ASGIApp, hosts: frozenset[str], max_logged: int = 100) -> None:
        self.app = app
        self.hosts = hosts
        self.max_logged = max_logged
        self._logged: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        values = [value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"host"]
        host = host_name(values[0]) if len(values) == 1 else None
        if host is not None and host in self.hosts:
            await self.app(scope, receive, send)
            return
        self._log(values)
        from starlette.responses import PlainTextResponse

        await PlainTextResponse("Invalid host header.\n", status_code=400)(scope, receive, send)

    def _log(self, values: list[str]) -> None:
        shown = ", ".join(repr(value[:100]) for value in values) or "none"
        if shown in self._logged or len(self._logged) >= self.max_logged:
            return
        self._logged.add(shown)
        log.warning("Refused a request for host %s: the pages answer only to %s (the host of OUTREACH_PUBLIC_URL, "
                    "and --allow-host). Behind a reverse proxy, pass the original Host header "
                    "(nginx: proxy_set_header Host $host; Apache: ProxyPreserveHost On).",
                    shown, ", ".join(sorted(self.hosts)))


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response; a response may set its own CSP first (the archive).

    The app factory puts it outside everything else, Starlette's own error handling included, so that error
    replies (400 bad host, 404, 405, 413, 500) carry the headers too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = dict(SECURITY_HEADERS)
                extra["content-security-policy"] = PAGE_CSP
                for name, value in extra.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_TOKEN_PATH = re.compile(r"/(confirm|unsubscribe|preferences|data|attend|decline|register|l)/[^/?#\s]+")


def redact_tokens(text: str) -> str:
    """A URL path with its signed token replaced: tokens are keys to a person's data and must not sit in logs."""
    return _TOKEN_PATH.sub(lambda match: f"/{match.group(1)}/…", text)


class TokenRedactingFilter(logging.Filter):
    """A logging filter for uvicorn's access log that redacts the tokens in request paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_tokens(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        return True
