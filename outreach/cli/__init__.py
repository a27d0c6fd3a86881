"""The `outreach` command: the root app, its global options, and its commands and groups, loaded when used.

Each command group lives in its own module and owns nothing but parsing, calling the core and printing. The root
knows them by name (`COMMANDS`) and imports a module, and builds its click commands, only when that command runs
(or `--help` lists them all): `outreach contacts count` never imports the campaign, sending or web modules.
"""

from __future__ import annotations

import importlib
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from outreach import __version__
from outreach.cli._common import App, AppState

# Every command of the root, in the order `outreach --help` lists them: name → "module:attribute", where the
# attribute is a command function or an App holding a group of commands.
COMMANDS: dict[str, str] = {
    "init": "outreach.cli.campaign:init",
    "config": "outreach.cli.setup:config",
    "countries": "outreach.cli.setup:countries",
    "contacts": "outreach.cli.contacts:app",
    "campaign": "outreach.cli.campaign:campaign_app",
    "i18n": "outreach.cli.campaign:i18n_app",
    "send": "outreach.cli.sending:send",
    "status": "outreach.cli.status:status",
    "schedule": "outreach.cli.schedule:app",
    "run-due": "outreach.cli.schedule:run_due",
    "event": "outreach.cli.events:event_app",
    "report": "outreach.cli.tracking:report",
    "bounces": "outreach.cli.tracking:bounces_app",
    "unsubscribes": "outreach.cli.tracking:unsubscribes_app",
    "serve": "outreach.cli.web:serve",
    "browse": "outreach.cli.browse:browse",
    "db": "outreach.cli.db:db_app",
    "dkim": "outreach.cli.dkim:app",
    "sink": "outreach.cli.demo:sink",
    "demo": "outreach.cli.demo:demo",
}


def load_command(name: str) -> Any:
    """The click command (or group) for one of COMMANDS, imported and built now."""
    module, _, attribute = COMMANDS[name].partition(":")
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: Any = typer.main.get_group(target)
    else:
        single = App()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: its commands are built on first use from COMMANDS (click's lazy-loading pattern)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(load_command(cmd_name), cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            matches = get_close_matches(name, list(COMMANDS))
            ctx.fail(f"No such command {name!r}." + (f" Did you mean {', '.join(map(repr, matches))}?"
                                                     if matches else ""))
        return super().resolve_command(ctx, args)


app = App(
    name="outreach",
    cls=LazyGroup,
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


def main() -> None:
    """Console-script entry point."""
    app()
