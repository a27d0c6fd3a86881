"""What every command module shares: the typed context object, output helpers and the error wrapper.

The CLI is the only edge that prints. Prose, progress and errors go to stderr; `--json` prints exactly one JSON
document to stdout.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from outreach.errors import ExitCode, OutreachError

if TYPE_CHECKING:
    from rich.console import Console

    from outreach.config import Settings
    from outreach.db.schema import Database

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppState:
    """The global options, resolved lazily so that `--help` stays fast and bad settings fail inside a command."""

    db_option: Path | None = None
    env_file: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from outreach.config import load_settings

            settings = load_settings(self.env_file)
            self._settings = settings.with_overrides(db_path=self.db_option)
        return self._settings

    @property
    def db(self) -> Database:
        """The database, opened (created and migrated on first use) once per command."""
        if self._db is None:
            from outreach.db.schema import open_database

            self._db = open_database(self.settings.db_path)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


_current: AppState | None = None


def begin(app_state: AppState) -> None:
    """Called by the root callback: the global options of this invocation."""
    global _current
    _current = app_state


def state(ctx: typer.Context | None = None) -> AppState:
    """The AppState of the running command (a bare one when a command runs outside the root app)."""
    global _current
    if _current is None:
        _current = AppState()
    return _current


_stderr: Console | None = None


def err() -> Console:
    """The console for prose, progress and errors (stderr)."""
    global _stderr
    if _stderr is None:
        from rich.console import Console

        _stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    return _stderr


def print_json(document: Any) -> None:
    """Exactly one JSON document on stdout, non-ASCII kept as is."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def _mask(text: str, secrets: list[str]) -> str:
    import re

    for secret in secrets:
        if secret:
            # Whole occurrences only: a short secret must not blank out ordinary words around it.
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", "********", text)
    return text


def report_error(error: OutreachError, secrets: list[str] | None = None) -> None:
    """Print `Error: …` and the hint to stderr, with every secret masked."""
    from rich.markup import escape

    secrets = secrets or []
    console = err()
    console.print(f"[bold red]Error:[/] {escape(_mask(error.message, secrets))}")
    if error.hint:
        console.print(f"[dim]Hint:[/] {escape(_mask(error.hint, secrets))}")


def handle_errors(func: F) -> F:
    """Turn OutreachError into a message and its exit code, Ctrl-C into 130; close the database either way."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app_state = state()
        try:
            return func(*args, **kwargs)
        except OutreachError as error:
            secrets: list[str] = []
            if app_state._settings is not None:
                secrets = app_state._settings.secrets()
            report_error(error, secrets)
            raise typer.Exit(int(error.exit_code)) from None
        except KeyboardInterrupt:
            err().print("Interrupted.")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        finally:
            app_state.close()

    return wrapper  # type: ignore[return-value]


class App(typer.Typer):
    """A Typer whose commands all go through `handle_errors`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_show_locals", False)
        kwargs.setdefault("rich_markup_mode", None)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(handle_errors(func))
            return func

        return decorator
