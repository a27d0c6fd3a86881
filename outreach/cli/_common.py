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
import sqlite3
import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, runtime_checkable

import typer

from outreach.errors import ConfigError, DatabaseError, ExitCode, NotFoundError, OutreachError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from outreach.config import Settings, Workspace
    from outreach.db.reading import Reader
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
    _workspace: Workspace | bool | None = field(default=None, repr=False)  # False: looked, none found
    _settings: Settings | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)
    _reader: sqlite3.Connection | None = field(default=None, repr=False)
    _stderr: Console | None = field(default=None, repr=False)

    @property
    def workspace(self) -> Workspace | None:
        """The workspace in force: the folder of `--env-file`, else the nearest one upwards from here (or none)."""
        from outreach.config import Workspace, find_workspace

        if self._workspace is None:
            if self.env_file is not None:
                self._workspace = Workspace(self.env_file.resolve().parent, self.env_file)
            else:
                self._workspace = find_workspace(Path.cwd()) or False
        return self._workspace if isinstance(self._workspace, Workspace) else None

    def _explicit(self) -> bool:
        """Whether the database is named outside a workspace (`--db`, `--env-file` or OUTREACH_DB)."""
        import os

        return self.db_option is not None or self.env_file is not None or bool(os.environ.get("OUTREACH_DB"))

    def require_workspace(self) -> None:
        """ConfigError (exit 3) when no workspace is found and nothing names the database: say how to make one."""
        if self.workspace is None and not self._explicit():
            from outreach.config import NO_WORKSPACE_HINT

            raise ConfigError(f"No outreach workspace here: neither {Path.cwd()} nor a folder above it holds a .env "
                              "with OUTREACH_ settings or a contacts.db", NO_WORKSPACE_HINT)

    def settings_anywhere(self) -> Settings:
        """The settings even outside a workspace (the working folder stands in): for commands that may create one."""
        if self._settings is None:
            from outreach.config import load_settings

            workspace = self.workspace
            root = workspace.root if workspace is not None else Path.cwd()
            settings = load_settings(workspace.settings_file if workspace is not None else None, root=root)
            self._settings = settings.with_overrides(db_path=self.db_option)
        return self._settings

    @property
    def settings(self) -> Settings:
        """The settings: environment over the workspace's settings file over defaults, with `--db` applied.

        Outside a workspace (and with no `--db`, `--env-file` or OUTREACH_DB) this is a ConfigError saying so.
        """
        self.require_workspace()
        return self.settings_anywhere()

    def _existing_path(self) -> Path:
        path = self.settings.db_path
        if not path.exists():
            raise NotFoundError(f"No database at {path}",
                                "Import contacts to create it (outreach contacts import FILE), or check "
                                "--db / OUTREACH_DB (outreach config shows the settings in force).")
        return path

    @property
    def db(self) -> Database:
        """The existing database, opened (and migrated) once per command; never created here."""
        if self._db is None:
            from outreach.db.schema import open_database

            self._db = open_database(self._existing_path())
        return self._db

    @property
    def reader(self) -> Reader:
        """For a command that only reads: a bare read-only connection when the file is at this code's schema
        (sqlite-utils is then never imported: outreach.db.reading), else the database opened the full way."""
        if self._db is None and self._reader is None:
            from outreach.db.reading import open_reader

            self._reader = open_reader(self._existing_path())
        return self._reader if self._db is None and self._reader is not None else self.db

    def creating_db(self) -> Database:
        """The database, created when it does not exist yet (and said so on stderr): for init, import and add."""
        if self._db is None:
            from outreach.db.schema import open_database

            path = self.settings_anywhere().db_path
            created = not path.exists()
            if created:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._db = open_database(path)
            if created:
                self.stderr.print(f"Created a new database {path.resolve()}.")
        return self._db

    def existing_db(self) -> Database | None:
        """The database if there is one, else None (never an error): for commands it only adds figures to."""
        if self._db is None:
            path = self.settings_anywhere().db_path
            if not path.is_file():
                return None
            from outreach.db.schema import open_database

            self._db = open_database(path)
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
        if self._reader is not None:
            self._reader.close()
            self._reader = None


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
    import json

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
