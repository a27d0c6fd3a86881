"""Case 5, start-up: `outreach --help` and an everyday command, `outreach contacts count` on a database of 10,000
contacts, as whole processes, against the interpreter and typer alone.

Targets: under 0.3 s each. The slowest imports of `import outreach.cli` (python -X importtime) are listed in the notes
so that a regression names its culprit.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks.common import (
    Context,
    Row,
    child_env,
    contacts_db,
    fmt_s,
    median,
    outreach_command,
    spread,
    timed,
)

CASE = "start-up"
TARGET = 0.3
COUNT_CONTACTS = 10_000


def _wall(command: list[str], env: dict[str, str], runs: int) -> list[float]:
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # warm
    return [timed(lambda: subprocess.run(command, env=env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, check=True))[0] for _ in range(runs)]


def slowest_imports(env: dict[str, str], top: int = 6) -> list[tuple[str, float]]:
    """The packages outside outreach that `import outreach.cli` spends most time importing (cumulative, seconds)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import outreach.cli"], env=env,
                          capture_output=True, text=True, check=True)
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        try:
            cumulative = int(parts[1].strip())
        except ValueError:
            continue
        root = parts[2].strip().split(".")[0]
        if root in ("outreach", "site", "encodings") or root.startswith("_"):
            continue
        # the first import of a package includes its subpackages: keep the largest figure per package
        totals[root] = max(totals.get(root, 0.0), cumulative / 1e6)
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def run(ctx: Context) -> list[Row]:
    env = child_env({})
    runs = max(ctx.scale.startup, ctx.runs)
    ctx.log(f"start-up: {runs} runs each of outreach --help, python -c pass, python -c 'import typer'")
    ours = _wall([*outreach_command(), "--help"], env, runs)
    bare = _wall([sys.executable, "-c", "pass"], env, runs)
    typer_only = _wall([sys.executable, "-c", "import typer"], env, runs)
    database = contacts_db(ctx.work / "startup-contacts.db", COUNT_CONTACTS)
    count = _wall([*outreach_command(), "--db", str(database), "contacts", "count"], env, runs)
    value = median(ours)
    floor, framework = median(bare), median(typer_only)
    imports = slowest_imports(env)
    ctx.note(CASE, "Slowest packages imported by `import outreach.cli` (cumulative, `python -X importtime`): "
             + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in imports) + ".")
    return [
        Row(CASE, "`outreach --help`, whole process", fmt_s(value), f"`python -c pass`: {fmt_s(floor)}",
            f"+{fmt_s(value - floor)} over the interpreter", "< 0.3 s", value < TARGET,
            {"seconds": value, "runs": ours, "spread": spread(ours), "python": floor}),
        Row(CASE, f"`outreach contacts count`, {COUNT_CONTACTS:,} contacts, whole process", fmt_s(median(count)),
            f"`python -c pass`: {fmt_s(floor)}", f"+{fmt_s(median(count) - floor)} over the interpreter", "< 0.3 s",
            median(count) < TARGET, {"seconds": median(count), "runs": count, "spread": spread(count)}),
        Row(CASE, "`python -c 'import typer'` (the CLI framework alone)", fmt_s(framework), "", "", "", None,
            {"seconds": framework, "runs": typer_only}),
    ]
