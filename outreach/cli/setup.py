"""`outreach config` and `outreach countries`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from outreach.cli._common import print_json, print_table, state


def config(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show the workspace and the effective settings (environment over .env over defaults), secrets masked."""
    app_state = state()
    rows = app_state.settings.describe()
    workspace = app_state.workspace
    where = [("workspace", str(workspace.root) if workspace else "", "the folder relative paths resolve in"),
             ("settings file", str(workspace.settings_file or "") if workspace else "",
              "found upwards from the working folder, or --env-file")]
    if json_output:
        print_json({name: value for name, value, _ in [*where, *rows]})
        return
    print_table(["setting", "value", "meaning"], [[name, value or "-", doc] for name, value, doc in [*where, *rows]])


def countries(
    all_countries: Annotated[bool, typer.Option("--all", help="Every EU/EEA country, not only the BSI 15.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the countries with their languages and contact counts per kind."""
    from outreach.countries import BSI_COUNTRIES, COUNTRIES, country_name
    from outreach.models import Kind

    db = state().existing_db()  # outside a workspace the countries are listed all the same, without figures
    from outreach.contacts.model import counts_by_country_and_kind

    counts = counts_by_country_and_kind(db) if db is not None else {}
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
