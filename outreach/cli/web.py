"""`outreach serve`: the subscriber pages on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli._common import App, err, state


def register(app: App) -> None:
    """Add this part's commands and groups to the root app."""
    app.command("serve")(serve)


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (use a reverse proxy for HTTPS).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8000,
) -> None:
    """Serve the subscriber pages: sign-up, confirmation, unsubscribe, preferences and the archive."""
    from outreach.mail.tokens import require_secret

    settings = state().settings
    require_secret(settings)  # before anything else: links signed with a weak key could be forged
    import logging

    import uvicorn

    from outreach.web import create_app
    from outreach.web.security import TokenRedactingFilter

    application = create_app(settings)
    # Behind a reverse proxy on this machine, X-Forwarded-For/-Proto from 127.0.0.1 give the client address
    # (for rate limits and the consent record) and the https scheme (for Secure cookies).
    config = uvicorn.Config(application, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                            server_header=False, log_level="info")
    # After Config, which sets up uvicorn's loggers: the access log must not keep the tokens of the links.
    logging.getLogger("uvicorn.access").addFilter(TokenRedactingFilter())
    err().print(f"Serving the subscriber pages on http://{host}:{port}/subscribe "
                f"(links in emails point to {settings.public_url}). Press Ctrl-C to stop.")
    uvicorn.Server(config).run()
