"""Case 6, sheets: peak memory of `outreach contacts import` for a 200 MB CSV and a 5-million-row XLSX (at
`--size full`), whole process.

The CSV holds 1,000,000 contacts (the default `--max-rows`, so the largest list imported without an option) with a
long notes column that brings it to 200 MB: the whole import runs, one transaction. The XLSX holds 5,000,000
contacts in a sheet without a `<dimension>` (so nothing can refuse it before reading): it is streamed until row
1,000,001, where the import stops with the `--max-rows` message and writes nothing. The same workbook with its
`<dimension>` declared is refused before a row is read. The peak is VmHWM of the child, sampled from /proc.
The comparison is the interpreter with the importing modules loaded. Target: under 500 MB for any input.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from benchmarks.bench_memory import _status_mb
from benchmarks.common import REPO, Context, Row, child_env, fmt_n, outreach_command, people, settings_env

CASE = "sheets"
TARGET_MB = 500
FLOOR_IMPORTS = "import outreach.cli, outreach.contacts.importing.importer, sqlite_utils, python_calamine"
_NOTE = "Meeting of the national working group, follow-up on the reserved contracts pilot; asked for the brochure."


def sizes(ctx: Context) -> tuple[int, int]:
    """(bytes of the CSV, rows of the XLSX): 200 MB and 5,000,000 at full size, in proportion below it."""
    if ctx.scale.name == "full":
        return 200 * 1024 * 1024, 5_000_000
    return ctx.scale.contacts * 200, ctx.scale.contacts * 5


def write_big_csv(path: Path, size: int) -> tuple[Path, int]:
    """A UTF-8 contact list of about `size` bytes (at most 1,000,000 rows, padded with a notes column)."""
    rows = min(1_000_000, max(10, size // 200))
    if path.exists() and path.stat().st_size > 0 and path.with_suffix(".rows").exists() and \
            path.with_suffix(".rows").read_text() == str(rows):
        return path, rows
    pad = max(0, size // rows - 95)
    note = (_NOTE * (pad // len(_NOTE) + 1))[:pad]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "organisation", "role", "kind", "country", "language", "notes"])
        writer.writerows((*person, note) for person in people(rows))
    path.with_suffix(".rows").write_text(str(rows))
    return path, rows


def write_big_xlsx(path: Path, rows: int, dimension: bool) -> Path:
    """A workbook of `rows` contacts written part by part (openpyxl would take many minutes for millions)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.'
                         'org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                         '</Types>')
        archive.writestr("_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                         f'relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                         'Target="xl/workbook.xml"/></Relationships>')
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="Contacts"'
                         ' sheetId="1" r:id="rId1"/></sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/'
                         f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
                         'Target="worksheets/sheet1.xml"/></Relationships>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{main}">'.encode())
            if dimension:
                sheet.write(f'<dimension ref="A1:C{rows + 1}"/>'.encode())
            sheet.write(b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c><c r="B1" '
                        b't="inlineStr"><is><t>name</t></is></c><c r="C1" t="inlineStr"><is><t>country</t></is></c>'
                        b"</row>")
            batch: list[str] = []
            for number, person in enumerate(people(rows), start=2):
                batch.append(f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>{person[0]}</t></is></c>'
                             f'<c r="B{number}" t="inlineStr"><is><t>{person[1]}</t></is></c>'
                             f'<c r="C{number}" t="inlineStr"><is><t>{person[5]}</t></is></c></row>')
                if len(batch) >= 10_000:
                    sheet.write("".join(batch).encode())
                    batch.clear()
            sheet.write(("".join(batch) + "</sheetData></worksheet>").encode())
    return path


def import_peak(ctx: Context, path: Path) -> dict[str, float | int | str]:
    """One `outreach contacts import FILE` into a fresh database: exit code, seconds, peak RSS (MB), message."""
    db_path = ctx.work / "sheets.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    env = child_env(settings_env(ctx.work, db_path))
    peak = 0.0
    start = time.perf_counter()
    with open(ctx.work / "child-stderr.txt", "wb") as errors:
        process = subprocess.Popen([*outreach_command(), "contacts", "import", str(path), "--source", "benchmark"],
                                   env=env, cwd=ctx.work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=errors)
        while True:
            pid, status, _ = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _status_mb(process.pid, "VmHWM") or 0.0)
            time.sleep(0.1)
    seconds = time.perf_counter() - start
    tail = (ctx.work / "child-stderr.txt").read_text(encoding="utf-8", errors="replace").strip()
    return {"code": os.waitstatus_to_exitcode(status), "seconds": seconds, "peak": peak,
            "message": tail.splitlines()[0][:300] if tail else ""}


def run(ctx: Context) -> list[Row]:
    csv_bytes, xlsx_rows = sizes(ctx)
    ctx.log(f"sheets: writing a {csv_bytes / 1024 / 1024:.0f} MB CSV and a {fmt_n(xlsx_rows)}-row XLSX")
    csv_path, csv_rows = write_big_csv(ctx.work / f"sheets-{csv_bytes}.csv", csv_bytes)
    streamed = write_big_xlsx(ctx.work / f"sheets-{xlsx_rows}.xlsx", xlsx_rows, dimension=False)
    declared = write_big_xlsx(ctx.work / f"sheets-{xlsx_rows}-dimension.xlsx", min(xlsx_rows, 1000), dimension=True)
    # the declared workbook's <dimension> claims all the rows; its body is kept small (it is never read)
    _declare(declared, xlsx_rows)
    done = subprocess.run([sys.executable, "-c", FLOOR_IMPORTS + "; from benchmarks.bench_memory import _status_mb; "
                           "print(_status_mb('self', 'VmHWM'))"], env=child_env({}), cwd=REPO, capture_output=True,
                          text=True, check=True)
    floor = float(done.stdout.split()[-1])
    rows: list[Row] = []
    cases = ((csv_path, f"{csv_path.stat().st_size / 1024 / 1024:.1f} MB CSV, {fmt_n(csv_rows)} rows"),
             (streamed, f"{fmt_n(xlsx_rows)}-row XLSX ({streamed.stat().st_size / 1024 / 1024:.1f} MB) without "
                        "<dimension>"),
             (declared, f"{fmt_n(xlsx_rows)}-row XLSX with its <dimension> declared"))
    for path, label in cases:
        ctx.log(f"sheets: outreach contacts import of the {label}")
        result = import_peak(ctx, path)
        outcome = "imported" if result["code"] == 0 else f"refused (exit {result['code']})"
        ctx.note(CASE, f"{label}: {outcome} in {float(result['seconds']):.1f} s, peak {float(result['peak']):.0f} MB"
                 + (f"; the message: {result['message']}" if result["code"] else "") + ".")
        peak = float(result["peak"])
        rows.append(Row(CASE, f"peak RSS of `outreach contacts import`, {label}",
                        f"{peak:.0f} MB, {outcome}, {float(result['seconds']):.0f} s",
                        f"interpreter with the importing modules: {floor:.0f} MB", f"{peak / floor:.1f}× that",
                        "< 500 MB", peak < TARGET_MB,
                        {"peak_mb": peak, "floor_mb": floor, "seconds": result["seconds"], "code": result["code"],
                         "message": result["message"]}))
    return rows


def _declare(path: Path, rows: int) -> None:
    """Rewrite the sheet's <dimension> to claim `rows` data rows."""
    import re
    import shutil

    temporary = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith("sheet1.xml"):
                data = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:C{rows + 1}"/>'.encode(), data)
            target.writestr(info.filename, data)
    shutil.move(temporary, path)
