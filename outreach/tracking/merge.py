"""Bringing another expert's database in (`outreach db merge`), and consistent backups (`outreach db backup`).

Merging rules, in the order they are applied (all in one transaction; a dry run rolls it back):
1. suppressions are added (an address suppressed anywhere is suppressed everywhere);
2. campaigns are added, or their sending dates widened;
3. contacts are matched by normalized email; per field the most recently updated value wins (contacts keep a
   timestamp per field in `field_updated_at`); a status that stops mailing (unsubscribed, bounced, complained)
   always wins over `active`; an address erased here is not brought back;
4. local contacts now on the suppression list stop being mailed (erased ones are erased here too);
5. deliveries (one per campaign × contact, contact ids remapped; the further-along status wins), events and the
   processed inbound-message keys are added.
Running the same merge twice changes nothing. The other file is opened read-only and never modified.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from outreach.clock import Clock, utcnow_iso
from outreach.contacts.model import EDITABLE_FIELDS, erase, suppress
from outreach.db.schema import Database, migrations, suppression_hash
from outreach.errors import DatabaseError, InputError
from outreach.models import ContactStatus, DeliveryStatus

_REQUIRED = ("contacts", "suppressions", "campaigns", "deliveries", "events")
# How far along a delivery is: when both databases have one for the same campaign × contact, the further wins.
_RANK: dict[str, int] = {DeliveryStatus.QUEUED: 0, DeliveryStatus.SENDING: 1, DeliveryStatus.UNKNOWN: 2,
                         DeliveryStatus.FAILED: 3, DeliveryStatus.SENT: 4}


@dataclass
class Conflict:
    """Both databases had a different value; `kept` says which side won and why."""

    email: str
    field: str
    here: Any
    there: Any
    kept: str


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
    conflicts: list[Conflict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def changed(self) -> bool:
        informational = ("source", "dry_run", "contacts_unchanged", "contacts_not_restored", "conflicts")
        return any(v for k, v in asdict(self).items() if k not in informational)


class _DryRun(Exception):
    """Raised at the end of a dry run to roll the transaction back."""


def open_other(path: Path, current: Path | None = None) -> sqlite3.Connection:
    """The other database, read-only, after checking it is an outreach database this code understands."""
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file", "Give the path of another expert's contacts.db.")
    if current is not None and path.resolve() == Path(current).resolve():
        raise InputError(f"{path} is the database in use", "Merge another expert's file, not this one.")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"{path} is not an outreach database ({error})",
                            "Give the contacts.db file another outreach installation wrote.") from None
    applied: set[str] = set()
    if "_sqlite_migrations" in tables:
        applied = {row[0] for row in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'outreach'")}
    if not applied or not set(_REQUIRED) <= tables:
        conn.close()
        raise DatabaseError(f"{path} is not an outreach database (no outreach schema in it)",
                            "Give the contacts.db file another outreach installation wrote.")
    unknown = sorted(applied - {m.name for m in migrations._migrations})
    if unknown:
        conn.close()
        raise DatabaseError(f"{path} was written by a newer outreach (schema steps {', '.join(unknown)})",
                            "Upgrade outreach here before merging that database.")
    return conn


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
    def __init__(self, db: Database, clock: Clock, other: sqlite3.Connection, summary: MergeSummary) -> None:
        self.db, self.clock, self.other, self.summary = db, clock, other, summary
        self.now = utcnow_iso(clock)
        self.contact_ids: dict[int, int | None] = {}  # other's contact id → ours (None: erased here)
        self.delivery_ids: dict[int, int] = {}

    def columns(self, table: str) -> list[str]:
        """Columns both databases have (an older or newer schema may have added some)."""
        ours = [row[1] for row in self.db.execute(f"PRAGMA table_info({table})").fetchall()]
        theirs = {row[1] for row in self.other.execute(f"PRAGMA table_info({table})").fetchall()}
        return [c for c in ours if c in theirs]

    def run(self) -> None:
        self.suppressions()
        self.campaigns()
        self.contacts()
        self.enforce_suppressions()
        self.deliveries()
        self.events()
        if "inbound_messages" in {r[0] for r in self.other.execute("SELECT name FROM sqlite_master")}:
            for row in self.other.execute("SELECT key, mailbox, outcome, detail, processed_at FROM inbound_messages"):
                cursor = self.db.execute("INSERT OR IGNORE INTO inbound_messages VALUES (?, ?, ?, ?, ?)", list(row))
                self.summary.inbound_added += cursor.rowcount

    def suppressions(self) -> None:
        for row in self.other.execute("SELECT hash, reason, created_at FROM suppressions"):
            cursor = self.db.execute("INSERT OR IGNORE INTO suppressions (hash, reason, created_at) VALUES (?, ?, ?)",
                                     list(row))
            self.summary.suppressions_added += cursor.rowcount

    def campaigns(self) -> None:
        cols = self.columns("campaigns")
        for row in self.other.execute(f"SELECT {', '.join(cols)} FROM campaigns"):
            data = dict(row)
            mine = self.db.execute("SELECT first_sent_at, last_sent_at, content_hashes FROM campaigns WHERE slug = ?",
                                   [data["slug"]]).fetchone()
            if mine is None:
                self.db.execute(f"INSERT INTO campaigns ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                [data[c] for c in cols])
                self.summary.campaigns_added += 1
                continue
            first = min(filter(None, [mine[0], data.get("first_sent_at")]), default=None)
            last = max(filter(None, [mine[1], data.get("last_sent_at")]), default=None)
            hashes = json.loads(data.get("content_hashes") or "{}") | json.loads(mine[2] or "{}")
            merged = json.dumps(hashes, sort_keys=True)
            if (first, last) != (mine[0], mine[1]) or json.loads(merged) != json.loads(mine[2] or "{}"):
                self.db.execute("UPDATE campaigns SET first_sent_at = ?, last_sent_at = ?, content_hashes = ? "
                                "WHERE slug = ?", [first, last, merged, data["slug"]])
                self.summary.campaigns_updated += 1

    def contacts(self) -> None:
        cols = [c for c in self.columns("contacts") if c != "id"]
        for row in self.other.execute(f"SELECT id, {', '.join(cols)} FROM contacts ORDER BY id"):
            theirs = dict(row)
            email = str(theirs["email"]).strip().lower()
            cursor = self.db.execute("SELECT * FROM contacts WHERE email = ?", [email])
            mine = cursor.fetchone()
            if mine is None:
                self.contact_ids[theirs["id"]] = self.add_contact(email, theirs, cols)
            else:
                mine_row = dict(zip([d[0] for d in cursor.description], mine, strict=True))
                self.contact_ids[theirs["id"]] = mine_row["id"]
                self.update_contact(mine_row, theirs)

    def suppression_reason(self, email: str) -> str | None:
        row = self.db.execute("SELECT reason FROM suppressions WHERE hash = ?", [suppression_hash(email)]).fetchone()
        return row[0] if row else None

    def add_contact(self, email: str, theirs: dict[str, Any], cols: list[str]) -> int | None:
        reason = self.suppression_reason(email)
        if reason == ContactStatus.ERASED:
            self.summary.contacts_not_restored += 1
            return None
        data = {c: theirs[c] for c in cols}
        data["email"] = email
        if reason and data.get("status") == ContactStatus.ACTIVE:
            data["status"] = _status_for(reason)
        cursor = self.db.execute(f"INSERT INTO contacts ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
                                 list(data.values()))
        if data.get("status") != ContactStatus.ACTIVE:
            suppress(self.db, self.clock, email, str(data["status"]))
        self.summary.contacts_added += 1
        return int(cursor.lastrowid or 0)

    def update_contact(self, mine: dict[str, Any], theirs: dict[str, Any]) -> None:
        email = mine["email"]
        stamps_here = json.loads(mine.get("field_updated_at") or "{}")
        stamps_there = json.loads(theirs.get("field_updated_at") or "{}")
        changes: dict[str, Any] = {}
        for name in [f for f in EDITABLE_FIELDS if f in theirs and f in mine]:
            here, there = mine[name], theirs[name]
            if _same(here, there):
                continue
            when_here = stamps_here.get(name) or mine.get("updated_at") or ""
            when_there = stamps_there.get(name) or theirs.get("updated_at") or ""
            take = when_there > when_here
            if take:
                changes[name] = there
                stamps_here[name] = when_there
            if not _empty(here) and not _empty(there):
                self.summary.conflicts.append(Conflict(email, name, _show(here), _show(there), (
                    f"there (updated {when_there} > {when_here})" if take else f"here (updated {when_here})")))
        status = self.merged_status(mine, theirs, stamps_here, stamps_there)
        if status is not None:
            changes["status"] = status
            stamps_here["status"] = max(stamps_here.get("status", ""), stamps_there.get("status", ""), self.now)
        if not changes:
            self.summary.contacts_unchanged += 1
            return
        changes["field_updated_at"] = json.dumps(stamps_here, ensure_ascii=False, sort_keys=True)
        changes["updated_at"] = self.now
        self.db.execute(f"UPDATE contacts SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                        [*changes.values(), mine["id"]])
        if changes.get("status", ContactStatus.ACTIVE) != ContactStatus.ACTIVE:
            suppress(self.db, self.clock, email, str(changes["status"]))
        self.summary.contacts_updated += 1

    def merged_status(self, mine: dict[str, Any], theirs: dict[str, Any], stamps_here: dict[str, str],
                      stamps_there: dict[str, str]) -> str | None:
        """The status to set here, or None to keep ours: stopping mail always wins over `active`."""
        here, there = mine["status"], theirs.get("status") or ContactStatus.ACTIVE
        if here == there or there == ContactStatus.ACTIVE:
            return None
        if here == ContactStatus.ACTIVE:
            return str(there)
        newer = (stamps_there.get("status") or "") > (stamps_here.get("status") or "")
        self.summary.conflicts.append(Conflict(mine["email"], "status", here, there,
                                               "there (more recent)" if newer else "here (more recent)"))
        return str(there) if newer else None

    def enforce_suppressions(self) -> None:
        """Local contacts still active although their address is now suppressed stop being mailed."""
        for contact_id, email in self.db.execute("SELECT id, email FROM contacts WHERE status = ?",
                                                 [ContactStatus.ACTIVE.value]).fetchall():
            reason = self.suppression_reason(email)
            if reason is None:
                continue
            if reason == ContactStatus.ERASED:
                erase(self.db, self.clock, email)
                self.contact_ids = {k: (None if v == contact_id else v) for k, v in self.contact_ids.items()}
                self.summary.contacts_erased += 1
            else:
                stamps = json.loads(self.db.execute("SELECT field_updated_at FROM contacts WHERE id = ?",
                                                    [contact_id]).fetchone()[0] or "{}")
                stamps["status"] = self.now
                self.db.execute("UPDATE contacts SET status = ?, updated_at = ?, field_updated_at = ? WHERE id = ?",
                                [_status_for(reason), self.now, json.dumps(stamps, sort_keys=True), contact_id])
                self.summary.contacts_suppressed += 1

    def deliveries(self) -> None:
        cols = [c for c in self.columns("deliveries") if c != "id"]
        for row in self.other.execute(f"SELECT id, {', '.join(cols)} FROM deliveries ORDER BY id"):
            theirs = dict(row)
            contact_id = self.contact_ids.get(theirs["contact_id"]) if theirs["contact_id"] is not None else None
            data = {c: theirs[c] for c in cols}
            data["contact_id"] = contact_id
            if contact_id is None:  # an erased person: keep the figures, not the person
                data["email"] = data["last_reply"] = None
                mine = self.db.execute(
                    "SELECT id, status FROM deliveries WHERE campaign = ? AND contact_id IS NULL AND message_id IS ? "
                    "AND queued_at = ?", [data["campaign"], data.get("message_id"), data["queued_at"]]).fetchone()
            else:
                data["email"] = self.db.execute("SELECT email FROM contacts WHERE id = ?", [contact_id]).fetchone()[0]
                mine = self.db.execute("SELECT id, status FROM deliveries WHERE campaign = ? AND contact_id = ?",
                                       [data["campaign"], contact_id]).fetchone()
            if mine is None:
                cursor = self.db.execute(
                    f"INSERT INTO deliveries ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
                    list(data.values()))
                self.delivery_ids[theirs["id"]] = int(cursor.lastrowid or 0)
                self.summary.deliveries_added += 1
                continue
            self.delivery_ids[theirs["id"]] = int(mine[0])
            if _RANK.get(theirs["status"], 0) > _RANK.get(mine[1], 0):
                update = {k: data[k] for k in ("status", "attempts", "last_reply", "message_id", "sent_at",
                                               "updated_at") if k in data}
                self.db.execute(f"UPDATE deliveries SET {', '.join(f'{k} = ?' for k in update)} WHERE id = ?",
                                [*update.values(), mine[0]])
                self.summary.deliveries_updated += 1

    def events(self) -> None:
        cols = [c for c in self.columns("events") if c != "id"]
        for row in self.other.execute(f"SELECT {', '.join(cols)} FROM events ORDER BY id"):
            data = dict(row)
            if data["contact_id"] is not None:
                data["contact_id"] = self.contact_ids.get(data["contact_id"])
                if data["contact_id"] is None:
                    data["detail"], data["source_id"] = "", None
            if data.get("delivery_id") is not None:
                data["delivery_id"] = self.delivery_ids.get(data["delivery_id"])
            exists = self.db.execute(
                "SELECT 1 FROM events WHERE type = ? AND contact_id IS ? AND campaign IS ? AND source IS ? "
                "AND source_id IS ? AND created_at = ? AND bounce_type IS ? AND detail = ?",
                [data["type"], data["contact_id"], data.get("campaign"), data.get("source"), data.get("source_id"),
                 data["created_at"], data.get("bounce_type"), data.get("detail", "")]).fetchone()
            if exists:
                continue
            cursor = self.db.execute(
                f"INSERT OR IGNORE INTO events ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
                list(data.values()))
            self.summary.events_added += cursor.rowcount


def _status_for(reason: str) -> str:
    """The contact status a suppression reason stands for."""
    text = reason.lower()
    if "complain" in text:
        return ContactStatus.COMPLAINED.value
    if "bounce" in text:
        return ContactStatus.BOUNCED.value
    return ContactStatus.UNSUBSCRIBED.value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "[{" and b[:1] in "[{":
        try:
            return bool(json.loads(a) == json.loads(b))
        except ValueError:
            pass
    return bool(a == b or (_empty(a) and _empty(b)))


def _empty(value: Any) -> bool:
    return value is None or value in ("", "[]", "{}")


def _show(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


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
        dest = sqlite3.connect(partial)
        try:
            db.conn.backup(dest)
            ok = dest.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dest.close()
        if ok != "ok":
            raise DatabaseError(f"The backup {target} failed its integrity check ({ok})", "Try again.")
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as error:
        partial.unlink(missing_ok=True)
        raise DatabaseError(f"Cannot write the backup {target} ({error})",
                            "Check the disk space and the folder's permissions.") from None
    return target.stat().st_size
