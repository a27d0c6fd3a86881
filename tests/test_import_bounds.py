"""Bounded reading (issue 15, item 3): hostile spreadsheets made here are refused with one message naming the file
and the bound, exit 1, nothing written; the streamed XLSX reader reads what calamine reads."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from test_import_bad_input import check_clean_failure, dump

from outreach.contacts.importing.limits import Limits
from outreach.contacts.importing.sheets import open_sheet
from outreach.contacts.importing.xlsx import Workbook

_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WB = ('<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
       '<sheet name="Kontakty" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def hand_made_xlsx(path: Path, rows: str, dimension: str | None = None, extra: dict[str, bytes] | None = None) -> Path:
    """A minimal workbook written part by part, as a hostile tool could write it."""
    sheet = (f'<?xml version="1.0"?><worksheet xmlns="{_MAIN}">'
             + (f'<dimension ref="{dimension}"/>' if dimension else "")
             + f"<sheetData>{rows}</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CT)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WB)
        archive.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


HEADER_ROW = '<row r="1">' + _cell("A1", "E-mail") + _cell("B1", "Name") + "</row>"
GOOD_ROW = '<row r="2">' + _cell("A2", "anna@gmina.example.org") + _cell("B2", "Anna Nowak") + "</row>"


@pytest.fixture
def seeded(runner, tmp_path: Path, db_path: Path):
    seed = tmp_path / "seed.csv"
    seed.write_text("Email,Name\r\nseed@x.example.org,Seed\r\n", encoding="utf-8")
    assert runner("contacts", "import", str(seed)).exit_code == 0
    return dump(db_path)


def test_huge_declared_dimension_is_refused_before_reading(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    # The 1.6 KB file that made calamine reserve 512 GB and abort the process.
    path = hand_made_xlsx(tmp_path / "huge.xlsx", HEADER_ROW + GOOD_ROW, dimension="A1:XFD1048576")
    assert path.stat().st_size < 2000
    result = runner("contacts", "import", str(path))
    check_clean_failure(result, "huge.xlsx", "16,384 columns", "200", "column XFD")
    assert dump(db_path) == seeded


def test_declared_rows_over_the_limit_name_the_option(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = hand_made_xlsx(tmp_path / "tall.xlsx", HEADER_ROW + GOOD_ROW, dimension="A1:B1048576")
    check_clean_failure(runner("contacts", "import", str(path)), "tall.xlsx", "1,000,000 rows", "--max-rows")
    assert dump(db_path) == seeded
    # the same file, declared honestly, goes through; a lower --max-rows refuses a real file
    honest = hand_made_xlsx(tmp_path / "honest.xlsx", HEADER_ROW + GOOD_ROW, dimension="A1:B2")
    assert runner("contacts", "import", str(honest), "--dry-run").exit_code == 0
    rows = "".join(f'<row r="{n}">{_cell(f"A{n}", f"p{n}@x.example.org")}</row>' for n in range(2, 8))
    many = hand_made_xlsx(tmp_path / "many.xlsx", HEADER_ROW + rows)
    check_clean_failure(runner("contacts", "import", str(many), "--max-rows", "5"), "many.xlsx",
                        "more than 5 rows", "--max-rows")
    assert dump(db_path) == seeded


def test_sparse_sheet_is_refused_at_the_far_cell(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    # Two cells, A1 and XFD1048576, no dimension: 123 s and 2.2 GB before; now refused at that cell.
    far = '<row r="1048576">' + _cell("XFD1048576", "x") + "</row>"
    path = hand_made_xlsx(tmp_path / "sparse.xlsx", HEADER_ROW + GOOD_ROW + far)
    check_clean_failure(runner("contacts", "import", str(path)), "sparse.xlsx", "16,384 columns", "row 1048576")
    assert dump(db_path) == seeded
    # A sparse sheet within the columns streams only the cells it has: the gap costs nothing.
    gap = '<row r="900000">' + _cell("A900000", "far@x.example.org") + _cell("B900000", "Far") + "</row>"
    tall = hand_made_xlsx(tmp_path / "gap.xlsx", HEADER_ROW + GOOD_ROW + gap, dimension="A1:B900000")
    result = runner("contacts", "import", str(tall), "--json")
    assert result.exit_code == 0, result.output
    assert '"added": 2' in result.stdout


def test_a_lying_dimension_does_not_reach_calamine(tmp_path: Path) -> None:
    # Declares A1:B2 but holds a cell at row 999,999: calamine would allocate the whole span; the stream does not.
    far = '<row r="999999">' + _cell("B999999", "far@x.example.org") + "</row>"
    path = hand_made_xlsx(tmp_path / "liar.xlsx", HEADER_ROW + GOOD_ROW + far, dimension="A1:B2")
    workbook = Workbook(path, Limits())
    try:
        sheet = workbook.sheets[0]
        assert not workbook.fits_calamine(sheet, workbook.check_dimension(sheet))
    finally:
        workbook.close()
    with open_sheet(path) as sheet:
        assert list(sheet.rows) == [(2, ["anna@gmina.example.org", "Anna Nowak"]), (999999, ["", "far@x.example.org"])]


def test_zip_bomb_is_refused_without_inflating(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    bomb = b" " * (64 * 1024 * 1024)
    path = hand_made_xlsx(tmp_path / "bomb.xlsx", HEADER_ROW + GOOD_ROW, extra={"xl/media/filler.xml": bomb})
    assert path.stat().st_size < 200_000
    check_clean_failure(runner("contacts", "import", str(path)), "bomb.xlsx", "xl/media/filler.xml",
                        "zip bomb", "500 to 1")
    assert dump(db_path) == seeded


def test_million_column_csv_header_is_refused(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("Email,Name," + ",".join(f"c{i}" for i in range(1_000_000)) + "\r\nw@x.example.org,W\r\n",
                    encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(path)), "wide.csv", "1,000,002 columns", "200")
    assert dump(db_path) == seeded


def test_overlong_cell_is_refused_in_csv_and_xlsx(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    long = "x" * 40_000
    csv_path = tmp_path / "long.csv"
    csv_path.write_text(f"Email,Name\r\nl@x.example.org,{long}\r\n", encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(csv_path)), "long.csv, line 2", "32,767 characters")
    xlsx_path = hand_made_xlsx(tmp_path / "long.xlsx", HEADER_ROW + '<row r="2">' + _cell("A2", "l@x.example.org")
                               + _cell("B2", long) + "</row>")
    check_clean_failure(runner("contacts", "import", str(xlsx_path)), "long.xlsx", "row 2", "32,767 characters")
    assert dump(db_path) == seeded


def test_attributes_of_one_contact_are_bounded(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = tmp_path / "fat.csv"
    header = "Email," + ",".join(f"Note {i}" for i in range(5))
    fat = "f@x.example.org," + ",".join("y" * 20_000 for _ in range(5))
    path.write_text(f"{header}\r\n{fat}\r\nthin@x.example.org,a,b,c,d,e\r\n", encoding="utf-8")
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 4, result.output
    assert "row 2" in result.output and "65,536" in result.output
    emails = [row[1] for row in dump(db_path) if isinstance(row[1], str) and "@" in row[1]]
    assert "thin@x.example.org" in emails and "f@x.example.org" not in emails
    result = runner("contacts", "add", "big@x.example.org", "--attr", "Note=" + "z" * 70_000)
    assert result.exit_code == 1 and "65,536" in result.output


def test_streamed_reader_reads_like_calamine(tmp_path: Path) -> None:
    """Types, dates, shared strings, gaps and wide sheets read the same through both paths."""
    from datetime import date, datetime

    from openpyxl import Workbook as Book

    book = Book()
    sheet = book.active
    sheet.append(["E-mail", "Name", "Since", "Count", "Ok", "Born"])
    sheet.append(["a@x.example.org", "Żaneta Ćwik", datetime(2025, 3, 1, 10, 30), 12, True, date(1990, 5, 17)])
    sheet.append([])
    sheet.append(["b@x.example.org", "Ελένη", None, 1.5, False, None])
    sheet["AD4"] = "wide"  # column 30: the calamine gate sends this sheet to the stream
    path = tmp_path / "typed.xlsx"
    book.save(path)
    with open_sheet(path) as streamed:
        rows = list(streamed.rows)
    assert streamed.header == ["E-mail", "Name", "Since", "Count", "Ok", "Born"]
    assert rows[0] == (2, ["a@x.example.org", "Żaneta Ćwik", "2025-03-01T10:30:00", "12", "true", "1990-05-17"])
    assert rows[1][0] == 4 and rows[1][1][:5] == ["b@x.example.org", "Ελένη", "", "1.5", "false"]
    assert rows[1][1][29] == "wide"
    del sheet["AD4"]
    sheet["AD4"].value = None
    book.save(path)
    with open_sheet(path) as loaded:  # now calamine's path
        assert [row for row in loaded.rows] == [rows[0], (4, ["b@x.example.org", "Ελένη", "", "1.5", "false"])]


@pytest.mark.parametrize("char", ["\u0085", "\u009b", "\u0080", "\u009f"])
def test_c1_controls_are_refused_by_add_and_import(runner, tmp_path: Path, db_path: Path, seeded,
                                                   char: str) -> None:
    """Issue 15 item 10: U+0080–U+009F are refused like the C0 controls, by the one rule of contacts.model."""
    result = runner("contacts", "add", "c1@x.example.org", "--name", f"Anna{char}Nowak")
    assert result.exit_code == 1 and "control character" in result.output, result.output
    path = tmp_path / "c1.csv"
    path.write_text(f"Email,Name\r\nc1@x.example.org,Anna{char}Nowak\r\n", encoding="utf-8")
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 1 and "c1.csv, row 2" in result.output and "control character" in result.output
    assert dump(db_path) == seeded
