"""Case 3, send: 10,000 messages (at `--size full`) to a loopback aiosmtpd sink running in its own process.

outreach: `Sender.run()` in-process — enqueue, read the queue in batches, render and build each message, commit
`sending`, hand it to SMTP, commit `sent` — with 1 connection (the default) and with 4 (`--workers 4`).
Bare smtplib: the same messages built beforehand, sent by `smtplib.SMTP.sendmail` over one reused connection
per thread, with as many threads as outreach has connections: the best any sender can do on this sink.
Whole process: `outreach send --yes` of 1,000 recipients, against the `mailmerge` CLI (PyPI, installed into its
own venv under benchmarks/.work/) sending 1,000 of the same messages with `--no-limit` and `ratelimit = 0`.
Targets: at least 0.8× bare smtplib and at least 5× mailmerge.
"""

from __future__ import annotations

import csv
import smtplib
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_render import DATE, recipients
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
    load_campaign,
    median,
    new_message_source,
    outreach_command,
    prepare_campaign,
    run_measured,
    settings,
    settings_env,
    timed,
)
from benchmarks.sink import Sink

CASE = "send"
WORKERS = (1, 4)
FROM = "news@bsi.example.org"


class _Discard:
    """A transport that accepts and drops every message: what outreach's own work costs, without a network."""

    def send(self, message: bytes, envelope_from: str, recipients: list[str]) -> str:
        return "250 discarded"

    def close(self) -> None:
        return None


def outreach_send(ctx: Context, base: Path, n: int, workers: int, sink: Sink | None) -> float:
    """Seconds for Sender.run() to send the whole campaign from a fresh copy of the contacts database
    (into the sink, or with sink None into a transport that discards)."""
    from outreach.campaigns.folder import iter_audience
    from outreach.campaigns.folder import load_campaign as load
    from outreach.clock import SystemClock
    from outreach.db.schema import open_database
    from outreach.delivery.sender import Sender, SendOptions
    from outreach.delivery.store import DatabaseStore
    from outreach.delivery.transport import Transport, open_transport
    from outreach.tracking.events import hard_bounce

    db_path = copy_db(base, ctx.work / "send.db")
    config = settings(ctx.work, db_path, **(sink.env() if sink else {}), OUTREACH_WORKERS=str(workers))
    campaign = load(config, SLUG)
    db = open_database(db_path)
    clock = SystemClock()

    def transports() -> Transport:
        return open_transport(config) if sink else _Discard()

    def sender() -> Sender:  # wired as `outreach send` wires it
        return Sender(DatabaseStore(db, clock, (campaign.audience,)), new_message_source(config, campaign),
                      transports, clock, audience=lambda: iter_audience(db, campaign),
                      on_hard_bounce=lambda b: hard_bounce(db, clock, b.contact, campaign=b.campaign,
                                                           delivery_id=b.delivery_id, source="smtp", detail=b.detail),
                      options=SendOptions.from_settings(config, workers=workers))

    try:
        before = sink.count() if sink else 0
        seconds, report = timed(lambda: sender().run())
        received = sink.count() - before if sink else report.sent
    finally:
        db.close()
    if report.sent != n or received != n:
        raise RuntimeError(f"outreach sent {report.sent} of {n}, the sink received {received}; "
                           f"failed {dict(report.failed)}")
    return seconds


def bare_smtplib(messages: list[tuple[str, bytes]], port: int, workers: int) -> float:
    """Seconds for `workers` threads, one reused connection each, to send the pre-built messages."""

    def send(chunk: list[tuple[str, bytes]]) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for to, data in chunk:
                smtp.sendmail(FROM, [to], data)

    return threaded(messages, workers, send)


def threaded(messages: list[tuple[str, bytes]], workers: int,
             send: Callable[[list[tuple[str, bytes]]], None]) -> float:
    """Seconds for `workers` threads to each `send` their share of the pre-built messages; the first error of any
    thread is raised once all have finished."""
    errors: list[BaseException] = []

    def work(chunk: list[tuple[str, bytes]]) -> None:
        try:
            send(chunk)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(messages[i::workers],)) for i in range(workers)]

    def run() -> None:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    seconds, _ = timed(run)
    if errors:
        raise errors[0]
    return seconds


def prebuilt(ctx: Context, n: int) -> list[tuple[str, bytes]]:
    """The messages outreach would send to the first n generated contacts, built once."""
    config, campaign = load_campaign(ctx.work, ctx.work / "send.db")
    source = new_message_source(config, campaign)
    return [(contact.email, source.build(contact, language, kind, source.message_id(contact.id), DATE))
            for contact, language, kind in recipients(campaign, n)]


# --- mailmerge ------------------------------------------------------------------------------------------------


def mailmerge_venv(ctx: Context) -> Path | None:
    """The mailmerge executable in benchmarks/.work/mailmerge-venv, installing it from PyPI when allowed."""
    venv = ctx.work / "mailmerge-venv"
    executable = venv / "bin" / "mailmerge"
    if executable.exists():
        return executable
    if not ctx.use_mailmerge:
        return None
    ctx.log("send: installing mailmerge from PyPI into " + str(venv))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "mailmerge"], capture_output=True,
                          text=True)
    if done.returncode != 0 or not executable.exists():
        ctx.note(CASE, f"mailmerge could not be installed: {done.stderr.strip()[-300:]}")
        return None
    return executable


def mailmerge_files(ctx: Context, n: int) -> Path:
    """Template, database and server config for mailmerge: outreach's English message for authorities, with
    the recipient's name, address and signed links as Jinja fields."""
    from outreach.contacts.model import Contact
    from outreach.mail.tokens import preferences_url, unsubscribe_url
    from outreach.render.renderer import Links, Renderer

    folder = ctx.work / "mailmerge"
    folder.mkdir(parents=True, exist_ok=True)
    config, campaign = load_campaign(ctx.work, ctx.work / "send.db")
    placeholder = Contact(id=0, email="xemailx@example.org", name="XNAMEX", kind="authority", country="IE",
                          language="en")
    rendered = Renderer(config, campaign).variant("en", "authority").render(
        placeholder, Links("https://XUNSUBX", "https://XPREFX", "https://news.bsi.example.org/archive"))

    def fields(text: str) -> str:
        return (text.replace("XNAMEX", "{{name}}").replace("https://XUNSUBX", "{{unsubscribe}}")
                .replace("https://XPREFX", "{{preferences}}").replace("xemailx@example.org", "{{email}}"))

    # To carries the bare address: mailmerge hands smtplib a str message, which must be ASCII.
    template = (f"TO: {{{{email}}}}\nFROM: Buying for Social Impact <{FROM}>\nSUBJECT: {rendered.subject}\n"
                "List-Unsubscribe: <{{unsubscribe}}>\nMIME-Version: 1.0\n"
                'Content-Type: multipart/alternative; boundary="==bsi-boundary=="\n\n'
                '--==bsi-boundary==\nContent-Type: text/plain; charset="utf-8"\n\n'
                f"{fields(rendered.text)}\n"
                '--==bsi-boundary==\nContent-Type: text/html; charset="utf-8"\n\n'
                f"{fields(rendered.html)}\n--==bsi-boundary==--\n")
    (folder / "mailmerge_template.txt").write_text(template, encoding="utf-8")
    with (folder / "mailmerge_database.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "unsubscribe", "preferences"])
        for contact, _, _ in recipients(campaign, n):
            writer.writerow([contact.email, contact.name,
                             unsubscribe_url(config, config.secret_key, contact.id, contact.email, SLUG),
                             preferences_url(config, config.secret_key, contact.id, contact.email)])
    return folder


def whole_process(ctx: Context, command: list[str], env: dict[str, str], cwd: Path, sink: Sink, n: int) -> float:
    before = sink.count()
    wall, code, _, tail = run_measured(command, env, cwd)
    received = sink.count() - before
    if code != 0 or received != n:
        raise RuntimeError(f"{Path(command[0]).name} exited {code}, sink received {received} of {n}: {tail}")
    return wall


def run(ctx: Context) -> list[Row]:
    prepare_campaign(ctx.work)
    n, m = ctx.scale.send, ctx.scale.mailmerge
    base = contacts_db(ctx.work / f"send-base-{n}.db", n)
    small = contacts_db(ctx.work / f"send-base-{m}.db", m)
    messages = prebuilt(ctx, n)
    rows: list[Row] = []
    with Sink() as sink:
        for workers in WORKERS:
            # The default (1 connection) is the target comparison, median of the runs; 4 connections shows how
            # the sender scales and is taken once, to keep a full run well under 15 minutes.
            runs = ctx.runs if workers == 1 else 1
            ctx.log(f"send: {fmt_n(n)} messages, {workers} connection(s), outreach and bare smtplib, {runs} run(s)")
            ours, bare = [], []
            for _ in range(runs):
                ours.append(n / outreach_send(ctx, base, n, workers, sink))
                before = sink.count()
                bare.append(n / bare_smtplib(messages, sink.port, workers))
                if sink.count() - before != n:
                    raise RuntimeError("bare smtplib: the sink did not receive every message")
            rate, floor = median(ours), median(bare)
            once = "" if runs > 1 else " (1 run)"
            rows.append(Row(CASE, f"{fmt_n(n)} messages, {workers} SMTP connection(s), `Sender.run()` in-process{once}",
                            fmt_rate(rate), f"bare smtplib, pre-built, {workers} conn.: {fmt_rate(floor)}",
                            f"{rate / floor:.2f}× bare smtplib", "≥ 0.8× bare smtplib", rate >= 0.8 * floor,
                            {"rate": rate, "runs": ours, "bare": floor, "bare_runs": bare, "workers": workers}))
        del messages
        discard = [n / outreach_send(ctx, base, n, 1, None)]  # a diagnostic: one run is enough
        rows.append(Row(CASE, f"{fmt_n(n)} messages, `Sender.run()` into a transport that discards (no network, 1 run)",
                        fmt_rate(median(discard)), "(outreach's own work per message: the ceiling of any sink)", "", "",
                        None, {"rate": median(discard), "runs": discard}))

        ctx.log(f"send: whole process, {fmt_n(m)} messages, outreach send and mailmerge")
        env = child_env(settings_env(ctx.work, ctx.work / "send-cli.db", **sink.env()))
        cli = []
        for _ in range(ctx.runs):
            copy_db(small, ctx.work / "send-cli.db")
            cli.append(m / whole_process(ctx, [*outreach_command(), "send", SLUG, "--yes"], env, ctx.work, sink, m))
        rate = median(cli)
        executable = mailmerge_venv(ctx)
        if executable is None:
            rows.append(Row(CASE, f"`outreach send --yes`, {fmt_n(m)} messages, whole process", fmt_rate(rate),
                            "mailmerge: not measured (not installed; run without --no-mailmerge)", "",
                            "≥ 5× mailmerge", None, {"rate": rate, "runs": cli}))
            return rows
        folder = mailmerge_files(ctx, m)
        command = [str(executable), "--no-limit", "--no-dry-run", "--output-format", "raw",
                   "--template", "mailmerge_template.txt", "--database", "mailmerge_database.csv",
                   "--config", "mailmerge_server.conf"]
        (folder / "mailmerge_server.conf").write_text(
            f"[smtp_server]\nhost = 127.0.0.1\nport = {sink.port}\nratelimit = 0\n", encoding="utf-8")
        theirs = [m / whole_process(ctx, command, child_env({}), folder, sink, m) for _ in range(ctx.runs)]
        other = median(theirs)
        rows.append(Row(CASE, f"`outreach send --yes`, {fmt_n(m)} messages, whole process", fmt_rate(rate),
                        f"`mailmerge --no-limit`, {fmt_n(m)} messages: {fmt_rate(other)}",
                        f"{fmt_ratio(rate / other)} mailmerge", "≥ 5× mailmerge", rate >= 5 * other,
                        {"rate": rate, "runs": cli, "mailmerge": other, "mailmerge_runs": theirs}))
    return rows
