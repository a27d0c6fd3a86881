"""`outreach send`: parse, call the core, print. (`status` is in cli/status.py, `sink` and `demo` in cli/demo.py.)"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from outreach.cli._common import err, state
from outreach.errors import ExitCode, InputError, TransportError

if TYPE_CHECKING:
    from types import FrameType

    from outreach.campaigns.folder import Campaign
    from outreach.clock import Clock
    from outreach.config import Settings
    from outreach.contacts.model import ContactFilter
    from outreach.db.schema import Database
    from outreach.delivery.plan import Plan
    from outreach.delivery.seams import CalendarSource
    from outreach.delivery.sender import Progress, Sender, SendOptions, SendReport
    from outreach.render.renderer import Renderer
    from outreach.scheduling import SendRequest


ListOpt = list[str] | None


def send(
    slug: Annotated[str, typer.Argument(help="The campaign (folder name under campaigns/).")],
    country: Annotated[ListOpt, typer.Option("--country", help="Only these countries (repeat or comma-separate).")
                       ] = None,
    kind: Annotated[ListOpt, typer.Option("--kind", help="Only these kinds: authority, supplier, …")] = None,
    language: Annotated[ListOpt, typer.Option("--language", help="Only contacts with these languages.")] = None,
    tag: Annotated[ListOpt, typer.Option("--tag", help="Only contacts with every one of these tags.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Send at most N messages in this run.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Render and build every message; send nothing.")
                       ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    rate: Annotated[str | None, typer.Option("--rate", help="e.g. 30/min, 1000/hour, 10000/day (default: "
                                                            "OUTREACH_RATE).")] = None,
    domain_rate: Annotated[str | None, typer.Option("--domain-rate", help="Per recipient domain, e.g. 20/min.")
                           ] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=32, help="Parallel SMTP connections.")
                       ] = None,
    retry_unknown: Annotated[bool, typer.Option("--retry-unknown", help="Send again the deliveries left "
                                                                        "'unknown' by a crash.")] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Queue the failed deliveries again (never "
                                               "contacts that bounced, unsubscribed or are suppressed).")] = False,
    reply_code: Annotated[str | None, typer.Option("--reply-code", metavar="GLOB", help="With --retry-failed: only "
                                                   "failures whose last reply's code matches, e.g. 5.7.* or 530.")
                          ] = None,
    test_to: Annotated[str | None, typer.Option("--test-to", metavar="ADDRESS", help="Send one test message per "
                                                "language and kind to this address (not recorded).")] = None,
    session: Annotated[ListOpt, typer.Option("--session", help="With --test-to: the event sessions (country codes, "
                                             "or 'all') to send each language in.")] = None,
    at: Annotated[str | None, typer.Option("--at", metavar="WHEN", help='Schedule the send instead, e.g. '
                                           '"2027-03-01 09:00"; run by `outreach run-due` or `outreach serve`.',
                                           show_default=False)] = None,
    tz: Annotated[str | None, typer.Option("--tz", metavar="ZONE", help="The time zone of --at, e.g. Europe/Warsaw "
                                           "(default: OUTREACH_TIMEZONE).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Send invitations even to a session that has started or "
                                                        "was cancelled.")] = False,
) -> None:
    """Send a campaign to its audience, once per recipient: resumable, rate-limited, with a summary first."""
    from outreach.campaigns.folder import iter_audience, load_campaign
    from outreach.clock import SystemClock
    from outreach.contacts.model import ContactFilter
    from outreach.delivery.plan import plan_send
    from outreach.delivery.ratelimit import parse_rates
    from outreach.delivery.sender import SendOptions
    from outreach.delivery.transport import describe_transport
    from outreach.models import DeliveryStatus

    app_state = state()
    settings = app_state.settings
    campaign = load_campaign(settings, slug)
    extra = ContactFilter.parse(countries=country, kinds=kind, languages=language, tags=tag)
    parse_rates(rate, "--rate")  # a typo is a usage error before anything else happens
    parse_rates(domain_rate, "--domain-rate")
    _check_reply_code(reply_code, retry_failed)
    clock = SystemClock()
    console = err()
    if at is not None or tz is not None:
        from outreach.scheduling import SendRequest

        request = SendRequest(tuple(country or ()), tuple(kind or ()), tuple(language or ()), tuple(tag or ()),
                              limit, rate, domain_rate, workers, force)
        _schedule(settings, app_state.db, clock, campaign, extra, request, at, tz, yes=yes,
                  other=dry_run or bool(test_to) or retry_unknown or retry_failed)
        return
    if test_to:
        check_dkim(settings, campaign.sender_address)
        from outreach.cli.sending_test_to import send_tests, sessions_option

        send_tests(settings, clock, campaign, test_to, extra, rate, sessions_option(campaign, session))
        return
    db = app_state.db
    if dry_run:
        _dry_run(settings, db, clock, campaign, extra)
        return
    if campaign.event and not force:
        from outreach.events.invitations import refuse_past_sessions

        refuse_past_sessions(db, campaign, iter_audience(db, campaign, extra), clock.now())
    plan = plan_send(db, campaign.slug, (campaign.audience, extra), iter_audience(db, campaign, extra),
                     retry_failed=retry_failed, reply_code=reply_code)
    unknown = plan.existing.get(DeliveryStatus.UNKNOWN, 0)
    failed = plan.existing.get(DeliveryStatus.FAILED, 0)
    if plan.to_send == 0 and not (retry_unknown and unknown):
        _print_plan(plan, None)
        console.print(f"Nothing new to send for {slug!r}: every recipient in the audience already has a delivery."
                      + (f" {unknown} are 'unknown'; add --retry-unknown to send those again." if unknown else "")
                      + (f" {failed} failed; add --retry-failed to send those again (see: outreach status {slug})."
                         if failed and not retry_failed else ""))
        return
    _print_plan(plan, describe_transport(settings))
    check_dkim(settings, campaign.sender_address)
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("Not sending without a confirmation, and there is no terminal to ask in",
                             f"Check the summary above, then run: outreach send {slug} --yes")
        typer.confirm(f"Send {plan.to_send} messages of {slug!r}?", abort=True, err=True)

    options = SendOptions.from_settings(settings, rate=rate, domain_rate=domain_rate, workers=workers, limit=limit,
                                        retry_unknown=retry_unknown, retry_failed=retry_failed,
                                        reply_code=reply_code)
    report = _send(settings, db, clock, campaign, extra, options)
    if report.interrupted:
        console.print(f"Stopped. {report.remaining} still queued; resume with: outreach send {slug}")
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    # Some recipients of this run did not certainly get it (see the summary). Deliveries a crash left `unknown`
    # are listed, but were the previous run's: they do not make this one partial.
    if report.failed_count or report.uncertain:
        raise typer.Exit(int(ExitCode.PARTIAL))


def _schedule(settings: Settings, db: Database, clock: Clock, campaign: Campaign, extra: ContactFilter,
              request: SendRequest, at: str | None, tz: str | None, *, yes: bool, other: bool) -> None:
    """`send --at`: show what would be sent now, ask, and record the schedule."""
    from outreach.campaigns.folder import iter_audience
    from outreach.delivery.plan import plan_send
    from outreach.delivery.transport import describe_transport
    from outreach.scheduling import EXAMPLE, parse_at, schedule_send

    if at is None:
        raise typer.BadParameter(f"--tz only gives the zone of --at; add --at, e.g. {EXAMPLE}", param_hint="--tz")
    if other:
        raise typer.BadParameter("--at schedules a plain send; --dry-run, --test-to, --retry-unknown and "
                                 "--retry-failed run now, without --at.", param_hint="--at")
    when = parse_at(at, tz, settings.timezone, clock.now())
    check_dkim(settings, campaign.sender_address)
    if campaign.event and not request.force:  # an invitation to a session that will have started by then
        from outreach.events.invitations import refuse_past_sessions

        refuse_past_sessions(db, campaign, iter_audience(db, campaign, extra), when.utc)
    plan = plan_send(db, campaign.slug, (campaign.audience, extra), iter_audience(db, campaign, extra))
    _print_plan(plan, describe_transport(settings))
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("Not scheduling without a confirmation, and there is no terminal to ask in",
                             f'Check the summary above, then add --yes: outreach send {campaign.slug} --at "{at}"'
                             + (f" --tz {tz}" if tz else "") + " --yes")
        typer.confirm(f"Schedule {campaign.slug!r} for {when.describe()}?", abort=True, err=True)
    number = schedule_send(db, clock, campaign.slug, when, request)
    err().print(f"Scheduled #{number}: {campaign.slug} at {when.describe()}. The audience is taken when it starts "
                "(now: the summary above). It starts when `outreach run-due` runs after that time (cron, a systemd "
                f"timer) or while `outreach serve` runs; `outreach schedule cancel {number}` cancels it.")


def start_scheduled(settings: Settings, db: Database, clock: Clock, slug: str, request: SendRequest) -> SendReport:
    """Run a scheduled send now, as `outreach send SLUG --yes` with its options would (no prompt)."""
    from outreach.campaigns.folder import load_campaign
    from outreach.contacts.model import ContactFilter
    from outreach.delivery.sender import SendOptions

    campaign = load_campaign(settings, slug)
    extra = ContactFilter.parse(countries=list(request.countries), kinds=list(request.kinds),
                                languages=list(request.languages), tags=list(request.tags))
    check_dkim(settings, campaign.sender_address)
    if campaign.event and not request.force:
        from outreach.campaigns.folder import iter_audience
        from outreach.events.invitations import refuse_past_sessions

        refuse_past_sessions(db, campaign, iter_audience(db, campaign, extra), clock.now())
    options = SendOptions.from_settings(settings, rate=request.rate, domain_rate=request.domain_rate,
                                        workers=request.workers, limit=request.limit)
    return _send(settings, db, clock, campaign, extra, options)


def check_dkim(settings: Settings, sender_address: str) -> None:
    """With OUTREACH_DKIM_KEY set: stop unless the key matches its selector's record (and say what signs)."""
    from outreach.mail.dkim import check_key, load_key

    key = load_key(settings.dkim_key, settings.dkim_selector, settings.dkim_domain, sender_address)
    if key is None:
        return
    found = check_key(key, settings.dkim_record)
    err().print(f"DKIM: messages are signed for {found.record_name} ({found.bits}-bit key, matching the "
                f"{found.source}).")


def _check_reply_code(reply_code: str | None, retry_failed: bool) -> None:
    """--reply-code only with --retry-failed, and only a code pattern (digits, dots, glob characters)."""
    import re

    if reply_code is None:
        return
    if not retry_failed:
        raise typer.BadParameter("--reply-code only chooses among the failures of --retry-failed; add "
                                 "--retry-failed.", param_hint="--reply-code")
    if not re.fullmatch(r"[0-9.*?\[\]!-]+", reply_code):
        raise typer.BadParameter(f"{reply_code!r} is not a reply-code pattern; write e.g. 5.7.*, 530 or 4*.",
                                 param_hint="--reply-code")


def _dry_run(settings: Settings, db: Database, clock: Clock, campaign: Campaign, extra: ContactFilter) -> None:
    from outreach.campaigns.folder import iter_audience
    from outreach.delivery.compose import MessageSource, dry_run
    from outreach.delivery.plan import pending_recipients, plan_send

    # no database for the calendars: a dry run writes nothing, not even a session's first row
    source = MessageSource(settings, campaign, _renderer(settings, campaign),
                           calendars=_calendars(campaign, clock, None))
    # Exactly the messages a send would build now: recipients who already have a delivery are not sent again.
    count, size = dry_run(source, clock, pending_recipients(db, campaign.slug, iter_audience(db, campaign, extra)))
    plan = plan_send(db, campaign.slug, (campaign.audience, extra), iter_audience(db, campaign, extra))
    _print_plan(plan, "dry run — nothing is sent, nothing is recorded")
    if not count:
        err().print(f"Dry run: nothing to send now for {campaign.slug!r}, so no message was built. To see the "
                    f"messages themselves: outreach campaign preview {campaign.slug}")
        return
    err().print(f"Dry run: {count} messages rendered and built ({size / 1024 / 1024:.1f} MB); "
                "no transport was used and the queue is unchanged.")


def _send(settings: Settings, db: Database, clock: Clock, campaign: Campaign, extra: ContactFilter,
          options: SendOptions) -> SendReport:
    """Run the sender wired to this database, the campaign's renderer, the configured transport and tracking;
    Ctrl-C stops it after the current message. The report is printed (also when the transport fails)."""
    from outreach.campaigns.folder import iter_audience
    from outreach.delivery.compose import MessageSource
    from outreach.delivery.relays import relay_pool
    from outreach.delivery.sender import Sender
    from outreach.delivery.store import DatabaseStore
    from outreach.delivery.transport import open_transport
    from outreach.tracking.events import smtp_bounce_recorder

    source = MessageSource(settings, campaign, _renderer(settings, campaign), calendars=_calendars(campaign, clock, db))
    sender = Sender(DatabaseStore(db, clock, (campaign.audience, extra)), source, lambda: open_transport(settings),
                    clock, audience=lambda: iter_audience(db, campaign, extra),
                    on_hard_bounce=smtp_bounce_recorder(db, clock), options=options,
                    connections=relay_pool(settings, clock))
    stop = threading.Event()
    restore = _on_ctrl_c(stop)
    try:
        report = _run_with_progress(sender, stop)
    except TransportError:
        _print_report(sender.report, campaign.slug)
        raise
    finally:
        restore()
    _print_report(report, campaign.slug)
    return report


def _renderer(settings: Settings, campaign: Campaign) -> Renderer:
    """The campaign's renderer, with premailer's output kept on disk (most of a variant's cost)."""
    from outreach.render.inline import cached_inliner
    from outreach.render.renderer import Renderer

    return Renderer(settings, campaign, cached_inliner(settings))


def _calendars(campaign: Campaign, clock: Clock, db: Database | None) -> CalendarSource | None:
    """An invitation's calendar files (each recipient's session), or None for a campaign without sessions."""
    from outreach.events.invitations import calendars_for

    return calendars_for(campaign, clock, db)


def _on_ctrl_c(stop: threading.Event) -> Callable[[], object]:
    """First Ctrl-C: finish the current message and stop. Second: abort at once."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err().print("Stopping after the current message… (Ctrl-C again to abort now)")

    previous = signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, previous)


def _run_with_progress(sender: Sender, stop: threading.Event) -> SendReport:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    console = err()
    columns = [TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
               TextColumn("{task.fields[note]}"), TimeRemainingColumn()]
    with Bar(*columns, console=console, transient=False, disable=not console.is_terminal) as bar:
        task = bar.add_task("send", total=None, rate="", note="")

        meter = RateMeter()

        def on_progress(progress: Progress) -> None:
            note = f"waiting {progress.waiting:.0f} s" if progress.waiting >= 1 else ""
            if progress.retrying:
                note = (note + f" {progress.retrying} deferred (4xx)").strip()
            bar.update(task, total=progress.total or None, completed=progress.done,
                       rate=meter.text(progress.done, time.monotonic()), note=note)

        return sender.run(on_progress, stop)


class RateMeter:
    """The sending rate for the progress bar, measured from the first finished message (rendering and the
    connection before it are not sending time), and shown only once there is something to measure."""

    def __init__(self) -> None:
        self.first: tuple[int, float] | None = None  # (messages done, when) at the first finished message

    def text(self, done: int, now: float) -> str:
        """`12/min` (or `4.5/min`, `20/hour` for slow rates), or "" while fewer than 3 messages or 2 s are seen."""
        if done and self.first is None:
            self.first = (done, now)
        if self.first is None:
            return ""
        messages, seconds = done - self.first[0], now - self.first[1]
        if messages < 2 or seconds < 2.0:
            return ""
        per_min = messages / seconds * 60
        if per_min >= 10:
            return f"{per_min:.0f}/min"
        return f"{per_min:.1f}/min" if per_min >= 1 else f"{per_min * 60:.0f}/hour"


def _print_plan(plan: Plan, transport: str | None) -> None:
    from rich.table import Table

    from outreach.models import DeliveryStatus

    console = err()
    languages = sorted({lang for _, lang in plan.cells})
    if plan.cells:
        table = Table("country", *languages, "total", box=None, pad_edge=False, title=f"To send: {plan.campaign}",
                      title_justify="left")
        for country in sorted({c for c, _ in plan.cells}):
            row = [plan.cells.get((country, lang), 0) for lang in languages]
            table.add_row(country, *[str(n) if n else "·" for n in row], str(sum(row)))
        console.print(table)
    console.print(f"Recipients now: {plan.to_send} ({plan.new} new, {plan.queued} already queued"
                  + (f", {plan.retry_failed} failed to retry" if plan.retry_failed else "")
                  + f"), {plan.fallbacks} in the fallback language.")
    if plan.skipped:
        console.print("Skipped: " + "; ".join(f"{n} × {reason}" for reason, n in plan.skipped.most_common()))
    if plan.not_mailable:
        console.print("Not mailable (never sent to): "
                      + ", ".join(f"{n} {status}" for status, n in sorted(plan.not_mailable.items())))
    done = {k: v for k, v in plan.existing.items() if k != DeliveryStatus.QUEUED}
    if done:
        console.print("Already in this campaign: " + ", ".join(f"{n} {s}" for s, n in sorted(done.items())))
    if transport:
        console.print(f"Messages go to {transport}.")


def _print_report(report: SendReport, slug: str) -> None:
    console = err()
    if report.recovered_lock:
        console.print(f"Took over the lock left by {report.recovered_lock}, which is no longer running.")
    if report.retried_failed:
        console.print(f"Queued again {report.retried_failed} failed deliveries (--retry-failed).")
    console.print(f"Sent {report.sent}, failed {report.failed_count}, unknown {len(report.unknown)}, "
                  f"remaining {report.remaining}" + (f", hard bounces {report.bounced}" if report.bounced else "")
                  + (f", dropped {report.dropped} no longer mailable" if report.dropped else "") + ".")
    for reply, count in report.failed.most_common(10):
        console.print(f"  failed ×{count}: {reply}")
    if report.unknown:
        console.print(f"Unknown — the connection ended (a crash, a lost connection, an unreadable reply) after "
                      f"these were handed to the server; they may or may not have arrived ({len(report.unknown)}):")
        for address in report.unknown[:20]:
            console.print(f"  {address}")
        console.print(f"Send them again only if you accept a possible second copy: outreach send {slug} "
                      "--retry-unknown")
