"""Case 6, reports: `outreach report` over a generated database of 1,000,000 deliveries (at `--size full`).

The database is built once (bulk SQL, reused by later runs of the same size): contacts (a third of the
deliveries), 10 campaigns, deliveries over the 15 BSI countries and ~3 % events. Timed: the report without a
breakdown, `--by country,kind,language`, one campaign `--by country`, a 3-month period, and `report reach`
(in-process, median of the runs), and the whole `outreach report --by country,kind,language` process.
The comparison is the floor any report needs: one bare `GROUP BY campaign, status` count in sqlite3.
Target: under 2 s.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date
from pathlib import Path

from benchmarks.common import (
    Context,
    Row,
    child_env,
    fmt_n,
    fmt_ratio,
    fmt_s,
    median,
    outreach_command,
    run_measured,
    settings_env,
    spread,
    timed,
)

CASE = "reports"
TARGET = 2.0


def generate(path: Path, deliveries: int) -> None:
    """Contacts (a third of the deliveries), 10 campaigns, deliveries and ~3 % events, written in bulk SQL."""
    from outreach.countries import BSI_COUNTRIES
    from outreach.db.schema import open_database

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

        def rows():  # type: ignore[no-untyped-def]
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


def _database(ctx: Context) -> Path:
    path = ctx.work / f"reports-{ctx.scale.deliveries}.db"
    if not path.exists():
        partial = path.with_suffix(".partial")
        for suffix in ("", "-wal", "-shm"):
            Path(str(partial) + suffix).unlink(missing_ok=True)
        seconds, _ = timed(lambda: generate(partial, ctx.scale.deliveries))
        partial.rename(path)
        ctx.log(f"reports: generated {fmt_n(ctx.scale.deliveries)} deliveries in {seconds:.1f} s → {path}")
    return path


def run(ctx: Context) -> list[Row]:
    from outreach.clock import SystemClock
    from outreach.db.schema import open_database
    from outreach.tracking.reports import build_reach, build_report

    path = _database(ctx)
    db = open_database(path)  # applies pending migrations (indexes) once, outside the timings
    clock = SystemClock()
    n = db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    queries = [
        ("`report` (all campaigns)", lambda: build_report(db, clock)),
        ("`report --by country,kind,language`", lambda: build_report(db, clock, by=("country", "kind", "language"))),
        ("`report campaign-03 --by country`", lambda: build_report(db, clock, campaign="campaign-03",
                                                                   by=("country",))),
        ("`report --by country,kind --since/--until` (3 months)", lambda: build_report(
            db, clock, by=("country", "kind"), since=date(2026, 3, 1), until=date(2026, 5, 31))),
        ("`report reach`", lambda: build_reach(db, clock)),
        ("`report reach --since/--until`", lambda: build_reach(db, clock, since=date(2026, 3, 1),
                                                               until=date(2026, 5, 31))),
    ]
    ctx.log(f"reports: {len(queries)} reports over {fmt_n(n)} deliveries, {ctx.runs} runs each")
    floor_runs = []
    with sqlite3.connect(path) as bare:
        for _ in range(ctx.runs):
            floor_runs.append(timed(lambda: bare.execute(
                "SELECT campaign, status, count(*) FROM deliveries GROUP BY campaign, status").fetchall())[0])
    floor = median(floor_runs)
    rows = []
    for label, query in queries:
        query()  # warm the page cache: the figures are for a database in use, not a cold disk
        values = [timed(query)[0] for _ in range(ctx.runs)]
        value = median(values)
        rows.append(Row(CASE, f"{label}, {fmt_n(n)} deliveries (in-process)", fmt_s(value),
                        f"bare `GROUP BY campaign, status`: {fmt_s(floor)}", f"{fmt_ratio(value / floor)} the floor",
                        "< 2 s", value < TARGET, {"seconds": value, "runs": values, "floor": floor}))
    db.close()

    env = child_env(settings_env(ctx.work, path))
    for args, what in ((["report"], "`outreach report`"),
                       (["report", "--by", "country,kind,language"], "`outreach report --by country,kind,language`")):
        walls = []
        for _ in range(ctx.runs):
            wall, code, _, tail = run_measured([*outreach_command(), *args], env, ctx.work)
            if code != 0:
                raise RuntimeError(f"outreach {' '.join(args)} failed ({code}): {tail}")
            walls.append(wall)
        value = median(walls)
        rows.append(Row(CASE, f"{what}, whole process (table printed), {fmt_n(n)} deliveries", fmt_s(value),
                        "", "", "< 2 s", value < TARGET, {"seconds": value, "runs": walls, "spread": spread(walls)}))
    return rows
