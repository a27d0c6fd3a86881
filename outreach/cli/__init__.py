"""The `outreach` command: the root app, its global options, and the groups joined with add_typer.

Each group lives in its own module and owns nothing but parsing, calling the core and printing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach import __version__
from outreach.cli import campaign as campaign_cli
from outreach.cli import campaign_translate as campaign_translate_cli
from outreach.cli import contacts as contacts_cli
from outreach.cli import db as db_cli
from outreach.cli import events as events_cli
from outreach.cli import sending as sending_cli
from outreach.cli import setup as setup_cli
from outreach.cli import tracking as tracking_cli
from outreach.cli import web as web_cli
from outreach.cli._common import App, AppState

app = App(
    name="outreach",
    help="Multilingual newsletters and outreach: contacts, localized campaigns, careful sending, tracking.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"outreach {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Path | None, typer.Option(
        "--db", help="Database file (default: OUTREACH_DB, or contacts.db in the workspace).",
        show_default=False)] = None,
    env_file: Annotated[Path | None, typer.Option(
        "--env-file", help="Settings file; its folder is the workspace (default: the nearest .env upwards).",
        show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Multilingual newsletters and outreach: contacts, localized campaigns, careful sending, tracking."""
    ctx.obj = AppState(db_option=db, env_file=env_file)


setup_cli.register(app)
app.add_typer(contacts_cli.app, name="contacts")
campaign_cli.register(app)
campaign_translate_cli.register(campaign_cli.campaign_app)
sending_cli.register(app)
tracking_cli.register(app)
db_cli.register(app)
web_cli.register(app)
events_cli.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
