"""Case 4, memory: peak RSS of `outreach send --yes` for 100,000 recipients (at `--size full`) into the sink.

The peak is the child's own `ru_maxrss` (os.wait4), so no other process of the run can leak into it. While it
runs, its RSS (/proc/<pid>/status) is sampled against the number of messages the sink has received, which gives
the comparison: the RSS after the first tenth of the recipients (a flat line means recipients are streamed, not
loaded) and the growth per 1,000 messages; the floor is the interpreter after importing what sending needs.
Target: under 250 MB.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPO,
    SLUG,
    Context,
    Row,
    child_env,
    contacts_db,
    fmt_n,
    fmt_rate,
    outreach_command,
    prepare_campaign,
    settings_env,
)
from benchmarks.sink import Sink

CASE = "memory"
TARGET_MB = 250
WORKERS = 4
FLOOR_IMPORTS = ("import outreach.cli, outreach.delivery.sender, outreach.render.renderer, outreach.campaigns.folder, "
                 "outreach.delivery.transport, "
                 "jinja2.sandbox, premailer, markdown_it, babel.dates, sqlite_utils")


def _status_mb(pid: int | str, field: str) -> float | None:
    """A memory figure of /proc/<pid>/status in MB: VmRSS now, or VmHWM, the peak of this program image."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return None


def _scratch(ctx: Context) -> Path:
    """Where the memory case keeps its database: RAM (/dev/shm) when there is one.

    This case measures memory, not speed; on tmpfs the ~100 KB a message of WAL traffic costs no disk time, which
    halves the minutes a 100,000-recipient send takes. The page cache of tmpfs files is not part of any RSS.
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = shm / f"outreach-bench-{os.getpid()}"
        folder.mkdir(exist_ok=True)
        return folder
    return ctx.work


def send_sampled(ctx: Context, n: int, sink: Sink) -> dict[str, Any]:
    """One `outreach send --yes` of n recipients from a fresh database: peak RSS, time, rusage and
    (messages received, RSS) samples taken every half second."""
    scratch = _scratch(ctx)
    db_path = contacts_db(scratch / "memory.db", n)
    env = child_env(settings_env(ctx.work, db_path, **sink.env(), OUTREACH_WORKERS=str(WORKERS)))
    before = sink.count()
    samples: list[tuple[int, float]] = []
    peak = 0.0
    start = time.perf_counter()
    with open(ctx.work / "child-stderr.txt", "wb") as errors:
        process = subprocess.Popen([*outreach_command(), "send", SLUG, "--yes"], env=env, cwd=ctx.work,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            rss, high = _status_mb(process.pid, "VmRSS"), _status_mb(process.pid, "VmHWM")
            if rss is not None:
                samples.append((sink.count() - before, rss))
            peak = max(peak, high or 0.0)
            time.sleep(0.25)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if scratch != ctx.work:
        shutil.rmtree(scratch, ignore_errors=True)
    received = sink.count() - before
    if process.returncode != 0 or received != n:
        tail = (ctx.work / "child-stderr.txt").read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"outreach send exited {process.returncode}, the sink received {received} of {n}: {tail}")
    # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts from its parent's RSS at fork time, and this
    # harness holds 100,000 contacts by then. The last sample is at most 0.25 s before the end.
    return {"peak": peak, "seconds": seconds, "usage": usage, "samples": samples}


def _at(samples: list[tuple[int, float]], messages: int) -> float:
    """The RSS when the sink had received `messages` (the first sample at or after it)."""
    return next((rss for count, rss in samples if count >= messages), samples[-1][1] if samples else 0.0)


def run(ctx: Context) -> list[Row]:
    prepare_campaign(ctx.work)
    n = ctx.scale.contacts
    tenth = max(10, n // 10)
    ctx.log(f"memory: outreach send of {fmt_n(n)} recipients ({WORKERS} connections), RSS sampled")
    with Sink() as sink:
        result = send_sampled(ctx, n, sink)
    done = subprocess.run([sys.executable, "-c", FLOOR_IMPORTS + "; from benchmarks.bench_memory import _status_mb; "
                           "print(_status_mb('self', 'VmHWM'))"], env=child_env({}), cwd=REPO, capture_output=True,
                          text=True, check=True)
    floor = float(done.stdout.split()[-1])
    peak, seconds, usage, samples = result["peak"], result["seconds"], result["usage"], result["samples"]
    early = _at(samples, tenth)
    growth = (peak - early) / max(1, n - tenth) * 1000
    ctx.note(CASE, f"`outreach send` of {fmt_n(n)} recipients with {WORKERS} connections took {seconds:.0f} s "
             f"({fmt_rate(n / seconds)}, whole process) while its memory was measured (database in "
             f"{'RAM' if Path('/dev/shm').is_dir() else 'the work folder'}); it used "
             f"{usage.ru_utime + usage.ru_stime:.0f} s of CPU and wrote {usage.ru_oublock * 512 / 1024 / 1024:,.0f} MB "
             f"to disk. "
             "RSS by messages sent: " + ", ".join(f"{fmt_n(k)}: {_at(samples, k):.0f} MB"
                                                  for k in (tenth, n // 4, n // 2, 3 * n // 4)) + ".")
    return [Row(CASE, f"peak RSS of `outreach send --yes`, {fmt_n(n)} recipients, into the sink", f"{peak:.0f} MB",
                f"after {fmt_n(tenth)} messages: {early:.0f} MB; imports alone: {floor:.0f} MB",
                f"+{growth:.1f} MB per 1,000 messages", "< 250 MB", peak < TARGET_MB,
                {"peak_mb": peak, "tenth_mb": early, "floor_mb": floor, "seconds": seconds,
                 "mb_per_1000": growth, "samples": samples[::max(1, len(samples) // 50)]})]
