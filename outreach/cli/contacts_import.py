"""`outreach contacts import FILE…`: options, the progress bar and the end report.

Exit codes: 0 when every row was usable; 4 (partial) when some rows were invalid and the others imported;
1 when nothing could be used, on --strict with invalid rows, or on any fatal error (nothing written then).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from outreach.cli._common import err, print_json, state
from outreach.errors import ExitCode

if TYPE_CHECKING:
    from types import TracebackType

    from rich.progress import Progress, TaskID

    from outreach.contacts.importing.importer import FileSummary, ImportReport

_SHOWN_INVALID = 20
_PROGRESS_FROM_BYTES = 2_000_000  # smaller files import in well under a second: no bar


def import_command(
    files: Annotated[list[Path], typer.Argument(help="CSV or XLSX files.", show_default=False)],
    country: Annotated[str | None, typer.Option(help="Country for rows that have none.", show_default=False)] = None,
    kind: Annotated[str | None, typer.Option(help="Kind for rows that have none (authority, supplier, …).",
                                             show_default=False)] = None,
    language: Annotated[str | None, typer.Option(help="Language for rows that have none (default: the "
                                                      "country's).", show_default=False)] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag every imported contact (repeatable).",
                                                  show_default=False)] = None,
    consent_basis: Annotated[str | None, typer.Option(help="GDPR basis for rows that have none (consent, "
                                                           "legitimate_interest, …).", show_default=False)] = None,
    source: Annotated[str | None, typer.Option(help="Where the addresses come from (kept as consent source).",
                                               show_default=False)] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding (default: detected), e.g. cp1250, "
                                                      "iso-8859-2, cp1253, cp1257, utf-8.",
                                                 show_default=False)] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet name or number (default: the first).",
                                              show_default=False)] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", help="COLUMN=field, e.g. 'Adres poczty=email' "
                                                      "('-' ignores a column; repeatable).",
                                                      show_default=False)] = None,
    on_duplicate: Annotated[str, typer.Option(help="For addresses already known: fill (empty fields only), "
                                                   "update (overwrite with the file's values) or skip.")] = "fill",
    check_dns: Annotated[bool, typer.Option(help="Also check that each domain accepts mail (slow).")] = False,
    dry_run: Annotated[bool, typer.Option(help="Show what would change; write nothing.")] = False,
    strict: Annotated[bool, typer.Option(help="Import nothing if any row is invalid.")] = False,
    rejects: Annotated[Path | None, typer.Option(help="Write the invalid rows to this CSV, to fix and import "
                                                      "again.", show_default=False)] = None,
    max_rows: Annotated[int, typer.Option(help="Refuse a file with more rows than this (a bound on memory and "
                                               "time; the whole import is refused).")] = 1_000_000,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON to stdout.")] = False,
) -> None:
    """Import contacts from CSV or XLSX files (one transaction; see --help for the defaults per file)."""
    from outreach.clock import SystemClock
    from outreach.contacts.importing.columns import check_mapping
    from outreach.contacts.importing.importer import ImportOptions, InvalidRowsError, import_files, write_rejects

    options = ImportOptions(
        country=country, kind=kind, language=language, tags=tuple(tag or ()), consent_basis=consent_basis,
        source=source, encoding=encoding, sheet=sheet, mapping=check_mapping(mapping or []),
        on_duplicate=on_duplicate.lower(), check_dns=check_dns, dry_run=dry_run, strict=strict,
        max_rows=max_rows)
    db = state().creating_db()
    options = replace(options, aliases_file=state().settings_anywhere().aliases_file)
    with _progress(files) as progress:
        try:
            report = import_files(db, SystemClock(), files, options, progress)
        except InvalidRowsError as error:
            if rejects:
                write_rejects(error.report, rejects)
            _print_invalid(error.report)
            raise
    if rejects and report.invalid:
        write_rejects(report, rejects)
    if json_output:
        print_json(report.to_dict())
        _print_invalid(report)  # stderr: a script's log still says which rows were refused
    else:
        _print_report(report, rejects)
    if report.invalid:
        usable = report.added + report.updated + report.unchanged + report.suppressed
        raise typer.Exit(int(ExitCode.PARTIAL if usable else ExitCode.ERROR))


class _progress:
    """A rich progress bar on stderr for long imports (a no-op for small files or when stderr is no terminal)."""

    def __init__(self, files: list[Path]) -> None:
        size = sum(path.stat().st_size for path in files if path.is_file())
        console = err()
        self.enabled = size >= _PROGRESS_FROM_BYTES and console.is_terminal
        self.bar: Progress | None = None
        self.tasks: dict[Path, TaskID] = {}

    def __enter__(self) -> Callable[[Path, int, int], None] | None:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                            TimeRemainingColumn(), console=err(), transient=True)
        self.bar.__enter__()
        return self.update

    def update(self, path: Path, done: int, total: int) -> None:
        """Move the bar of `path` (one bar per file, added on its first report)."""
        if self.bar is None:  # only handed out by __enter__, once the bar exists
            return
        if path not in self.tasks:
            self.tasks[path] = self.bar.add_task(f"Importing {path.name}", total=total or None)
        self.bar.update(self.tasks[path], completed=done, total=total or None)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.__exit__(exc_type, exc, traceback)


def _print_report(report: ImportReport, rejects: Path | None) -> None:
    from rich.markup import escape

    console = err()
    for summary in report.files:
        console.print(f"{escape(summary.path)}: {summary.rows} row(s), read as {escape(summary.read_as)}")
        console.print("  columns: " + escape(", ".join(f"{column} → {meaning}" for column, meaning in
                                                       summary.columns)), style="dim")
        if summary.guessed_words:
            console.print("  the encoding was guessed; check that these read right: "
                          + escape(", ".join(summary.guessed_words)) + " (if not, give --encoding)", style="dim")
        _print_kinds(summary, report)
    verb = "Would add" if report.dry_run else "Added"
    console.print(f"{verb} {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                  f"suppressed {report.suppressed}, invalid {len(report.invalid)}"
                  + (f", {len(report.duplicates)} duplicate row(s) merged" if report.duplicates else "")
                  + (f", {report.kind_defaulted} row(s) of unknown kind given --kind {report.default_kind}"
                     if report.kind_defaulted else "") + ".")
    if report.duplicates:
        console.print(f"Duplicate addresses merged (--on-duplicate): {escape(_duplicates(report))}")
    _print_other(report)
    if report.suppressed:
        rows = ", ".join(f"{Path(file).name}:{row}" for file, row in report.suppressed_rows[:10])
        console.print(f"Suppressed (erased, unsubscribed or bounced; not re-activated): {escape(rows)}"
                      + (" …" if report.suppressed > 10 else ""))
    _print_invalid(report)
    if report.invalid and rejects:
        console.print(f"The invalid rows are in {escape(str(rejects))}: fix them there and import that file.")
    elif len(report.invalid) > _SHOWN_INVALID:
        console.print("Write every invalid row to a file with --rejects rejects.csv.")
    if report.dry_run:
        console.print("Dry run: nothing was written.")


_SHOWN_KINDS = 12
_HOW = {"word": "", "start": " (first words)", "end": " (last words)"}


def _print_kinds(summary: FileSummary, report: ImportReport) -> None:
    """How the file's kind values were read, and a warning for those outreach did not know."""
    from rich.markup import escape

    console = err()
    known = [value for value in summary.kinds if value.how != "default"]
    if known:
        shown = ", ".join(f"{value.value!r} → {value.kind}{_HOW[value.how]}" for value in known[:_SHOWN_KINDS])
        more = f" and {len(known) - _SHOWN_KINDS} more" if len(known) > _SHOWN_KINDS else ""
        console.print("  kinds: " + escape(shown + more), style="dim")
    unknown = summary.defaulted
    if unknown:
        shown = ", ".join(f"{value.value!r} ({value.rows} row(s))" for value in unknown[:_SHOWN_KINDS])
        more = f" and {len(unknown) - _SHOWN_KINDS} more" if len(unknown) > _SHOWN_KINDS else ""
        console.print(f"  [yellow]warning[/] unknown kind values, given --kind {report.default_kind}: "
                      f"{escape(shown + more)}. To read them as another kind, add them under \\[kinds] in "
                      f"{escape(report.aliases_file or 'aliases.toml')}.")


def _print_other(report: ImportReport) -> None:
    """Rows that end up of kind other: no example audience includes it, so they would never be mailed."""
    from rich.markup import escape

    if not report.other_rows:
        return
    rows = ", ".join(f"{Path(file).name}:{row}" for file, row in report.other_rows[:10])
    more = " …" if len(report.other_rows) > 10 else ""
    verb = "would be" if report.dry_run else "are"
    err().print(f"[yellow]{len(report.other_rows)} contact(s) {verb} of kind other[/] ({escape(rows + more)}): "
                "no example audience includes other, so they would not be mailed. Give --kind (or a kind column) "
                "and import again, or set it: outreach contacts set --kind supplier --where-kind other …")


def _duplicates(report: ImportReport, shown: int = 10) -> str:
    """The addresses that appeared more than once, with their rows: `a@x (rows 2, 9), … and N more`."""
    rows: dict[str, list[str]] = {}
    for d in report.duplicates:
        first = f"{Path(d.first_file).name}:{d.first_row}"
        here = f"{Path(d.file).name}:{d.row}"
        rows.setdefault(d.email, [first])
        rows[d.email].append(here)
    named = [f"{email} (rows {', '.join(places)})" for email, places in list(rows.items())[:shown]]
    more = len(rows) - shown
    return ", ".join(named) + (f" and {more} more" if more > 0 else "")


def _print_invalid(report: ImportReport) -> None:
    from rich.markup import escape

    console = err()
    for rejected in report.invalid[:_SHOWN_INVALID]:
        console.print(f"[yellow]invalid[/] {escape(rejected.file)}, row {rejected.row}: {escape(rejected.reason)}")
    if len(report.invalid) > _SHOWN_INVALID:
        console.print(f"… and {len(report.invalid) - _SHOWN_INVALID} more invalid row(s).")
