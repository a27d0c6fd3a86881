"""How `outreach serve` runs the pages on uvicorn: which proxy may say who the client is.

Rate limits and consent records use the client's address. Behind a reverse proxy that address is the proxy's,
and the real one comes in `X-Forwarded-For` — a header any client can write. So it is believed only from the
proxy addresses named with `outreach serve --proxy-headers ADDRESS` (uvicorn's ProxyHeadersMiddleware with
`forwarded_allow_ips`); without that option every forwarded header is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from outreach.errors import InputError

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp


def trusted_proxies(values: Iterable[str]) -> list[str]:
    """The proxy addresses or networks given (repeated or comma-separated), checked; InputError for any other."""
    proxies: list[str] = []
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            try:
                network = ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise InputError(f"--proxy-headers {item!r} is not an IP address or network",
                                 "Name the address your reverse proxy connects from, e.g. --proxy-headers "
                                 "127.0.0.1 (or a network such as 10.0.0.0/24).") from None
            proxies.append(str(network.network_address) if network.num_addresses == 1 else str(network))
    return proxies


def server_config(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 8000, proxies: Iterable[str] = (),
                  log_level: str = "info") -> uvicorn.Config:
    """The uvicorn configuration of `outreach serve`: forwarded headers only from `proxies`, no Server header."""
    import uvicorn

    trusted = list(proxies)
    # proxy_headers=False leaves X-Forwarded-For/-Proto untouched; uvicorn's own default would trust 127.0.0.1.
    return uvicorn.Config(app, host=host, port=port, proxy_headers=bool(trusted),
                          forwarded_allow_ips=trusted or None, server_header=False, log_level=log_level,
                          lifespan="off")
