"""`outreach dkim …`: check a DKIM key against its published record, print the record to publish."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from outreach.cli._common import App, err, out, state

if TYPE_CHECKING:
    from outreach.mail.dkim import DkimKey

app = App(help="DKIM signing: check a key against its DNS record, print the record to publish.")

KeyOpt = Annotated[Path | None, typer.Option("--key", help="PEM RSA private key (default: OUTREACH_DKIM_KEY).",
                                             show_default=False)]
SelectorOpt = Annotated[str | None, typer.Option("--selector", help="Selector (default: OUTREACH_DKIM_SELECTOR).",
                                                 show_default=False)]
DomainOpt = Annotated[str | None, typer.Option("--domain", help="Signing domain (default: OUTREACH_DKIM_DOMAIN, "
                                               "else the sender's domain).", show_default=False)]


def _key(key: Path | None, selector: str | None, domain: str | None) -> DkimKey:
    from email.utils import parseaddr

    from outreach.errors import ConfigError
    from outreach.mail.dkim import load_key

    settings = state().settings_anywhere()
    found = load_key(key or settings.dkim_key, selector or settings.dkim_selector, domain or settings.dkim_domain,
                     parseaddr(settings.sender or "")[1])
    if found is None:
        raise ConfigError("no DKIM key: OUTREACH_DKIM_KEY is not set and --key was not given",
                          "Run e.g.: outreach dkim check --key dkim.pem --selector outreach2027 "
                          "--domain example.org")
    return found


@app.command("check")
def check(
    record: Annotated[str | None, typer.Option("--record", help="The public TXT record's text, e.g. "
                                               "'v=DKIM1; k=rsa; p=MIIB…' (default: OUTREACH_DKIM_RECORD, else DNS).",
                                               show_default=False)] = None,
    key: KeyOpt = None, selector: SelectorOpt = None, domain: DomainOpt = None,
) -> None:
    """Check that the key matches its record, then sign a test message and verify it back; exit 1 if not."""
    from outreach.mail.dkim import check_key

    dkim_key = _key(key, selector, domain)
    found = check_key(dkim_key, record or state().settings_anywhere().dkim_record)
    out().print(f"DKIM key {dkim_key.path} matches {found.record_name} ({found.source}, {found.bits}-bit RSA); "
                "a test message signed with it verifies.")


@app.command("record")
def record(key: KeyOpt = None, selector: SelectorOpt = None, domain: DomainOpt = None) -> None:
    """Print the TXT record to publish for the key (name on stderr, record on stdout)."""
    dkim_key = _key(key, selector, domain)
    err().print(f"Publish this TXT record at {dkim_key.record_name}:")
    out(width=10_000).print(dkim_key.record(), markup=False, highlight=False)
