"""`outreach demo [DIR]`: the whole path on a fresh machine, in a folder of its own, mailing no one.

It writes a settings file (with a generated secret key), imports the shipped sample contacts, renders both
example campaigns into previews, starts a capture SMTP server on 127.0.0.1 and sends `bsi-awareness` to it through
the real SMTP path (queue, rate limit, MIME, smtplib). Run twice, it sends nothing new and says so.

The environment is deliberately ignored: a demo must never reach the relay configured for real mailings.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from outreach.config import Settings
from outreach.errors import NotFoundError
from outreach.models import DeliveryStatus
from outreach.resources import bundled

if TYPE_CHECKING:
    from outreach.clock import Clock
    from outreach.db.schema import Database

DEMO_CAMPAIGN = "bsi-awareness"


@dataclass
class DemoResult:
    """What a demo run did and where to look at it."""

    directory: Path
    imported: int = 0  # contacts added by this run
    contacts: int = 0
    sent: int = 0  # messages sent by this run
    received: int = 0  # messages the capture server took in this run
    cells: Counter[tuple[str, str]] = field(default_factory=Counter)  # (country, language) → delivered in total
    previews: list[Path] = field(default_factory=list)
    where_to_look: list[str] = field(default_factory=list)
    invitation: tuple[Path, Path] | None = None  # an event invitation (.eml) and its calendar file (.ics)


# Paths inside the demo folder, relative to it: the folder keeps working when outreach is reinstalled or moved.
LOCAL_PATHS = MappingProxyType({"OUTREACH_DB": "contacts.db", "OUTREACH_CAMPAIGNS": "campaigns",
                                "OUTREACH_TEMPLATES": "templates/emails", "OUTREACH_OUTBOX": "outbox"})


def _settings_text() -> str:
    return "\n".join([
        "# Settings of the outreach demo (written by `outreach demo`). Messages go to a local capture server only.",
        "# Relative paths are inside this folder; `cd` here and every `outreach` command uses this demo.",
        f"OUTREACH_DB={LOCAL_PATHS['OUTREACH_DB']}",
        f"OUTREACH_SECRET_KEY={secrets.token_urlsafe(48)}",
        "OUTREACH_FROM=Buying for Social Impact <news@bsi.example.org>",
        "OUTREACH_REPLY_TO=team@bsi.example.org",
        "OUTREACH_ORGANISATION=Buying for Social Impact",
        "OUTREACH_POSTAL_ADDRESS=Rue de l'Exemple 1, 1000 Bruxelles, Belgium",
        "OUTREACH_PUBLIC_URL=http://127.0.0.1:8000",
        f"OUTREACH_CAMPAIGNS={LOCAL_PATHS['OUTREACH_CAMPAIGNS']}",
        f"OUTREACH_TEMPLATES={LOCAL_PATHS['OUTREACH_TEMPLATES']}",
        f"OUTREACH_OUTBOX={LOCAL_PATHS['OUTREACH_OUTBOX']}",
        "",
    ])


def _repoint_lost_folders(env_file: Path, values: dict[str, str]) -> None:
    """Point settings at the demo's own copies where an earlier demo's absolute path no longer exists.

    Demo folders made by earlier versions named the installed package's campaigns, which a reinstall removes.
    """
    import re

    original = text = env_file.read_text(encoding="utf-8")
    for name in ("OUTREACH_CAMPAIGNS", "OUTREACH_TEMPLATES"):
        value = values.get(name, "")
        if value and Path(value).is_absolute() and not Path(value).is_dir():
            text = re.sub(rf"(?m)^{name}=.*$", f"{name}={LOCAL_PATHS[name]}", text)
            values[name] = LOCAL_PATHS[name]
    if text != original:
        env_file.write_text(text, encoding="utf-8")


def demo_settings(directory: Path) -> Settings:
    """The demo's settings: its own file only (created on first run), never the process environment.

    The shipped campaigns and layouts are copied into the folder (kept when already there, edits and all).
    """
    from dotenv import dotenv_values

    from outreach.campaigns.workdir import InitReport, copy_examples

    directory.mkdir(parents=True, exist_ok=True)
    env_file = directory / ".env"
    if not env_file.exists():
        env_file.write_text(_settings_text(), encoding="utf-8")
        env_file.chmod(0o600)
    copy_examples(directory, InitReport(directory))
    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    _repoint_lost_folders(env_file, values)
    return Settings.from_env(values).resolved_against(directory.resolve())


def _send_to_sink(db: Database, clock: Clock, settings: Settings, received: Path, result: DemoResult,
                  say: Callable[[str], None]) -> None:
    """Send the demo campaign through the real SMTP path to a capture server storing into `received`."""
    from outreach.campaigns.folder import iter_audience, load_campaign
    from outreach.delivery.compose import MessageSource
    from outreach.delivery.plan import queue_status
    from outreach.delivery.sender import Sender, SendOptions
    from outreach.delivery.sink import Sink
    from outreach.delivery.store import DatabaseStore
    from outreach.delivery.transport import open_transport
    from outreach.render.inline import cached_inliner
    from outreach.render.renderer import Renderer
    from outreach.tracking.events import smtp_bounce_recorder

    with Sink(received) as sink:
        sink_settings = replace(settings, smtp_host=sink.host, smtp_port=sink.port, smtp_security="none",
                                smtp_user=None, smtp_password=None, rate=None, domain_rate=None, verp_address=None)
        say(f"Capture SMTP server listening on {sink.host}:{sink.port}; sending {DEMO_CAMPAIGN} to it…")
        campaign = load_campaign(settings, DEMO_CAMPAIGN)
        renderer = Renderer(sink_settings, campaign, cached_inliner(sink_settings))
        source = MessageSource(sink_settings, campaign, renderer)
        options = SendOptions.from_settings(sink_settings, workers=2, lock_wait=0)
        sender = Sender(DatabaseStore(db, clock, (campaign.audience,)), source, lambda: open_transport(sink_settings),
                        clock, audience=lambda: iter_audience(db, campaign),
                        on_hard_bounce=smtp_bounce_recorder(db, clock), options=options)
        sent = sender.run()
        result.received = sink.count
    result.sent = sent.sent
    if sent.sent == 0 and not sent.failed_count:
        say(f"Nothing new to send: every recipient of {DEMO_CAMPAIGN} already got it on an earlier run.")
    else:
        say(f"Sent {sent.sent} messages ({sent.failed_count} failed); the capture server received "
            f"{result.received}.")
    queue = queue_status(db, DEMO_CAMPAIGN)
    if result.contacts > queue.total:
        kinds = ", ".join(campaign.audience.kinds) or "any kind"
        say(f"{result.contacts - queue.total} sample contact(s) are outside {DEMO_CAMPAIGN}'s audience ({kinds}) "
            "and were not mailed.")
    for cell in queue.cells:
        if cell.status == DeliveryStatus.SENT:
            result.cells[(cell.country or "--", cell.language)] = cell.count


def run_demo(directory: Path, on_step: Callable[[str], None] | None = None) -> DemoResult:
    """Run the demo in `directory`; `on_step` receives a line of prose per step (the CLI prints it)."""
    from outreach.campaigns.folder import list_campaigns
    from outreach.clock import SystemClock
    from outreach.contacts.importing.importer import ImportOptions, import_files
    from outreach.contacts.model import count_contacts
    from outreach.db.schema import open_database

    say = on_step or (lambda text: None)
    clock = SystemClock()
    result = DemoResult(directory)
    settings = demo_settings(directory)
    say(f"Demo folder: {directory} (settings in {directory / '.env'})")

    contacts_csv = bundled("examples") / "contacts.csv"
    if not contacts_csv.is_file():
        raise NotFoundError(f"The sample contacts {contacts_csv} are missing from this installation",
                            "Reinstall outreach, or run the demo from a complete checkout.")
    db = open_database(settings.db_path)
    try:
        report = import_files(db, clock, [contacts_csv], ImportOptions(source="outreach demo sample"))
        result.imported = report.added
        result.contacts = count_contacts(db)
        say(f"Sample contacts: {report.added} added, {report.updated + report.unchanged} already there "
            f"({result.contacts} in {settings.db_path.name}).")

        from outreach.render.preview import write_preview

        for campaign in list_campaigns(settings):
            index, items = write_preview(settings, campaign, directory / "preview" / campaign.slug, clock)
            result.previews.append(index)
            say(f"Rendered {campaign.slug}: {len(items)} variants → {index}")

        received = directory / "received"
        _send_to_sink(db, clock, settings, received, result, say)
        from outreach.events.showcase import write_invitation

        invitation = write_invitation(db, clock, settings, directory / "invitation")
        if invitation:
            say(f"Wrote an invitation of bsi-training with its calendar file: {invitation[0]} and {invitation[1]}")
            result.invitation = invitation
    finally:
        db.close()

    import shlex

    cd = f"cd {shlex.quote(str(directory))} && "
    result.where_to_look = [
        "Where to look:",
        *(f"  previews: {index}" for index in result.previews),
        f"  received messages (Maildir, one file per message): {received / 'new'}",
        *([f"  an invitation with its calendar file: {result.invitation[0]} (.eml), {result.invitation[1]} (.ics)",
           f"  its sessions: {cd}outreach event show bsi-training"] if result.invitation else []),
        f"  the queue: {cd}outreach status {DEMO_CAMPAIGN}",
        f"  subscriber pages (unsubscribe, preferences, archive): {cd}outreach serve",
    ]
    return result
