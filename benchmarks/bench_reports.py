"""Benchmark: `outreach report` and `outreach report reach` over a generated database of N deliveries.

    python benchmarks/bench_reports.py [/tmp/report-bench.db] [1000000]

Builds the database once (reused when it exists), then times the report without a breakdown, with
--by country,kind,language, with a period, and the reach report. Target: each under 2 s for 1,000,000 deliveries.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date
from pathlib import Path

from outreach.clock import SystemClock
from outreach.countries import BSI_COUNTRIES
from outreach.db import open_database
from outreach.reports import build_reach, build_report


def generate(path: Path, deliveries: int) -> None:
    """Contacts (a third of the deliveries), 10 campaigns, deliveries and ~3 % events, written in bulk SQL."""
    rng = random.Random(7)
    db = open_database(path)
    conn = db.conn
    countries = sorted(BSI_COUNTRIES)
    contacts = max(1, deliveries // 3)
    kinds = ["authority", "supplier", "authority", "supplier", "subscriber"]
    with db.atomic():
        conn.executemany(
            "INSERT INTO contacts (id, email, kind, country, language, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
            ((i, f"person{i}@org{i % 997}.example.org", kinds[i % 5], countries[i % 15],
              BSI_COUNTRIES[countries[i % 15]][0], "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
             for i in range(1, contacts + 1)))
        campaigns = [f"campaign-{n:02d}" for n in range(10)]
        conn.executemany("INSERT INTO campaigns (slug, name, source_language, created_at) VALUES (?,?,?,?)",
                         ((slug, slug.title(), "en", f"2026-{n + 1:02d}-01T00:00:00Z")
                          for n, slug in enumerate(campaigns)))
        statuses = ["sent"] * 90 + ["failed"] * 4 + ["unknown"] + ["queued"] * 5

        def rows():
            n = 0
            for c, slug in enumerate(campaigns):
                per = deliveries // len(campaigns)
                start = rng.randrange(contacts)
                for k in range(per):
                    n += 1
                    cid = (start + k) % contacts + 1
                    status = statuses[n % 100]
                    day = f"2026-{c + 1:02d}-{(k % 28) + 1:02d}T10:00:00Z"
                    yield (n, slug, cid, f"person{cid}@org{cid % 997}.example.org", countries[cid % 15],
                           kinds[cid % 5], BSI_COUNTRIES[countries[cid % 15]][0], status, 1,
                           f"<{slug}.{n}@news.example.org>", day, day, day if status == "sent" else None)

        conn.executemany(
            "INSERT INTO deliveries (id, campaign, contact_id, email, country, kind, language, status, attempts, "
            "message_id, queued_at, updated_at, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
        conn.execute(
            "INSERT INTO events (type, contact_id, campaign, delivery_id, bounce_type, source, source_id, created_at) "
            "SELECT CASE id % 3 WHEN 0 THEN 'bounced' WHEN 1 THEN 'complained' ELSE 'unsubscribed' END, contact_id, "
            "campaign, id, CASE id % 3 WHEN 0 THEN CASE id % 2 WHEN 0 THEN 'hard' ELSE 'soft' END END, 'bench', "
            "'bench-' || id, sent_at FROM deliveries WHERE status = 'sent' AND id % 33 = 0")
    db.close()


def timed(label: str, func) -> float:
    start = time.perf_counter()
    func()
    elapsed = time.perf_counter() - start
    print(f"{label:<40} {elapsed:6.2f} s")
    return elapsed


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/report-bench.db")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    if not path.exists():
        start = time.perf_counter()
        generate(path, count)
        print(f"generated {count:,} deliveries in {time.perf_counter() - start:.1f} s → {path}")
    db = open_database(path)  # applies pending migrations (indexes) once, outside the timings
    clock = SystemClock()
    n = db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    print(f"{n:,} deliveries, {db.execute('SELECT count(*) FROM events').fetchone()[0]:,} events")
    timed("report (all campaigns)", lambda: build_report(db, clock))
    timed("report --by country,kind,language", lambda: build_report(db, clock, by=("country", "kind", "language")))
    timed("report campaign-03 --by country", lambda: build_report(db, clock, campaign="campaign-03",
                                                                   by=("country",)))
    timed("report --since/--until (3 months)", lambda: build_report(
        db, clock, by=("country", "kind"), since=date(2026, 3, 1), until=date(2026, 5, 31)))
    timed("report reach", lambda: build_reach(db, clock))
    timed("report reach --since/--until", lambda: build_reach(db, clock, since=date(2026, 3, 1),
                                                              until=date(2026, 5, 31)))
    db.close()


if __name__ == "__main__":
    main()
