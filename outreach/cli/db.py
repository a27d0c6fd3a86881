"""`outreach db merge` and `outreach db backup`: the database file as a whole."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli._common import App, err, out, print_json, print_table, state

db_app = App(help="The database file: merge another expert's database, make a backup.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@db_app.command("merge")
def db_merge(
    other: Annotated[Path, typer.Argument(help="Another expert's contacts.db (opened read-only).",
                                          show_default=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Bring another outreach database in: contacts, campaigns, deliveries, events, suppressions.

    Tags are united; otherwise the most recently updated value wins per field, and only values that really differ
    are conflicts; unsubscribes and suppressions always win. Safe to repeat.
    """
    from rich.markup import escape

    from outreach.clock import SystemClock
    from outreach.tracking.merge import merge_database

    app_state = state()
    summary = merge_database(app_state.db, SystemClock(), other, current_path=app_state.settings.db_path,
                             dry_run=dry_run)
    if json_output:
        print_json(summary.as_dict())
        return
    console = out()
    counts = {k: v for k, v in summary.as_dict().items() if isinstance(v, int) and not isinstance(v, bool)}
    verb = "would bring" if dry_run else "brought"
    console.print(f"Merging {escape(str(other))} {verb} in: " + ", ".join(
        f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v))
    if not summary.changed:
        console.print("Nothing to change: this database already holds everything in it.")
    if summary.changes and (dry_run or len(summary.changes) <= 50):
        print_table(["email", "field", "before", "after"],
                    [[c.email, c.field, _shown(c.before), _shown(c.after)] for c in summary.changes[:200]],
                    title=f"{len(summary.changes)} field changes on contacts both databases hold"
                          + (" (would be made)" if dry_run else ""), wide=True)
        if len(summary.changes) > 200:
            err().print(f"… and {len(summary.changes) - 200} more (use --json for all).")
    if summary.conflicts:
        print_table(["email", "field", "here", "there", "kept"],
                    [[c.email, c.field, _shown(c.here), _shown(c.there), c.kept] for c in summary.conflicts[:200]],
                    title=f"{len(summary.conflicts)} conflicts", wide=True)
        if len(summary.conflicts) > 200:
            err().print(f"… and {len(summary.conflicts) - 200} more (use --json for all).")
    for skipped in summary.skipped[:200]:
        console.print(f"[yellow]skipped[/] {escape(repr(skipped.email))}: {escape(skipped.reason)} (not merged)")
    if len(summary.skipped) > 200:
        console.print(f"… and {len(summary.skipped) - 200} more skipped (use --json for all).")
    if dry_run:
        console.print("Dry run: nothing was changed.")


def _shown(value: object) -> str:
    """A field value in a table cell: lists as comma-separated items, nothing as a dash."""
    import json

    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@db_app.command("backup")
def db_backup(file: Annotated[Path, typer.Argument(help="The new backup file (must not exist).",
                                                   show_default=False)]) -> None:
    """Make a consistent copy of the database while others may be reading or writing (SQLite backup API)."""
    from outreach.tracking.merge import backup_database

    size = backup_database(state().db, file)
    err().print(f"Backed up {state().settings.db_path} to {file} ({size:,} bytes).")
