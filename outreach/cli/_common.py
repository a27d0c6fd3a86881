"""What every command module shares: the typed context object, output helpers and the error wrapper.

The CLI is the only edge that prints. What a command was asked to show (tables, settings, a contact, a status, check
results, reports, counts) goes to stdout through `out()` and `print_table()`; progress, prompts, confirmations of
what was done, warnings and errors go to stderr through `err()`. `--json` prints exactly one JSON document to
stdout. When stdout is not a terminal, `print_table` writes tab-separated lines with a header line and nothing else
(as `gh` does), so that `grep`, `cut` and `sort` work.

The state of one invocation (global options, the open database, the stderr console) is an `AppState` that the root
callback keeps in `ctx.obj`; Click hands it down to every sub-context. Typer gives the running context only to a
parameter annotated `typer.Context`, so `handle_errors` adds such a parameter to every command it wraps and binds
that context for the length of the command: `state()` reads `ctx.obj` from it, so commands keep calling `state().db`.
"""

from __future__ import annotations

import functools
import inspect
import json
import sqlite3
import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, runtime_checkable

import typer

from outreach.errors import DatabaseError, ExitCode, OutreachError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from outreach.config import Settings
    from outreach.db.schema import Database

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppState:
    """The global options, resolved lazily so that `--help` stays fast and bad settings fail inside a command."""

    db_option: Path | None = None
    env_file: Path | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)
    _stderr: Console | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The settings: environment over the settings file over defaults, with `--db` applied."""
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

    def database_trouble(self, error: sqlite3.DatabaseError) -> DatabaseError | None:
        """A damaged, full or read-only database file met during the command, as a message (None: not that)."""
        if self._settings is None:
            return None
        from outreach.db.trouble import explain

        return explain(error, self._settings.db_path)

    @property
    def stderr(self) -> Console:
        """One console per invocation, so that prints during a progress bar go through the bar's own console."""
        if self._stderr is None:
            from rich.console import Console

            self._stderr = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._stderr

    def secrets(self) -> list[str]:
        """The secrets to mask in messages: none when the settings were never loaded (they could not be)."""
        return self._settings.secrets() if self._settings is not None else []

    def close(self) -> None:
        """Close the database if this command opened it."""
        if self._db is not None:
            self._db.close()
            self._db = None


@runtime_checkable
class CommandContext(Protocol):
    """What the CLI needs of the running command's context (typer's Context, which is Click's, has it)."""

    def ensure_object(self, object_type: type[T]) -> T:
        """The nearest `object_type` in ctx.obj up the chain of contexts, created on this one if there is none."""
        ...


# The context of the command running now, bound by `handle_errors` and reset when the command returns. Not state of
# this module: a context variable holds one value per thread and asyncio task, as Click's own context stack does.
_running: ContextVar[CommandContext] = ContextVar("outreach_running_command")


def state() -> AppState:
    """The AppState of the running command, from its context's `obj` (a bare one outside a command)."""
    ctx = _running.get(None)
    if ctx is None:
        return AppState()
    return ctx.ensure_object(AppState)


def err() -> Console:
    """The console for prose, progress and errors (stderr)."""
    return state().stderr


def out(width: int | None = None) -> Console:
    """The console for what the command was asked to show (stdout), never wrapping a line it was not given."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, width=width)


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (a person reading) rather than a pipe or a file (a program reading)."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def _plain(cell: str | Text) -> str:
    text = cell if isinstance(cell, str) else cell.plain
    return " ".join(text.replace("\t", " ").splitlines())


def print_table(columns: Sequence[str], rows: Sequence[Sequence[str | Text]], *, title: str | None = None,
                header: bool = True, styles: Sequence[str | None] | None = None, wide: bool = False) -> None:
    """Print one table of what was asked for on stdout: a rich table on a terminal, tab-separated lines otherwise.

    Cells are plain text (no markup) or rich `Text`. On a terminal `wide` keeps figures whole on 240 columns (the
    terminal wraps long lines instead); piped, each row is one line, preceded by the column names when `header`.
    """
    if not stdout_is_terminal():
        lines = ["\t".join(columns)] if header else []
        lines += ["\t".join(_plain(cell) for cell in row) for row in rows]
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(*columns, title=title, title_justify="left", show_header=header, box=None, pad_edge=False)
    for index, row in enumerate(rows):
        table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in row),
                      style=styles[index] if styles else None)
    console = out()
    if wide:
        console = out(width=max(console.width, 240))
    console.print(table)


def one_of(value: str, choices: Sequence[str], option: str) -> str:
    """`value` lower-cased if it is one of `choices`, else a usage error (exit 2) naming the option and choices."""
    if value.lower() not in choices:
        raise typer.BadParameter(f"{value!r} is not one of: {', '.join(choices)}.", param_hint=f"'{option}'")
    return value.lower()


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


_CONTEXT_PARAMETER = "_outreach_context"  # the parameter handle_errors adds; no command has one of that name


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn OutreachError into a message and its exit code, Ctrl-C into 130; close the database either way.

    The wrapper takes one more keyword parameter, annotated `typer.Context`, that typer fills with the running
    context; it is bound for `state()` and not passed on to `func`.
    """
    signature = inspect.signature(func, eval_str=True)
    context_parameter = inspect.Parameter(_CONTEXT_PARAMETER, inspect.Parameter.KEYWORD_ONLY,
                                          annotation=typer.Context)

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = kwargs.pop(_CONTEXT_PARAMETER, None)  # None only when called other than by typer
        token = _running.set(ctx) if isinstance(ctx, CommandContext) else None
        app_state = state()
        try:
            return func(*args, **kwargs)
        except OutreachError as error:
            report_error(error, app_state.secrets())
            raise typer.Exit(int(error.exit_code)) from None
        except sqlite3.DatabaseError as error:
            explained = app_state.database_trouble(error)
            if explained is None:
                raise  # not the file's fault: a bug, shown as one
            report_error(explained, app_state.secrets())
            raise typer.Exit(int(explained.exit_code)) from None
        except KeyboardInterrupt:
            err().print("Interrupted.")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        finally:
            app_state.close()
            if token is not None:
                _running.reset(token)

    # typer reads the parameters from __signature__ (inspect.signature stops there before following __wrapped__).
    wrapper.__dict__["__signature__"] = signature.replace(
        parameters=[*signature.parameters.values(), context_parameter])
    return wrapper


class App(typer.Typer):
    """A Typer whose commands all go through `handle_errors`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_show_locals", False)
        kwargs.setdefault("rich_markup_mode", None)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Register a command wrapped in `handle_errors`; the decorated function itself is returned unchanged."""
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(handle_errors(func))
            return func

        return decorator
