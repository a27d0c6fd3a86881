"""`outreach browse`: look around the database in Datasette (optional extra `outreach[browse]`)."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli._common import err, state


def browse(
    host: Annotated[str | None, typer.Option(
        "--host", help="Address to listen on (default 127.0.0.1). Any other than loopback shows every contact "
                       "to whoever can reach this machine: give it only on purpose.", show_default=False)] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8001,
) -> None:
    """Open the database read-only in Datasette: tables with descriptions, and canned queries (reach by country
    and audience, who received a campaign, bounces by domain, a person's history, event attendees)."""
    from outreach.browse import is_loopback, make_datasette, serve

    chosen = host or "127.0.0.1"
    app_state = state()
    path = app_state.settings.db_path
    app_state.db  # noqa: B018 — the database must exist and be migrated; never invented here
    app_state.close()
    datasette = make_datasette(path)  # a missing extra is told before anything is printed
    if not is_loopback(chosen):
        err().print(f"[bold yellow]Warning:[/] serving on {chosen}, not loopback: everyone who can reach this "
                    f"machine on port {port} can read every contact, without a password.")
    shown = f"[{chosen}]" if ":" in chosen else chosen
    err().print(f"Browsing {path} read-only at http://{shown}:{port}/contacts (Datasette). Press Ctrl-C to stop.")
    serve(datasette, chosen, port)
