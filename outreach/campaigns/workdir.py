"""Creating things for the user to edit: a working folder (`outreach init`) and a new campaign (`campaign new`).

A working folder holds `.env` (from the shipped example, with a fresh secret key), the example campaigns to learn
from and the email layouts to customise, the same from a clone and from a plain install. Existing files are never
overwritten.
"""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from outreach.campaigns.folder import LAYOUTS_HINT, SLUG_RE, layout_exists
from outreach.config import Settings
from outreach.errors import InputError
from outreach.resources import PACKAGE_DIR, bundled


@dataclass
class InitReport:
    """What `outreach init` made in a workspace, and what it found already there."""

    root: Path
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # already there, left untouched


def env_example_text() -> str:
    """The shipped `.env.example` (wheel or checkout); generated from the settings if neither has it."""
    for candidate in (PACKAGE_DIR / "_bundled" / ".env.example", PACKAGE_DIR.parent / ".env.example"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    from outreach.config import Settings

    lines = ["# outreach settings. The environment wins over this file; `outreach config` shows what is in force."]
    for name, value, doc in Settings().describe():
        if doc:
            lines.append(f"# {doc}")
        lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def _copy_tree(source: Path, target: Path, report: InitReport) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        destination = target / path.relative_to(source)
        if destination.exists():
            report.kept.append(destination)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        report.created.append(destination)


def init_workdir(target: Path) -> InitReport:
    """Create (or complete) a working folder: .env, campaigns/, templates/emails/."""
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} exists and is not a folder", "Give a new or existing folder.")
    target.mkdir(parents=True, exist_ok=True)
    report = InitReport(target)
    env_path = target / ".env"
    if env_path.exists():
        report.kept.append(env_path)
    else:
        text = env_example_text()
        # A fresh signing key, so links in the first test mailing already work; written, never shown.
        text = re.sub(r"(?m)^OUTREACH_SECRET_KEY=\s*$", f"OUTREACH_SECRET_KEY={secrets.token_urlsafe(48)}", text)
        env_path.write_text(text, encoding="utf-8")
        env_path.chmod(0o600)
        report.created.append(env_path)
    _write_new(target / "aliases.toml", ALIASES_EXAMPLE, report)
    copy_examples(target, report)
    return report


def copy_examples(target: Path, report: InitReport) -> None:
    """Copy the shipped campaigns and layouts into `target/campaigns` and `target/templates/emails`, keeping edits.

    Copies, not links: a workspace must survive reinstalling outreach (an editable install moves the package).
    """
    campaigns = bundled("campaigns")
    if campaigns.is_dir():
        _copy_tree(campaigns, target / "campaigns", report)
    layouts = bundled("templates") / "emails"
    if layouts.is_dir():
        _copy_tree(layouts, target / "templates" / "emails", report)


# The workspace's own words for spreadsheets (OUTREACH_ALIASES); docs/contacts.md describes it.
ALIASES_EXAMPLE = '''# Your own words for reading spreadsheets, over the built-in ones of the 15 languages.
# Remove the "#" in front of a line to use it; "outreach contacts import" reports how each column and kind was read.

[headers]
# "Tvrtka / ustanova" = "organisation"   # a column header → email, name, organisation, role, kind, country, …
# "Napomena" = "-"                       # "-" ignores the column; "attribute:NAME" keeps it under another name

[kinds]
# "Dom za starije osobe" = "authority"   # a kind value (or its first or last words) → authority, supplier, …
# "Fundacja" = "supplier"
'''


def _write_new(path: Path, text: str, report: InitReport) -> None:
    """Write a file the user edits, unless it is already there."""
    if path.exists():
        report.kept.append(path)
        return
    path.write_text(text, encoding="utf-8")
    report.created.append(path)


SCAFFOLD_TOML = '''name = "{name}"
layout = "{layout}"           # base | newsletter | invitation
source_language = "en"
fallback = "source"           # recipients without their language get the source language; "skip" leaves them out

# [sender]                    # defaults from OUTREACH_FROM / OUTREACH_REPLY_TO
# name = "Buying for Social Impact"
# address = "news@bsi.example.org"

[audience]                    # all of these are optional
kinds = ["authority", "supplier"]
# countries = ["PL", "CZ"]
# tags = ["newsletter"]

# [attachments]
# all = ["files/brochure.pdf"]
# pl = ["files/pl/broszura.pdf"]
'''

SCAFFOLD_MD = '''+++
subject = "{name}"
preheader = "One sentence shown next to the subject in the inbox."
+++
The layout adds the greeting ("Dear …,") and the footer, so start with your first paragraph.

{{% if contact.kind == "authority" %}}
A paragraph only contracting authorities read.
{{% elif contact.kind == "supplier" %}}
A paragraph only social-economy suppliers read.
{{% else %}}
A paragraph for everyone else.
{{% endif %}}

[Read more](https://bsi.example.eu/)
'''


def new_campaign(settings: Settings, slug: str, name: str | None = None, layout: str = "base") -> Path:
    """Scaffold `<OUTREACH_CAMPAIGNS>/<slug>/` with a commented campaign.toml and an en.md to start from."""
    if not SLUG_RE.match(slug):
        raise InputError(f"{slug!r} is not a usable campaign name",
                         "Use lower-case letters, digits and dashes, e.g. spring-newsletter-2027.")
    if not layout_exists(settings, layout):
        raise InputError(f"Unknown layout {layout!r}", LAYOUTS_HINT)
    folder = Path(settings.campaigns_dir) / slug
    if folder.exists():
        raise InputError(f"{folder} already exists", "Pick another name or edit the existing campaign.")
    title = name or slug.replace("-", " ").capitalize()
    (folder / "files").mkdir(parents=True)
    escaped = title.replace("\\", "\\\\").replace('"', '\\"')
    (folder / "campaign.toml").write_text(SCAFFOLD_TOML.format(name=escaped, layout=layout), encoding="utf-8")
    (folder / "en.md").write_text(SCAFFOLD_MD.format(name=escaped), encoding="utf-8")
    return folder
