"""How much of a spreadsheet outreach reads: rows, columns, cell length, the custom fields of one contact.

A contact list from a national expert has a few thousand rows, a dozen columns and short cells. The bounds are far
above that and far below what would exhaust memory: a file beyond them is refused, naming the file, the bound and
how to get past it, before anything is written.

- rows: 1,000,000 by default (the largest national lists are a few hundred thousand), `--max-rows N` to change;
- columns: 200 (a contact has 15 fields; the rest become custom attributes, and 200 is more than any real list);
- a cell: 32,767 characters, the most Excel itself holds in one cell, so no cell of a real workbook is refused;
- the custom attributes of one contact: 64 KB of text together (`MAX_ATTRIBUTES`), also for `contacts add/edit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from outreach.errors import InputError

MAX_ROWS = 1_000_000
MAX_COLUMNS = 200
MAX_CELL = 32_767
MAX_ATTRIBUTES = 65_536


@dataclass(frozen=True)
class Limits:
    """The bounds of one import (only `rows` can be changed, with `--max-rows`)."""

    rows: int = MAX_ROWS
    columns: int = MAX_COLUMNS
    cell: int = MAX_CELL

    def too_many_rows(self, path: Path | str, where: str = "") -> InputError:
        """The refusal of a file with more than `rows` rows."""
        return InputError(f"{path}{', ' + where if where else ''}: more than {self.rows:,} rows (the limit; "
                          "nothing was imported)",
                          f"If the file really is one list, raise the limit with --max-rows, e.g. --max-rows "
                          f"{max(self.rows * 2, MAX_ROWS):,}".replace(",", "") + "; or split the file.")

    def too_many_columns(self, path: Path | str, columns: int, where: str) -> InputError:
        """The refusal of a sheet or header wider than `columns`."""
        return InputError(f"{path}, {where}: {columns:,} columns, more than the {self.columns} outreach reads "
                          "(nothing was imported)",
                          "Delete the empty or unused columns (or copy the contact columns to a new sheet) and "
                          "import again.")

    def cell_too_long(self, path: Path | str, where: str) -> InputError:
        """The refusal of a cell longer than `cell` characters."""
        return InputError(f"{path}, {where}: a cell holds more than {self.cell:,} characters, the most a spreadsheet "
                          "cell can hold (nothing was imported)",
                          'If this is a CSV, a quote (") probably opens a value that never closes; fix that line.')
