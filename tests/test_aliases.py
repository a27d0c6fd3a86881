"""National spreadsheets read as they are: header and kind words in the 15 languages, the user's aliases.toml,
unknown kinds with and without --kind, and the contacts left of kind other."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from outreach.contacts.importing.aliases import builtin_aliases, fold, load_aliases
from outreach.contacts.importing.columns import FIELDS, plan_columns
from outreach.errors import ConfigError

ALIASES_TOML = Path(__file__).resolve().parent.parent / "outreach" / "contacts" / "importing" / "aliases.toml"
LANGUAGES = ("hr", "cs", "da", "fr", "de", "el", "hu", "it", "en", "lv", "nl", "pl", "ro", "sk", "sv")


def contacts(runner) -> dict[str, dict]:
    result = runner("contacts", "list", "--json")
    assert result.exit_code == 0, result.output
    return {c["email"]: c for c in json.loads(result.stdout)}


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


# --- the built-in words -----------------------------------------------------------------------------------------


def test_every_language_names_the_main_fields_and_kinds() -> None:
    data = tomllib.loads(ALIASES_TOML.read_text(encoding="utf-8"))
    assert set(data) == set(LANGUAGES)
    for language in LANGUAGES:
        headers, kinds = data[language]["headers"], data[language]["kinds"]
        for name in ("email", "name", "organisation", "role", "kind", "country", "language"):
            assert headers.get(name), (language, name)
        assert set(kinds) == {"authority", "supplier", "subscriber", "other"}, language
        assert set(headers) <= set(FIELDS), language


def test_no_word_means_two_things() -> None:
    data = tomllib.loads(ALIASES_TOML.read_text(encoding="utf-8"))
    for table in ("headers", "kinds"):
        meaning: dict[str, tuple[str, str]] = {}
        for language, tables in data.items():
            for target, words in tables[table].items():
                for word in words:
                    first = meaning.setdefault(fold(word), (target, language))
                    assert first[0] == target, f"{table}: {word!r} ({language}) is {target}, but {first}"


@pytest.mark.parametrize(("value", "expected"), [
    ("Socijalno poduzeće", ("supplier", "word")),
    ("SOCIJALNO PODUZECE", ("supplier", "word")),          # case and accents never matter
    ("Zaštitna radionica", ("supplier", "word")),
    ("Ministarstvo", ("authority", "word")),
    ("Općina Sveta Nedelja", ("authority", "start")),      # the leading noun
    ("Grad Zagreb", ("authority", "start")),
    ("Spółdzielnia socjalna „Razem”", ("supplier", "start")),  # the longest leading words: not "spółdzielnia"
    ("Zakład Aktywności Zawodowej w Lublinie", ("supplier", "start")),
    ("Obec Lhota", ("authority", "start")),
    ("Comune di Bergamo", ("authority", "start")),
    ("Københavns Kommune", ("authority", "end")),           # the trailing noun
    ("Győr Megyei Jogú Város Önkormányzata", ("authority", "end")),
    ("Pécsi Szociális Szövetkezet", ("supplier", "end")),
    ("Δήμος Αθηναίων", ("authority", "start")),
    ("Gradnja d.o.o.", None),                               # words, not letters: "Gradnja" is not "Grad"
    ("Zagrebački holding", None),
    ("Fundacja Dobra", None),                               # foundations are not read as suppliers
])
def test_kind_words(value: str, expected: tuple[str, str] | None) -> None:
    assert builtin_aliases().kind_for(value) == expected


@pytest.mark.parametrize(("header", "field"), [
    ("Naziv organizacije", "organisation"), ("Vrsta subjekta", "kind"), ("Název organizace", "organisation"),
    ("Nazwa instytucji", "organisation"), ("Rodzaj podmiotu", "kind"), ("Typ subjektu", "kind"),
    ("Ragione sociale", "organisation"), ("Tipologia ente", "kind"), ("Art der Organisation", "kind"),
    ("Τύπος φορέα", "kind"), ("Szervezet típusa", "kind"), ("Organizācijas veids", "kind"),
    ("Soort organisatie", "kind"), ("Tipul organizației", "kind"), ("Organisationstyp", "kind"),
    ("Type de structure", "kind"), ("Radno mjesto", "role"), ("Država", "country"), ("Jezik", "language"),
    ("E-pošta", "email"), ("Ime i prezime", "name"),
])
def test_header_words(header: str, field: str) -> None:
    assert builtin_aliases().field_for(header) == field


# --- national files ---------------------------------------------------------------------------------------------

CROATIAN = [
    ["Naziv organizacije", "Ime i prezime", "E-pošta", "Vrsta subjekta", "Funkcija", "Država", "Jezik"],
    ["Socijalna zadruga Humana Nova", "Ana Kovačević", "ana@humana.example.org", "Socijalno poduzeće",
     "direktorica", "Hrvatska", "hrvatski"],
    ["URIHO", "Đuro Šimić", "duro@uriho.example.org", "Zaštitna radionica", "voditelj", "HR", "hr"],
    ["Ministarstvo rada, mirovinskoga sustava, obitelji i socijalne politike", "Iva Horvat",
     "iva@mrosp.example.org", "Ministarstvo", "savjetnica", "HR", ""],
    ["Općina Sveta Nedelja", "Marko Žužić", "marko@svetanedelja.example.org", "Općina Sveta Nedelja", "pročelnik",
     "HR", ""],
    ["Grad Zagreb", "Petra Čačić", "petra@zagreb.example.org", "Grad", "voditeljica nabave", "HR", ""],
]


def test_croatian_xlsx(tmp_path: Path, runner) -> None:
    path = write_xlsx(tmp_path / "popis.xlsx", CROATIAN)
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 0, result.output
    assert ("columns: Naziv organizacije → organisation, Ime i prezime → name, E-pošta → email, Vrsta subjekta → "
            "kind, Funkcija → role, Država → country, Jezik → language") in result.output
    assert "'Općina Sveta Nedelja' → authority (first words)" in result.output
    assert "'Socijalno poduzeće' → supplier" in result.output
    assert "kind other" not in result.output
    got = contacts(runner)
    assert {email: (c["kind"], c["organisation"]) for email, c in got.items()} == {
        "ana@humana.example.org": ("supplier", "Socijalna zadruga Humana Nova"),
        "duro@uriho.example.org": ("supplier", "URIHO"),
        "iva@mrosp.example.org": ("authority", CROATIAN[3][0]),
        "marko@svetanedelja.example.org": ("authority", "Općina Sveta Nedelja"),
        "petra@zagreb.example.org": ("authority", "Grad Zagreb"),
    }
    ana = got["ana@humana.example.org"]
    assert (ana["name"], ana["role"], ana["country"], ana["language"]) == ("Ana Kovačević", "direktorica", "HR", "hr")
    assert not ana["attributes"]


def test_windows_1250_csv(tmp_path: Path, runner) -> None:
    rows = [["Nazwa instytucji", "Adres e-mail", "Rodzaj podmiotu", "Kraj"],
            ["Gmina Świętochłowice", "zamowienia@swietochlowice.example.org", "Gmina Świętochłowice", "PL"],
            ["Spółdzielnia Socjalna „Żółw”", "biuro@zolw.example.org", "spółdzielnia socjalna", "PL"],
            ["ZAZ Łódź", "zaz@lodz.example.org", "Zakład aktywności zawodowej", "PL"],
            ["Obec Lhota", "podatelna@lhota.example.org", "Obec", "CZ"],
            ["Dílna Řemesel", "dilna@remesla.example.org", "Sociální podnik", "CZ"],
            ["Općina Pićan", "opcina@pican.example.org", "Općina", "HR"]]
    path = tmp_path / "lista.csv"
    path.write_bytes("\r\n".join(";".join(row) for row in rows).encode("cp1250") + b"\r\n")
    result = runner("contacts", "import", str(path), "--encoding", "cp1250")
    assert result.exit_code == 0, result.output
    got = {email: (c["kind"], c["organisation"], c["country"]) for email, c in contacts(runner).items()}
    assert got == {
        "zamowienia@swietochlowice.example.org": ("authority", "Gmina Świętochłowice", "PL"),
        "biuro@zolw.example.org": ("supplier", "Spółdzielnia Socjalna „Żółw”", "PL"),
        "zaz@lodz.example.org": ("supplier", "ZAZ Łódź", "PL"),
        "podatelna@lhota.example.org": ("authority", "Obec Lhota", "CZ"),
        "dilna@remesla.example.org": ("supplier", "Dílna Řemesel", "CZ"),
        "opcina@pican.example.org": ("authority", "Općina Pićan", "HR"),
    }


# --- unknown kinds and kind other -------------------------------------------------------------------------------

UNKNOWN = [["E-pošta", "Vrsta subjekta"], ["a@x.example.org", "Zaštitna radionica"],
           ["b@x.example.org", "Centar za rehabilitaciju"], ["c@x.example.org", "Centar za rehabilitaciju"]]


def test_unknown_kind_with_kind_option_takes_it_and_warns(tmp_path: Path, runner) -> None:
    path = write_xlsx(tmp_path / "u.xlsx", UNKNOWN)
    result = runner("contacts", "import", str(path), "--kind", "authority")
    assert result.exit_code == 0, result.output
    assert ("warning unknown kind values, given --kind authority: 'Centar za rehabilitaciju' (2 row(s)). To read "
            "them as another kind, add them under [kinds] in aliases.toml.") in result.output
    assert "invalid 0, 2 row(s) of unknown kind given --kind authority." in result.output
    assert {e: c["kind"] for e, c in contacts(runner).items()} == {
        "a@x.example.org": "supplier", "b@x.example.org": "authority", "c@x.example.org": "authority"}
    report = json.loads(runner("contacts", "import", str(path), "--kind", "authority", "--json").stdout)
    assert report["kind_defaulted"] == 2 and report["invalid"] == 0
    assert {"value": "Centar za rehabilitaciju", "kind": "authority", "how": "default", "rows": 2} in \
        report["files"][0]["kinds"]


def test_unknown_kind_without_kind_option_refuses_the_row(tmp_path: Path, runner) -> None:
    path = write_xlsx(tmp_path / "u.xlsx", UNKNOWN)
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 4, result.output
    assert ("row 3: unknown kind 'Centar za rehabilitaciju' in column 'Vrsta subjekta': use authority, supplier, "
            "subscriber or other, give --kind for such rows, or add the word to the aliases file") in result.output
    assert set(contacts(runner)) == {"a@x.example.org"}


def test_rows_left_of_kind_other_are_counted_with_a_hint(tmp_path: Path, runner) -> None:
    path = write_xlsx(tmp_path / "o.xlsx", [["Email", "Name"], ["a@x.example.org", "A"], ["b@x.example.org", "B"]])
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 0, result.output
    assert ("2 contact(s) are of kind other (o.xlsx:2, o.xlsx:3): no example audience includes other, so they "
            "would not be mailed. Give --kind (or a kind column) and import again, or set it: outreach contacts set "
            "--kind supplier --where-kind other …") in result.output
    # Importing again with --kind fills the kind: nobody is left of kind other, and the hint is gone.
    again = runner("contacts", "import", str(path), "--kind", "supplier")
    assert again.exit_code == 0 and "kind other" not in again.output and "updated 2" in again.output
    assert {c["kind"] for c in contacts(runner).values()} == {"supplier"}
    third = json.loads(runner("contacts", "import", str(path), "--json").stdout)
    assert third["other"] == 0 and third["unchanged"] == 2


def test_dry_run_counts_other_too(tmp_path: Path, runner) -> None:
    path = write_xlsx(tmp_path / "o.xlsx", [["Email", "Kind"], ["a@x.example.org", "Ostalo"],
                                            ["b@x.example.org", "Ministarstvo"]])
    result = runner("contacts", "import", str(path), "--dry-run", "--json")
    report = json.loads(result.stdout)
    assert report["other"] == 1 and report["other_rows"] == [{"file": str(path), "row": 2}]
    assert contacts(runner) == {}


# --- the user's aliases file ------------------------------------------------------------------------------------

USER_ALIASES = """\
# our own words
[headers]
"Tvrtka / ustanova" = "organisation"
Napomena = "-"
"Tel." = "attribute:Telefon"

[kinds]
"Centar za rehabilitaciju" = "supplier"
Zadruga = "authority"   # overrides the built-in word
"""


def test_user_aliases_change_the_mapping(tmp_path: Path, runner) -> None:
    path = write_xlsx(tmp_path / "u.xlsx", [["E-pošta", "Tvrtka / ustanova", "Vrsta subjekta", "Napomena", "Tel."],
                                            ["a@x.example.org", "Centar A", "Centar za rehabilitaciju Zagreb", "x",
                                             "01 000"],
                                            ["b@x.example.org", "Zadruga B", "Zadruga", "y", ""]])
    before = runner("contacts", "import", str(path), "--dry-run")
    assert "Tvrtka / ustanova → attribute 'Tvrtka / ustanova'" in before.output and before.exit_code == 4
    (tmp_path / "aliases.toml").write_text(USER_ALIASES, encoding="utf-8")  # the tests run in tmp_path
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 0, result.output
    assert ("columns: E-pošta → email, Tvrtka / ustanova → organisation, Vrsta subjekta → kind, Napomena → ignored, "
            "Tel. → attribute 'Telefon'") in result.output
    assert "'Centar za rehabilitaciju Zagreb' → supplier (first words)" in result.output
    got = contacts(runner)
    assert (got["a@x.example.org"]["kind"], got["a@x.example.org"]["organisation"]) == ("supplier", "Centar A")
    assert got["a@x.example.org"]["attributes"] == {"Telefon": "01 000"}
    assert got["b@x.example.org"]["kind"] == "authority"


def test_aliases_file_from_the_setting(tmp_path: Path, runner) -> None:
    chosen = tmp_path / "words" / "hr.toml"
    chosen.parent.mkdir()
    chosen.write_text('[kinds]\n"Centar za rehabilitaciju" = "supplier"\n', encoding="utf-8")
    path = write_xlsx(tmp_path / "u.xlsx", UNKNOWN)
    result = runner("contacts", "import", str(path), env={"OUTREACH_ALIASES": str(chosen)})
    assert result.exit_code == 0, result.output
    assert {c["kind"] for c in contacts(runner).values()} == {"supplier"}
    missing = runner("contacts", "import", str(path), env={"OUTREACH_ALIASES": str(tmp_path / "nope.toml")})
    assert missing.exit_code == 3 and f"The aliases file {tmp_path / 'nope.toml'} does not exist" in missing.output
    assert "OUTREACH_ALIASES" in missing.output and "Traceback" not in missing.output


@pytest.mark.parametrize(("text", "message"), [
    ('[headers]\n"Naziv" = "organisation"\n"Vrsta" = "organsation"\n',
     "aliases.toml, line 3: 'organsation' is not a contact field"),
    ('[kinds]\n\n# words\nZavod = "authorty"\n', "aliases.toml, line 4: 'authorty' is not a kind"),
    ('[kinds]\nZavod = authority\n', "aliases.toml: Invalid value (at line 2, column 9)"),
    ('[kind]\nZavod = "authority"\n', "aliases.toml, line 1: unknown table or key 'kind'"),
    ('[kinds]\nZavod = 3\n', "aliases.toml, line 2: 'Zavod' = 3 is not \"word\" = \"target\""),
])
def test_bad_aliases_file_names_the_line(tmp_path: Path, runner, db_path: Path, text: str, message: str) -> None:
    (tmp_path / "aliases.toml").write_text(text, encoding="utf-8")
    path = write_xlsx(tmp_path / "u.xlsx", UNKNOWN)
    result = runner("contacts", "import", str(path))
    assert result.exit_code == 3, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not db_path.exists() or contacts(runner) == {}


def test_load_aliases_keeps_builtin_words(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[kinds]\n"Dom za starije" = "authority"\n', encoding="utf-8")
    aliases = load_aliases(path)
    assert aliases.kind_for("Dom za starije Maksimir") == ("authority", "start")
    assert aliases.kind_for("Socijalno poduzeće") == ("supplier", "word")
    assert builtin_aliases().kind_for("Dom za starije Maksimir") is None
    with pytest.raises(ConfigError):
        load_aliases(tmp_path / "missing.toml")


def test_header_plan_uses_the_aliases(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[headers]\n"Kontakt" = "email"\n', encoding="utf-8")
    plan = plan_columns(Path("x.csv"), ["Kontakt", "Naziv organizacije"], {}, load_aliases(path))
    assert plan.fields == {"email": 0, "organisation": 1}


def test_init_writes_a_commented_aliases_file(runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "expert"
    assert runner("init", str(target)).exit_code == 0
    text = (target / "aliases.toml").read_text(encoding="utf-8")
    assert "[headers]" in text and "[kinds]" in text
    data = tomllib.loads(text)
    assert data == {"headers": {}, "kinds": {}}  # every example is commented out
    # Uncommented, an example line works as the docs say.
    (target / "aliases.toml").write_text(text.replace('# "Fundacja"', '"Fundacja"'), encoding="utf-8")
    assert load_aliases(target / "aliases.toml").kind_for("Fundacja Dobra") == ("supplier", "start")
