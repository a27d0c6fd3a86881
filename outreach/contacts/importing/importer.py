"""Importing contact lists from CSV and XLSX files, as they come from national experts.

One import is one transaction: either every valid row of every file is in the database, or (on a fatal error,
`--strict` with invalid rows, or `--dry-run`) nothing is. Rows are read as a stream and written in batches with
executemany, so 100,000 rows take seconds. A row that cannot be used (bad address, unknown country, a line
break in a cell, the wrong number of cells…) is reported with its file, row and reason, and the rest goes on.
An address on the suppression list (erased, unsubscribed, bounced) is reported as suppressed and never
re-activated.

The shapes of a contact on the way in: a sheet row (`list[str]`) → `Record` (one clean row, rows.py) → either an
`ImportRow` written by executemany, or the changes to a stored contact compared as a `StoredForImport`
(merge.py). The report and the rejects file are report.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from outreach.clock import Clock, utcnow_iso
from outreach.contacts.importing.aliases import load_aliases
from outreach.contacts.importing.columns import ColumnPlan, check_mapping, plan_columns
from outreach.contacts.importing.limits import MAX_ROWS, Limits
from outreach.contacts.importing.merge import RowEncoder, changes_for, json_object
from outreach.contacts.importing.report import (
    Duplicate,
    FileSummary,
    ImportReport,
    InvalidRowsError,
    Rejected,
    write_rejects,
)
from outreach.contacts.importing.rows import Defaults, Record, RowError, make_defaults, read_record
from outreach.contacts.importing.sheets import Sheet, open_sheet
from outreach.contacts.model import suppress
from outreach.db import contacts as store
from outreach.db.contacts import FieldValue
from outreach.db.schema import Database
from outreach.errors import InputError
from outreach.models import ContactStatus, Kind
from outreach.models.contacts import S_EMAIL, S_ID, S_STAMPS, S_STATUS, STORED_COLUMNS, ImportRow, StoredForImport

# The report types are imported from here by the CLI, as before the module was split.
__all__ = ["BATCH", "ON_DUPLICATE", "Duplicate", "FileSummary", "ImportOptions", "ImportReport", "InvalidRowsError",
           "Progress", "Rejected", "import_files", "write_rejects"]

ON_DUPLICATE = ("fill", "update", "skip")
BATCH = 2000
# Each invalid row is kept (with its cells, for --rejects) until the end: beyond this many the file is the wrong one.
MAX_INVALID = 100_000
_ACTIVE = ContactStatus.ACTIVE  # a global: the class-attribute lookup is ten times slower, and runs once per row
_OTHER = Kind.OTHER.value
_S_KIND = STORED_COLUMNS.index("kind")

Progress = Callable[[Path, int, int], None]  # (file, done, total) in the unit of Sheet.size


@dataclass(frozen=True)
class ImportOptions:
    """Defaults for every row of the files and how to treat duplicates (see `outreach contacts import --help`)."""

    country: str | None = None
    kind: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    consent_basis: str | None = None
    source: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    on_duplicate: str = "fill"
    check_dns: bool = False
    dry_run: bool = False
    strict: bool = False  # any invalid row cancels the whole import
    aliases_file: Path | None = None  # the user's own header and kind words (OUTREACH_ALIASES), over the built-in
    max_rows: int = MAX_ROWS  # per file; a longer file is refused whole (see limits.py)


class _Rollback(Exception):
    """Raised inside the transaction to discard it (dry run)."""


def import_files(db: Database, clock: Clock, paths: Iterable[Path], options: ImportOptions,
                 progress: Progress | None = None) -> ImportReport:
    """Import the files in one transaction and report what happened; see the module docstring."""
    if options.on_duplicate not in ON_DUPLICATE:
        raise InputError(f"--on-duplicate {options.on_duplicate!r} is not one of: {', '.join(ON_DUPLICATE)}")
    mapping = check_mapping([f"{column}={target}" for column, target in options.mapping.items()])
    defaults = make_defaults(options.country, options.kind, options.language, options.tags,
                             options.consent_basis, options.source)
    aliases = load_aliases(options.aliases_file)
    if options.max_rows < 1:
        raise InputError(f"--max-rows {options.max_rows} must be at least 1")
    limits = Limits(rows=options.max_rows)
    paths = list(paths)
    if not paths:
        raise InputError("No file to import", "Give one or more .csv or .xlsx files.")
    report = ImportReport(dry_run=options.dry_run, default_kind=defaults.kind,
                          aliases_file=str(options.aliases_file) if options.aliases_file else None)
    run = _Run(db, clock, options, defaults, report)
    try:
        with db.atomic():
            for path in paths:
                with open_sheet(Path(path), options.encoding, options.sheet, limits) as sheet:
                    plan = plan_columns(sheet.path, sheet.header, mapping, aliases)
                    run.import_sheet(sheet, plan, progress, limits)
            if options.strict and report.invalid:
                raise InvalidRowsError(report)
            if options.dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return report


class _Run:
    """The state of one import: what was seen, the batch not yet written, the report."""

    def __init__(self, db: Database, clock: Clock, options: ImportOptions, defaults: Defaults,
                 report: ImportReport) -> None:
        self.db, self.clock, self.options, self.defaults, self.report = db, clock, options, defaults, report
        self.now = utcnow_iso(clock)
        self.seen: dict[str, tuple[str, int]] = {}
        self.batch: dict[str, Record] = {}
        self.later: list[Record] = []  # duplicates of rows already written in an earlier batch
        self.encoder = RowEncoder(self.now)

    def import_sheet(self, sheet: Sheet, plan: ColumnPlan, progress: Progress | None, limits: Limits) -> None:
        """Read every row of one sheet, writing a batch whenever BATCH rows are waiting."""
        summary = FileSummary(path=str(sheet.path), read_as=sheet.describe(), columns=plan.describe(),
                              guessed_words=sheet.guessed_words)
        self.report.files.append(summary)
        header = tuple(plan.header)
        kept = max(len(header), limits.columns)  # a rejected row keeps its cells for --rejects, within bounds
        max_rows = limits.rows
        for number, cells in sheet.rows:
            summary.rows += 1
            if summary.rows > max_rows:
                raise limits.too_many_rows(sheet.path)
            try:
                record = read_record(sheet, plan, number, cells, self.defaults, self.options.check_dns)
            except RowError as error:
                self._reject(Rejected(str(sheet.path), number, error.message, error.column, header,
                                      tuple(cells[:kept])))
                continue
            self._add(record)
            if len(self.batch) + len(self.later) >= BATCH:
                self.flush()
                if progress:
                    progress(sheet.path, sheet.position(), sheet.size)
        self.flush()
        summary.kinds = plan.kinds.values()
        if progress:
            progress(sheet.path, sheet.size, sheet.size)

    def _reject(self, rejected: Rejected) -> None:
        if len(self.report.invalid) >= MAX_INVALID:
            raise InputError(f"{rejected.file}: more than {MAX_INVALID:,} invalid rows; the import stopped and "
                             "nothing was imported",
                             "Check that this is the contact list and that its columns were read right (--map), "
                             "then fix the rows shown by a --dry-run.")
        self.report.invalid.append(rejected)

    def _add(self, record: Record) -> None:
        first = self.seen.get(record.email)
        if first is None:
            self.seen[record.email] = (record.file, record.row)
            self.batch[record.email] = record
            return
        self.report.duplicates.append(Duplicate(record.file, record.row, *first, email=record.email))
        record.duplicate = True
        pending = self.batch.get(record.email)
        if pending is not None:
            pending.merge(record, self.options.on_duplicate)
        else:
            self.later.append(record)

    def flush(self) -> None:
        """Write the waiting rows: look their addresses up in bulk, insert the new, update the known."""
        records = list(self.batch.values()) + self.later
        self.batch, self.later = {}, []
        if not records:
            return
        emails = sorted({r.email for r in records})
        existing = store.stored_for_import(self.db, emails)
        # No suppression yet (a new database, a list never mailed): skip hashing every address (an HMAC each).
        suppressed = store.suppressed_among(self.db, emails) if store.any_suppressed(self.db) else set()
        inserts: list[ImportRow] = []
        inserted: list[Record] = []
        for record in records:
            stored = existing.get(record.email)
            if record.email in suppressed or (stored is not None and stored[S_STATUS] != _ACTIVE):
                if not record.duplicate:
                    self.report.suppressed += 1
                    self.report.suppressed_rows.append((record.file, record.row))
                continue
            if stored is None:
                inserts.append(self.encoder.new_row(record))
                inserted.append(record)
                if (record.values.get("kind") or _OTHER) == _OTHER and not record.duplicate:
                    self.report.other_rows.append((record.file, record.row))
                continue
            changed = self._update(stored, record)
            if changed:  # a later duplicate in this batch must see the new values
                existing[record.email] = store.stored_for_import_by_id(self.db, stored[S_ID])
            if not record.duplicate and changed.get("kind", stored[_S_KIND]) == _OTHER:
                self.report.other_rows.append((record.file, record.row))
            if not record.duplicate:
                if changed:
                    self.report.updated += 1
                else:
                    self.report.unchanged += 1
        if inserts:
            store.insert_many(self.db, inserts)
            self.report.added += len(inserts)
            for record in inserted:
                if record.status != _ACTIVE:
                    suppress(self.db, self.clock, record.email, record.status)

    def _update(self, stored: StoredForImport, record: Record) -> dict[str, FieldValue]:
        """Apply the file's values to a stored contact as --on-duplicate says; the changes (empty: none)."""
        changes = changes_for(stored, record, self.options.on_duplicate)
        if "status" in changes:
            suppress(self.db, self.clock, stored[S_EMAIL], record.status)
        if not changes:
            return changes
        stamps = dict(json_object(stored[S_STAMPS]), **dict.fromkeys(changes, self.now))
        store.update_contact(self.db, stored[S_ID], changes, self.now, stamps)
        return changes
