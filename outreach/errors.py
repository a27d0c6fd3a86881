"""One error family for the whole core.

Every failure a user can cause or fix is an `OutreachError` with a message that names the file, row, field or
setting, a hint that says what to do, and an exit code. The CLI prints `Error: …` and the hint and exits with
the code; nothing in the core prints or exits.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, as documented in the README."""

    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIG = 3  # configuration or connection (SMTP refused, bad password, TLS)
    PARTIAL = 4  # some recipients failed
    INTERRUPTED = 130


class OutreachError(Exception):
    """Base of every error the core raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class InputError(OutreachError):
    """Bad user input: a file, a row, a field, an option value."""


class NotFoundError(OutreachError):
    """Something named by the user does not exist (a contact, a campaign, a file)."""


class ConfigError(OutreachError):
    """A setting is missing or wrong."""

    exit_code = ExitCode.CONFIG


class DatabaseError(OutreachError):
    """The database file cannot be used (not SQLite, newer schema, locked)."""


class TemplateError(OutreachError):
    """A campaign or layout template cannot be rendered (syntax, undefined variable, sandbox)."""


class TransportError(OutreachError):
    """The mail transport cannot be used at all (connection refused, authentication, TLS)."""

    exit_code = ExitCode.CONFIG


class LockedError(OutreachError):
    """Another process holds the lock on a campaign."""
