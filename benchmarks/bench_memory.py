"""Case 4, memory: peak RSS of `outreach send --yes` for 100,000 recipients (at `--size full`) into the sink.

The peak is the child's own `ru_maxrss` (os.wait4), so no other process of the run can leak into it. Compared
with the same command for a tenth of the recipients (a flat line means recipients are streamed, not loaded) and
with the interpreter after importing what sending needs (the floor). Target: under 250 MB.
"""

from __future__ import annotations

import sys
from typing import Any

from benchmarks.common import (
    SLUG,
    Context,
    Row,
    child_env,
    contacts_db,
    copy_db,
    fmt_n,
    fmt_rate,
    outreach_command,
    prepare_campaign,
    run_measured,
    settings_env,
)
from benchmarks.sink import Sink

CASE = "memory"
TARGET_MB = 250
WORKERS = 4
FLOOR_IMPORTS = ("import outreach.cli, outreach.delivery, outreach.render, outreach.campaigns, outreach.transport, "
                 "jinja2.sandbox, premailer, markdown_it, babel.dates, sqlite_utils")


def send_peak(ctx: Context, n: int, sink: Sink) -> tuple[float, float, Any]:
    """(peak RSS in MB, seconds, rusage) of one `outreach send --yes` of n recipients from a fresh database."""
    base = contacts_db(ctx.work / f"memory-base-{n}.db", n)
    db_path = copy_db(base, ctx.work / "memory.db")
    env = child_env(settings_env(ctx.work, db_path, **sink.env(), OUTREACH_WORKERS=str(WORKERS)))
    before = sink.count()
    usage: list[Any] = []
    wall, code, peak_kb, tail = run_measured([*outreach_command(), "send", SLUG, "--yes"], env, ctx.work, usage)
    received = sink.count() - before
    if code != 0 or received != n:
        raise RuntimeError(f"outreach send exited {code}, the sink received {received} of {n}: {tail}")
    return peak_kb / 1024, wall, usage[0]


def run(ctx: Context) -> list[Row]:
    prepare_campaign(ctx.work)
    n = ctx.scale.contacts
    tenth = max(10, n // 10)
    ctx.log(f"memory: outreach send of {fmt_n(n)} and {fmt_n(tenth)} recipients ({WORKERS} connections), once each")
    with Sink() as sink:
        small_peak, _, _ = send_peak(ctx, tenth, sink)
        peak, seconds, usage = send_peak(ctx, n, sink)
    _, code, floor_kb, tail = run_measured([sys.executable, "-c", FLOOR_IMPORTS], child_env({}), ctx.work)
    if code != 0:
        raise RuntimeError(f"the import floor failed: {tail}")
    floor = floor_kb / 1024
    ctx.note(CASE, f"`outreach send` of {fmt_n(n)} recipients with {WORKERS} connections took {seconds:.0f} s "
             f"({fmt_rate(n / seconds)}, whole process) while its memory was measured; it used "
             f"{usage.ru_utime + usage.ru_stime:.0f} s of CPU and wrote {usage.ru_oublock * 512 / 1024 / 1024:,.0f} MB "
             f"to disk ({usage.ru_oublock * 512 / 1024 / n:.0f} KB per message: the WAL of the per-message commits).")
    return [Row(CASE, f"peak RSS of `outreach send --yes`, {fmt_n(n)} recipients, into the sink", f"{peak:.0f} MB",
                f"{fmt_n(tenth)} recipients: {small_peak:.0f} MB; imports alone: {floor:.0f} MB",
                f"+{peak - small_peak:.0f} MB for {fmt_n(n - tenth)} more recipients", "< 250 MB", peak < TARGET_MB,
                {"peak_mb": peak, "tenth_mb": small_peak, "floor_mb": floor, "seconds": seconds})]
