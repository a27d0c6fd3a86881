"""Case 1, import: a 100,000-row contact list (at `--size full`) into an empty database, then onto the full one.

Two files of the same shape: Windows-1250 (Central European names, as many national exports come) and UTF-8
(all 15 countries, Greek included). outreach's `import_files` detects the encoding, maps the columns, validates
every address, country and language, dedupes and writes in one transaction. The second import of the same file
finds every row already there (all duplicates, nothing changes). The floor is `csv.reader` + sqlite3
`executemany` of the same rows into a bare table with a unique email column, no validation at all
(`INSERT OR IGNORE` for the second pass). Target: under 10 s each.
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from benchmarks.common import (
    CP1250_COUNTRIES,
    HEADER,
    Context,
    Row,
    fmt_n,
    fmt_rate,
    fmt_ratio,
    fmt_s,
    measure,
    median,
    timed,
    write_csv,
)

CASE = "import"
TARGET = 10.0


def _fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return path


def floor_import(path: Path, encoding: str, db_path: Path, again: bool) -> int:
    """The least any importer must do: parse the CSV and insert the rows, in one transaction."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS contacts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, "
                 "name TEXT, organisation TEXT, role TEXT, kind TEXT, country TEXT, language TEXT) STRICT")
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        with conn:
            verb = "INSERT OR IGNORE" if again else "INSERT"
            cursor = conn.executemany(f"{verb} INTO contacts ({', '.join(HEADER)}) VALUES (?,?,?,?,?,?,?)", reader)
    count = cursor.rowcount
    conn.close()
    return count


def outreach_import(path: Path, db_path: Path) -> object:
    from outreach.clock import SystemClock
    from outreach.contacts.importing.importer import ImportOptions, import_files
    from outreach.db.schema import open_database

    db = open_database(db_path)
    try:
        return import_files(db, SystemClock(), [path], ImportOptions(source="benchmark"))
    finally:
        db.close()


def run(ctx: Context) -> list[Row]:
    n = ctx.scale.contacts
    files = {
        "Windows-1250": (write_csv(ctx.work / f"contacts-{n}-cp1250.csv", n, "cp1250", CP1250_COUNTRIES), "cp1250"),
        "UTF-8": (write_csv(ctx.work / f"contacts-{n}-utf8.csv", n, "utf-8"), "utf-8"),
    }
    rows: list[Row] = []
    for label, (path, encoding) in files.items():
        ctx.log(f"import: {fmt_n(n)} rows {label}, {ctx.runs} runs (empty database, then all duplicates)")
        cpu_first: list[float] = []
        cpu_second: list[float] = []
        first: list[float] = []
        second: list[float] = []
        floor_first: list[float] = []
        floor_second: list[float] = []
        for _ in range(ctx.runs):
            db_path = _fresh(ctx.work / "import.db")
            seconds, cpu, report = measure(lambda: outreach_import(path, db_path))  # noqa: B023
            cpu_first.append(cpu)
            if report.added != n or report.invalid:  # type: ignore[attr-defined]
                raise RuntimeError(f"import of {path} added {report.added} of {n} rows, "  # type: ignore[attr-defined]
                                   f"{len(report.invalid)} invalid: {report.invalid[:3]}")  # type: ignore[attr-defined]
            first.append(seconds)
            seconds, cpu, report = measure(lambda: outreach_import(path, db_path))  # noqa: B023
            cpu_second.append(cpu)
            if report.unchanged != n:  # type: ignore[attr-defined]
                raise RuntimeError(f"second import of {path}: {report.unchanged} unchanged of {n}")  # type: ignore
            second.append(seconds)
            floor_path = _fresh(ctx.work / "import-floor.db")
            floor_first.append(timed(lambda: floor_import(path, encoding, floor_path, False))[0])  # noqa: B023
            floor_second.append(timed(lambda: floor_import(path, encoding, floor_path, True))[0])  # noqa: B023
        size = path.stat().st_size / 1024 / 1024
        ctx.note(CASE, f"{label}: CPU time of the import {median(cpu_first):.2f} s into the empty database, "
                 f"{median(cpu_second):.2f} s onto the full one (wall times in the table).")
        for what, values, floors in (("into an empty database", first, floor_first),
                                     ("again onto the full one (all duplicates)", second, floor_second)):
            value, floor = median(values), median(floors)
            rows.append(Row(CASE, f"{fmt_n(n)} rows, {label} CSV ({size:.1f} MB), {what}",
                            f"{fmt_s(value)} ({fmt_rate(n / value, 'rows/s')})", f"csv + sqlite3 floor: {fmt_s(floor)}",
                            f"{fmt_ratio(value / floor)} the floor", "< 10 s", value < TARGET,
                            {"seconds": value, "runs": values, "floor": floor, "floor_runs": floors}))
    return rows
