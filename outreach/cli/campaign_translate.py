"""`outreach campaign export|import|pin`: translator files (XLIFF 2.1, PO) and per-segment translation revisions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli._common import App, err, one_of, out, print_json, state


def register(group: App) -> None:
    """Add export, import and pin to the `campaign` group."""
    group.command("export")(export)
    group.command("import")(import_)
    group.command("pin")(pin)


def export(
    slug: Annotated[str, typer.Argument(help="The campaign folder's name.")],
    lang: Annotated[str, typer.Option("--lang", help="The language to translate into.")],
    fmt: Annotated[str, typer.Option("--format", help="xliff (XLIFF 2.1) | po")] = "xliff",
    output: Annotated[Path | None, typer.Option("--output", help="File to write (default: SLUG.LANG.xlf|po).")]
    = None,
) -> None:
    """Write the campaign's segments and their current translation as a file for translators."""
    from outreach.campaigns.folder import load_campaign
    from outreach.campaigns.translator.units import CHANGED, NEW, export_file
    from outreach.countries import parse_language

    fmt = one_of(fmt, ("xliff", "po"), "--format")
    campaign = load_campaign(state().settings, slug)
    path, exchange = export_file(campaign, parse_language(lang), fmt, output)
    changed = [unit.id for unit in exchange.units if unit.state == CHANGED]
    new = [unit.id for unit in exchange.units if unit.state == NEW]
    out().print(str(path), markup=False, highlight=False)
    err().print(f"{len(exchange.units)} segment(s) of {slug} for {exchange.language}: "
                f"{len(exchange.units) - len(changed) - len(new)} current, {len(changed)} changed in the source "
                f"({' '.join(changed) or '-'}), {len(new)} not translated ({' '.join(new) or '-'}).",
                markup=False, highlight=False)
    err().print(f"When translated: outreach campaign import {path}", markup=False, highlight=False)


def import_(
    file: Annotated[Path, typer.Argument(help="The translated .xlf or .po file.")],
    campaign: Annotated[str | None, typer.Option("--campaign", help="Refuse a file for another campaign.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Refuse a file for another language.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write a translator file's translations into the campaign's <lang>.md (code and links from the source)."""
    from outreach.campaigns.translator.importing import import_file
    from outreach.countries import parse_language

    report = import_file(state().settings, file, campaign, parse_language(lang) if lang else None)
    if json_output:
        print_json({"campaign": report.slug, "language": report.language, "path": str(report.path),
                    "translated": report.translated, "untranslated": report.untranslated})
        return
    out().print(str(report.path), markup=False, highlight=False)
    err().print(f"{len(report.translated)} segment(s) translated and pinned; {len(report.untranslated)} not "
                f"translated, kept as they were and still listed by outreach campaign check "
                f"({' '.join(report.untranslated) or '-'}).", markup=False, highlight=False)


def pin(
    slug: Annotated[str, typer.Argument(help="The campaign folder's name.")],
    lang: Annotated[list[str] | None, typer.Option("--lang", help="The translation to pin (repeatable; default: "
                                                                   "every translation).")] = None,
    segment: Annotated[list[str] | None, typer.Option("--segment", help="Only this segment, e.g. b3 or subject "
                                                                         "(repeatable).")] = None,
) -> None:
    """Record that translations are current with the source, segment by segment, after you reviewed them."""
    from outreach.campaigns.folder import load_campaign
    from outreach.campaigns.revisions import pin as pin_segments
    from outreach.countries import parse_language

    campaign = load_campaign(state().settings, slug)
    languages = [parse_language(value) for value in lang] if lang else [
        language for language in campaign.languages if language != campaign.source_language]
    for language in languages:
        pinned = pin_segments(campaign, language, segment or None)
        out().print(f"{campaign.document(language).path}: {len(pinned)} segment(s) pinned", markup=False,
                    highlight=False)
