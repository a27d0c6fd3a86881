"""What an import did: the report (`contacts import` prints it, `--json` as one document) and the rejects file.

A row that could not be imported keeps its header and cells, so that `write_rejects` can give the user a CSV
to fix and import again.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from outreach.contacts.importing.aliases import KindValue
from outreach.contacts.importing.columns import column_letter
from outreach.errors import InputError

# The JSON document of `contacts import --json`: plain values, lists and objects.
JsonValue = str | int | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


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
    email: str = ""  # the address the two rows share


@dataclass
class FileSummary:
    """One file of an import: how it was read, its rows, which column filled which field."""

    path: str
    read_as: str
    rows: int = 0
    columns: list[tuple[str, str]] = field(default_factory=list)
    guessed_words: list[str] = field(default_factory=list)  # the encoding was guessed: words to check
    kinds: list[KindValue] = field(default_factory=list)  # the distinct values of the kind column, as read

    @property
    def defaulted(self) -> list[KindValue]:
        """The kind values outreach did not know, whose rows got --kind."""
        return [value for value in self.kinds if value.how == "default"]


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
    other_rows: list[tuple[str, int]] = field(default_factory=list)  # contacts left (or made) of kind other
    default_kind: str | None = None  # --kind
    aliases_file: str | None = None  # the user's aliases file, when one was read

    @property
    def kind_defaulted(self) -> int:
        """Rows whose kind value was unknown and got --kind instead."""
        return sum(value.rows for summary in self.files for value in summary.defaulted)

    @property
    def rows(self) -> int:
        """The rows read from every file, imported or not."""
        return sum(summary.rows for summary in self.files)

    def to_dict(self) -> dict[str, JsonValue]:
        """The JSON document of `contacts import --json`."""
        return {
            "dry_run": self.dry_run, "rows": self.rows, "added": self.added, "updated": self.updated,
            "unchanged": self.unchanged, "suppressed": self.suppressed, "duplicates": len(self.duplicates),
            "invalid": len(self.invalid), "kind_defaulted": self.kind_defaulted, "other": len(self.other_rows),
            "aliases_file": self.aliases_file,
            "invalid_rows": [{"file": r.file, "row": r.row, "column": r.column, "reason": r.reason}
                             for r in self.invalid],
            "suppressed_rows": [{"file": f, "row": n} for f, n in self.suppressed_rows],
            "duplicate_rows": [{"file": d.file, "row": d.row, "first_file": d.first_file,
                                "first_row": d.first_row, "email": d.email} for d in self.duplicates],
            "other_rows": [{"file": f, "row": n} for f, n in self.other_rows],
            "files": [{"path": s.path, "read_as": s.read_as, "rows": s.rows,
                       "guessed_words": list(s.guessed_words),
                       "kinds": [{"value": k.value, "kind": k.kind, "how": k.how, "rows": k.rows} for k in s.kinds],
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


def write_rejects(report: ImportReport, path: Path) -> int:
    """Write the invalid rows to a UTF-8 CSV that can be fixed and imported again; returns the row count.

    Its columns are the union of the source files' headers plus import_file, import_row and import_error,
    which a later import ignores.
    """
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
