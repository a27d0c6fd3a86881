"""Every bad input of issue 2: one clear message naming file/row/field, non-zero exit, no traceback, no write."""

from __future__ import annotations

import json
import re
import sqlite3
import string
from pathlib import Path

import pytest
from clock_support import FakeClock
from db_support import make_newer_than_code
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.contacts.importing.encodings import detect_encoding
from outreach.contacts.importing.importer import ImportOptions, import_files
from outreach.contacts.importing.rows import normalize_address
from outreach.contacts.model import normalize_email
from outreach.db.schema import open_database
from outreach.errors import InputError, OutreachError

GOOD = "Email,Name,Country\r\nok@x.example.org,Ok,PL\r\n"


def dump(db_path: Path) -> list[tuple]:
    if not db_path.exists():
        return []
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT * FROM contacts ORDER BY id").fetchall() + \
            conn.execute("SELECT * FROM suppressions ORDER BY hash").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def check_clean_failure(result, *names: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for name in names:
        assert name in result.output, (name, result.output)


@pytest.fixture
def seeded(runner, tmp_path: Path, db_path: Path):
    """A database with one contact, so 'unchanged' is checkable."""
    seed = tmp_path / "seed.csv"
    seed.write_text("Email,Name\r\nseed@x.example.org,Seed\r\n", encoding="utf-8")
    assert runner("contacts", "import", str(seed)).exit_code == 0
    return dump(db_path)


def test_missing_file(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    result = runner("contacts", "import", str(tmp_path / "missing.csv"))
    check_clean_failure(result, "missing.csv", "does not exist")
    assert dump(db_path) == seeded


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file(runner, tmp_path: Path, db_path: Path, seeded, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    result = runner("contacts", "import", str(path))
    check_clean_failure(result, "empty.csv")
    assert dump(db_path) == seeded


def test_binary_file(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 40)
    check_clean_failure(runner("contacts", "import", str(path)), "photo.csv", "binary")
    assert dump(db_path) == seeded


def test_truncated_and_fake_xlsx(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    for i in range(300):
        workbook.active.append([f"p{i}@x.example.org", f"Person {i}", "Organisation"])
    full = tmp_path / "full.xlsx"
    workbook.save(full)
    data = full.read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(data[: len(data) // 2])
    check_clean_failure(runner("contacts", "import", str(truncated)), "truncated.xlsx", "XLSX")
    fake = tmp_path / "fake.xlsx"
    fake.write_text("email\nx@y.example.org\n", encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(fake)), "fake.xlsx", "XLSX")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    check_clean_failure(runner("contacts", "import", str(old)), "old.xls", ".xls")
    assert dump(db_path) == seeded


def test_csv_without_email_column(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = tmp_path / "noemail.csv"
    path.write_text("Name,Organisation\r\nAnna,Gmina\r\n", encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(path)), "noemail.csv", "no email column", "--map")
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("anna@x.example.org,Anna\r\n", encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(headerless)), "headerless.csv", "no header row")
    assert dump(db_path) == seeded


def test_rows_with_wrong_cell_counts_are_invalid_rows(runner, tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text("Email,Name,Country\r\nok@x.example.org,Ok,PL\r\nmany@x.example.org,Many,PL,extra\r\n"
                    "few@x.example.org,Few\r\ntrailing@x.example.org,Trailing,SE,,\r\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    result = runner("contacts", "import", str(path), "--rejects", str(rejects))
    check_clean_failure(result, "cells.csv, row 3", "4 cells but the header has 3", "cells.csv, row 4",
                        "2 cells", code=4)
    emails = sorted(row[1] for row in dump(db_path) if isinstance(row[0], int))
    assert emails == ["ok@x.example.org", "trailing@x.example.org"]
    assert "many@x.example.org" in rejects.read_text(encoding="utf-8-sig")


def test_file_with_only_invalid_rows_changes_nothing(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Email,Name\r\nnot-an-address,A\r\nb@,B\r\nc@example,C\r\n,D\r\n", encoding="utf-8")
    result = runner("contacts", "import", str(path), "--json")
    check_clean_failure(result, "bad.csv, row 2", "bad.csv, row 5", "no email address")
    report = json.loads(result.stdout)
    assert report["invalid"] == 4 and [r["row"] for r in report["invalid_rows"]] == [2, 3, 4, 5]
    assert all(r["column"] == "Email" for r in report["invalid_rows"])
    assert dump(db_path) == seeded


@pytest.mark.parametrize(("cell", "what"), [("Anna\nNowak", "line break"), ("Anna\rNowak", "line break"),
                                            ("Anna\x00Nowak", "NUL"), ("Anna\x1bNowak", "control")])
def test_control_characters_inside_cells(runner, tmp_path: Path, db_path: Path, seeded, cell: str,
                                         what: str) -> None:
    path = tmp_path / "ctl.csv"
    path.write_text(f'Email,Name\r\nx@x.example.org,"{cell}"\r\n', encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(path)), "ctl.csv, row 2", "'Name'", what)
    assert dump(db_path) == seeded


def test_control_characters_in_attribute_cells(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = tmp_path / "attr.csv"
    path.write_text('Email,Address\r\nx@x.example.org,"Rynek 1\nKraków"\r\n', encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(path)), "attr.csv, row 2", "'Address'", "line break")
    assert dump(db_path) == seeded


def test_unknown_country_or_language(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("Email,Country,Language\r\na@x.example.org,Narnia,\r\nb@x.example.org,PL,xx\r\n"
                    "c@x.example.org,US,en\r\n", encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(path)), "codes.csv, row 2", "'Narnia'", "'Country'",
                        "codes.csv, row 3", "'xx'", "'Language'", "codes.csv, row 4")
    assert dump(db_path) == seeded
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(good), "--country", "Atlantis"), "--country", "Atlantis")
    check_clean_failure(runner("contacts", "import", str(good), "--language", "klingon"), "--language", "klingon")
    check_clean_failure(runner("contacts", "import", str(good), "--kind", "unicorn"), "--kind", "unicorn")
    check_clean_failure(runner("contacts", "import", str(good), "--on-duplicate", "merge"), "--on-duplicate")
    check_clean_failure(runner("contacts", "import", str(good), "--map", "Email"), "--map", "COLUMN=field")
    check_clean_failure(runner("contacts", "import", str(good), "--map", "Email=mail"), "'mail'", "not a contact")
    check_clean_failure(runner("contacts", "import", str(good), "--encoding", "klingon-8"), "klingon-8")
    assert dump(db_path) == seeded


def test_unclosed_quote(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('Email,Name\r\na@x.example.org,"Anna\r\n' + "b@x.example.org,Bo\r\n" * 40000, encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(path)), "quote.csv, line 2", "never closes", "32,767")
    assert dump(db_path) == seeded


def test_strict_imports_nothing(runner, tmp_path: Path, db_path: Path, seeded) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("Email\r\ngood@x.example.org\r\nbad@\r\n", encoding="utf-8")
    check_clean_failure(runner("contacts", "import", str(path), "--strict"), "mixed.csv, row 3", "--strict")
    assert dump(db_path) == seeded


def test_database_not_sqlite_or_newer(runner, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from outreach.cli import app

    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    notes = tmp_path / "notes.db"
    notes.write_text("my notes " * 500, encoding="utf-8")
    result = CliRunner().invoke(app, ["--db", str(notes), "contacts", "import", str(good)])
    check_clean_failure(result, "notes.db")
    assert notes.read_text(encoding="utf-8") == "my notes " * 500
    newer = make_newer_than_code(tmp_path / "newer.db")
    result = CliRunner().invoke(app, ["--db", str(newer), "contacts", "import", str(good)])
    check_clean_failure(result, "newer.db", "newer outreach")
    assert dump(newer) == []


# --- properties -------------------------------------------------------------------------------------------------

_cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(st.binary(max_size=400),
                         st.lists(st.lists(_cells, max_size=5), max_size=6).map(
                             lambda rows: "\r\n".join(",".join(row) for row in rows)).map(str.encode),
                         st.binary(max_size=300).map(lambda b: b"Email;Name\r\n" + b)),
       suffix=st.sampled_from([".csv", ".xlsx", ".txt"]))
def test_importer_raises_only_its_own_errors(tmp_path_factory, content: bytes, suffix: str) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"input{suffix}"
    path.write_bytes(content)
    db = open_database(folder / "fuzz.db")
    try:
        report = import_files(db, FakeClock(), [path], ImportOptions())
        assert report.rows >= report.added
    except OutreachError as error:
        assert error.message
    finally:
        db.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=300))
def test_truncated_xlsx_fuzz(tmp_path_factory, tail: bytes) -> None:
    from openpyxl import Workbook

    folder = tmp_path_factory.mktemp("xlsx")
    workbook = Workbook()
    workbook.active.append(["Email", "Name"])
    workbook.active.append(["a@x.example.org", "Ä"])
    path = folder / "w.xlsx"
    workbook.save(path)
    data = path.read_bytes()
    cut = len(tail) * 7 % len(data)
    path.write_bytes(data[:cut] + tail)
    db = open_database(folder / "x.db")
    try:
        import_files(db, FakeClock(), [path], ImportOptions())
    except OutreachError:
        pass
    finally:
        db.close()


_atom = st.text(alphabet=string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=8)
_label = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=10)


@settings(max_examples=400, deadline=None)
@given(local=st.lists(_atom, min_size=1, max_size=3).map(".".join),
       labels=st.lists(_label, min_size=1, max_size=3),
       tld=st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=6))
def test_fast_address_path_agrees_with_email_validator(local: str, labels: list[str], tld: str) -> None:
    address = f"{local}@{'.'.join([*labels, tld])}"
    try:
        expected = normalize_email(address)
    except InputError:
        with pytest.raises(InputError):
            normalize_address(address)
        return
    assert normalize_address(address) == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_detect_encoding_always_decodes(data: bytes) -> None:
    name = detect_encoding(data)
    try:
        data.decode(name)
    except UnicodeDecodeError:
        # Only a file cut inside a UTF-8 character may fail, and the reader reports that as an InputError.
        assert name == "utf-8"


_SEPARATORS = b" \t\r\n\x0b\x0c,;\"'<>()[]|"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*_SEPARATORS, 0x41, 0x7A, 0x40, 0x80, 0x9A, 0xB9, 0xE6, 0xFF]), max_size=80)
       .map(bytes))
def test_tokens_are_runs_holding_a_legacy_byte(data: bytes) -> None:
    """The tokens scored for encoding detection: every run of non-separators holding a byte above ASCII."""
    from outreach.contacts.importing.encodings import _TOKEN

    expected = [run for run in re.split(rb"[" + re.escape(_SEPARATORS) + rb"]", data)
                if any(byte >= 0x80 for byte in run)]
    assert _TOKEN.findall(data) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Łódź", "Žďár", "Győr", "Άρτα", "Forlì", "«La", "Fenice»", "Besançon",
                                 "Hélčne", "Timiºoara", "ŤLa", "Ůodzi", "x@y.example.org", "Ĺ"]), max_size=40))
def test_score_text_scores_each_distinct_token_once_with_the_same_sum(tokens: list[str]) -> None:
    """Scoring each distinct token once gives bit for bit the sum of scoring every token in turn."""
    from outreach.contacts.importing.encodings import _languages_cost, _languages_of, score_text, score_token

    expected = 0.0
    needs: dict[frozenset[str], int] = {}
    for token in tokens:
        expected += score_token(token)
        for word in re.findall(r"[^\W\d_]+", token):
            if languages := _languages_of(word):
                needs[languages] = needs.get(languages, 0) + 1
    pairs = {"«": "»", "„": "”", "»": "«", "‚": "’"}
    expected += sum(3 * min(sum(t.startswith(a) for t in tokens), sum(t.endswith(b) for t in tokens))
                    for a, b in pairs.items())
    assert score_text(tokens) == expected - _languages_cost(needs)


@pytest.mark.parametrize("codec", ["cp1250", "iso8859_2", "cp1252", "cp1257", "cp1253", "iso8859_7", "iso8859_13"])
def test_decodability_check_agrees_with_decoding(codec: str) -> None:
    from outreach.contacts.importing.encodings import _decodes

    for value in range(256):
        data = b"abc" + bytes([value]) + b"xyz"
        try:
            data.decode(codec)
            decodes = True
        except UnicodeDecodeError:
            decodes = False
        assert _decodes(data, codec) is decodes
