"""Settings from the environment and `.env`, and the workspace they belong to.

`Settings.from_env(mapping)` is pure: it reads a mapping of `OUTREACH_*` names. Only `load_settings` touches the
process environment and the `.env` file (python-dotenv); the environment wins over `.env`. Secrets are masked by
`Settings.describe()`, the only way settings are shown.

A workspace is found as git finds a repository: the nearest folder, from the working folder upwards, holding a
`.env` with OUTREACH_ settings (what `outreach init` writes) or a `contacts.db`. Relative paths in the settings
resolve against that folder, so every command works the same from any of its subfolders.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from outreach.errors import ConfigError

SECURITY_CHOICES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_ALIASES = Path("aliases.toml")  # read from the workspace when it exists (OUTREACH_ALIASES names another)


def _env(name: str, *, secret: bool = False, doc: str = "") -> Any:
    return {"env": name, "secret": secret, "doc": doc}


@dataclass(frozen=True)
class Settings:
    """Every setting outreach reads. Field metadata names the environment variable."""

    db_path: Path = field(default=Path("contacts.db"), metadata=_env("OUTREACH_DB", doc="SQLite database file"))
    smtp_host: str | None = field(default=None, metadata=_env(
        "OUTREACH_SMTP_HOST", doc="SMTP relay; when empty, messages go to the local outbox Maildir"))
    smtp_port: int | None = field(default=None, metadata=_env(
        "OUTREACH_SMTP_PORT", doc="SMTP port (default 587 starttls, 465 tls, 25 none)"))
    smtp_security: str = field(default="starttls", metadata=_env(
        "OUTREACH_SMTP_SECURITY", doc="starttls | tls | none"))
    smtp_user: str | None = field(default=None, metadata=_env("OUTREACH_SMTP_USER"))
    smtp_password: str | None = field(default=None, metadata=_env("OUTREACH_SMTP_PASSWORD", secret=True))
    smtp_timeout: float = field(default=30.0, metadata=_env("OUTREACH_SMTP_TIMEOUT", doc="seconds"))
    smtp_helo: str | None = field(default=None, metadata=_env(
        "OUTREACH_SMTP_HELO", doc="HELO/EHLO name (default: this machine's name)"))
    smtp_pipelining: str = field(default="on", metadata=_env(
        "OUTREACH_SMTP_PIPELINING", doc="on: pipeline commands when the relay offers PIPELINING (RFC 2920) | off"))
    relays: tuple[str, ...] = field(default=(), metadata=_env(
        "OUTREACH_RELAYS", doc="names of several relays (each set with OUTREACH_RELAY_<NAME>_HOST …); empty: the "
                               "one relay of OUTREACH_SMTP_*"))
    relay_values: tuple[tuple[str, str], ...] = field(default=(), metadata=_env(
        "OUTREACH_RELAY_<NAME>_*", doc="HOST PORT SECURITY USER PASSWORD WORKERS RATE WEIGHT DOMAINS of each relay"))
    sender: str | None = field(default=None, metadata=_env(
        "OUTREACH_FROM", doc='default sender, "Name <address>"'))
    reply_to: str | None = field(default=None, metadata=_env("OUTREACH_REPLY_TO"))
    organisation: str | None = field(default=None, metadata=_env(
        "OUTREACH_ORGANISATION", doc="sender's organisation, shown in every footer"))
    postal_address: str | None = field(default=None, metadata=_env(
        "OUTREACH_POSTAL_ADDRESS", doc="sender's postal address, shown in every footer"))
    public_url: str = field(default="http://127.0.0.1:8000", metadata=_env(
        "OUTREACH_PUBLIC_URL", doc="base of the links in emails (the subscriber pages)"))
    secret_key: str | None = field(default=None, metadata=_env(
        "OUTREACH_SECRET_KEY", secret=True, doc="signs the links in emails; at least 32 characters"))
    campaigns_dir: Path = field(default=Path("campaigns"), metadata=_env("OUTREACH_CAMPAIGNS"))
    templates_dir: Path = field(default=Path("templates/emails"), metadata=_env("OUTREACH_TEMPLATES"))
    aliases_path: Path | None = field(default=None, metadata=_env(
        "OUTREACH_ALIASES", doc="your own header and kind words for imports (default: aliases.toml in the "
                                "workspace, read when it exists)"))
    outbox_dir: Path = field(default=Path("outbox"), metadata=_env(
        "OUTREACH_OUTBOX", doc="Maildir used when no SMTP host is set"))
    rate: str | None = field(default=None, metadata=_env(
        "OUTREACH_RATE", doc="default sending rate, e.g. 30/min, 1000/hour, 10000/day"))
    domain_rate: str | None = field(default=None, metadata=_env(
        "OUTREACH_DOMAIN_RATE", doc="per recipient-domain rate, e.g. 20/min"))
    workers: int = field(default=1, metadata=_env("OUTREACH_WORKERS", doc="parallel SMTP connections"))
    max_attempts: int = field(default=5, metadata=_env(
        "OUTREACH_MAX_ATTEMPTS", doc="tries for a temporary (4xx) failure before it is failed"))
    send_deadline: float = field(default=300.0, metadata=_env(
        "OUTREACH_SEND_DEADLINE", doc="seconds one message may take, MAIL FROM to the reply"))
    stall_limit: float = field(default=600.0, metadata=_env(
        "OUTREACH_STALL_LIMIT", doc="seconds without any delivery decided before a send stops (0: never)"))
    refusal_streak: int = field(default=5, metadata=_env(
        "OUTREACH_REFUSAL_STREAK", doc="the same 5xx for this many domains in a row stops a send (0: never)"))
    unsubscribe_mailto: str | None = field(default=None, metadata=_env(
        "OUTREACH_UNSUBSCRIBE_MAILTO", doc="address for mailto: unsubscribes (default: the sender's)"))
    verp_address: str | None = field(default=None, metadata=_env(
        "OUTREACH_VERP", doc="bounce address; envelope sender becomes bounces+<token>@domain"))
    imap_host: str | None = field(default=None, metadata=_env("OUTREACH_IMAP_HOST"))
    imap_port: int = field(default=993, metadata=_env("OUTREACH_IMAP_PORT"))
    imap_user: str | None = field(default=None, metadata=_env("OUTREACH_IMAP_USER"))
    imap_password: str | None = field(default=None, metadata=_env("OUTREACH_IMAP_PASSWORD", secret=True))
    imap_folder: str = field(default="INBOX", metadata=_env("OUTREACH_IMAP_FOLDER"))
    imap_done_folder: str | None = field(default=None, metadata=_env(
        "OUTREACH_IMAP_DONE_FOLDER", doc="move processed messages here (default: flag them as seen)"))
    soft_bounce_limit: int = field(default=3, metadata=_env(
        "OUTREACH_SOFT_BOUNCE_LIMIT", doc="soft bounces that make a contact bounced ..."))
    soft_bounce_campaigns: int = field(default=2, metadata=_env(
        "OUTREACH_SOFT_BOUNCE_CAMPAIGNS", doc="... across at least this many distinct campaigns"))
    topics: tuple[str, ...] = field(default=(), metadata=_env(
        "OUTREACH_TOPICS", doc="comma-separated topics subscribers may choose on the web pages"))
    eu_funding: str | None = field(default=None, metadata=_env(
        "OUTREACH_EU_FUNDING", doc="funded | co-funded: the EU emblem, funding statement and disclaimer in every "
                                   "mail and page footer (unset: the plain line 'Co-funded by the European Union')"))
    eu_granting_authority: str | None = field(default=None, metadata=_env(
        "OUTREACH_EU_GRANTING_AUTHORITY", doc="the granting authority named in the EU disclaimer, e.g. EACEA"))
    dkim_key: Path | None = field(default=None, metadata=_env(
        "OUTREACH_DKIM_KEY", doc="PEM RSA private key file; when set, every message is DKIM-signed"))
    dkim_selector: str | None = field(default=None, metadata=_env(
        "OUTREACH_DKIM_SELECTOR", doc="DKIM selector: the key's record is <selector>._domainkey.<domain>"))
    dkim_domain: str | None = field(default=None, metadata=_env(
        "OUTREACH_DKIM_DOMAIN", doc="DKIM signing domain (default: the sender's domain)"))
    dkim_record: str | None = field(default=None, metadata=_env(
        "OUTREACH_DKIM_RECORD", doc="the selector's published TXT record (default: looked up in DNS)"))
    timezone: str | None = field(default=None, metadata=_env(
        "OUTREACH_TIMEZONE", doc="IANA time zone for send --at when --tz is not given, e.g. Europe/Warsaw"))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from a mapping of variable names; empty values count as unset."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                continue
            raw = raw.strip()
            values[f.name] = _convert(f.name, name, raw, f.default)
        values["relay_values"] = tuple(sorted((k, v.strip()) for k, v in env.items()
                                              if k.startswith(RELAY_PREFIX) and v and v.strip()))
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject settings that cannot work, naming the variable."""
        if self.smtp_security not in SECURITY_CHOICES:
            raise ConfigError(
                f"OUTREACH_SMTP_SECURITY is {self.smtp_security!r}",
                f"Use one of: {', '.join(SECURITY_CHOICES)}.",
            )
        if self.smtp_pipelining not in ("on", "off"):
            raise ConfigError(f"OUTREACH_SMTP_PIPELINING is {self.smtp_pipelining!r}", "Use on or off.")
        if self.sender is not None:
            _, address = parseaddr(self.sender)
            if "@" not in address:
                raise ConfigError(
                    f"OUTREACH_FROM is {self.sender!r}, which has no email address",
                    'Write it as "Name <address@example.org>".',
                )
        if not self.public_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"OUTREACH_PUBLIC_URL is {self.public_url!r}",
                "It must start with https:// (or http:// for local testing).",
            )
        if self.workers < 1:
            raise ConfigError("OUTREACH_WORKERS must be at least 1")
        self._validate_eu()

    def _validate_eu(self) -> None:
        if self.eu_funding is None:
            return
        if self.eu_funding not in ("funded", "co-funded"):
            raise ConfigError(f"OUTREACH_EU_FUNDING is {self.eu_funding!r}",
                              "Use funded or co-funded (as the grant agreement says), or leave it empty.")
        if not self.eu_granting_authority:
            raise ConfigError("OUTREACH_EU_FUNDING is set but OUTREACH_EU_GRANTING_AUTHORITY is empty",
                              "The EU disclaimer names the granting authority: set OUTREACH_EU_GRANTING_AUTHORITY "
                              "(e.g. EACEA, or European Commission).")

    @property
    def effective_smtp_port(self) -> int:
        return self.smtp_port or DEFAULT_PORTS[self.smtp_security]

    @property
    def aliases_file(self) -> Path | None:
        """The user's aliases file to read: a chosen one always (it must exist), the default one when it exists."""
        if self.aliases_path is not None:
            return self.aliases_path
        return DEFAULT_ALIASES if DEFAULT_ALIASES.is_file() else None

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (e.g. the global --db option)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def resolved_against(self, root: Path) -> Settings:
        """A copy whose relative paths (database, campaigns, layouts, outbox …) are taken inside `root`."""
        changes: dict[str, Any] = {f.name: root / value for f in fields(self)
                   if isinstance(value := getattr(self, f.name), Path) and not value.is_absolute()}
        if self.aliases_path is None and (root / DEFAULT_ALIASES).is_file():
            changes["aliases_path"] = root / DEFAULT_ALIASES  # the workspace's own words
        return replace(self, **changes)

    def describe(self) -> list[tuple[str, str, str]]:
        """(variable, effective value with secrets masked, description) for `outreach config`."""
        rows = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "relay_values":
                rows += [(name, mask(value) if is_relay_secret(name) else value, "") for name, value in value]
                continue
            if value is None or value == ():
                shown = ""
            elif f.metadata["secret"]:
                shown = mask(str(value))
            elif isinstance(value, tuple):
                shown = ",".join(value)
            else:
                shown = str(value)
            rows.append((f.metadata["env"], shown, f.metadata["doc"]))
        return rows

    def secrets(self) -> list[str]:
        """The secret values in force, so logs and error messages can mask them."""
        return [str(getattr(self, f.name)) for f in fields(self)
                if f.metadata["secret"] and getattr(self, f.name)] + [
                    value for name, value in self.relay_values if is_relay_secret(name)]


RELAY_PREFIX = "OUTREACH_RELAY_"


def is_relay_secret(name: str) -> bool:
    """Whether a relay's variable holds a secret (its password)."""
    return name.endswith("_PASSWORD")


def mask(secret: str) -> str:
    """Show that a secret is set without showing it."""
    return "********" if secret else ""


def _convert(attr: str, name: str, raw: str, default: Any) -> Any:
    annotation = Settings.__dataclass_fields__[attr].type
    try:
        if "Path" in str(annotation):
            return Path(raw).expanduser()
        if "tuple" in str(annotation):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if "int" in str(annotation) and "float" not in str(annotation):
            return int(raw)
        if "float" in str(annotation):
            return float(raw)
    except ValueError:
        raise ConfigError(f"{name} is {raw!r}, which is not a number", f"Set {name} to a number.") from None
    return raw


@dataclass(frozen=True)
class Workspace:
    """The folder whose settings are in force: relative paths resolve inside it."""

    root: Path
    settings_file: Path | None  # None: a folder holding only a contacts.db (defaults apply)


SETTINGS_FILE = ".env"
DEFAULT_DB = "contacts.db"
NO_WORKSPACE_HINT = ("Make one with: outreach init my-project && cd my-project (or go to the folder holding your "
                     ".env); --env-file FILE or --db FILE name the settings or the database directly.")


def _has_outreach_settings(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return False
    return any(line.lstrip().removeprefix("export ").lstrip().startswith("OUTREACH_") for line in text.splitlines())


def find_workspace(start: Path) -> Workspace | None:
    """The nearest folder from `start` upwards holding a `.env` with OUTREACH_ settings or a `contacts.db`."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        settings_file = candidate / SETTINGS_FILE
        if settings_file.is_file() and _has_outreach_settings(settings_file):
            return Workspace(candidate, settings_file)
        if (candidate / DEFAULT_DB).is_file():
            return Workspace(candidate, None)
    return None


def load_settings(env_file: Path | None = None, environ: Mapping[str, str] | None = None,
                  root: Path | None = None) -> Settings:
    """Settings from `.env` (or `env_file`) overlaid by the process environment. The edge calls this once.

    With `root` (the workspace), relative paths resolve inside it and no `.env` is read unless `env_file` names it.
    """
    from dotenv import dotenv_values

    path = env_file if env_file is not None else (None if root is not None else Path(SETTINGS_FILE))
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"The settings file {env_file} does not exist", "Check the --env-file path.")
    merged: dict[str, str] = {}
    if path is not None and path.is_file():
        merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    settings = Settings.from_env(merged)
    return settings.resolved_against(root) if root is not None else settings
