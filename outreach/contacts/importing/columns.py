"""Which spreadsheet column holds which contact field: header aliases in English and the 15 BSI languages.

Headers are compared folded (case, accents, spaces and punctuation ignored), so "E-mail", "e-mail address",
"Adres e-mail", "E-mailová adresa" and "Ηλεκτρονικό ταχυδρομείο" all find the email column. `--map COLUMN=field`
overrides any guess; columns that map to no field become custom attributes under their header.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from outreach.errors import InputError
from outreach.suggest import did_you_mean

# The fields a column can fill. first_name/last_name are joined into name; status may only restrict (an
# exported unsubscribed contact stays unsubscribed when re-imported).
FIELDS = ("email", "name", "first_name", "last_name", "organisation", "role", "kind", "country", "language",
          "tags", "topics", "status", "consent_basis", "consent_source", "consent_at")
IGNORE = "-"
ATTRIBUTE_PREFIX = "attribute:"
# Columns an export or a rejects file adds that carry nothing to import.
IGNORED_HEADERS = ("created_at", "updated_at", "import_file", "import_row", "import_error")

_ALIASES: dict[str, str] = {
    "email": "email|e-mail|mail|email address|e-mail address|emailaddress|e-mail adresa|e-mailová adresa|"
             "emailová adresa|adresa elektronické pošty|adres e-mail|adres email|poczta e-mail|"
             "e-mailadres|emailadres|e-mailadresse|e-mail-adresse|emailadresse|e-postadress|e-post|epost|"
             "e-mail cím|email cím|e-mail-cím|elektronikus levélcím|e-pasts|e-pasta adrese|e-pasta|"
             "adresă de e-mail|adresa de e-mail|adresă e-mail|adresa email|indirizzo email|indirizzo e-mail|"
             "posta elettronica|courriel|adresse e-mail|adresse électronique|adresse mail|"
             "ηλεκτρονικό ταχυδρομείο|ηλ. ταχυδρομείο|διεύθυνση email|διεύθυνση e-mail|email διεύθυνση|"
             "e-pošta|adresa e-pošte|elektronička pošta|e-mailová adresa|mailadresse|mailadres|correo",
    "name": "name|full name|contact|contact name|contact person|person|imię i nazwisko|osoba kontaktowa|"
            "jméno a příjmení|celé jméno|kontaktní osoba|meno a priezvisko|celé meno|kontaktná osoba|"
            "teljes név|kapcsolattartó|vārds uzvārds|vārds, uzvārds|kontaktpersona|nume și prenume|"
            "nume si prenume|nume complet|persoană de contact|nome e cognome|nominativo|referente|"
            "nom complet|nom et prénom|prénom et nom|contact principal|ονοματεπώνυμο|υπεύθυνος επικοινωνίας|"
            "fulde navn|fuldt navn|kontaktperson|vollständiger name|ansprechpartner|ansprechperson|"
            "fullständigt namn|volledige naam|contactpersoon|ime i prezime|puno ime|kontakt osoba|név",
    "first_name": "first name|firstname|given name|forename|imię|křestní jméno|krstné meno|keresztnév|utónév|"
                  "prenume|prénom|μικρό όνομα|fornavn|vorname|förnamn|voornaam|roepnaam",
    "last_name": "last name|lastname|surname|family name|nazwisko|příjmení|priezvisko|vezetéknév|családi név|"
                 "családnév|uzvārds|nume de familie|cognome|nom de famille|επώνυμο|efternavn|nachname|"
                 "familienname|efternamn|achternaam|prezime",
    "organisation": "organisation|organization|org|organisation name|organization name|company|institution|"
                    "authority|employer|organisation/behörde|organizacja|instytucja|nazwa organizacji|firma|"
                    "organizace|instituce|společnost|organizácia|inštitúcia|spoločnosť|szervezet|intézmény|"
                    "cég|organizācija|iestāde|uzņēmums|organizație|organizatie|instituție|instituţie|"
                    "organizzazione|ente|azienda|organisme|structure|entreprise|οργανισμός|φορέας|εταιρεία|"
                    "virksomhed|myndighed|behörde|einrichtung|unternehmen|organisationsnamn|"
                    "företag|myndighet|organisatie|bedrijf|instelling|organizacija|ustanova|tvrtka|poduzeće|"
                    "nazwa|nazwa instytucji|nazwa firmy|název|název organizace|názov|názov organizácie|cégnév|"
                    "intézmény neve|nosaukums|denumire|denumirea instituției|ragione sociale|denominazione|"
                    "raison sociale|dénomination|επωνυμία|firmanavn|firmenname|företagsnamn|bedrijfsnaam|naziv|"
                    "naziv institucije",
    "role": "role|position|job title|title|function|job|stanowisko|funkcja|funkce|pozice|pracovní pozice|"
            "pozícia|funkcia|beosztás|pozíció|munkakör|amats|ieņemamais amats|funcție|funcţie|poziție|"
            "ruolo|funzione|qualifica|fonction|poste|θέση|ρόλος|ιδιότητα|stilling|rolle|funktion|position|"
            "befattning|roll|titel|functie|rol|funkcija|uloga|radno mjesto",
    "kind": "kind|type|category|audience|contact type|rodzaj|typ|kategoria|druh|kategorie|kategória|típus|"
            "veids|kategorija|tip|categorie|tipo|categoria|catégorie|τύπος|κατηγορία|kategori|art|soort|vrsta",
    "country": "country|country code|nation|kraj|państwo|země|stát|krajina|štát|ország|valsts|țară|ţară|tara|"
               "paese|nazione|stato|pays|χώρα|land|landekode|staat|država|zemlja",
    "language": "language|lang|locale|preferred language|język|jazyk|nyelv|valoda|limbă|limba|lingua|langue|"
                "γλώσσα|sprog|sprache|språk|taal|jezik",
    "tags": "tags|tag|labels|label|groups|group|segments|segment|lists|tagi|etykiety|grupa|štítky|značky|"
            "skupina|címkék|címke|csoport|birkas|grupa|etichete|grupuri|etichette|gruppo|étiquettes|groupe|"
            "ετικέτες|ομάδα|mærker|gruppe|schlagwörter|stichwörter|gruppen|taggar|grupp|etiketten|groep|"
            "oznake|grupe",
    "topics": "topics|interests|themes|tematy|témata|témy|témák|tēmas|subiecte|temi|thèmes|θέματα|emner|"
              "themen|ämnen|onderwerpen|teme",
    "status": "status|state|stav|állapot|statuss|stare|stato|statut|κατάσταση|tilstand|zustand|tillstånd",
    "consent_basis": "consent basis|legal basis|lawful basis|gdpr basis|consent|basis|podstawa prawna|zgoda|"
                     "právní základ|souhlas|právny základ|súhlas|jogalap|hozzájárulás|tiesiskais pamats|"
                     "piekrišana|temei legal|consimțământ|base giuridica|consenso|base légale|consentement|"
                     "νομική βάση|συγκατάθεση|retsgrundlag|samtykke|rechtsgrundlage|einwilligung|"
                     "rättslig grund|samtycke|rechtsgrond|toestemming|pravna osnova|privola",
    "consent_source": "consent source|source|data source|origin|źródło|pochodzenie|zdroj|forrás|avots|sursă|"
                      "sursa|fonte|provenienza|provenance|πηγή|kilde|quelle|herkunft|källa|bron|herkomst|izvor",
    "consent_at": "consent date|consent at|consented at|date of consent|data zgody|datum souhlasu|"
                  "dátum súhlasu|hozzájárulás dátuma|piekrišanas datums|data consimțământului|data consenso|"
                  "date du consentement|ημερομηνία συγκατάθεσης|samtykkedato|einwilligungsdatum|"
                  "datum för samtycke|datum toestemming|datum privole",
}
# Headers that mean "name" alone but "first name" (or "last name") when the file also splits the name.
_SPLIT_MEANING = {"jméno": "first_name", "meno": "first_name", "vārds": "first_name", "nome": "first_name",
                  "όνομα": "first_name", "ime": "first_name", "nom": "last_name",
                  "navn": "first_name", "namn": "first_name", "naam": "last_name", "nume": "last_name"}

_FOLDED_SPLIT = {"".join(c for c in unicodedata.normalize("NFKD", k) if not unicodedata.combining(c)): v
                 for k, v in _SPLIT_MEANING.items()}


def fold(text: str) -> str:
    """A header folded for comparison: no case, accents, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() and not unicodedata.combining(ch))


@cache
def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for field_name, aliases in _ALIASES.items():
        for alias in aliases.split("|"):
            table.setdefault(fold(alias), field_name)
    for header in _SPLIT_MEANING:
        table.setdefault(fold(header), "name")
    for field_name in FIELDS:
        table[fold(field_name)] = field_name
    return table


def guess_field(header: str) -> str | None:
    """The contact field a header names, or None (→ a custom attribute)."""
    return _alias_table().get(fold(header))


@dataclass
class ColumnPlan:
    """Where each field is read from: field → column index; attribute name → column index; columns ignored."""

    header: list[str]
    fields: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, int] = field(default_factory=dict)
    ignored: list[int] = field(default_factory=list)

    def describe(self) -> list[tuple[str, str]]:
        """(column header, what it fills) for the import report."""
        meaning: dict[int, str] = {i: name for name, i in self.fields.items()}
        meaning.update({i: f"attribute {name!r}" for name, i in self.attributes.items()})
        meaning.update({i: "ignored" for i in self.ignored})
        return [(self.header[i] or column_letter(i), meaning[i]) for i in sorted(meaning)]


def plan_columns(path: Path, header: list[str], mapping: dict[str, str]) -> ColumnPlan:
    """Decide what each column of `path` holds; InputError naming the file and column for anything unclear."""
    header = [cell.strip().lstrip("\ufeff") for cell in header]
    plan = ColumnPlan(header=header)
    chosen: dict[int, str] = {}
    for column, target in mapping.items():
        index = _find_column(header, column)
        if index is None:
            raise InputError(f"--map {column}={target}: {path} has no column {column!r}"
                             + did_you_mean(column, [h for h in header if h]),
                             "Its columns are: " + ", ".join(repr(h) for h in header if h) + ".")
        chosen[index] = target
    for index, text in enumerate(header):
        if index in chosen:
            continue
        if fold(text) in {fold(h) for h in IGNORED_HEADERS}:
            chosen[index] = IGNORE
        elif text.lower().startswith(ATTRIBUTE_PREFIX):
            chosen[index] = text
        else:
            chosen[index] = guess_field(text) or f"{ATTRIBUTE_PREFIX}{text or column_letter(index)}"
    _resolve_split_names(header, chosen, set(mapping.values()))
    seen: dict[str, int] = {}
    for index, target in sorted(chosen.items()):
        if target == IGNORE:
            plan.ignored.append(index)
        elif target.lower().startswith(ATTRIBUTE_PREFIX):
            plan.attributes.setdefault(target[len(ATTRIBUTE_PREFIX):].strip() or column_letter(index), index)
        elif target in seen:
            raise InputError(
                f"{path}: the columns {header[seen[target]]!r} and {header[index]!r} both look like {target}",
                f"Say which one to use, e.g. --map {header[index]!r}=- to ignore the second.")
        else:
            seen[target] = index
            plan.fields[target] = index
    if "email" not in plan.fields:
        raise InputError(f"{path} has no email column (columns: {', '.join(repr(h) for h in header)})",
                         _no_email_hint(header))
    return plan


def check_mapping(items: list[str]) -> dict[str, str]:
    """Parse `--map COLUMN=field` values; InputError for a malformed one or an unknown field."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column:
            raise InputError(f"--map {item!r} is not COLUMN=field", "For example: --map 'Adres poczty=email'.")
        if target.lower() in ("ignore", "skip", "none"):
            target = IGNORE
        if target not in FIELDS and target != IGNORE and not target.lower().startswith(ATTRIBUTE_PREFIX):
            raise InputError(f"--map {item!r}: {target!r} is not a contact field",
                             "Fields: " + ", ".join(FIELDS) + "; '-' ignores the column; 'attribute:NAME' keeps "
                             "it as a custom attribute.")
        mapping[column] = target
    return mapping


def _find_column(header: list[str], column: str) -> int | None:
    """A column by its exact header, then ignoring case, then folded; or by its 1-based number."""
    for transform in (str.strip, str.casefold, fold):
        keys = [transform(h) for h in header]
        if transform(column) in keys:
            return keys.index(transform(column))
    if column.isdigit() and 1 <= int(column) <= len(header):
        return int(column) - 1
    return None


def _resolve_split_names(header: list[str], chosen: dict[int, str], explicit: set[str]) -> None:
    """"Nom" + "Prénom": when a file splits the name, an ambiguous "name" header is its other half."""
    split = {target for target in chosen.values() if target in ("first_name", "last_name")}
    if not split:
        return
    for index, target in chosen.items():
        other = _SPLIT_MEANING.get(header[index].strip().casefold()) or _FOLDED_SPLIT.get(fold(header[index]))
        if target == "name" and other and other not in split and "name" not in explicit:
            chosen[index] = other
            split.add(other)


def _no_email_hint(header: list[str]) -> str:
    if any("@" in cell for cell in header):
        return ("The first row holds an address, so the file seems to have no header row: add one (Email, Name, "
                "Organisation, …) or name the columns with --map.")
    return "Name the column holding the addresses with --map 'COLUMN=email'."


def column_letter(index: int) -> str:
    """0 → "A", 26 → "AA": how spreadsheets name a column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- values -----------------------------------------------------------------------------------------------------

_KIND_VALUES = {
    "authority": "authority|contracting authority|public authority|public buyer|buyer|municipality|ministry|"
                 "agency|hospital|instytucja zamawiająca|zamawiający|veřejný zadavatel|zadavatel|"
                 "verejný obstarávateľ|obstarávateľ|ajánlatkérő|līgumslēdzēja iestāde|autoritate contractantă|"
                 "amministrazione aggiudicatrice|stazione appaltante|pouvoir adjudicateur|acheteur public|"
                 "αναθέτουσα αρχή|ordregivende myndighed|öffentlicher auftraggeber|auftraggeber|"
                 "upphandlande myndighet|aanbestedende dienst|javni naručitelj|naručitelj",
    "supplier": "supplier|social enterprise|social economy|social economy enterprise|cooperative|wise|"
                "przedsiębiorstwo społeczne|spółdzielnia socjalna|wykonawca|sociální podnik|dodavatel|"
                "sociálny podnik|dodávateľ|társadalmi vállalkozás|szociális szövetkezet|ajánlattevő|"
                "sociālais uzņēmums|piegādātājs|întreprindere socială|furnizor|impresa sociale|"
                "cooperativa sociale|fornitore|entreprise sociale|entreprise d'insertion|fournisseur|"
                "κοινωνική επιχείρηση|προμηθευτής|socialøkonomisk virksomhed|leverandør|sozialunternehmen|"
                "lieferant|socialt företag|leverantör|sociale onderneming|leverancier|društveno poduzeće|dobavljač",
    "subscriber": "subscriber|newsletter|abonent|odběratel|odberateľ|feliratkozó|abonents|abonat|iscritto|"
                  "abonné|συνδρομητής|abonnent|prenumerant|abonnee|pretplatnik",
    "other": "other|inne|jiné|iné|egyéb|cits|altele|altro|autre|άλλο|andet|sonstige|annat|overig|ostalo",
}
_BASIS_VALUES = {
    "consent": "consent|zgoda|souhlas|súhlas|hozzájárulás|piekrišana|consimțământ|consenso|consentement|"
               "συγκατάθεση|samtykke|einwilligung|samtycke|toestemming|privola",
    "legitimate_interest": "legitimate interest|legitimate interests|legitimate_interest|art 6 1 f|6 1 f",
    "public_task": "public task|public interest|public_task|art 6 1 e|6 1 e",
    "contract": "contract|art 6 1 b|6 1 b",
    "legal_obligation": "legal obligation|legal_obligation|art 6 1 c|6 1 c",
}


@cache
def _value_table(name: str) -> dict[str, str]:
    source = _KIND_VALUES if name == "kind" else _BASIS_VALUES
    return {fold(alias): value for value, aliases in source.items() for alias in aliases.split("|")}


@lru_cache(maxsize=4096)
def kind_value(text: str) -> str | None:
    """The Kind for a cell ("authority", "Contracting authority", "Spółdzielnia socjalna"…), or None."""
    return _value_table("kind").get(fold(text))


@lru_cache(maxsize=4096)
def consent_basis_value(text: str) -> str:
    """A GDPR basis in its canonical spelling when recognised ("Legitimate interest" → legitimate_interest)."""
    return _value_table("basis").get(fold(text), text)
