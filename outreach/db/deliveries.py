"""The `deliveries` table: one row per (campaign, contact), `queued → sending → sent | failed | unknown`.

Every function takes the Database first and writes what it is asked in one statement (or, for `enqueue`, one
transaction per batch); the sender decides when to commit around them (`db.atomic()`). Queries that pick the
deliveries a run may send join `contacts` and apply the run's audience conditions (`ContactFilter`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from outreach.db.contacts import filter_sql
from outreach.db.schema import Database
from outreach.models import DeliveryStatus
from outreach.models.contacts import Contact, ContactFilter
from outreach.models.deliveries import (
    FailedDelivery,
    FailureGroup,
    NewDelivery,
    Outcome,
    QueueCell,
    QueuedDelivery,
    Retries,
    UnknownDelivery,
)

BATCH = 500  # rows per enqueue transaction
REPLY_LIMIT = 500  # characters of a server reply kept in `last_reply`

QUEUED, SENDING, SENT = DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT
FAILED, UNKNOWN = DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN


def _conditions(conditions: Sequence[ContactFilter], alias: str = "c") -> tuple[str, list[object]]:
    """All the conditions joined with AND over `contacts <alias>` ("1" when there are none)."""
    clauses: list[str] = []
    params: list[object] = []
    for condition in conditions:
        where, values = filter_sql(condition, alias)
        clauses.append(f"({where})")
        params.extend(values)
    return " AND ".join(clauses) or "1", params


# --- filling and repairing the queue ----------------------------------------------------------------------------


def enqueue(db: Database, now: str, campaign: str, rows: Iterable[NewDelivery]) -> int:
    """Queue each row that has no delivery for this campaign yet; returns how many were added.

    Committed every BATCH rows, so that an audience of 100,000 never sits in memory or in one transaction.
    """
    added = 0
    batch: list[NewDelivery] = []

    def flush() -> None:
        nonlocal added
        with db.atomic():
            for row in batch:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO deliveries (campaign, contact_id, email, country, kind, language, status, "
                    "queued_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [campaign, *row, QUEUED, now, now])
                added += cursor.rowcount
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return added


def mark_interrupted(db: Database, now: str, campaign: str) -> list[tuple[int, str | None]]:
    """`sending` rows become `unknown` (their process died mid-message); returns their (id, email)."""
    rows = db.execute("SELECT id, email FROM deliveries WHERE campaign = ? AND status = ?",
                      [campaign, SENDING]).fetchall()
    if rows:
        db.execute("UPDATE deliveries SET status = ?, updated_at = ?, last_reply = coalesce(last_reply, "
                   "'interrupted after the message was handed to the server') WHERE campaign = ? AND status = ?",
                   [UNKNOWN, now, campaign, SENDING])
    return [(int(row[0]), row[1]) for row in rows]


def requeue_unknown(db: Database, now: str, campaign: str) -> int:
    """`unknown` deliveries whose contact still exists go back to `queued` (keeping their Message-ID)."""
    cursor = db.execute("UPDATE deliveries SET status = ?, next_attempt_at = NULL, updated_at = ? "
                        "WHERE campaign = ? AND status = ? AND contact_id IS NOT NULL",
                        [QUEUED, now, campaign, UNKNOWN])
    return cursor.rowcount


def reopen_failed(db: Database, delivery_id: int, now: str) -> None:
    """A delivery just recorded `failed` goes back to `queued`, its attempt not counted (the refusal turned out
    to be the sender's, not the recipient's); the reply is kept."""
    db.execute("UPDATE deliveries SET status = ?, attempts = max(0, attempts - 1), next_attempt_at = NULL, "
               "updated_at = ? WHERE id = ? AND status = ?", [QUEUED, now, delivery_id, FAILED])


def failed_deliveries(db: Database, campaign: str, conditions: Sequence[ContactFilter] = ()
                      ) -> list[FailedDelivery]:
    """The campaign's failed deliveries whose contact still exists and matches the conditions, with the
    contact's status and the last reply."""
    where, params = _conditions(conditions)
    return [FailedDelivery(int(delivery_id), email, reply or "", status) for delivery_id, email, reply, status in
            db.execute("SELECT d.id, c.email, d.last_reply, c.status FROM deliveries d JOIN contacts c "
                       f"ON c.id = d.contact_id WHERE d.campaign = ? AND d.status = ? AND {where} ORDER BY d.id",
                       [campaign, FAILED, *params])]


def requeue_failed(db: Database, now: str, delivery_ids: Sequence[int]) -> int:
    """These failed deliveries go back to `queued` with their attempts reset (they keep their Message-ID)."""
    requeued = 0
    with db.atomic():
        for delivery_id in delivery_ids:
            cursor = db.execute("UPDATE deliveries SET status = ?, attempts = 0, next_attempt_at = NULL, "
                                "updated_at = ? WHERE id = ? AND status = ?", [QUEUED, now, delivery_id, FAILED])
            requeued += cursor.rowcount
    return requeued


def drop_queued(db: Database, delivery_id: int) -> None:
    """Delete a delivery that is still `queued` (its contact may no longer be mailed)."""
    db.execute("DELETE FROM deliveries WHERE id = ? AND status = ?", [delivery_id, QUEUED])


# --- what a run sends -----------------------------------------------------------------------------------------


def next_queued(db: Database, campaign: str, conditions: Sequence[ContactFilter], after: int, now: str,
                limit: int) -> list[QueuedDelivery]:
    """Up to `limit` deliveries due at `now` with an id above `after`, in id order, whose contact matches."""
    where, params = _conditions(conditions)
    rows = db.query(
        "SELECT d.id AS d_id, d.language AS d_language, d.kind AS d_kind, d.attempts AS d_attempts, "
        "d.message_id AS d_message_id, c.* FROM deliveries d JOIN contacts c ON c.id = d.contact_id "
        f"WHERE d.campaign = ? AND d.status = ? AND d.id > ? AND {where} "
        "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) ORDER BY d.id LIMIT ?",
        [campaign, QUEUED, after, *params, now, limit])
    # Contact.from_row keeps only the contact's own columns, so the joined row goes in as it is.
    return [QueuedDelivery(row["d_id"], campaign, Contact.from_row(row), row["d_language"], row["d_kind"],
                           row["d_attempts"], row["d_message_id"]) for row in rows]


def count_queued(db: Database, campaign: str, conditions: Sequence[ContactFilter]) -> int:
    """Queued deliveries (due or not) whose contact matches the conditions."""
    where, params = _conditions(conditions)
    return int(db.execute(
        "SELECT count(*) FROM deliveries d JOIN contacts c ON c.id = d.contact_id "
        f"WHERE d.campaign = ? AND d.status = ? AND {where}", [campaign, QUEUED, *params]).fetchone()[0])


def next_attempt_at(db: Database, campaign: str, conditions: Sequence[ContactFilter]) -> str | None:
    """The earliest time a deferred (4xx) delivery that matches the conditions may be tried again."""
    where, params = _conditions(conditions)
    row = db.execute(
        "SELECT min(d.next_attempt_at) FROM deliveries d JOIN contacts c ON c.id = d.contact_id "
        f"WHERE d.campaign = ? AND d.status = ? AND {where}", [campaign, QUEUED, *params]).fetchone()
    return row[0] if row and row[0] else None


def sent_since(db: Database, since: str) -> list[str]:
    """`sent_at` of every message sent (by any campaign) at or after `since`, for a rate limit's window."""
    return [row[0] for row in db.execute("SELECT sent_at FROM deliveries WHERE sent_at >= ?", [since])]


def mark_sending(db: Database, delivery_id: int, message_id: str, now: str) -> bool:
    """`queued → sending`, counting the attempt; False when the row was not `queued` any more."""
    cursor = db.execute("UPDATE deliveries SET status = ?, attempts = attempts + 1, message_id = ?, updated_at = ? "
                        "WHERE id = ? AND status = ?", [SENDING, message_id, now, delivery_id, QUEUED])
    return cursor.rowcount == 1


def settle(db: Database, delivery_id: int, outcome: Outcome, now: str) -> None:
    """Record how an attempt ended (see Outcome); the reply is kept up to REPLY_LIMIT characters."""
    reply = None if outcome.reply is None else outcome.reply[:REPLY_LIMIT]
    status = outcome.status
    if status == SENT:
        db.execute("UPDATE deliveries SET status = ?, last_reply = ?, sent_at = ?, updated_at = ?, "
                   "next_attempt_at = NULL, relay = ? WHERE id = ?", [status, reply, now, now, outcome.relay,
                                                                      delivery_id])
    elif status == FAILED:
        db.execute("UPDATE deliveries SET status = ?, last_reply = ?, updated_at = ?, next_attempt_at = NULL, "
                   "relay = ? WHERE id = ?", [status, reply, now, outcome.relay, delivery_id])
    elif status == UNKNOWN:
        db.execute("UPDATE deliveries SET status = ?, last_reply = ?, updated_at = ?, relay = ? WHERE id = ?",
                   [status, reply, now, outcome.relay, delivery_id])
    elif status == QUEUED and not outcome.counted:
        db.execute("UPDATE deliveries SET status = ?, attempts = attempts - 1, updated_at = ? "
                   "WHERE id = ? AND status = ?", [status, now, delivery_id, SENDING])
    elif status == QUEUED:
        db.execute("UPDATE deliveries SET status = ?, last_reply = ?, next_attempt_at = ?, updated_at = ? "
                   "WHERE id = ?", [status, reply, outcome.retry_at, now, delivery_id])
    else:
        raise ValueError(f"an attempt cannot end as {status!r}")


# --- what the summaries show ------------------------------------------------------------------------------------


def contact_ids(db: Database, campaign: str) -> set[int]:
    """The contacts that have a delivery (in any state) for this campaign."""
    return {row[0] for row in db.execute("SELECT contact_id FROM deliveries WHERE campaign = ?", [campaign])}


def queued_contact_ids(db: Database, campaign: str) -> set[int]:
    """The contacts whose delivery of this campaign is still queued (an interrupted run)."""
    return {row[0] for row in db.execute("SELECT contact_id FROM deliveries WHERE campaign = ? AND status = ?",
                                         [campaign, DeliveryStatus.QUEUED.value])}


def status_counts(db: Database, campaign: str) -> dict[DeliveryStatus, int]:
    """Deliveries of the campaign per status (statuses without any are left out)."""
    return {DeliveryStatus(status): count for status, count in db.execute(
        "SELECT status, count(*) FROM deliveries WHERE campaign = ? GROUP BY status", [campaign])}


def relay_counts(db: Database, campaign: str) -> list[tuple[str, DeliveryStatus, int]]:
    """(relay, status, deliveries) of the campaign's deliveries that name a relay (OUTREACH_RELAYS)."""
    return [(relay, DeliveryStatus(status), count) for relay, status, count in db.execute(
        "SELECT relay, status, count(*) FROM deliveries WHERE campaign = ? AND relay IS NOT NULL "
        "GROUP BY relay, status ORDER BY relay, status", [campaign])]


def sent_span(db: Database, campaign: str) -> tuple[str | None, str | None]:
    """The first and last `sent_at` of the campaign's deliveries (written per message, so true after a crash)."""
    first, last = db.execute("SELECT min(sent_at), max(sent_at) FROM deliveries WHERE campaign = ?",
                             [campaign]).fetchone()
    return first, last


def queue_cells(db: Database, campaign: str) -> list[QueueCell]:
    """Deliveries of the campaign per country × language × status, in that order."""
    return [QueueCell(country, language, DeliveryStatus(status), count) for country, language, status, count in
            db.execute("SELECT country, language, status, count(*) FROM deliveries WHERE campaign = ? "
                       "GROUP BY country, language, status ORDER BY country, language, status", [campaign])]


def queued_cells(db: Database, campaign: str, conditions: Sequence[ContactFilter]) -> list[QueueCell]:
    """Queued deliveries whose contact matches the conditions, per country × language."""
    where, params = _conditions(conditions)
    return [QueueCell(country, language, QUEUED, count) for country, language, count in db.execute(
        "SELECT d.country, d.language, count(*) FROM deliveries d JOIN contacts c ON c.id = d.contact_id "
        f"WHERE d.campaign = ? AND d.status = ? AND {where} GROUP BY d.country, d.language",
        [campaign, QUEUED, *params])]


def failure_groups(db: Database, campaign: str) -> list[FailureGroup]:
    """Failed deliveries grouped by their last reply, most frequent first."""
    return [FailureGroup(reply or "", count) for reply, count in db.execute(
        "SELECT last_reply, count(*) AS n FROM deliveries WHERE campaign = ? AND status = ? "
        "GROUP BY last_reply ORDER BY n DESC", [campaign, FAILED])]


def unknown_deliveries(db: Database, campaign: str) -> list[UnknownDelivery]:
    """The campaign's `unknown` deliveries, in the order they were queued."""
    return [UnknownDelivery(email, message_id, reply or "") for email, message_id, reply in db.execute(
        "SELECT email, message_id, last_reply FROM deliveries WHERE campaign = ? AND status = ? ORDER BY id",
        [campaign, UNKNOWN])]


def retries(db: Database, campaign: str) -> Retries:
    """How many queued deliveries wait for a retry after a temporary refusal, and the earliest retry."""
    count, first = db.execute("SELECT count(*), min(next_attempt_at) FROM deliveries WHERE campaign = ? AND "
                              "status = ? AND next_attempt_at IS NOT NULL", [campaign, QUEUED]).fetchone()
    return Retries(int(count), first)


def audience_statuses(db: Database, conditions: Sequence[ContactFilter]) -> dict[str, int]:
    """Contacts matching the conditions per contact status (what a send's summary calls not mailable)."""
    # On contacts alone; here because only the send summary asks, with the same conditions as the queue.
    where, params = _conditions(conditions)
    return {str(status): int(count) for status, count in db.execute(
        f"SELECT c.status, count(*) FROM contacts c WHERE {where} GROUP BY c.status", params)}

