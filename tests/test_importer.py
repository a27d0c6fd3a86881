"""Importing CSV and XLSX files: encodings, delimiters, headers, dedupe, suppression, dry run, one transaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clock_support import FakeClock

from outreach.contacts.importing.importer import ImportOptions, import_files, write_rejects
from outreach.contacts.model import erase, get_contact, insert_contact, set_status
from outreach.db.schema import Database, open_database
from outreach.errors import InputError, NotFoundError
from outreach.models import ContactStatus

DATA = Path(__file__).parent / "data" / "import"

POLISH = ("Małgorzata Żółkiewska", "Urząd Miejski w Gdańsku, Świętochłowice, Łódź")
CZECH = ("Jiří Dvořák", "Město Žďár nad Sázavou, Ústí nad Labem")
HUNGARIAN = ("Szűcs Ödön", "Győr Megyei Jogú Város Önkormányzata")
ROMANIAN_CEDILLA = ("Ştefan Munteanu", "Primăria Timişoara, achiziţii publice, Întreprindere")
ROMANIAN = ("Ștefan Munteanu", "Primăria Timișoara, achiziții publice, Întreprindere")
GREEK = ("Γιώργος Παπαδόπουλος", "Δήμος Αθηναίων, Άρτα, Ηράκλειο")
LATVIAN = ("Jānis Bērziņš", "Rīgas valstspilsētas pašvaldība, Ģirts Ķēniņš")
WESTERN = ("Hélène Lefèvre", "Mairie de Besançon, Søren Ærø, Jürgen Müller, Niccolò")

# Each legacy code page with the names it can hold.
ENCODINGS = {
    "utf-8": [POLISH, CZECH, HUNGARIAN, ROMANIAN, GREEK, LATVIAN, WESTERN],
    "utf-8-sig": [POLISH, CZECH, HUNGARIAN, ROMANIAN, GREEK, LATVIAN, WESTERN],
    "cp1250": [POLISH, CZECH, HUNGARIAN, ROMANIAN_CEDILLA],
    "iso-8859-2": [POLISH, CZECH, HUNGARIAN, ROMANIAN_CEDILLA],
    "cp1252": [WESTERN, ("Kovács Éva", "Pécsi Szociális Szövetkezet")],
    "iso-8859-7": [GREEK, ("Ελένη Οικονόμου", "Κοινωνική Συνεταιριστική Επιχείρηση")],
    "cp1253": [GREEK, ("Ελένη Οικονόμου", "ΚοινΣΕπ Άρτας, Ένωση")],
    "cp1257": [LATVIAN, POLISH],
}


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    lines = [delimiter.join(_quote(cell, delimiter) for cell in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _quote(cell: str, delimiter: str) -> str:
    if delimiter in cell or '"' in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def contacts_json(runner) -> list[dict]:
    result = runner("contacts", "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def table_dump(db: Database) -> list[tuple]:
    return [tuple(row) for table in ("contacts", "suppressions", "events")
            for row in db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()]


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_every_encoding_round_trips_byte_exact(tmp_path: Path, runner, encoding: str) -> None:
    people = ENCODINGS[encoding]
    rows = [["E-mail", "Name", "Organisation"]]
    rows += [[f"person{i}@org{i}.example.org", name, org] for i, (name, org) in enumerate(people)]
    path = write_csv(tmp_path / f"list-{encoding}.csv", rows, encoding, delimiter=";")
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 0, result.output
    got = {c["email"]: (c["name"], c["organisation"]) for c in contacts_json(runner)}
    assert got == {f"person{i}@org{i}.example.org": person for i, person in enumerate(people)}
    listing = runner("contacts", "list", "--json").stdout_bytes
    for name, organisation in people:  # byte-exact in the JSON the user reads
        assert json.dumps(name, ensure_ascii=False).encode("utf-8") in listing
        assert json.dumps(organisation, ensure_ascii=False).encode("utf-8") in listing


@pytest.mark.parametrize("encoding", ["cp1250", "iso-8859-2", "cp1257", "cp1253"])
def test_forced_encoding_wins(tmp_path: Path, runner, encoding: str) -> None:
    name, org = ENCODINGS[encoding][0]
    path = write_csv(tmp_path / "one.csv", [["email", "name", "organisation"], ["a@b.example.org", name, org]],
                     encoding)
    result = runner("contacts", "import", str(path), "--encoding", encoding)
    assert result.exit_code == 0, result.output
    assert contacts_json(runner)[0]["name"] == name


def test_wrong_forced_encoding_is_a_clear_error(tmp_path: Path, runner) -> None:
    path = write_csv(tmp_path / "pl.csv", [["email", "name"], ["a@b.example.org", "Żółć"]], "cp1250")
    result = runner("contacts", "import", str(path), "--encoding", "utf-8")
    assert result.exit_code == 1
    assert "pl.csv" in result.output and "utf-8" in result.output and "Traceback" not in result.output
    assert contacts_json(runner) == []


def test_excel_unicode_text_utf16_tab(tmp_path: Path, runner) -> None:
    path = tmp_path / "unicode.txt"
    path.write_bytes("E-mail\tName\r\nx@y.example.org\tΓιώργος Ζαχαρίου\r\n".encode("utf-16"))
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 0, result.output
    assert contacts_json(runner)[0]["name"] == "Γιώργος Ζαχαρίου"


@pytest.mark.parametrize("delimiter", [";", "\t", ",", "|"])
def test_delimiters_are_sniffed(tmp_path: Path, runner, delimiter: str) -> None:
    path = write_csv(tmp_path / "d.csv", [["Email", "Name", "Organisation", "Country"],
                                          ["a@x.example.org", "Anna Nowak", "Gmina, Urząd", "PL"],
                                          ["b@x.example.org", "Bo Ek", "Stad", "SE"]], delimiter=delimiter)
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 0, result.output
    got = {c["email"]: (c["organisation"], c["country"], c["language"]) for c in contacts_json(runner)}
    assert got == {"a@x.example.org": ("Gmina, Urząd", "PL", "pl"), "b@x.example.org": ("Stad", "SE", "sv")}


def test_excel_sep_line(tmp_path: Path, runner) -> None:
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\nEmail;Name\na@x.example.org;Anna, Maria\n", encoding="utf-8")
    assert runner("contacts", "import", str(path)).exit_code == 0
    assert contacts_json(runner)[0]["name"] == "Anna, Maria"


def _xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_first_sheet_and_named_sheet(tmp_path: Path, runner) -> None:
    path = _xlsx(tmp_path / "book.xlsx", {
        "Notes": [["Adres e-mail", "Imię", "Nazwisko", "Organizacja", "Kraj"],
                  ["jan@gmina.example.org", "Jan", "Kowalski", "Gmina Łódź", "Polska"]],
        "Greece": [["Email", "Όνομα", "Επώνυμο", "Φορέας", "Χώρα", "Τηλέφωνο"],
                   ["g@dimos.example.org", "Γιώργος", "Παπαδόπουλος", "Δήμος Αθηναίων", "Ελλάδα", 2101234567]],
    })
    assert runner("contacts", "import", str(path)).exit_code == 0
    assert runner("contacts", "import", str(path), "--sheet", "Greece").exit_code == 0
    got = {c["email"]: c for c in contacts_json(runner)}
    assert got["jan@gmina.example.org"]["name"] == "Jan Kowalski"
    assert got["jan@gmina.example.org"]["country"] == "PL"
    greek = got["g@dimos.example.org"]
    assert (greek["name"], greek["country"], greek["language"]) == ("Γιώργος Παπαδόπουλος", "GR", "el")
    assert greek["attributes"] == {"Τηλέφωνο": "2101234567"}
    result = runner("contacts", "import", str(path), "--sheet", "Nope")
    assert result.exit_code == 1 and "'Notes', 'Greece'" in result.output


def test_sample_files_are_twins(tmp_path: Path, runner) -> None:
    from outreach.resources import bundled

    examples = bundled("examples")
    first = runner("contacts", "import", str(examples / "contacts.csv"), "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["added"] >= 60 and report["invalid"] == 0
    second = json.loads(runner("contacts", "import", str(examples / "contacts.xlsx"), "--json").stdout)
    assert second["unchanged"] == report["added"] and second["added"] == second["updated"] == 0
    contacts = contacts_json(runner)
    assert {c["country"] for c in contacts} >= {"HR", "CZ", "DK", "FR", "DE", "GR", "HU", "IT", "IE", "LV", "NL",
                                                 "PL", "RO", "SK", "SE", "AT", "BE"}
    assert all(c["email"].endswith((".example", ".example.org")) for c in contacts)
    assert any(c["country"] == "SK" and c["language"] == "hu" for c in contacts)


@pytest.mark.parametrize(("header", "expected"), [
    (["E-mail", "Organisation/Behörde", "Name"], ("email", "organisation", "name")),
    (["E-mailadres", "Organisatie", "Naam", "Land", "Taal"], ("email", "organisation", "name", "country",
                                                               "language")),
    (["Adres e-mail", "Organizacja", "Imię", "Nazwisko", "Stanowisko"], ("email", "organisation", "first_name",
                                                                        "last_name", "role")),
    (["Courriel", "Nom", "Prénom", "Organisme", "Pays"], ("email", "last_name", "first_name", "organisation",
                                                          "country")),
    (["Ηλεκτρονικό ταχυδρομείο", "Ονοματεπώνυμο", "Φορέας", "Χώρα"], ("email", "name", "organisation", "country")),
    (["E-mailová adresa", "Jméno a příjmení", "Organizace", "Země", "Jazyk"], ("email", "name", "organisation",
                                                                              "country", "language")),
    (["E-pasts", "Vārds, uzvārds", "Iestāde", "Valsts"], ("email", "name", "organisation", "country")),
    (["E-mail cím", "Név", "Szervezet", "Ország", "Nyelv"], ("email", "name", "organisation", "country", "language")),
    (["Adresă de e-mail", "Nume și prenume", "Instituție", "Țară"], ("email", "name", "organisation", "country")),
    (["E-postadress", "Namn", "Organisation", "Land"], ("email", "name", "organisation", "country")),
    (["Indirizzo email", "Nome e cognome", "Ente", "Paese", "Lingua"], ("email", "name", "organisation", "country",
                                                                       "language")),
    (["EMAIL ", "e-mail address 2"], None),
])
def test_header_aliases(header: list[str], expected: tuple[str, ...] | None) -> None:
    from outreach.contacts.importing.columns import plan_columns

    if expected is None:  # "e-mail address 2" is no alias: an attribute
        plan = plan_columns(Path("x.csv"), header, {})
        assert plan.fields == {"email": 0} and plan.attributes == {"e-mail address 2": 1}
        return
    plan = plan_columns(Path("x.csv"), header, {})
    assert tuple(field for field, _ in sorted(plan.fields.items(), key=lambda item: item[1])) == expected


def test_map_and_unmapped_columns(tmp_path: Path, runner) -> None:
    path = write_csv(tmp_path / "m.csv", [["Poczta", "Kto", "Telefon", "Uwagi"],
                                          ["a@x.example.org", "Anna Nowak", "+48 22 000", "VIP"]])
    result = runner("contacts", "import", str(path), "--map", "Poczta=email", "--map", "kto=name",
                    "--map", "Uwagi=-")
    assert result.exit_code == 0, result.output
    contact = contacts_json(runner)[0]
    assert contact["name"] == "Anna Nowak" and contact["attributes"] == {"Telefon": "+48 22 000"}


def test_map_naming_no_column(tmp_path: Path, runner, db_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [["Email"], ["a@x.example.org"]])
    result = runner("contacts", "import", str(path), "--map", "Adres=email")
    assert result.exit_code == 1
    assert "--map Adres=email" in result.output and "m.csv" in result.output and "'Email'" in result.output
    assert "Traceback" not in result.output
    assert contacts_json(runner) == []


def test_name_addr_cells_defaults_and_kind_values(tmp_path: Path, runner) -> None:
    path = write_csv(tmp_path / "n.csv", [["Email", "Typ", "Tags"],
                                          ["Jan Kowalski <Jan.Kowalski@Gmina.example.org>", "Instytucja zamawiająca",
                                           "pilot; wave-1"],
                                          ["mailto:coop@coop.example.org", "Spółdzielnia socjalna", ""],
                                          ["\"Nowak, Anna\" <anna@x.example.org>", "", ""]], delimiter=";")
    result = runner("contacts", "import", str(path), "--country", "Polska", "--kind", "other", "--tag", "2027",
                    "--consent-basis", "Legitimate interest", "--source", "Regional registry")
    assert result.exit_code == 0, result.output
    got = {c["email"]: c for c in contacts_json(runner)}
    jan = got["jan.kowalski@gmina.example.org"]
    assert (jan["name"], jan["kind"], jan["country"], jan["language"]) == ("Jan Kowalski", "authority", "PL", "pl")
    assert jan["tags"] == ["2027", "pilot", "wave-1"]
    assert (jan["consent_basis"], jan["consent_source"]) == ("legitimate_interest", "Regional registry")
    assert got["coop@coop.example.org"]["kind"] == "supplier"
    assert got["anna@x.example.org"]["name"] == "Nowak, Anna" and got["anna@x.example.org"]["kind"] == "other"


def test_dedupe_case_and_unicode_within_file_and_against_db(tmp_path: Path, runner) -> None:
    nfc, nfd = "ana@caf\u00e9.example", "ANA@CAFE\u0301.example"
    path = write_csv(tmp_path / "dup.csv", [["Email", "Name", "Role"],
                                            [nfc, "Ana", ""], [nfd, "", "buyer"],
                                            ["Jan.Kowalski@Gmina.example.org", "Jan", ""]])
    result = runner("contacts", "import", str(path), "--json")
    report = json.loads(result.stdout)
    assert (report["added"], report["duplicates"]) == (2, 1)
    assert report["duplicate_rows"][0]["row"] == 3 and report["duplicate_rows"][0]["first_row"] == 2
    again = write_csv(tmp_path / "again.csv", [["Email", "Name"], ["jan.kowalski@GMINA.example.org", "Janek"]])
    report = json.loads(runner("contacts", "import", str(again), "--json").stdout)
    assert (report["added"], report["unchanged"]) == (0, 1)  # fill: the name was not empty
    got = {c["email"]: c for c in contacts_json(runner)}
    assert set(got) == {"ana@café.example", "jan.kowalski@gmina.example.org"}
    assert got["ana@café.example"]["role"] == "buyer" and got["jan.kowalski@gmina.example.org"]["name"] == "Jan"


@pytest.mark.parametrize(("policy", "name", "role"), [("fill", "Jan", "buyer"), ("update", "Janek", "buyer"),
                                                       ("skip", "Jan", "")])
def test_on_duplicate(tmp_path: Path, runner, policy: str, name: str, role: str) -> None:
    write_csv(tmp_path / "a.csv", [["Email", "Name", "Role"], ["jan@x.example.org", "Jan", ""]])
    write_csv(tmp_path / "b.csv", [["Email", "Name", "Role"], ["jan@x.example.org", "Janek", "buyer"]])
    assert runner("contacts", "import", str(tmp_path / "a.csv")).exit_code == 0
    result = runner("contacts", "import", str(tmp_path / "b.csv"), "--on-duplicate", policy)
    assert result.exit_code == 0, result.output
    contact = contacts_json(runner)[0]
    assert (contact["name"], contact["role"]) == (name, role)


def test_erase_then_reimport_is_reported_as_suppressed(tmp_path: Path, runner, db_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["Email", "Name"], ["gone@x.example.org", "Gone"],
                                          ["stay@x.example.org", "Stay"]])
    assert runner("contacts", "import", str(path)).exit_code == 0
    assert runner("contacts", "erase", "GONE@x.example.org", "--yes").exit_code == 0
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 0
    assert "suppressed 1" in result.output and "p.csv:2" in result.output
    assert [c["email"] for c in contacts_json(runner)] == ["stay@x.example.org"]


def test_unsubscribed_contact_is_not_reactivated(tmp_path: Path, db: Database, clock: FakeClock) -> None:
    contact = insert_contact(db, clock, "out@x.example.org", {"name": "Out"})
    set_status(db, clock, contact, ContactStatus.UNSUBSCRIBED)
    path = write_csv(tmp_path / "u.csv", [["Email", "Name", "Status"], ["out@x.example.org", "Back", "active"]])
    report = import_files(db, clock, [path], ImportOptions(on_duplicate="update"))
    assert report.suppressed == 1 and report.updated == 0
    assert get_contact(db, "out@x.example.org").status == "unsubscribed"


def test_dry_run_writes_nothing(tmp_path: Path, db: Database, clock: FakeClock) -> None:
    insert_contact(db, clock, "old@x.example.org", {"name": ""})
    before = table_dump(db)
    path = write_csv(tmp_path / "d.csv", [["Email", "Name", "Status"], ["old@x.example.org", "Old", ""],
                                          ["new@x.example.org", "New", "unsubscribed"], ["bad", "Bad", ""]])
    report = import_files(db, clock, [path], ImportOptions(dry_run=True))
    assert (report.added, report.updated, len(report.invalid), report.dry_run) == (1, 1, 1, True)
    assert table_dump(db) == before


def test_one_transaction_across_files(tmp_path: Path, db: Database, clock: FakeClock) -> None:
    good = write_csv(tmp_path / "good.csv", [["Email"], ["a@x.example.org"]])
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match=r"broken\.xlsx"):
        import_files(db, clock, [good, broken], ImportOptions())
    assert table_dump(db) == []


def test_rejects_file_can_be_fixed_and_reimported(tmp_path: Path, db: Database, clock: FakeClock) -> None:
    path = write_csv(tmp_path / "r.csv", [["Email", "Name", "Country"], ["ok@x.example.org", "Ok", "PL"],
                                          ["broken@", "Řehoř", "CZ"], ["x@y.example.org", "Narnian", "Narnia"]])
    report = import_files(db, clock, [path], ImportOptions())
    assert [(r.row, r.column) for r in report.invalid] == [(3, "Email"), (4, "Country")]
    rejects = tmp_path / "rejects.csv"
    assert write_rejects(report, rejects) == 2
    text = rejects.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "Email,Name,Country,import_file,import_row,import_error"
    fixed = text.replace("broken@", "rehor@x.example.org").replace("Narnia,", "CZ,")
    rejects.write_text(fixed, encoding="utf-8-sig")
    again = import_files(db, clock, [rejects], ImportOptions())
    assert (again.added, again.invalid) == (2, [])
    rehor = get_contact(db, "rehor@x.example.org")
    assert rehor.name == "Řehoř" and rehor.attributes == {}


def test_erased_contact_in_rejected_state_stays_out(tmp_path: Path, db: Database, clock: FakeClock) -> None:
    insert_contact(db, clock, "erase.me@x.example.org", {"name": "E"})
    erase(db, clock, "erase.me@x.example.org")
    path = write_csv(tmp_path / "e.csv", [["Email"], ["Erase.Me@X.example.org"]])
    report = import_files(db, clock, [path], ImportOptions())
    assert (report.added, report.suppressed) == (0, 1)
    assert get_contact(db, "erase.me@x.example.org") is None


def test_missing_file_is_not_found(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"nope\.csv"):
        import_files(db, clock, [tmp_path / "nope.csv"], ImportOptions())


def test_fixture_files_import(runner) -> None:
    result = runner("contacts", "import", str(DATA / "cp1250-semicolon.csv"), str(DATA / "tab-iso8859-7.tsv"),
                    "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["added"] == 4
    # Without "Ά" (where cp1253 and ISO-8859-7 differ) the two read the same text; either is right.
    assert report["files"][0]["read_as"] == "CSV, cp1250, semicolon-separated"
    assert report["files"][1]["read_as"] in ("CSV, cp1253, tab-separated", "CSV, iso8859-7, tab-separated")
    names = {c["name"] for c in contacts_json(runner)}
    assert {"Paweł Błaszczyk", "Lenka Růžičková", "Νίκος Ευαγγέλου", "Μαρία Καραγιάννη"} == names


def test_title_rows_above_the_header_are_skipped(tmp_path: Path, runner) -> None:
    csv_path = tmp_path / "titled.csv"
    csv_path.write_text("Kontakty – zamówienia zastrzeżone 2025;;;\n\nE-mail;Nazwa;Kraj;Uwagi\n"
                        "a@gmina.example.org;Gmina Łódź;PL;\n", encoding="utf-8")
    xlsx_path = _xlsx(tmp_path / "titled.xlsx", {"Lista": [["Seznam kontaktů"], [], ["E-mail", "Jméno a příjmení"],
                                                          ["b@mesto.example.org", "Jiří Dvořák"]]})
    result = runner("contacts", "import", str(csv_path), str(xlsx_path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 2
    single = tmp_path / "single.csv"
    single.write_text("Email\nc@x.example.org\n", encoding="utf-8")
    assert json.loads(runner("contacts", "import", str(single), "--json").stdout)["added"] == 1


def test_progress_is_reported(tmp_path: Path, db: Database, clock: FakeClock) -> None:
    rows = [["Email", "Name"]] + [[f"p{i}@x.example.org", f"P {i}"] for i in range(4500)]
    path = write_csv(tmp_path / "big.csv", rows)
    calls: list[tuple[int, int]] = []
    report = import_files(db, clock, [path], ImportOptions(), lambda file, done, total: calls.append((done, total)))
    assert report.added == 4500
    assert len(calls) >= 3 and calls[-1] == (path.stat().st_size, path.stat().st_size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


# Short files are where code pages are ambiguous: each sample must come back as written, without --encoding.
DETECTION = [
    ("cp1250", "Jiří Dvořák;Město Žďár nad Sázavou"), ("cp1250", "Ivana Horvat;Grad Đakovo, Čakovec"),
    ("cp1250", "Ľubomír Šťastný;Mesto Žilina"), ("cp1250", "Szűcs Ödön;Győr"), ("cp1250", "Ştefan;Timişoara"),
    ("iso8859_2", "Jiří Dvořák;Město Žďár nad Sázavou"), ("iso8859_2", "Paweł Błaszczyk;Świętochłowice"),
    ("cp1252", "Hélène Lefèvre;Mairie de Besançon"), ("cp1252", "Niccolò Rossi;Comune di Forlì, città"),
    ("cp1252", "Søren Ærø;Københavns Kommune"), ("cp1252", "Åsa Öberg;Göteborgs Stad"),
    ("cp1257", "Jānis Bērziņš;Rīgas dome"), ("cp1257", "Paweł Błaszczyk;Poznań"),
    ("cp1253", "Ελένη Οικονόμου;Άρτα"), ("iso8859_7", "Ελένη Οικονόμου;Άρτα"),
]


@pytest.mark.parametrize(("encoding", "line"), DETECTION)
def test_detection_of_short_legacy_files(encoding: str, line: str) -> None:
    from outreach.contacts.importing.encodings import detect_encoding

    data = f"email;name;organisation\r\nx@y.example.org;{line}\r\n".encode(encoding)
    assert data.decode(detect_encoding(data)) == data.decode(encoding)


def test_guessed_encoding_shows_words_to_check(tmp_path: Path, runner) -> None:
    path = write_csv(tmp_path / "g.csv", [["Email", "Nazwa"], ["a@x.example.org", "Gmina Łódź"]], "cp1250", ";")
    result = runner("contacts", "import", str(path))
    assert "the encoding was guessed" in result.output and "Łódź" in result.output
    utf8 = write_csv(tmp_path / "u.csv", [["Email", "Nazwa"], ["b@x.example.org", "Gmina Łódź"]], "utf-8", ";")
    assert "the encoding was guessed" not in runner("contacts", "import", str(utf8)).output
    assert {c["organisation"] for c in contacts_json(runner)} == {"Gmina Łódź"}


def test_killed_import_leaves_nothing_behind(tmp_path: Path, db_path: Path) -> None:
    """SIGKILL after the first batch was written (inside the transaction): the next run finds no half import."""
    import subprocess
    import sys

    rows = [["Email", "Name"]] + [[f"k{i}@x.example.org", f"K {i}"] for i in range(5000)]
    path = write_csv(tmp_path / "kill.csv", rows)
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from outreach.clock import SystemClock\n"
        "from outreach.db.schema import open_database\n"
        "from outreach.contacts.importing.importer import ImportOptions, import_files\n"
        "db = open_database(sys.argv[1])\n"
        "def die(file, done, total):\n"
        "    assert db.execute('SELECT count(*) FROM contacts').fetchone()[0] >= 2000\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "import_files(db, SystemClock(), [Path(sys.argv[2])], ImportOptions(), die)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(db_path), str(path)], capture_output=True)
    assert result.returncode == -9, result.stderr
    db = open_database(db_path)
    try:
        assert db.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0
        report = import_files(db, FakeClock(), [path], ImportOptions())
        assert report.added == 5000
    finally:
        db.close()
