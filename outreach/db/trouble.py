"""What went wrong with the database file, told as a message: damaged, full, read-only, unreadable.

SQLite reports these as `sqlite3.DatabaseError`s with terse texts ("database disk image is malformed", "database
or disk is full", "attempt to write a readonly database"). `explain` turns one into a `DatabaseError` that names
the file, says what was kept and what to do; the CLI prints it and exits 3, without a traceback.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from outreach.errors import DatabaseError, ExitCode

__all__ = ["explain", "read_only_reason"]


def read_only_reason(path: Path) -> str | None:
    """Why this database cannot be written (read-only mount, file or folder), or None when it can be.

    `os.access` asks the kernel, so it also holds for root: a read-only mount (EROFS) or an immutable file refuse
    root too, while a mere `chmod a-w` does not stop root and is rightly not reported for it.
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"the file system holding {folder} is mounted read-only"
    except OSError:
        return None
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path} is not writable"
    if not os.access(folder, os.W_OK):
        return f"the folder {folder} is not writable (SQLite keeps its journal next to the file)"
    return None


def _code(error: sqlite3.Error) -> str:
    """SQLite's error name (SQLITE_FULL…), or one read from the message on builds that do not say it."""
    name = getattr(error, "sqlite_errorname", "") or ""
    if name:
        return str(name)
    text = str(error).lower()
    for needle, code in (("malformed", "SQLITE_CORRUPT"), ("disk is full", "SQLITE_FULL"),
                         ("readonly", "SQLITE_READONLY"), ("disk i/o", "SQLITE_IOERR"),
                         ("unable to open", "SQLITE_CANTOPEN")):
        if needle in text:
            return code
    return ""


def explain(error: sqlite3.Error, path: Path) -> DatabaseError | None:
    """The message for a database failure a user can act on, or None for any other SQLite error (a bug)."""
    code = _code(error)
    if code.startswith("SQLITE_CORRUPT"):
        return malformed(path, error)
    if code.startswith("SQLITE_FULL"):
        return full(path)
    if code.startswith("SQLITE_READONLY"):
        return read_only(path, read_only_reason(path.resolve()) or "SQLite opened it read-only")
    if code.startswith("SQLITE_IOERR"):
        return DatabaseError(
            f"Reading or writing the database {path} failed ({error}); the change in progress was not saved",
            "Check the disk (space, errors in the system log, a network share that went away), then run the same "
            "command again.", exit_code=ExitCode.CONFIG)
    if "no transaction is active" in str(error):
        # SQLite itself rolled back the transaction after an error (SQLITE_FULL or SQLITE_IOERR do that), and a
        # caller that went on to COMMIT got this instead of the cause.
        return DatabaseError(
            f"The database {path} could not save the change in progress (SQLite undid it after a write error, most "
            "often a full disk); everything saved before it is intact",
            "Check the free space and the disk, then run the same command again: it continues where it stopped.",
            exit_code=ExitCode.CONFIG)
    if code.startswith("SQLITE_CANTOPEN"):
        reason = read_only_reason(path.resolve())
        return DatabaseError(f"The database {path} cannot be opened ({reason or error})",
                             "Check that the file and its folder exist and that you may read and write them.",
                             exit_code=ExitCode.CONFIG)
    return None


def malformed(path: Path, error: sqlite3.Error | str) -> DatabaseError:
    """A damaged file: say so, and how to keep and rebuild what can still be read."""
    return DatabaseError(
        f"The database {path} is damaged ({error})",
        f"Do not write to it any more. Keep it as it is (cp {path} damaged-copy.db, with its -wal file if there "
        f"is one: `outreach db backup` cannot copy a damaged file), then rebuild what is readable with SQLite's "
        f"recover command: `sqlite3 {path} .recover | sqlite3 recovered.db`; look at the result with "
        f"`outreach --db recovered.db report` and use recovered.db in its place.", exit_code=ExitCode.CONFIG)


def full(path: Path) -> DatabaseError:
    """The disk (or the database's size limit) is full: nothing committed is lost, the last change was undone."""
    return DatabaseError(
        f"The disk holding the database {path} is full: the change in progress was undone, everything saved "
        "before it is intact",
        "Free some space on that disk (or move the database to a larger one), then run the same command again: "
        "an import is saved whole or not at all, and a send continues with the recipients still queued "
        "(no one is mailed twice).", exit_code=ExitCode.CONFIG)


def read_only(path: Path, reason: str) -> DatabaseError:
    """A command that must write met a database it may only read."""
    return DatabaseError(
        f"The database {path} is read-only ({reason}), and this command needs to change it; nothing was changed",
        "Read commands (list, show, status, report, export) work on it as it is. To change it, make it writable "
        "(remount the disk read-write, or copy the file to a writable folder and point --db at the copy).",
        exit_code=ExitCode.CONFIG)
