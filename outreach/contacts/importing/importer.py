"""Importing contact lists from CSV and XLSX files, as they come from national experts.

One import is one transaction: either every valid row of every file is in the database, or (on a fatal error,
`--strict` with invalid rows, or `--dry-run`) nothing is. Rows are read as a stream and written in batches with
executemany, so 100,000 rows take seconds. A row that cannot be used (bad address, unknown country, a line
break in a cell, the wrong number of cells…) is reported with its file, row and reason, and the rest goes on.
An address on the suppression list (erased, unsubscribed, bounced) is reported as suppressed and never
re-activated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from outreach.clock import Clock, utcnow_iso
from outreach.contacts.importing.columns import ColumnPlan, check_mapping, column_letter, plan_columns
from outreach.contacts.importing.rows import Defaults, Record, RowError, make_defaults, read_record
from outreach.contacts.importing.sheets import Sheet, open_sheet
from outreach.contacts.model import suppress
from outreach.db.schema import Database, suppression_hash
from outreach.errors import InputError
from outreach.models import ContactStatus

ON_DUPLICATE = ("fill", "update", "skip")
BATCH = 2000
# Fields compared between a file and the database, in the order they are stored.
_SCALARS = ("name", "organisation", "role", "kind", "country", "language", "consent_basis", "consent_source",
            "consent_at")
_EMPTY = {"name": "", "organisation": "", "role": "", "kind": "other"}
_INSERT_COLUMNS = ("email", *_SCALARS, "tags", "topics", "attributes", "status", "consent_detail",
                   "field_updated_at", "created_at", "updated_at")
# What a duplicate is compared with, selected as a plain tuple: (id, email, status, scalars…, JSON columns…).
_STORED = ("id", "email", "status", *_SCALARS, "tags", "topics", "attributes", "field_updated_at")
_STORED_SQL = ", ".join(_STORED)
_ID, _EMAIL, _STATUS, _FIRST_SCALAR = 0, 1, 2, 3
_TAGS, _TOPICS, _ATTRIBUTES, _STAMPS = (_STORED.index(key) for key in ("tags", "topics", "attributes",
                                                                         "field_updated_at"))

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


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported, and why."""

    file: str
    row: int
    reason: str
    column: str | None = None
    header: tuple[str, ...] = ()
    cells: tuple[str, ...] = ()


@dataclass(frozen=True)
class Duplicate:
    """A row whose address already appeared earlier in the same import; merged as --on-duplicate says."""

    file: str
    row: int
    first_file: str
    first_row: int


@dataclass
class FileSummary:
    path: str
    read_as: str
    rows: int = 0
    columns: list[tuple[str, str]] = field(default_factory=list)
    guessed_words: list[str] = field(default_factory=list)  # the encoding was guessed: words to check


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: list[Rejected] = field(default_factory=list)
    suppressed: int = 0
    suppressed_rows: list[tuple[str, int]] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    files: list[FileSummary] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rows(self) -> int:
        return sum(summary.rows for summary in self.files)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of `contacts import --json`."""
        return {
            "dry_run": self.dry_run, "rows": self.rows, "added": self.added, "updated": self.updated,
            "unchanged": self.unchanged, "suppressed": self.suppressed, "duplicates": len(self.duplicates),
            "invalid": len(self.invalid),
            "invalid_rows": [{"file": r.file, "row": r.row, "column": r.column, "reason": r.reason}
                             for r in self.invalid],
            "suppressed_rows": [{"file": f, "row": n} for f, n in self.suppressed_rows],
            "duplicate_rows": [{"file": d.file, "row": d.row, "first_file": d.first_file,
                                "first_row": d.first_row} for d in self.duplicates],
            "files": [{"path": s.path, "read_as": s.read_as, "rows": s.rows, "guessed_words": s.guessed_words,
                       "columns": [{"column": c, "field": f} for c, f in s.columns]} for s in self.files],
        }


class InvalidRowsError(InputError):
    """`--strict`: some rows were invalid, so nothing was imported. Carries the report for the details."""

    def __init__(self, report: ImportReport) -> None:
        first = report.invalid[0]
        super().__init__(f"{len(report.invalid)} invalid row(s), so nothing was imported (--strict); the first: "
                         f"{first.file}, row {first.row}: {first.reason}",
                         "Fix the rows (or write them out with --rejects FILE), or import without --strict.")
        self.report = report


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
    paths = list(paths)
    if not paths:
        raise InputError("No file to import", "Give one or more .csv or .xlsx files.")
    report = ImportReport(dry_run=options.dry_run)
    run = _Run(db, clock, options, defaults, report)
    try:
        with db.atomic():
            for path in paths:
                with open_sheet(Path(path), options.encoding, options.sheet) as sheet:
                    plan = plan_columns(sheet.path, sheet.header, mapping)
                    run.import_sheet(sheet, plan, progress)
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
        self._stamps: dict[tuple[str, ...], str] = {}
        self._names: dict[str, str] = {}
        self._lists: dict[frozenset[str], str] = {}

    def import_sheet(self, sheet: Sheet, plan: ColumnPlan, progress: Progress | None) -> None:
        summary = FileSummary(path=str(sheet.path), read_as=sheet.describe(), columns=plan.describe(),
                              guessed_words=sheet.guessed_words)
        self.report.files.append(summary)
        width = len(plan.header)
        for number, cells in sheet.rows:
            summary.rows += 1
            try:
                record = read_record(sheet, plan, number, cells, self.defaults, self.options.check_dns)
            except RowError as error:
                self.report.invalid.append(Rejected(str(sheet.path), number, error.message, error.column,
                                                    tuple(plan.header), tuple(cells[:max(width, len(cells))])))
                continue
            self._add(record)
            if len(self.batch) + len(self.later) >= BATCH:
                self.flush()
                if progress:
                    progress(sheet.path, sheet.position(), sheet.size)
        self.flush()
        if progress:
            progress(sheet.path, sheet.size, sheet.size)

    def _add(self, record: Record) -> None:
        first = self.seen.get(record.email)
        if first is None:
            self.seen[record.email] = (record.file, record.row)
            self.batch[record.email] = record
            return
        self.report.duplicates.append(Duplicate(record.file, record.row, *first))
        record.duplicate = True
        pending = self.batch.get(record.email)
        if pending is not None:
            pending.merge(record, self.options.on_duplicate)
        else:
            self.later.append(record)

    def flush(self) -> None:
        records = list(self.batch.values()) + self.later
        self.batch, self.later = {}, []
        if not records:
            return
        emails = sorted({r.email for r in records})
        existing: dict[str, tuple[Any, ...]] = {}
        suppressed: set[str] = set()
        conn = self.db.conn
        # No suppression yet (a new database, a list never mailed): skip hashing every address (an HMAC each).
        any_suppressed = conn.execute("SELECT EXISTS (SELECT 1 FROM suppressions)").fetchone()[0]
        for start in range(0, len(emails), 500):
            chunk = emails[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in conn.execute(f"SELECT {_STORED_SQL} FROM contacts WHERE email IN ({marks})", chunk):
                existing[row[_EMAIL]] = row
            if not any_suppressed:
                continue
            hashes = {suppression_hash(email): email for email in chunk}
            for (found,) in conn.execute(f"SELECT hash FROM suppressions WHERE hash IN ({marks})", list(hashes)):
                suppressed.add(hashes[found])
        inserts: list[tuple[Any, ...]] = []
        inserted: list[Record] = []
        for record in records:
            contact = existing.get(record.email)
            if record.email in suppressed or (contact is not None and contact[_STATUS] != ContactStatus.ACTIVE):
                if not record.duplicate:
                    self.report.suppressed += 1
                    self.report.suppressed_rows.append((record.file, record.row))
                continue
            if contact is None:
                inserts.append(self._insert_row(record))
                inserted.append(record)
                continue
            changed = self._update(contact, record)
            if changed:  # a later duplicate in this batch must see the new values
                existing[record.email] = conn.execute(f"SELECT {_STORED_SQL} FROM contacts WHERE id = ?",
                                                      [contact[_ID]]).fetchone()
            if not record.duplicate:
                if changed:
                    self.report.updated += 1
                else:
                    self.report.unchanged += 1
        if inserts:
            marks = ", ".join("?" for _ in _INSERT_COLUMNS)
            self.db.conn.executemany(f"INSERT INTO contacts ({', '.join(_INSERT_COLUMNS)}) VALUES ({marks})",
                                     inserts)
            self.report.added += len(inserts)
            for record in inserted:
                if record.status != ContactStatus.ACTIVE:
                    suppress(self.db, self.clock, record.email, record.status)

    def _insert_row(self, record: Record) -> tuple[Any, ...]:
        values = record.values
        scalars = [values.get(key) or _EMPTY.get(key) for key in _SCALARS]
        filled = [key for key, value in zip(_SCALARS, scalars, strict=True) if value and value != "other"]
        if record.tags:
            filled.append("tags")
        if record.topics:
            filled.append("topics")
        if record.attributes:
            filled.append("attributes")
        stamps = self._stamps.get(which := tuple(filled))
        if stamps is None:  # most rows fill the same fields: encode that JSON once
            stamps = self._stamps[which] = _json(dict.fromkeys(filled, self.now))
        source = self._file_json(record.file)
        detail = f'{{"imported_at": "{self.now}", "imported_from": {source}, "row": {record.row}}}'
        return (record.email, *scalars, self._set_json(record.tags), self._set_json(record.topics),
                _json(record.attributes), record.status, detail, stamps, self.now, self.now)

    def _set_json(self, items: set[str]) -> str:
        """A sorted JSON list; tag sets repeat from row to row, so each is encoded once."""
        if not items:
            return "[]"
        key = frozenset(items)
        encoded = self._lists.get(key)
        if encoded is None:
            encoded = self._lists[key] = _json(sorted(items))
        return encoded

    def _file_json(self, file: str) -> str:
        if file not in self._names:
            self._names[file] = json.dumps(Path(file).name, ensure_ascii=False)
        return self._names[file]

    def _update(self, contact: tuple[Any, ...], record: Record) -> bool:
        """Apply the file's values to an existing contact as --on-duplicate says; True when something changed.

        `contact` is the stored row as _STORED selects it. Re-importing a list is mostly rows that change
        nothing, so the JSON columns are decoded only for what the file fills (or, for the timestamps, when
        something changes): building a whole Contact per row was a third of a re-import.
        """
        policy = self.options.on_duplicate
        if policy == "skip":
            return False
        changes: dict[str, Any] = {}
        values = record.values
        for index, key in enumerate(_SCALARS, start=_FIRST_SCALAR):
            new = values.get(key)
            if not new:
                continue
            old = contact[index]
            empty = not old or (key == "kind" and old == "other")
            if new != old and (empty or policy == "update"):
                changes[key] = new
        tags = _merged_list(contact[_TAGS], record.tags)
        if tags is not None:
            changes["tags"] = tags
        topics = _merged_list(contact[_TOPICS], record.topics)
        if topics is not None:
            changes["topics"] = topics
        if record.attributes:  # without any, the stored attributes stay exactly as they are
            stored = _json_object(contact[_ATTRIBUTES])
            attributes = dict(stored)
            for key, value in record.attributes.items():
                if key not in attributes or policy == "update":
                    attributes[key] = value
            if attributes != stored:
                changes["attributes"] = attributes
        if record.status != ContactStatus.ACTIVE:
            # A file may only restrict: an export's "unsubscribed" stays so; nothing here re-activates anyone.
            changes["status"] = record.status
            suppress(self.db, self.clock, contact[_EMAIL], record.status)
        if not changes:
            return False
        stamps = dict(_json_object(contact[_STAMPS]), **{key: self.now for key in changes})
        row = {key: (_json(value) if isinstance(value, list | dict) else value) for key, value in changes.items()}
        row.update(updated_at=self.now, field_updated_at=_json(stamps))
        assignments = ", ".join(f"{key} = ?" for key in row)
        self.db.execute(f"UPDATE contacts SET {assignments} WHERE id = ?", [*row.values(), contact[_ID]])
        return True


def _json_object(raw: str | None) -> dict[str, Any]:
    """A JSON object column as Contact.from_row decodes it."""
    return json.loads(raw or "{}")  # type: ignore[no-any-return]


@lru_cache(maxsize=4096)
def _stored_list(raw: str | None) -> tuple[tuple[str, ...], list[str], bool]:
    """A JSON list column (tags, topics), its sorted form, and whether that holds no repeats.

    The same few lists repeat from row to row, so each is decoded once.
    """
    items = json.loads(raw or "[]")
    ordered = sorted(items)
    return tuple(items), ordered, sorted(set(items)) == ordered


def _merged_list(raw: str | None, added: set[str]) -> list[str] | None:
    """The stored list with `added`, sorted, as the import writes it; None when that is what is stored."""
    items, ordered, canonical = _stored_list(raw)
    if not added and canonical:
        return None
    merged = sorted(set(items) | added)
    return None if merged == ordered else merged


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def _json(value: Any) -> str:
    if not value:
        return "[]" if isinstance(value, list) else "{}"
    return _ENCODER.encode(value)


def write_rejects(report: ImportReport, path: Path) -> int:
    """Write the invalid rows to a UTF-8 CSV that can be fixed and imported again; returns the row count.

    Its columns are the union of the source files' headers plus import_file, import_row and import_error,
    which a later import ignores.
    """
    import csv

    header: list[str] = []
    for rejected in report.invalid:
        for column in rejected.header:
            if column and column not in header:
                header.append(column)
    try:
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*header, "import_file", "import_row", "import_error"])
            for rejected in report.invalid:
                by_column = {name or column_letter(i): rejected.cells[i] if i < len(rejected.cells) else ""
                             for i, name in enumerate(rejected.header)}
                writer.writerow([*(by_column.get(column, "") for column in header), rejected.file,
                                 rejected.row, rejected.reason])
    except OSError as error:
        raise InputError(f"Cannot write the rejects file {path}: {error.strerror}",
                         "Choose a writable path for --rejects.") from None
    return len(report.invalid)


