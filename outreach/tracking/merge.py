"""Bringing another expert's database in (`outreach db merge`), and consistent backups (`outreach db backup`).

Merging rules, in the order they are applied (all in one transaction; a dry run rolls it back):
1. suppressions are added (an address suppressed anywhere is suppressed everywhere);
2. campaigns are added, or their sending dates widened;
3. contacts are matched by normalized email; tags are united; attributes are merged key by key; for every other
   field the most recently updated value wins (contacts keep a timestamp per field in `field_updated_at`), a field
   never filled in there does not empty ours, and values are compared normalised (`tracking.merge_fields`), so
   only a real difference is a conflict; a status that stops mailing (unsubscribed, bounced, complained) always
   wins over `active`; an address erased here is not brought back;
4. local contacts now on the suppression list stop being mailed (erased ones are erased here too);
5. deliveries (one per campaign × contact, contact ids remapped; the further-along status wins), events and the
   processed inbound-message keys are added.
Running the same merge twice changes nothing. The other file is opened read-only and never modified.

Every contact of the other database goes through the cleaning rules of an import first (a valid address; no line
break or control character in any field; a known kind, country, language and status; attributes within bounds):
a row that fails them is not written, nor are its deliveries and events, and it is listed in `skipped` with the
reason. Another installation may be older, or its file edited by hand; one bad address would stop every send.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

from outreach.clock import Clock, utcnow_iso
from outreach.contacts.importing.rows import normalize_address
from outreach.contacts.model import EDITABLE_FIELDS, clean_fields, erase, suppress
from outreach.db import merge as store
from outreach.db.merge import ColumnRow, OtherDatabase, open_other
from outreach.db.schema import Database
from outreach.errors import DatabaseError, ExitCode, InputError
from outreach.models import ContactStatus, DeliveryStatus
from outreach.models.tracking import SQLValue
from outreach.tracking.merge_fields import UNITED, Change, Conflict, empty, merged_attributes, same, shown, united_list

__all__ = ["Change", "Conflict", "MergeSummary", "Skipped", "backup_database", "merge_database", "open_other"]

# How far along a delivery is: when both databases have one for the same campaign × contact, the further wins.
_RANK: dict[str, int] = {DeliveryStatus.QUEUED: 0, DeliveryStatus.SENDING: 1, DeliveryStatus.UNKNOWN: 2,
                         DeliveryStatus.FAILED: 3, DeliveryStatus.SENT: 4}


@dataclass
class Skipped:
    """A contact of the other database that was not merged because it breaks the cleaning rules."""

    email: str
    reason: str


@dataclass
class MergeSummary:
    """What came in, what changed, what conflicted."""

    source: str
    dry_run: bool = False
    contacts_added: int = 0
    contacts_updated: int = 0
    contacts_unchanged: int = 0
    contacts_not_restored: int = 0  # erased here: not brought back
    contacts_suppressed: int = 0  # local contacts stopped by a suppression from the other database
    contacts_erased: int = 0  # erased there, so erased here too
    campaigns_added: int = 0
    campaigns_updated: int = 0
    deliveries_added: int = 0
    deliveries_updated: int = 0
    events_added: int = 0
    suppressions_added: int = 0
    inbound_added: int = 0
    sessions_added: int = 0
    sessions_updated: int = 0
    registrations_added: int = 0
    registrations_updated: int = 0
    attendance_added: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)  # fields changed on contacts both sides hold
    skipped: list[Skipped] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The JSON document of `db merge --json`."""
        return asdict(self)

    @property
    def changed(self) -> bool:
        """Whether the merge added or changed anything (conflicts alone change nothing)."""
        informational = ("source", "dry_run", "contacts_unchanged", "contacts_not_restored", "conflicts", "changes",
                         "skipped")
        return any(v for k, v in asdict(self).items() if k not in informational)


class _DryRun(Exception):
    """Raised at the end of a dry run to roll the transaction back."""


def merge_database(db: Database, clock: Clock, other_path: Path, *, current_path: Path | None = None,
                   dry_run: bool = False) -> MergeSummary:
    """Merge another outreach database into this one (see the module docstring for the rules)."""
    other = open_other(other_path, current_path)
    summary = MergeSummary(source=str(other_path), dry_run=dry_run)
    try:
        with db.atomic():
            _Merger(db, clock, other, summary).run()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"Merging {other_path} failed ({error}); nothing was changed",
                            "Check that both files are intact (sqlite3 FILE 'PRAGMA integrity_check').") from None
    finally:
        other.close()
    return summary


class _Merger:
    def __init__(self, db: Database, clock: Clock, other: OtherDatabase, summary: MergeSummary) -> None:
        self.db, self.clock, self.other, self.summary = db, clock, other, summary
        self.now = utcnow_iso(clock)
        self.contact_ids: dict[SQLValue, int | None] = {}  # other's contact id → ours (None: erased here)
        self.delivery_ids: dict[SQLValue, int] = {}
        self.skipped_ids: set[SQLValue] = set()  # other's contact ids refused by the cleaning rules

    def columns(self, table: str) -> list[str]:
        """Columns both databases have (an older or newer schema may have added some)."""
        return store.shared_columns(self.db, self.other, table)

    def run(self) -> None:
        self.copy_new("suppressions", ["hash", "reason", "created_at"], "suppressions_added")
        self.campaigns()
        self.contacts()
        self.enforce_suppressions()
        self.deliveries()
        self.events()
        if "inbound_messages" in self.other.tables:
            self.copy_new("inbound_messages", ["key", "mailbox", "outcome", "detail", "processed_at"],
                          "inbound_added")
        if "event_sessions" in self.other.tables:
            from outreach.tracking.merge_events import merge_events

            merge_events(self.db, self.other, self.now, self.contact_ids, self.summary)

    def copy_new(self, table: str, columns: list[str], counter: str) -> None:
        """Rows of a table keyed by a value both databases share: the ones we lack are added."""
        for row in self.other.rows(table, columns):
            if store.insert_row(self.db, table, row, or_ignore=True) is not None:
                setattr(self.summary, counter, getattr(self.summary, counter) + 1)

    def campaigns(self) -> None:
        for data in self.other.rows("campaigns", self.columns("campaigns")):
            mine = store.campaign_dates(self.db, str(data["slug"]))
            if mine is None:
                store.insert_row(self.db, "campaigns", data)
                self.summary.campaigns_added += 1
                continue
            first = min(filter(None, [mine.first_sent_at, _text(data.get("first_sent_at"))]), default=None)
            last = max(filter(None, [mine.last_sent_at, _text(data.get("last_sent_at"))]), default=None)
            hashes = json.loads(_text(data.get("content_hashes")) or "{}") | json.loads(mine.content_hashes or "{}")
            merged = json.dumps(hashes, sort_keys=True)
            if (first, last) != (mine.first_sent_at, mine.last_sent_at) or \
                    json.loads(merged) != json.loads(mine.content_hashes or "{}"):
                store.update_row(self.db, "campaigns", ("slug", data["slug"]),
                                 {"first_sent_at": first, "last_sent_at": last, "content_hashes": merged})
                self.summary.campaigns_updated += 1

    def contacts(self) -> None:
        cols = [c for c in self.columns("contacts") if c != "id"]
        for theirs in self.other.rows("contacts", ["id", *cols]):
            try:
                email = _valid_contact(theirs)
            except InputError as error:
                self.skipped_ids.add(theirs["id"])
                self.summary.skipped.append(Skipped(str(theirs["email"]), error.message))
                continue
            mine = store.contact_row(self.db, email)
            if mine is None:
                self.contact_ids[theirs["id"]] = self.add_contact(email, theirs, cols)
            else:
                self.contact_ids[theirs["id"]] = int(str(mine["id"]))
                self.update_contact(mine, theirs)

    def add_contact(self, email: str, theirs: ColumnRow, cols: list[str]) -> int | None:
        reason = store.suppression_reason(self.db, email)
        if reason == ContactStatus.ERASED:
            self.summary.contacts_not_restored += 1
            return None
        data = {c: theirs[c] for c in cols}
        data["email"] = email
        if reason and data.get("status") == ContactStatus.ACTIVE:
            data["status"] = _status_for(reason)
        contact_id = store.insert_row(self.db, "contacts", data)
        if data.get("status") != ContactStatus.ACTIVE:
            suppress(self.db, self.clock, email, str(data["status"]))
        self.summary.contacts_added += 1
        return contact_id

    def update_contact(self, mine: ColumnRow, theirs: ColumnRow) -> None:
        email = str(mine["email"])
        stamps_here: dict[str, str] = json.loads(_text(mine.get("field_updated_at")) or "{}")
        stamps_there: dict[str, str] = json.loads(_text(theirs.get("field_updated_at")) or "{}")
        changes: dict[str, SQLValue] = {}
        for name in [f for f in EDITABLE_FIELDS if f in theirs and f in mine]:
            here, there = mine[name], theirs[name]
            if same(name, here, there) or (empty(there) and name not in stamps_there):
                continue  # the same, or never filled in there (an emptied field carries its own stamp)
            when_here = stamps_here.get(name) or _text(mine.get("updated_at")) or ""
            when_there = stamps_there.get(name) or _text(theirs.get("updated_at")) or ""
            value = self.merged_field(email, name, here, there, (when_here, when_there))
            if value is not None:
                changes[name] = value
                stamps_here[name] = max(when_here, when_there)
                self.summary.changes.append(Change(email, name, shown(here), shown(value)))
        status = self.merged_status(mine, theirs, stamps_here, stamps_there)
        if status is not None:
            changes["status"] = status
            stamps_here["status"] = max(stamps_here.get("status", ""), stamps_there.get("status", ""), self.now)
            self.summary.changes.append(Change(email, "status", mine["status"], status))
        if not changes:
            self.summary.contacts_unchanged += 1
            return
        changes["field_updated_at"] = json.dumps(stamps_here, ensure_ascii=False, sort_keys=True)
        changes["updated_at"] = self.now
        store.update_row(self.db, "contacts", ("id", mine["id"]), changes)
        if changes.get("status", ContactStatus.ACTIVE) != ContactStatus.ACTIVE:
            suppress(self.db, self.clock, email, str(changes["status"]))
        self.summary.contacts_updated += 1

    def merged_field(self, email: str, name: str, here: SQLValue, there: SQLValue,
                     when: tuple[str, str]) -> SQLValue:
        """The value to write for a field whose two values really differ, or None to keep ours."""
        when_here, when_there = when
        take = when_there > when_here
        why = f"there (updated {when_there} > {when_here})" if take else f"here (updated {when_here})"
        if name in UNITED:
            return united_list(here, there)
        if name == "attributes":
            value, differing = merged_attributes(here, there, take)
            mine, theirs = shown(here), shown(there)
            for key in differing:
                assert isinstance(mine, dict) and isinstance(theirs, dict)
                self.summary.conflicts.append(Conflict(email, f"attributes.{key}", mine[key], theirs[key], why))
            return value
        if not empty(here) and not empty(there):
            self.summary.conflicts.append(Conflict(email, name, shown(here), shown(there), why))
        return there if take else None

    def merged_status(self, mine: ColumnRow, theirs: ColumnRow, stamps_here: dict[str, str],
                      stamps_there: dict[str, str]) -> str | None:
        """The status to set here, or None to keep ours: stopping mail always wins over `active`."""
        here, there = mine["status"], theirs.get("status") or ContactStatus.ACTIVE
        if here == there or there == ContactStatus.ACTIVE:
            return None
        if here == ContactStatus.ACTIVE:
            return str(there)
        newer = (stamps_there.get("status") or "") > (stamps_here.get("status") or "")
        self.summary.conflicts.append(Conflict(str(mine["email"]), "status", here, there,
                                               "there (more recent)" if newer else "here (more recent)"))
        return str(there) if newer else None

    def enforce_suppressions(self) -> None:
        """Local contacts still active although their address is now suppressed stop being mailed."""
        for contact_id, email in store.active_contacts(self.db):
            reason = store.suppression_reason(self.db, email)
            if reason is None:
                continue
            if reason == ContactStatus.ERASED:
                erase(self.db, self.clock, email)
                self.contact_ids = {k: (None if v == contact_id else v) for k, v in self.contact_ids.items()}
                self.summary.contacts_erased += 1
            else:
                stamps = json.loads(store.contact_stamps(self.db, contact_id))
                stamps["status"] = self.now
                store.update_row(self.db, "contacts", ("id", contact_id), {
                    "status": _status_for(reason), "updated_at": self.now,
                    "field_updated_at": json.dumps(stamps, sort_keys=True)})
                self.summary.contacts_suppressed += 1

    def deliveries(self) -> None:
        cols = [c for c in self.columns("deliveries") if c != "id"]
        for theirs in self.other.rows("deliveries", ["id", *cols]):
            if theirs["contact_id"] in self.skipped_ids:
                continue
            contact_id = self.contact_ids.get(theirs["contact_id"]) if theirs["contact_id"] is not None else None
            data = {c: theirs[c] for c in cols}
            data["contact_id"] = contact_id
            campaign = str(data["campaign"])
            if contact_id is None:  # an erased person: keep the figures, not the person
                data["email"] = data["last_reply"] = None
                mine = store.anonymous_delivery(self.db, campaign, data.get("message_id"), data["queued_at"])
            else:
                data["email"] = store.contact_email(self.db, contact_id)
                mine = store.delivery_to(self.db, campaign, contact_id)
            if mine is None:
                self.delivery_ids[theirs["id"]] = store.insert_row(self.db, "deliveries", data) or 0
                self.summary.deliveries_added += 1
                continue
            self.delivery_ids[theirs["id"]] = mine.id
            if _RANK.get(str(theirs["status"]), 0) > _RANK.get(mine.status, 0):
                further = ("status", "attempts", "last_reply", "message_id", "sent_at", "updated_at")
                update: dict[str, SQLValue] = {k: data[k] for k in further if k in data}
                store.update_row(self.db, "deliveries", ("id", mine.id), update)
                self.summary.deliveries_updated += 1

    def events(self) -> None:
        cols = [c for c in self.columns("events") if c != "id"]
        for data in self.other.rows("events", cols):
            if data["contact_id"] in self.skipped_ids:
                continue
            if data["contact_id"] is not None:
                data["contact_id"] = self.contact_ids.get(data["contact_id"])
                if data["contact_id"] is None:
                    data["detail"], data["source_id"] = "", None
            if data.get("delivery_id") is not None:
                data["delivery_id"] = self.delivery_ids.get(data["delivery_id"])
            if store.event_exists(self.db, data):
                continue
            if store.insert_row(self.db, "events", data, or_ignore=True) is not None:
                self.summary.events_added += 1


def _valid_contact(row: ColumnRow) -> str:
    """The normalised address of a contact row from the other database; InputError when a rule refuses the row."""
    email = normalize_address(str(row["email"] or ""))
    fields: dict[str, object] = {}
    for name in EDITABLE_FIELDS:
        value = row.get(name)
        if name in ("tags", "topics", "attributes"):
            try:
                value = json.loads(_text(value) or ("{}" if name == "attributes" else "[]"))
            except ValueError:
                raise InputError(f"its {name} are not readable ({_text(value)!r:.40})") from None
            if not isinstance(value, dict if name == "attributes" else list):
                raise InputError(f"its {name} are not readable ({value!r:.40})")
        if value not in (None, ""):
            fields[name] = value
    clean_fields(fields)
    status = row.get("status") or ContactStatus.ACTIVE
    if status not in set(ContactStatus):
        raise InputError(f"unknown status {status!r}")
    return email


def _status_for(reason: str) -> str:
    """The contact status a suppression reason stands for."""
    text = reason.lower()
    if "complain" in text:
        return ContactStatus.COMPLAINED.value
    if "bounce" in text:
        return ContactStatus.BOUNCED.value
    return ContactStatus.UNSUBSCRIBED.value


def _text(value: SQLValue) -> str | None:
    """A stored text value (None stays None)."""
    return None if value is None else str(value)


def backup_database(db: Database, target: Path) -> int:
    """A consistent copy of the open database (SQLite online backup API), safe while others read or write.

    Written to a temporary name next to the target and renamed when complete, so a half-written backup never
    carries the final name. Returns the size in bytes.
    """
    if target.exists():
        raise InputError(f"{target} already exists", "Choose a new file name; a backup never overwrites a file.")
    if not target.parent.is_dir():
        raise InputError(f"The folder {target.parent} does not exist", "Create it first or choose another path.")
    partial = target.with_name(target.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        ok = store.backup_to(db, partial)
        if ok != "ok":
            raise DatabaseError(f"The backup {target} failed its integrity check ({ok})", "Try again.")
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, sqlite3.Error) and "malformed" in str(error):
            raise DatabaseError(f"The backup {target} cannot be made: the database being copied is damaged ({error})",
                                "The backup copies pages SQLite can read; copy the file as it is instead (cp), then "
                                "rebuild what is readable with `sqlite3 FILE .recover | sqlite3 recovered.db`.",
                                exit_code=ExitCode.CONFIG) from None
        raise DatabaseError(f"Cannot write the backup {target} ({error})",
                            "Check the disk space and the folder's permissions.") from None
    return target.stat().st_size
