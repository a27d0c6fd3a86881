"""Case latency: sending through a relay 40 ms away — a delay proxy on 127.0.0.1 (benchmarks/delay_proxy.py, its
own process, 20 ms each way) in front of the aiosmtpd sink (its own process, advertising PIPELINING).

Through the same proxy, side by side: bare smtplib (`sendmail` over one reused connection per thread, one command
per round trip), the fully pipelined floor (benchmarks/reference_pipelined.py: the next envelope rides with the
previous final dot, one round trip per message), and outreach's `Sender.run()` with 1 and 4 connections; then the
whole `outreach send --yes` process against mailmerge's whole process (a connection per message).
Targets: ≥ 18 msg/s and ≥ 0.8× the floor on one connection, ≥ 70 msg/s on four, ≥ 5× mailmerge.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.bench_send import (
    bare_smtplib,
    mailmerge_files,
    mailmerge_venv,
    outreach_send,
    prebuilt,
    threaded,
    whole_process,
)
from benchmarks.common import (
    SLUG,
    Context,
    Row,
    child_env,
    contacts_db,
    copy_db,
    fmt_n,
    fmt_rate,
    fmt_ratio,
    median,
    outreach_command,
    prepare_campaign,
    settings_env,
)
from benchmarks.delay_proxy import ProxyProcess
from benchmarks.reference_pipelined import send_all
from benchmarks.sink import Sink

CASE = "latency"
DELAY = 0.020  # seconds each way: a 40 ms round trip


class _Via:
    """The sink as seen through the proxy: what bench_send's helpers need (env, count, port)."""

    def __init__(self, sink: Sink, proxy: ProxyProcess) -> None:
        self.sink, self.proxy, self.port = sink, proxy, proxy.port

    def env(self) -> dict[str, str]:
        return self.proxy.env()

    def count(self) -> int:
        return self.sink.count()


def floor(messages: list[tuple[str, bytes]], port: int, workers: int) -> float:
    """Seconds for the hand-pipelined client, one connection per thread."""
    return threaded(messages, workers, lambda chunk: send_all(port, chunk))


def _checked(via: _Via, n: int, send: object) -> float:
    before = via.count()
    seconds = send()  # type: ignore[operator]
    if via.count() - before != n:
        raise RuntimeError("the sink did not receive every message")
    return float(seconds)


def run(ctx: Context) -> list[Row]:
    prepare_campaign(ctx.work)
    n = max(40, min(1000, ctx.scale.send // 5))  # messages per figure: 400 at small size, 1,000 at full
    bare_n = max(20, n // 4)  # bare smtplib is four times slower: fewer messages, the same rate
    m = ctx.scale.mailmerge
    base = contacts_db(ctx.work / f"send-base-{n}.db", n)
    messages = prebuilt(ctx, n)
    rows: list[Row] = []
    with Sink(pipelining=True) as sink, ProxyProcess(sink.port, DELAY) as proxy:
        via = _Via(sink, proxy)
        for workers, target in ((1, 18.0), (4, 70.0)):
            ctx.log(f"latency: {fmt_n(n)} messages, {workers} connection(s): outreach, the floor, bare smtplib")
            w = workers
            ours = [n / _checked(via, n, lambda w=w: outreach_send(ctx, base, n, w, via))]  # type: ignore[misc]
            best = n / _checked(via, n, lambda w=w: floor(messages, proxy.port, w))  # type: ignore[misc]
            bare = bare_n / _checked(via, bare_n, lambda w=w: bare_smtplib(messages[:bare_n], proxy.port, w))  # type: ignore[misc]
            rate = median(ours)
            rows.append(Row(
                CASE, f"{fmt_n(n)} messages, {workers} connection(s), 40 ms round trip, `Sender.run()` (1 run)",
                fmt_rate(rate), f"fully pipelined floor: {fmt_rate(best)}; bare smtplib: {fmt_rate(bare)}",
                f"{rate / best:.2f}× floor, {rate / bare:.1f}× smtplib",
                f"≥ {target:g} msg/s" + (", ≥ 0.8× floor" if workers == 1 else ""),
                rate >= target and (workers > 1 or rate >= 0.8 * best),
                {"rate": rate, "floor": best, "bare": bare, "workers": workers, "messages": n}))
        rows.append(_whole_process(ctx, via, m))
    return rows


def _whole_process(ctx: Context, via: _Via, m: int) -> Row:
    ctx.log(f"latency: whole process, {fmt_n(m)} messages, outreach send and mailmerge, 40 ms round trip")
    small = contacts_db(ctx.work / f"send-base-{m}.db", m)
    env = child_env(settings_env(ctx.work, ctx.work / "latency-cli.db", **via.env()))
    copy_db(small, ctx.work / "latency-cli.db")
    ours = m / whole_process(ctx, [*outreach_command(), "send", SLUG, "--yes"], env, ctx.work, via, m)  # type: ignore[arg-type]
    executable = mailmerge_venv(ctx)
    what = f"`outreach send --yes`, {fmt_n(m)} messages, whole process, 40 ms round trip"
    if executable is None:
        return Row(CASE, what, fmt_rate(ours), "mailmerge: not measured (not installed)", "", "≥ 5× mailmerge",
                   None, {"rate": ours})
    folder: Path = mailmerge_files(ctx, m)
    (folder / "mailmerge_server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {via.port}\nratelimit = 0\n", encoding="utf-8")
    command = [str(executable), "--no-limit", "--no-dry-run", "--output-format", "raw", "--template",
               "mailmerge_template.txt", "--database", "mailmerge_database.csv", "--config", "mailmerge_server.conf"]
    theirs = m / whole_process(ctx, command, child_env({}), folder, via, m)  # type: ignore[arg-type]
    return Row(CASE, what, fmt_rate(ours), f"`mailmerge --no-limit`: {fmt_rate(theirs)}",
               f"{fmt_ratio(ours / theirs)} mailmerge", "≥ 5× mailmerge", ours >= 5 * theirs,
               {"rate": ours, "mailmerge": theirs})
