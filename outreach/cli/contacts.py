"""`outreach contacts …`: add, import, list, show, edit, tag, untag, remove, count, export, erase, history.

Thin: parse, call one core function (outreach.contacts.editing / model / importer / exporter, and
outreach.tracking.reports for `show` and `history`), print. What was asked for (lists, a contact, counts) goes to
stdout, tab-separated when piped; confirmations go to stderr; `--json` prints one document to stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from outreach.cli._common import App, err, one_of, out, print_json, print_table, state
from outreach.cli.contacts_import import import_command
from outreach.cli.contacts_set import set_command

if TYPE_CHECKING:
    from collections.abc import Mapping

    from outreach.clock import SystemClock
    from outreach.contacts.model import Contact, ContactFilter
    from outreach.db.schema import Database

app = App(help="Contact lists: add, import, list, show, edit, tag, export, erase.")
app.command("import")(import_command)
app.command("set")(set_command)

Countries = Annotated[list[str] | None, typer.Option("--country", "-c", help="Only these countries (code or name; "
                                                     "repeat or comma-separate).", show_default=False)]
Kinds = Annotated[list[str] | None, typer.Option("--kind", "-k", help="Only these kinds: authority, supplier, "
                                                 "subscriber, other.", show_default=False)]
Languages = Annotated[list[str] | None, typer.Option("--language", "-l", help="Only these languages (ISO 639-1).",
                                                     show_default=False)]
Statuses = Annotated[list[str] | None, typer.Option("--status", "-s", help="Only these statuses: active, "
                                                    "unsubscribed, bounced, complained.", show_default=False)]
Tags = Annotated[list[str] | None, typer.Option("--tag", "-t", help="Only contacts with every one of these tags.",
                                                show_default=False)]
Search = Annotated[str | None, typer.Option("--search", "-q", help="Free text in email, name, organisation or role.",
                                            show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")]
JsonDocument = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _filter(country: list[str] | None, kind: list[str] | None, language: list[str] | None,
            status: list[str] | None, tag: list[str] | None, search: str | None) -> ContactFilter:
    from outreach.contacts.model import ContactFilter

    return ContactFilter.parse(country, kind, language, status, tag, search)


def _clock() -> SystemClock:
    from outreach.clock import SystemClock

    return SystemClock()


@app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="The address; \"Name <address>\" also works.")],
    name: Annotated[str | None, typer.Option(help="Full name.", show_default=False)] = None,
    organisation: Annotated[str | None, typer.Option(help="Organisation.", show_default=False)] = None,
    role: Annotated[str | None, typer.Option(help="Role or job title.", show_default=False)] = None,
    kind: Annotated[str, typer.Option(help="authority, supplier, subscriber or other.")] = "other",
    country: Annotated[str | None, typer.Option(help="Country (code or name).", show_default=False)] = None,
    language: Annotated[str | None, typer.Option(help="Language (default: the country's).",
                                                 show_default=False)] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).", show_default=False)] = None,
    consent_basis: Annotated[str | None, typer.Option(help="GDPR basis, e.g. consent or legitimate_interest.",
                                                      show_default=False)] = None,
    source: Annotated[str | None, typer.Option(help="Where the address comes from.", show_default=False)] = None,
    attr: Annotated[list[str] | None, typer.Option("--attr", help="A custom attribute KEY=VALUE (repeatable).",
                                                   show_default=False)] = None,
    json_output: Json = False,
) -> None:
    """Add one contact."""
    from outreach.contacts.editing import add_contact
    from outreach.contacts.importing.rows import split_name_address
    from outreach.contacts.model import normalize_email

    display, address = split_name_address(email)
    key = normalize_email(address)
    attributes = _attributes(attr)
    fields = {"name": name or display, "organisation": organisation, "role": role, "kind": kind, "country": country,
              "language": language, "tags": _split(tag), "consent_basis": consent_basis, "consent_source": source,
              "attributes": attributes}
    contact = add_contact(state().creating_db(), _clock(), key, fields)
    if json_output:
        print_json(contact.public_dict())
    else:
        err().print(f"Added {contact.email} ({contact.kind}, {contact.country or 'no country'}, "
                    f"{contact.language or 'no language'}).")


@app.command("list")
def list_contacts(country: Countries = None, kind: Kinds = None, language: Languages = None,
                  status: Statuses = None, tag: Tags = None, search: Search = None, json_output: Json = False,
                  limit: Annotated[int | None, typer.Option(help="Show at most N (default: all with --json, "
                                                                 "200 in the table; 0 = all).",
                                                            show_default=False)] = None) -> None:
    """List contacts, filtered."""
    from itertools import islice

    from outreach.contacts.model import count_contacts, iter_contacts

    db = state().db
    contact_filter = _filter(country, kind, language, status, tag, search)
    shown = limit if limit is not None else (0 if json_output else 200)
    contacts = iter_contacts(db, contact_filter)
    if shown:
        contacts = islice(contacts, shown)
    if json_output:
        print_json([contact.public_dict() for contact in contacts])
        return
    rows = [[contact.email, contact.name, contact.organisation, contact.kind, contact.country or "",
             contact.language or "", ",".join(contact.tags), contact.status] for contact in contacts]
    print_table(["email", "name", "organisation", "kind", "country", "lang", "tags", "status"], rows)
    total = count_contacts(db, contact_filter)
    more = f" (showing {len(rows)}; --limit 0 shows all)" if len(rows) < total else ""
    err().print(f"{total} contact(s){more}.")


@app.command("show")
def show(email: Annotated[str, typer.Argument(help="The contact's address.")], json_output: Json = False) -> None:
    """Everything held on one person: the contact, its deliveries and events (GDPR access request)."""
    from outreach.events.history import person_registrations
    from outreach.tracking.reports import person_record

    db = state().db
    document = person_record(db, _find_contact(db, email)).document()
    document["registrations"] = person_registrations(db, email)
    if json_output:
        print_json(document)
        return
    _print_contact(document)


def _find_contact(db: Database, email: str) -> Contact:
    """The contact, or NotFoundError whose hint says whether the address is only kept as a suppression hash."""
    from outreach.contacts.model import get_contact, is_suppressed, normalize_email
    from outreach.errors import InputError, NotFoundError

    contact = get_contact(db, email)
    if contact is not None:
        return contact
    suppressed = False
    try:
        suppressed = is_suppressed(db, normalize_email(email))
    except InputError:  # a malformed address simply is not on the list
        pass
    hint = ("Only a salted hash of this address is kept (it was erased, unsubscribed or bounced), so that it "
            "is never imported again; nothing else is held." if suppressed else
            "Check the spelling, or search with: outreach contacts list --search …")
    raise NotFoundError(f"No contact with the address {email!r}", hint)


def readable(value: object) -> str:
    """A field's value as a person reads it: lists comma-separated, mappings as `key: value` pairs."""
    if isinstance(value, dict):
        return "; ".join(f"{key}: {readable(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(readable(item) for item in value)
    return str(value)


def _print_contact(document: Mapping[str, Any]) -> None:
    from rich.text import Text

    rows: list[list[str | Text]] = [[Text(key, style="bold"), readable(value)]
                                    for key, value in document["contact"].items() if value not in (None, "", [], {})]
    print_table(["field", "value"], rows, header=False)
    console = out()
    console.print(f"{len(document['deliveries'])} deliveries, {len(document['events'])} events"
                  + (", on the suppression list" if document["suppressed"] else "") + ".", markup=False)
    for delivery in document["deliveries"]:
        console.print(f"  {delivery['campaign']} ({delivery['language']}): {delivery['status']}"
                      f" {delivery.get('sent_at') or ''}", markup=False)
    for event in document["events"]:
        console.print(f"  {event['created_at']} {event['type']} {event.get('campaign') or ''}", markup=False)
    for answer in document.get("registrations", []):
        console.print(f"  event {answer['campaign']}/{answer['session']}: {answer['answer']} {answer['answered_at']}"
                      + (f", attended {answer['attended_at']}" if answer["attended"] else ""), markup=False)


@app.command("edit")
def edit(
    email: Annotated[str, typer.Argument(help="The contact's address.")],
    name: Annotated[str | None, typer.Option(help="New name (\"\" clears).", show_default=False)] = None,
    organisation: Annotated[str | None, typer.Option(help="New organisation.", show_default=False)] = None,
    role: Annotated[str | None, typer.Option(help="New role.", show_default=False)] = None,
    kind: Annotated[str | None, typer.Option(help="New kind.", show_default=False)] = None,
    country: Annotated[str | None, typer.Option(help="New country.", show_default=False)] = None,
    language: Annotated[str | None, typer.Option(help="New language.", show_default=False)] = None,
    consent_basis: Annotated[str | None, typer.Option(help="New GDPR basis.", show_default=False)] = None,
    source: Annotated[str | None, typer.Option(help="New consent source.", show_default=False)] = None,
    attr: Annotated[list[str] | None, typer.Option("--attr", help="Set attribute KEY=VALUE (KEY= removes it).",
                                                   show_default=False)] = None,
    json_output: Json = False,
) -> None:
    """Change fields of one contact."""
    from outreach.contacts.editing import edit_contact

    attributes = _attributes(attr, allow_empty=True) if attr else None
    given = {"name": name, "organisation": organisation, "role": role, "kind": kind, "country": country,
             "language": language, "consent_basis": consent_basis, "consent_source": source}
    contact = edit_contact(state().db, _clock(), email, given, attributes)
    if json_output:
        print_json(contact.public_dict())
    else:
        err().print(f"Updated {contact.email}.")


def _tagging(tag_name: str, emails: list[str] | None, contact_filter: ContactFilter, everyone: bool,
             add_tag: bool) -> int:
    """Check what the command line names (before the database is opened), then tag or untag."""
    from outreach.contacts.editing import tag_contacts
    from outreach.contacts.model import ContactFilter, clean_fields
    from outreach.errors import InputError

    tags = clean_fields({"tags": [tag_name]})["tags"]
    if not tags:
        raise InputError("The tag is empty")
    if not emails and contact_filter == ContactFilter() and not everyone:
        raise InputError("Say which contacts: give addresses, a filter (--country, --kind, …) or --all")
    return tag_contacts(state().db, _clock(), tags, emails or [], contact_filter, add=add_tag)


@app.command("tag")
def tag_command(tag_name: Annotated[str, typer.Argument(metavar="TAG", help="The tag to add.")],
                emails: Annotated[list[str] | None, typer.Argument(help="Addresses (or use filters).")] = None,
                country: Countries = None, kind: Kinds = None, language: Languages = None,
                status: Statuses = None, tag: Tags = None, search: Search = None,
                everyone: Annotated[bool, typer.Option("--all", help="Tag every contact.")] = False) -> None:
    """Add a tag to contacts given by address or by filter."""
    changed = _tagging(tag_name, emails, _filter(country, kind, language, status, tag, search), everyone, True)
    err().print(f"Tagged {changed} contact(s) with {tag_name!r}.")


@app.command("untag")
def untag_command(tag_name: Annotated[str, typer.Argument(metavar="TAG", help="The tag to remove.")],
                  emails: Annotated[list[str] | None, typer.Argument(help="Addresses (or use filters).")] = None,
                  country: Countries = None, kind: Kinds = None, language: Languages = None,
                  status: Statuses = None, tag: Tags = None, search: Search = None,
                  everyone: Annotated[bool, typer.Option("--all", help="Untag every contact.")] = False) -> None:
    """Remove a tag from contacts given by address or by filter."""
    changed = _tagging(tag_name, emails, _filter(country, kind, language, status, tag, search), everyone, False)
    err().print(f"Removed the tag {tag_name!r} from {changed} contact(s).")


@app.command("remove")
def remove(emails: Annotated[list[str], typer.Argument(help="Addresses of the contacts to remove.")]) -> None:
    """Remove contacts from the list (a later import may add them again; use erase for GDPR erasure)."""
    from outreach.contacts.model import remove_contacts

    contacts = remove_contacts(state().db, emails)
    err().print(f"Removed {len(contacts)} contact(s). Their delivery history is kept without the link to them.")


@app.command("count")
def count(country: Countries = None, kind: Kinds = None, language: Languages = None, status: Statuses = None,
          tag: Tags = None, search: Search = None,
          by: Annotated[str | None, typer.Option(help="Group by any of country, kind, language, status "
                                                      "(comma-separated).", show_default=False)] = None,
          json_output: Json = False) -> None:
    """Count contacts, optionally grouped, e.g. --by country,kind."""
    from outreach.contacts.model import GROUPS, count_by
    from outreach.errors import InputError

    db = state().reader
    contact_filter = _filter(country, kind, language, status, tag, search)
    groups = [part.strip().lower() for part in (by or "").split(",") if part.strip()]
    for group in groups:
        if group not in GROUPS:
            raise InputError(f"--by {group!r} is not one of: {', '.join(GROUPS)}")
    counts = count_by(db, contact_filter, groups)
    rows: list[dict[str, Any]] = [{**dict(zip(counts.by, values, strict=True)), "count": n}
                                  for values, n in counts.groups]
    if json_output:
        print_json({"total": counts.total, "by": list(counts.by), "groups": rows} if counts.by
                   else {"total": counts.total})
        return
    if counts.by:
        print_table([*counts.by, "count"], [[str(value if value is not None else "-") for value in row.values()]
                                            for row in rows])
        err().print(f"{counts.total} contact(s).")  # beside the table: piped, the rows stay one kind of line
    else:
        typer.echo(f"{counts.total} contact(s).")  # plain text: no need to load rich for one line


@app.command("export")
def export(country: Countries = None, kind: Kinds = None, language: Languages = None, status: Statuses = None,
           tag: Tags = None, search: Search = None,
           output: Annotated[str, typer.Option("--output", "-o", help="File to write (- for stdout).")] = "-",
           fmt: Annotated[str | None, typer.Option("--format", "-f", help="csv, json or xlsx (default: from the "
                                                   "file name, else csv).", show_default=False)] = None,
           raw: Annotated[bool, typer.Option("--raw", help="CSV: write cells starting with = + - @ as they are "
                                             "(by default they get a leading ' so that Excel shows them as text "
                                             "instead of running them as formulas).")] = False) -> None:
    """Export contacts as CSV, JSON or XLSX (a CSV export imports back losslessly)."""
    import sys

    from outreach.contacts.export import export_contacts, format_for

    path = None if output == "-" else Path(output)
    chosen = format_for(path, one_of(fmt, ("csv", "json", "xlsx"), "--format") if fmt else None)
    written = export_contacts(state().db, _filter(country, kind, language, status, tag, search), chosen,
                              path or sys.stdout, raw=raw)
    err().print(f"Exported {written} contact(s)" + (f" to {path}." if path else "."))


@app.command("erase")
def erase(email: Annotated[str, typer.Argument(help="The person's address.")],
          yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False) -> None:
    """Erase a person (GDPR art. 17): every table forgets them; a salted hash stops re-imports."""
    from outreach.contacts import model as contacts

    db = state().db
    contact = contacts.require_contact(db, email)
    if not yes and not typer.confirm(f"Erase {contact.email} and everything held on them? This cannot be undone",
                                     err=True):
        err().print("Nothing erased.")
        raise typer.Exit(1)
    contacts.erase(db, _clock(), contact.email)
    err().print(f"Erased {contact.email}; only a salted hash remains so that no import brings them back.")


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _attributes(items: list[str] | None, allow_empty: bool = False) -> dict[str, str]:
    from outreach.errors import InputError

    attributes: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or (not value and not allow_empty):
            raise InputError(f"--attr {item!r} is not KEY=VALUE", "For example: --attr 'Phone=+48 22 000 00 00'.")
        attributes[key.strip()] = value.strip()
    return attributes


@app.command("history")
def history(email: Annotated[str, typer.Argument(help="The person's email address.", show_default=False)],
            json_output: JsonDocument = False) -> None:
    """Every campaign sent to one person, with dates, language, outcome and events (also for GDPR requests)."""
    from rich.markup import escape

    from outreach.events.history import person_registrations
    from outreach.tracking.reports import person_history

    document = person_history(state().db, email)
    document["registrations"] = person_registrations(state().db, email)
    if json_output:
        print_json(document)
        return
    console, contact = out(), document["contact"]
    console.print(f"[bold]{escape(contact['email'])}[/] {escape(contact['name'])} — {escape(contact['organisation'])}"
                  f" ({contact['kind']}, {contact['country'] or '?'}, {contact['language'] or '?'}), "
                  f"status [bold]{contact['status']}[/]")
    if document["deliveries"]:
        print_table(["campaign", "language", "queued", "sent", "status", "outcome", "events"],
                    [[d["campaign"], d["language"], d["queued_at"] or "", d["sent_at"] or "", d["status"],
                      d["outcome"], ", ".join(d["events"])] for d in document["deliveries"]],
                    title="Campaigns", wide=True)
    else:
        console.print("No campaign was sent to this person.")
    if document["events"]:
        print_table(["when", "event", "campaign", "detail"],
                    [[e["created_at"], e["type"] + (f" ({e['bounce_type']})" if e["bounce_type"] else ""),
                      e["campaign"] or "", e["detail"]] for e in document["events"]], title="Events", wide=True)
    else:
        console.print("No events.")
    if document["registrations"]:
        print_table(["campaign", "session", "starts", "answer", "source", "answered", "attended"],
                    [[r["campaign"], r["session"], r["starts_at"], r["answer"], r["source"], r["answered_at"],
                      r["attended_at"] or ""] for r in document["registrations"]],
                    title="Event registrations and attendance", wide=True)
