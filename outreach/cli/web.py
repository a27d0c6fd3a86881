"""`outreach serve`: the subscriber pages on uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from outreach.cli._common import err, state

if TYPE_CHECKING:
    from outreach.scheduling import DueWatcher


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (use a reverse proxy for HTTPS).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8000,
    proxy_headers: Annotated[list[str] | None, typer.Option(
        "--proxy-headers", metavar="ADDRESS",
        help="Believe X-Forwarded-For/-Proto only from this reverse proxy address or network (repeatable, or "
             "comma-separated). Without it, forwarded headers are ignored.")] = None,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", metavar="NAME",
        help="Also answer requests for this host name (repeatable); by default only the host of "
             "OUTREACH_PUBLIC_URL is served.")] = None,
    run_due: Annotated[bool, typer.Option(
        "--run-due/--no-run-due", help="Also start scheduled sends when they are due (as `outreach run-due`).")
    ] = True,
) -> None:
    """Serve the subscriber pages: sign-up, confirmation, unsubscribe, preferences and the archive."""
    from outreach.errors import InputError
    from outreach.mail.tokens import require_secret
    from outreach.web.server import trusted_proxies

    try:
        proxies = trusted_proxies(proxy_headers or [])
    except InputError as error:
        raise typer.BadParameter(f"{error.message}. {error.hint}", param_hint="--proxy-headers") from None
    settings = state().settings
    require_secret(settings)  # before serving anything: links signed with a weak key could be forged
    import logging

    import uvicorn

    from outreach.web import create_app
    from outreach.web.security import TokenRedactingFilter, allowed_hosts
    from outreach.web.server import server_config

    application = create_app(settings, allow_hosts=allow_host or [])
    config = server_config(application, host=host, port=port, proxies=proxies)
    # After Config, which sets up uvicorn's loggers: the access log must not keep the tokens of the links.
    logging.getLogger("uvicorn.access").addFilter(TokenRedactingFilter())
    hosts = ", ".join(sorted(allowed_hosts(settings.public_url, allow_host or [])))
    trust = f"forwarded headers from {', '.join(proxies)}" if proxies else "no forwarded headers"
    err().print(f"Serving the subscriber pages on http://{host}:{port}/subscribe "
                f"(links in emails point to {settings.public_url}; answering to {hosts}; {trust}). "
                "Press Ctrl-C to stop.")
    watcher = _due_watcher(settings.db_path) if run_due else None
    if watcher is not None:
        watcher.start()
    try:
        uvicorn.Server(config).run()
    finally:
        if watcher is not None:
            watcher.stop()


def _due_watcher(db_path: Path) -> DueWatcher:
    """Runs `outreach run-due` (this interpreter, this database, this settings file) when a schedule is due."""
    import sys

    from outreach.scheduling import DueWatcher

    env_file = state().env_file
    command = [sys.executable, "-m", "outreach", "--db", str(db_path.resolve()),
               *(["--env-file", str(env_file.resolve())] if env_file else []), "run-due"]
    err().print("Scheduled sends start here when they are due (--no-run-due: leave them to cron).")
    return DueWatcher(db_path, command)
