"""`outreach campaign new|list|preview|check`, `outreach init` and `outreach i18n check` (export, import and pin are
in `campaign_translate`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from outreach.cli import campaign_translate
from outreach.cli._common import App, AppState, err, out, print_json, print_table, state

if TYPE_CHECKING:
    from outreach.render.checks import CheckReport

campaign_app = App(help="Campaigns: one folder per mailing, one Markdown file per language.")
i18n_app = App(help="Translations of the layout and web-page strings.")
campaign_translate.register(campaign_app)  # export, import, pin: translator files (their own module)


@campaign_app.command("new")
def new(
    slug: Annotated[str, typer.Argument(help="Folder name: lower-case letters, digits, dashes.")],
    name: Annotated[str | None, typer.Option("--name", help="The campaign's name (default: from the slug).")] = None,
    layout: Annotated[str, typer.Option("--layout", help="base | newsletter | invitation")] = "base",
) -> None:
    """Scaffold campaigns/SLUG/ with campaign.toml and en.md to start from."""
    from outreach.campaigns.workdir import new_campaign

    folder = new_campaign(state().settings, slug, name, layout)
    err().print(f"Created {folder}/ (campaign.toml, en.md, files/).")
    err().print(f"Write en.md, then: outreach campaign check {slug} && outreach campaign preview {slug}")


@campaign_app.command("list")
def list_(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the campaigns with their layout and languages."""
    from outreach.campaigns.folder import list_campaigns, source_revision, translation_status
    from outreach.errors import OutreachError

    problems: list[OutreachError] = []
    campaigns = list_campaigns(state().settings, problems)
    statuses = {c.slug: translation_status(c) for c in campaigns}
    outdated = {slug: [s.language for s in rows if s.outdated] for slug, rows in statuses.items()}
    unrecorded = {slug: [s.language for s in rows if s.unrecorded] for slug, rows in statuses.items()}
    if json_output:
        print_json([{"slug": c.slug, "name": c.name, "layout": c.layout, "source_language": c.source_language,
                     "languages": list(c.languages), "revision": source_revision(c), "outdated": outdated[c.slug],
                     "no_translated_from": unrecorded[c.slug], "path": str(c.path)} for c in campaigns])
    elif campaigns:
        print_table(["slug", "name", "layout", "languages", "outdated"],
                    [[c.slug, c.name, c.layout, f"{len(c.languages)}: {' '.join(c.languages)}",
                      " ".join([*outdated[c.slug], *(f"{lang}(no translated_from)" for lang in unrecorded[c.slug])])
                      or "-"] for c in campaigns])
    else:
        err().print(f"No campaigns in {state().settings.campaigns_dir}.", markup=False)
    for problem in problems:
        err().print(f"[yellow]Broken campaign:[/] {problem.message}", markup=True, highlight=False)


@campaign_app.command("check")
def check(
    slug: Annotated[str, typer.Argument(help="The campaign folder's name.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
) -> None:
    """Check translations, templates, links, subject, size and attachments; exit 1 on errors."""
    from outreach.render.checks import check_campaign

    app_state = state()
    # Without a database there is no audience to count, but the templates can still be checked.
    db = app_state.db if Path(app_state.settings.db_path).is_file() else None
    report = check_campaign(app_state.settings, db, slug)
    if json_output:
        print_json(report.as_dict())
    else:
        _print_report(report)
    if report.errors or (strict and report.warnings):
        raise typer.Exit(1)


def _print_report(report: CheckReport) -> None:
    from rich.markup import escape
    from rich.text import Text

    console = out()
    console.print(f"Campaign {escape(report.slug)}: source {report.source_language}, revision "
                  f"[bold]{report.revision}[/] (translations record it per segment: outreach campaign export, import, "
                  "pin)")
    rows: list[list[str | Text]] = []
    for row in report.languages:
        status = ("source" if row.language == report.source_language else Text("-", "red") if not row.file else
                  Text(f"outdated: {' '.join(row.changed)}", "yellow") if row.outdated and row.per_segment else
                  Text("outdated", "yellow") if row.outdated else
                  Text("no translated_from", "yellow") if row.translated_from is None and not row.per_segment
                  else "current")
        rows.append([row.language, "yes" if row.file else Text("missing", "red"), status, str(row.recipients),
                     str(row.fallback), str(row.skipped)])
    print_table(["language", "file", "translation", "recipients", "fallback", "skipped"], rows)
    if report.not_translated:
        console.print(f"Not translated (nobody in the audience needs them): {' '.join(report.not_translated)}",
                      markup=False, highlight=False)
    for issue in report.issues:
        colour = "red" if issue.level == "error" else "yellow"
        console.print(f"[{colour}]{issue.level}[/] {escape(issue.where)}: {escape(issue.message)}")
    console.print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s).")


@campaign_app.command("preview")
def preview(
    slug: Annotated[str, typer.Argument(help="The campaign folder's name.")],
    lang: Annotated[list[str] | None, typer.Option("--lang", help="Only this language (repeatable).")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only this kind (repeatable).")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Render for this stored contact.")] = None,
    session: Annotated[list[str] | None, typer.Option(
        "--session", help="Event session (country code, repeatable) or 'all': one variant per session.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write (default: preview/SLUG).")] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the index in a browser.")] = False,
) -> None:
    """Write every variant's HTML, text and .eml, plus index.html with the languages side by side."""
    from outreach.campaigns.folder import load_campaign
    from outreach.clock import SystemClock
    from outreach.contacts.model import clean_kind, require_contact
    from outreach.countries import parse_language
    from outreach.render.preview import write_preview

    app_state = state()
    settings = app_state.settings
    campaign = load_campaign(settings, slug)
    reader = require_contact(app_state.db, contact) if contact else None
    languages = [parse_language(value) for value in lang or []]
    kinds = [clean_kind(value) for value in kind or []]
    from outreach.render.preview import pick_sessions

    sessions = pick_sessions(campaign, session)
    index, items = write_preview(settings, campaign, out or Path("preview") / slug, SystemClock(),
                                 languages or None, kinds or None, reader, sessions or None)
    err().print(f"Wrote {len(items)} variant(s) to {index.parent}/ — open {index}")
    if open_browser:
        import webbrowser

        webbrowser.open(index.resolve().as_uri())


def init(directory: Annotated[Path, typer.Argument(help="The folder to create or complete.")] = Path(".")) -> None:
    """Create a working folder: .env (with a fresh secret key), example campaigns and layouts to customise."""
    from outreach.campaigns.workdir import init_workdir

    report = init_workdir(directory)
    console = err()
    console.print(f"Working folder {report.root.resolve()}: {len(report.created)} file(s) created, "
                  f"{len(report.kept)} already there and kept.")
    workspace = AppState(env_file=report.root / ".env")
    try:
        workspace.creating_db()
    finally:
        workspace.close()
    cd = "" if directory == Path(".") else f"cd {directory}\n  "
    console.print(
        "Next steps:\n"
        f"  {cd}edit .env: OUTREACH_FROM, OUTREACH_ORGANISATION, OUTREACH_POSTAL_ADDRESS, OUTREACH_PUBLIC_URL,\n"
        "      and OUTREACH_SMTP_HOST (leave it empty to write messages into ./outbox instead)\n"
        "  outreach contacts import your-list.xlsx --country PL --kind authority\n"
        "  outreach campaign list\n"
        "  outreach campaign check bsi-awareness\n"
        "  outreach campaign preview bsi-awareness --open\n"
        "  outreach campaign new my-first-mailing --layout newsletter",
        markup=False, highlight=False)


@i18n_app.command("check")
def i18n_check(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List missing and fuzzy strings per language for the email and web catalogs; exit 1 if any."""
    from outreach.render.i18n import DOMAINS, check_catalogs

    statuses = [status for domain in DOMAINS for status in check_catalogs(domain)]
    if json_output:
        print_json([{"domain": s.domain, "language": s.language, "exists": s.exists, "ok": s.ok,
                     "missing": list(s.missing), "fuzzy": list(s.fuzzy)} for s in statuses])
    else:
        console = out()
        for status in statuses:
            if status.ok:
                console.print(f"{status.domain}/{status.language}: complete", markup=False)
                continue
            state_text = "no catalog" if not status.exists else \
                f"{len(status.missing)} missing, {len(status.fuzzy)} fuzzy"
            console.print(f"{status.domain}/{status.language}: {state_text}", markup=False)
            for msgid in status.missing:
                console.print(f"    missing: {msgid}", markup=False)
            for msgid in status.fuzzy:
                console.print(f"    fuzzy:   {msgid}", markup=False)
    if not all(s.ok for s in statuses):
        raise typer.Exit(1)
