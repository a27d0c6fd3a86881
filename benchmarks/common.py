"""What every benchmark case shares: sizes, timing, result rows, generated data, settings, the machine.

Generated data uses reserved domains only (example.org and its subdomains), so nothing made here can ever
reach a real person. Everything is written under benchmarks/.work/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work"
SECRET = "benchmark-secret-key-0123456789-abcdefghijkl"
SLUG = "bsi-awareness"


@dataclass(frozen=True)
class Scale:
    """How big each case is. `full` is the size the issue's targets are stated for."""

    name: str
    contacts: int  # rows imported, recipients rendered, recipients sent in the memory case
    send: int  # messages sent to the sink (outreach and bare smtplib)
    mailmerge: int  # messages sent by outreach and mailmerge, whole process each
    deliveries: int  # rows of the reports database
    naive: int  # recipients of the naive render sample
    startup: int  # `outreach --help` runs

    @classmethod
    def parse(cls, text: str) -> Scale:
        if text == "full":
            return cls("full", 100_000, 10_000, 1_000, 1_000_000, 300, 10)
        if text == "small":
            return cls("small", 10_000, 2_000, 200, 100_000, 100, 10)
        try:
            n = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise SystemExit(f"--size {text!r}: use small, full or a number of contacts such as 20000") from None
        if n < 20:
            raise SystemExit("--size: at least 20 contacts")
        return cls(str(n), n, max(20, n // 10), max(10, n // 100), 10 * n, min(300, max(10, n // 20)),
                   10 if n >= 10_000 else 3)


@dataclass
class Row:
    """One line of the results table: a measurement, its comparison, and the target."""

    case: str
    what: str
    result: str
    alternative: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the numbers behind the strings (for results.json)

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "**no**", None: ""}[self.met]


@dataclass
class Context:
    """What a case gets: the scale, how many runs to take the median of, where to work, how to log."""

    scale: Scale
    runs: int
    work: Path
    use_mailmerge: bool = True  # False: measure mailmerge only when its venv already exists
    notes: dict[str, list[str]] = field(default_factory=dict)  # case → findings for the docs

    def log(self, text: str) -> None:
        print(f"  · {text}", file=sys.stderr, flush=True)

    def note(self, case: str, text: str) -> None:
        self.notes.setdefault(case, []).append(text)


# --- timing and formatting --------------------------------------------------------------------------------------


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def measure(func: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of one call. On a busy machine the CPU time of a
    single-threaded case shows what it costs when it has a core to itself."""
    start, cpu = time.perf_counter(), time.process_time()
    result = func()
    return time.perf_counter() - start, time.process_time() - cpu, result


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def spread(values: list[float]) -> str:
    """min–max of the runs, for the raw record."""
    return f"{min(values):.3f}–{max(values):.3f}" if values else ""


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_rate(per_second: float, unit: str = "msg/s") -> str:
    return f"{per_second:,.0f} {unit}" if per_second >= 100 else f"{per_second:,.1f} {unit}"


def fmt_n(n: int) -> str:
    return f"{n:,}"


def fmt_ratio(x: float) -> str:
    return f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×"


# --- the machine ------------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return "?"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"Python": platform.python_version(), "SQLite": sqlite3.sqlite_version}
    for name in ("outreach", "jinja2", "premailer", "lxml", "cssutils", "markdown-it-py", "sqlite-utils", "typer",
                 "aiosmtpd", "itsdangerous", "babel", "charset-normalizer"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
    except OSError:
        return "?"


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS, versions, date and load: printed with the table and written into the docs."""
    return {"cpu": cpu_model(), "cores": os.cpu_count() or 1, "memory": memory_total(),
            "os": f"{platform.system()} {platform.release()}", "versions": versions(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_start": load()}


# --- settings and the campaign ----------------------------------------------------------------------------------


def settings_env(work: Path, db: Path, **extra: str) -> dict[str, str]:
    """OUTREACH_* variables for a benchmark run (also used as the environment of `outreach` subprocesses)."""
    env = {
        "OUTREACH_DB": str(db),
        "OUTREACH_FROM": "Buying for Social Impact <news@bsi.example.org>",
        "OUTREACH_ORGANISATION": "Buying for Social Impact",
        "OUTREACH_POSTAL_ADDRESS": "Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
        "OUTREACH_PUBLIC_URL": "https://news.bsi.example.org",
        "OUTREACH_SECRET_KEY": SECRET,
        "OUTREACH_CAMPAIGNS": str(work / "campaigns"),
        "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"),
        "OUTREACH_OUTBOX": str(work / "outbox"),
    }
    env.update(extra)
    return env


def settings(work: Path, db: Path, **extra: str) -> Any:
    from outreach.config import Settings

    return Settings.from_env(settings_env(work, db, **extra))


def prepare_campaign(work: Path) -> Path:
    """Copy the shipped campaigns/bsi-awareness (all 15 languages) into the work folder, without attachments.

    A brochure attachment would add the same pre-encoded bytes to every message: it would measure memcpy and
    the loopback, not outreach. Messages are then ~20 KB, the size the issue's figures are stated for.
    """
    source = REPO / "campaigns" / SLUG
    target = work / "campaigns" / SLUG
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for md in source.glob("*.md"):
        shutil.copy2(md, target / md.name)
    toml = (source / "campaign.toml").read_text(encoding="utf-8")
    toml = re.sub(r"(?ms)^\[attachments\].*?(?=^\[|\Z)", "", toml)
    (target / "campaign.toml").write_text(toml, encoding="utf-8")
    return target


def load_campaign(work: Path, db: Path) -> tuple[Any, Any]:
    """(settings, campaign) for the benchmark copy of bsi-awareness."""
    from outreach.campaigns.folder import load_campaign as load

    config = settings(work, db)
    return config, load(config, SLUG)


# --- generated people -------------------------------------------------------------------------------------------

# First names, family names and organisations as they are written in each BSI country (native scripts and
# diacritics included: the point is that they round-trip).
PEOPLE: dict[str, tuple[list[str], list[str], list[str]]] = {
    "HR": (["Ivana", "Marko", "Željka", "Tomislav"], ["Horvat", "Kovačević", "Babić", "Jurić"],
           ["Grad Split", "Socijalna zadruga Humana Nova", "Općina Čakovec"]),
    "CZ": (["Jana", "Petr", "Tereza", "Jiří"], ["Nováková", "Dvořák", "Černá", "Procházka"],
           ["Město Brno", "Sociální podnik Jinak", "Kraj Vysočina"]),
    "DK": (["Mette", "Søren", "Åse", "Jørgen"], ["Jensen", "Nielsen", "Sørensen", "Møller"],
           ["Aarhus Kommune", "Socialøkonomisk virksomhed Grønt Hjørne", "Region Midtjylland"]),
    "FR": (["Élodie", "François", "Hélène", "Noël"], ["Lefèvre", "Dubois", "Garçon", "Mercier"],
           ["Ville de Lyon", "Entreprise d'insertion Élan", "Département de l'Hérault"]),
    "DE": (["Jürgen", "Anja", "Jörg", "Käthe"], ["Müller", "Schäfer", "Groß", "Weiß"],
           ["Stadt München", "Sozialunternehmen Weitblick gGmbH", "Landkreis Görlitz"]),
    "GR": (["Αικατερίνη", "Γιώργος", "Ελένη", "Δημήτρης"], ["Παπαδοπούλου", "Νικολάου", "Γεωργίου", "Οικονόμου"],
           ["Δήμος Θεσσαλονίκης", "Κοινωνική Συνεταιριστική Επιχείρηση Ένταξη", "Περιφέρεια Κρήτης"]),
    "HU": (["Zsófia", "Gábor", "Erzsébet", "Ödön"], ["Kovács", "Szőke", "Tóth", "Győri"],
           ["Budapest Főváros", "Szociális szövetkezet Kézenfogva", "Győr Megyei Jogú Város"]),
    "IT": (["Chiara", "Niccolò", "Lucía", "Matteo"], ["Rossi", "Bianchi", "Esposito", "Ricci"],
           ["Comune di Bologna", "Cooperativa sociale di tipo B Il Germoglio", "Regione Puglia"]),
    "IE": (["Siobhán", "Seán", "Aoife", "Pádraig"], ["O'Brien", "Ní Bhriain", "Murphy", "Ó Súilleabháin"],
           ["Dublin City Council", "Social enterprise Rediscovery CLG", "Cork County Council"]),
    "LV": (["Līga", "Jānis", "Ilze", "Mārtiņš"], ["Bērziņa", "Kalniņš", "Ozoliņa", "Liepiņš"],
           ["Rīgas valstspilsētas pašvaldība", "Sociālais uzņēmums Ziedu Māja", "Cēsu novads"]),
    "NL": (["Anouk", "Joëlle", "Daan", "Sjoerd"], ["de Vries", "van den Berg", "Jansen", "Bakker"],
           ["Gemeente Utrecht", "Sociale onderneming De Werkplaats", "Provincie Gelderland"]),
    "PL": (["Małgorzata", "Paweł", "Agnieszka", "Łukasz"], ["Wiśniewska", "Żółkiewski", "Kowalczyk", "Śliwa"],
           ["Urząd Miasta Łodzi", "Spółdzielnia Socjalna Pracownia", "Gmina Wrocław"]),
    "RO": (["Ioana", "Ştefan", "Mădălina", "Andrei"], ["Popescu", "Ţurcanu", "Dumitrescu", "Stănescu"],
           ["Primăria Cluj-Napoca", "Întreprindere socială Atelier", "Consiliul Judeţean Iaşi"]),
    "SK": (["Zuzana", "Ľubomír", "Katarína", "Ján"], ["Horváthová", "Kováč", "Šimková", "Ďurica"],
           ["Mesto Košice", "Sociálny podnik Ďalej", "Žilinský samosprávny kraj"]),
    "SE": (["Åsa", "Björn", "Märta", "Örjan"], ["Andersson", "Lindström", "Öberg", "Åkesson"],
           ["Göteborgs Stad", "Socialt företag Kvarnen", "Region Västerbotten"]),
}
# Countries whose people can be written in Windows-1250 (the encoding of many Central European exports).
CP1250_COUNTRIES = ("CZ", "PL", "SK", "HU", "HR", "RO", "DE")
KINDS = ("authority", "supplier", "authority", "supplier", "subscriber")
ROLES = ("Procurement officer", "Director", "Project manager", "Head of purchasing", "")
HEADER = ("email", "name", "organisation", "role", "kind", "country", "language")


def people(n: int, countries: tuple[str, ...] | None = None, seed: int = 7) -> Iterator[tuple[str, ...]]:
    """n deterministic contacts (email, name, organisation, role, kind, country, language), spread over the
    countries (default: the 15 BSI ones) and their languages."""
    from outreach.countries import BSI_COUNTRIES

    rng = random.Random(seed)
    pool = countries or tuple(BSI_COUNTRIES)
    for i in range(1, n + 1):
        country = pool[i % len(pool)]
        first, last, orgs = PEOPLE[country]
        organisation = orgs[rng.randrange(len(orgs))]
        yield (f"person{i}@org{i % 997}.{country.lower()}.example.org",
               f"{first[rng.randrange(len(first))]} {last[rng.randrange(len(last))]}", organisation,
               ROLES[i % len(ROLES)], KINDS[i % len(KINDS)], country, BSI_COUNTRIES[country][0])


def write_csv(path: Path, n: int, encoding: str, countries: tuple[str, ...] | None = None) -> Path:
    """A contact list as a national expert would send it: header row, `;`-less plain CSV, CRLF line ends."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(people(n, countries))
    return path


def contacts_db(path: Path, n: int) -> Path:
    """A migrated outreach database holding n active contacts (bulk SQL, not a measured path)."""
    from outreach.db.schema import open_database

    if path.exists():
        path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    db = open_database(path)
    stamp = "2026-01-01T00:00:00Z"
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO contacts (email, name, organisation, role, kind, country, language, consent_basis, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'legitimate interest', ?, ?)",
            ((*person, stamp, stamp) for person in people(n)))
    db.close()
    return path


def copy_db(source: Path, target: Path) -> Path:
    """A fresh copy of a database file (and nothing of a previous copy's WAL)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def new_message_source(config: Any, campaign: Any) -> Any:
    """outreach's MessageSource (per-recipient bytes: links, variant fill-in, MIME) as `outreach send` builds it:
    the campaign's renderer with premailer's output cached on disk."""
    from outreach.delivery.compose import MessageSource
    from outreach.render.inline import cached_inliner
    from outreach.render.renderer import Renderer

    renderer = Renderer(config, campaign, cached_inliner(config))
    return MessageSource(config, campaign, renderer)


def outreach_command() -> list[str]:
    """How to start the installed `outreach` command (its console script, else `python -m outreach`)."""
    script = shutil.which("outreach")
    return [script] if script else [sys.executable, "-m", "outreach"]


def child_env(env: dict[str, str]) -> dict[str, str]:
    """The process environment without the developer's OUTREACH_* settings, plus the benchmark's."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    base.update(env)
    return base


def run_measured(command: list[str], env: dict[str, str], cwd: Path,
                 usage_out: list[Any] | None = None) -> tuple[float, int, int, str]:
    """Run a child process; (wall seconds, exit code, peak RSS in kB of that child alone, stderr tail).

    os.wait4 gives the rusage of this one child, so earlier children (the sink, other cases) cannot leak in;
    the whole rusage is appended to `usage_out` when given.
    """
    start = time.perf_counter()
    with open(cwd / "child-stderr.txt", "wb") as errors:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if usage_out is not None:
        usage_out.append(usage)
    process.returncode = os.waitstatus_to_exitcode(status)
    tail = (cwd / "child-stderr.txt").read_text(encoding="utf-8", errors="replace")[-2000:]
    return elapsed, process.returncode, int(usage.ru_maxrss), tail


def save_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
