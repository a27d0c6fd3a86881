"""`outreach config` and `outreach countries`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from outreach.cli._common import App, print_json, print_table, state


def register(app: App) -> None:
    """Add `config` and `countries` to the root app."""
    app.command("config")(config)
    app.command("countries")(countries)


def config(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show the effective settings (environment over .env over defaults), secrets masked."""
    rows = state().settings.describe()
    if json_output:
        print_json({name: value for name, value, _ in rows})
        return
    print_table(["setting", "value", "meaning"], [[name, value or "-", doc] for name, value, doc in rows])


def countries(
    all_countries: Annotated[bool, typer.Option("--all", help="Every EU/EEA country, not only the BSI 15.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the countries with their languages and contact counts per kind."""
    from outreach.countries import BSI_COUNTRIES, COUNTRIES, country_name
    from outreach.models import Kind

    app_state = state()
    db = app_state.db
    from outreach.contacts.model import counts_by_country_and_kind

    counts = counts_by_country_and_kind(db)
    codes = COUNTRIES if all_countries else BSI_COUNTRIES
    document: list[dict[str, Any]] = []
    for code, languages in sorted(codes.items()):
        entry: dict[str, Any] = {"code": code, "name": country_name(code),
                                 "native_name": country_name(code, languages[0]),
                                 "languages": list(languages), "bsi": code in BSI_COUNTRIES}
        entry["contacts"] = {kind.value: counts.get((code, kind.value), 0) for kind in Kind}
        document.append(entry)
    if json_output:
        print_json(document)
        return
    print_table(["code", "country", "languages", *[k.value for k in Kind]],
                [[entry["code"], f"{entry['name']} ({entry['native_name']})", " ".join(entry["languages"]),
                  *[str(entry["contacts"][k.value]) for k in Kind]] for entry in document])
