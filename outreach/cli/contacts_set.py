"""`outreach contacts set`: change kind, organisation, country or language on every contact a filter selects.

The `--where-…` options are `contacts list`'s filters (`--where-tag` is `list --tag`, and so on), so that
`contacts list --tag X` shows exactly the contacts `contacts set … --where-tag X` changes.
"""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli._common import err, print_json, state


def set_command(
    kind: Annotated[str | None, typer.Option(help="New kind: authority, supplier, subscriber or other.",
                                             show_default=False)] = None,
    organisation: Annotated[str | None, typer.Option(help="New organisation.", show_default=False)] = None,
    country: Annotated[str | None, typer.Option(help="New country (code or name; \"\" clears).",
                                                show_default=False)] = None,
    language: Annotated[str | None, typer.Option(help="New language (ISO 639-1 or name; \"\" clears).",
                                                 show_default=False)] = None,
    where_country: Annotated[list[str] | None, typer.Option(help="Only contacts of these countries (as list "
                                                                 "--country).", show_default=False)] = None,
    where_kind: Annotated[list[str] | None, typer.Option(help="Only these kinds (as list --kind).",
                                                         show_default=False)] = None,
    where_language: Annotated[list[str] | None, typer.Option(help="Only these languages (as list --language).",
                                                             show_default=False)] = None,
    where_status: Annotated[list[str] | None, typer.Option(help="Only these statuses (as list --status).",
                                                           show_default=False)] = None,
    where_tag: Annotated[list[str] | None, typer.Option(help="Only contacts with every one of these tags (as list "
                                                             "--tag).", show_default=False)] = None,
    where_search: Annotated[str | None, typer.Option(help="Only contacts with this text in email, name, "
                                                          "organisation or role (as list --search).",
                                                     show_default=False)] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Change every contact (when no --where-… is given).")
                        ] = False,
    dry_run: Annotated[bool, typer.Option(help="Count what would change; write nothing.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the counts as JSON to stdout.")] = False,
) -> None:
    """Set kind, organisation, country or language on many contacts at once, e.g. --kind supplier --where-tag X."""
    from outreach.clock import SystemClock
    from outreach.contacts.editing import set_fields
    from outreach.contacts.model import ContactFilter

    contact_filter = ContactFilter.parse(where_country, where_kind, where_language, where_status, where_tag,
                                         where_search)
    values = {"kind": kind, "organisation": organisation, "country": country, "language": language}
    result = set_fields(state().db, SystemClock(), values, contact_filter, everyone=everyone, dry_run=dry_run)
    if json_output:
        print_json({"matching": result.matching, "changed": result.changed, "dry_run": result.dry_run})
        return
    same = result.matching - result.changed
    already = f"; {same} already had {'it' if len([v for v in values.values() if v is not None]) == 1 else 'them'}"
    if result.dry_run:
        err().print(f"Would change {result.changed} of {result.matching} matching contact(s)"
                    + (already if same else "") + ". Dry run: nothing was written.")
    else:
        err().print(f"Changed {result.changed} of {result.matching} matching contact(s)"
                    + (already if same else "") + ".")
