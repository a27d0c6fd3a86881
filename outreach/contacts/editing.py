"""Changing contacts one request at a time — add one, edit one, tag many — each check and write in one transaction.

These are what `outreach contacts add|edit|tag|untag|set` call: the command parses its options into plain values, calls
one function here and prints the result. The rules themselves (cleaning, suppression, field stamps) stay in
`outreach.contacts.model`, which the importer and the web pages share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from outreach.clock import Clock, utcnow_iso
from outreach.contacts.model import (
    Contact,
    ContactFilter,
    clean_fields,
    get_contact,
    insert_contact,
    is_suppressed,
    iter_contacts,
    require_contact,
    update_contact,
)
from outreach.db import contacts as store
from outreach.db.schema import Database
from outreach.errors import InputError


def add_contact(db: Database, clock: Clock, email: str, fields: Mapping[str, Any]) -> Contact:
    """Add one contact under a normalised address from the user's raw field values (None or "" = not given).

    A suppressed address is refused, so that a person who was erased or unsubscribed is not brought back by hand;
    a known address is refused, so that `add` never overwrites what `edit` would change field by field.
    """
    if is_suppressed(db, email):
        raise InputError(f"{email} is on the suppression list (erased, unsubscribed or bounced); it is not added again",
                         "A person who wants the mailings again can subscribe on the web pages.")
    if get_contact(db, email) is not None:
        raise InputError(f"{email} is already a contact", f"Change it with: outreach contacts edit {email} …")
    cleaned = clean_fields(fields)
    with db.atomic():
        return insert_contact(db, clock, email, {k: v for k, v in cleaned.items() if v not in (None, "")})


def edit_contact(db: Database, clock: Clock, email: str, changes: Mapping[str, Any],
                 attributes: Mapping[str, str] | None = None) -> Contact:
    """Change the given fields of one contact (None = leave as is); in `attributes` an empty value removes the key.

    Raises InputError when nothing is given, so that a mistyped command does not pass for a successful edit.
    """
    contact = require_contact(db, email)
    cleaned = clean_fields({key: value for key, value in changes.items() if value is not None})
    if attributes:
        merged = dict(contact.attributes)
        for key, value in attributes.items():
            if value:
                merged[key] = value
            else:
                merged.pop(key, None)
        cleaned["attributes"] = clean_fields({"attributes": merged})["attributes"]
    if not cleaned:
        raise InputError("Nothing to change", "Give at least one option, e.g. --name or --attr KEY=VALUE.")
    with db.atomic():
        return update_contact(db, clock, contact, cleaned)


def tag_contacts(db: Database, clock: Clock, tags: Sequence[str], emails: Sequence[str],
                 contact_filter: ContactFilter, *, add: bool) -> int:
    """Add (or with add=False remove) cleaned tags on the contacts named in `emails`, or else on those matching
    `contact_filter`; returns how many contacts changed. All or nothing: an unknown address changes no one."""
    with db.atomic():
        targets = [require_contact(db, email) for email in emails] or list(iter_contacts(db, contact_filter))
        changed = 0
        for contact in targets:
            new = sorted(set(contact.tags) | set(tags)) if add else sorted(set(contact.tags) - set(tags))
            if new != sorted(contact.tags):
                update_contact(db, clock, contact, {"tags": new})
                changed += 1
    return changed


@dataclass(frozen=True)
class BulkChange:
    """What `contacts set` did (or, in a dry run, would do)."""

    matching: int
    changed: int
    dry_run: bool = False


def set_fields(db: Database, clock: Clock, values: Mapping[str, str | None], contact_filter: ContactFilter, *,
               everyone: bool = False, dry_run: bool = False) -> BulkChange:
    """Set kind, organisation, country or language on every contact the filter matches, in one transaction.

    The values are cleaned as `contacts edit` cleans them (a kind among authority, supplier…, a country or
    language by code or name). An empty filter needs `everyone`, so that a forgotten --where-… changes no one.
    """
    given = {key: value for key, value in values.items() if value is not None}
    if not given:
        raise InputError("Nothing to set", "Give one or more of --kind, --organisation, --country, --language.")
    if contact_filter == ContactFilter() and not everyone:
        raise InputError("Say which contacts: give a filter (--where-tag, --where-kind, --where-country, …) or --all",
                         "See which contacts a filter selects with: outreach contacts list --tag … --kind …")
    cleaned = {key: (str(value) if value else None) for key, value in clean_fields(given).items()}
    if "organisation" in cleaned:
        cleaned["organisation"] = cleaned["organisation"] or ""
    with db.atomic():
        matching, changed = store.set_matching(db, contact_filter, cleaned, utcnow_iso(clock), write=not dry_run)
    return BulkChange(matching, changed, dry_run)
