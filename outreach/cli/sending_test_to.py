"""`outreach send --test-to`: one test message per language × kind (× event session) to one address."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from outreach.cli._common import err

if TYPE_CHECKING:
    from outreach.campaigns.folder import Campaign
    from outreach.clock import Clock
    from outreach.config import Settings
    from outreach.contacts.model import ContactFilter


def sessions_option(campaign: Campaign, values: list[str] | None) -> list[str] | None:
    """The event sessions --session names ('all': every one); a session the campaign lacks is a usage error."""
    from outreach.errors import NotFoundError
    from outreach.render.preview import pick_sessions

    try:
        return pick_sessions(campaign, values) or None
    except NotFoundError as error:
        raise typer.BadParameter(f"{error.message} ({error.hint})", param_hint="'--session'") from None


def send_tests(settings: Settings, clock: Clock, campaign: Campaign, address: str, extra: ContactFilter,
               rate: str | None, sessions: list[str] | None = None) -> None:
    """Send the test messages; a language goes with the sessions asked for, else the one its readers most likely
    see (a test reader without a country still gets a session)."""
    from outreach.cli.sending import _calendars, _renderer
    from outreach.delivery.compose import MessageSource, send_test
    from outreach.delivery.ratelimit import configured_rates
    from outreach.delivery.transport import open_transport
    from outreach.models import Kind
    from outreach.render.preview import sample_contact

    languages = [lang for lang in campaign.languages if not extra.languages or lang in extra.languages]
    kinds = extra.kinds or campaign.audience.kinds or tuple(Kind)
    transport = open_transport(settings)
    rates = configured_rates(rate, settings.rate, "--rate", "OUTREACH_RATE")
    results = []
    try:
        source = MessageSource(settings, campaign, _renderer(settings, campaign),
                               calendars=_calendars(campaign, clock, None))
        for language in languages:
            # Each language with every session asked for, or the session its readers would most likely see.
            default = sample_contact(campaign, language, kinds[0]).country
            chosen: list[str | None] = list(sessions) if sessions else [default]
            for session in chosen:
                label = f"/{session}" if campaign.event and session else ""
                source.subject_prefix = lambda lang, kind, label=label: f"[TEST {lang}/{kind}{label}] "
                for lang, kind, reply in send_test(source, clock, address, [language], kinds, transport, rates,
                                                   country=session):
                    results.append((f"{lang}/{kind}{label}", reply))
    finally:
        transport.close()
    for label, reply in results:
        err().print(f"[TEST {label}] → {address}: {reply}")
    err().print(f"{len(results)} test messages sent to {address} (not recorded as deliveries).")
