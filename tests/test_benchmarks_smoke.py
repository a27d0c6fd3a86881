"""The benchmark harness runs end to end at a tiny size: every case produces its row, and the document is written.

No timing is asserted (speed is for `python -m benchmarks`, not the test suite); what is checked is what a user
running the harness would see: a results table with each case, the machine, and no case that failed to run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CASES = {"start-up", "reports", "import", "render", "send", "latency", "memory", "sheets"}


@pytest.mark.slow
def test_harness_runs_every_case_at_a_tiny_size(tmp_path: Path) -> None:
    work = tmp_path / "work"
    document = tmp_path / "performance.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "100", "--runs", "1", "--no-mailmerge",
         "--work", str(work), "--output", str(document)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    results = json.loads((work / "results.json").read_text(encoding="utf-8"))
    assert results["info"]["errors"] == {}
    rows = results["rows"]
    assert {row["case"] for row in rows} == CASES
    for row in rows:
        assert row["result"] and not row["result"].startswith("error"), row
    # every case is measured against its alternative in the same run
    for case in CASES - {"start-up"}:
        assert any(row["alternative"] for row in rows if row["case"] == case), case

    text = document.read_text(encoding="utf-8")
    assert text.startswith("# Performance")
    assert "## Benchmarks" in text and "python -m benchmarks --size full" in text
    for case in CASES:
        assert f"| {case} |" in text
    assert results["info"]["machine"]["cpu"] in text
    assert "outreach --help" in done.stdout  # the table printed on stdout

    # the document can be rewritten from the saved results (after editing the findings) without measuring again
    again = tmp_path / "again.md"
    subprocess.run([sys.executable, "-m", "benchmarks", "--docs-from-results", "--work", str(work),
                    "--output", str(again)], cwd=REPO, env=env, check=True, capture_output=True, timeout=60)
    assert again.read_text(encoding="utf-8") == text


def test_size_option_scales_every_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.common import Scale

    full = Scale.parse("full")
    assert (full.contacts, full.send, full.mailmerge, full.deliveries, full.naive) == (
        100_000, 10_000, 1_000, 1_000_000, 300)
    tiny = Scale.parse("200")
    assert tiny.contacts == 200 and tiny.send < tiny.contacts and tiny.deliveries == 2000
    with pytest.raises(SystemExit):
        Scale.parse("huge")


def test_generated_people_use_reserved_domains_and_round_trip_in_their_encoding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.common import CP1250_COUNTRIES, people, write_csv

    rows = list(people(300))
    assert all(row[0].endswith(".example.org") for row in rows)
    assert len({row[0] for row in rows}) == 300
    path = write_csv(tmp_path / "cp1250.csv", 50, "cp1250", CP1250_COUNTRIES)
    text = path.read_bytes().decode("cp1250")
    assert "email,name" in text.splitlines()[0]
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really a legacy file, as the import case needs
