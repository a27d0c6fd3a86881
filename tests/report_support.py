"""A hand-built history for the report and KPI tests, written through the project's own stores.

Contacts through `contacts.model`, campaigns through `db.campaigns`, deliveries through the queue's own steps
(`enqueue` → `mark_sending` → `settle`, as the sender does), bounces, complaints and unsubscribes through
`tracking.events`, erasure through `contacts.model.erase`; only the delivery id is looked up with SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from outreach.clock import utcnow_iso
from outreach.contacts.model import Contact, clean_fields, erase, insert_contact
from outreach.db import campaigns as campaign_store
from outreach.db import deliveries as delivery_store
from outreach.db.schema import Database
from outreach.models import DeliveryStatus
from outreach.models.deliveries import NewDelivery, Outcome
from outreach.tracking.events import complain, hard_bounce, soft_bounce, unsubscribe

SPRING, MAY, AUTUMN = "spring", "may", "autumn"
S_DAY, M_DAY = "2027-02-10T09:00Z", "2027-05-05T09:00Z"


class Ledger:
    """Writes a history day by day: each call happens at the time given (the test clock is moved there)."""

    def __init__(self, db: Database, clock: Any) -> None:
        self.db, self.clock = db, clock

    def at(self, stamp: str) -> str:
        """Move the clock to `stamp` (ISO, UTC), forwards or back; returns the stamp as outreach writes it."""
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
        self.clock.advance((when - self.clock.now()).total_seconds())
        return utcnow_iso(self.clock)

    def person(self, email: str, country: str, kind: str, organisation: str = "", *, when: str = "2026-09-01T08:00Z",
               consent_basis: str | None = None) -> Contact:
        self.at(when)
        fields: dict[str, Any] = {"country": country, "kind": kind, "name": email.split("@")[0].title()}
        if organisation:
            fields["organisation"] = organisation
        if consent_basis:
            fields["consent_basis"] = consent_basis
        return insert_contact(self.db, self.clock, email, clean_fields(fields))

    def campaign(self, slug: str, name: str, *, when: str = "2026-09-01T08:00Z") -> None:
        campaign_store.record_campaign(self.db, self.at(when), slug, name, "en", {})

    def send(self, campaign: str, contact: Contact, *, when: str, status: DeliveryStatus = DeliveryStatus.SENT,
             language: str | None = None) -> int:
        """Queue one message and take it as far as `status`, as the sender would; returns the delivery id."""
        now = self.at(when)
        delivery_store.enqueue(self.db, now, campaign, [NewDelivery(
            contact.id, contact.email, contact.country, contact.kind, language or contact.language or "en")])
        delivery_id = int(self.db.execute("SELECT id FROM deliveries WHERE campaign = ? AND contact_id = ?",
                                          [campaign, contact.id]).fetchone()[0])
        if status == DeliveryStatus.QUEUED:
            return delivery_id
        with self.db.atomic():
            delivery_store.mark_sending(self.db, delivery_id, f"<{campaign}.{contact.id}@news.example.org>", now)
            if status != DeliveryStatus.SENDING:
                reply = {DeliveryStatus.SENT: "250 2.0.0 Ok", DeliveryStatus.FAILED: "550 5.1.1 No such user"}
                delivery_store.settle(self.db, delivery_id, Outcome(status, reply.get(status)), now)
            if status == DeliveryStatus.SENT:
                campaign_store.record_sent_span(self.db, campaign, now, now)
        return delivery_id

    def erase(self, contact: Contact, *, when: str) -> None:
        self.at(when)
        erase(self.db, self.clock, contact.email)


def spring_history(db: Database, clock: Any) -> Ledger:
    """The history the definitions are pinned on (period 2027-01-01 … 2027-06-30):

    | who | campaign | what happened | counts as |
    |---|---|---|---|
    | a1 PL authority "Gmina Kraków" | spring, may | sent twice | delivered ×2, reached |
    | a2 PL authority " GMINA KRAKÓW " | spring | sent | delivered, reached; the same organisation as a1 |
    | a3 PL authority "Gmina Wrocław" | spring | sent; hard bounce AFTER the period | bounced; not reached |
    | a4 PL authority "Gmina Gdańsk" | spring | refused at RCPT (a hard bounce event too) | failed; not bounced |
    | s1 DE supplier "Kooperative Nord" | spring | sent; a soft bounce | delivered, soft bounce, reached |
    | s2 DE supplier (no organisation) | spring | sent; a complaint | delivered, complaint, reached, no organisation |
    | s3 DE supplier "Werkstatt Süd" | spring | sent; web unsubscribe (no delivery id) | delivered, unsubscribe |
    | e1, e2 FR other | spring (both), may (e1) | sent, then both erased | 2 people (not 3) without identity |
    | q1 PL authority | spring | still queued | targeted, pending |
    | u1 PL supplier | spring | interrupted while sending | targeted, unknown |
    | o1 PL authority | autumn (2026-10) | sent before the period | nothing in the period |
    """
    book = Ledger(db, clock)
    for slug, name in ((SPRING, "Spring invitation"), (MAY, "May newsletter"), (AUTUMN, "Autumn call")):
        book.campaign(slug, name)
    sent = DeliveryStatus.SENT
    a1 = book.person("a1@gmina.example.org", "PL", "authority", "Gmina Kraków", consent_basis="legitimate interest")
    a2 = book.person("a2@gmina.example.org", "PL", "authority", " GMINA KRAKÓW ")
    a3 = book.person("a3@gmina.example.org", "PL", "authority", "Gmina Wrocław")
    a4 = book.person("a4@gmina.example.org", "PL", "authority", "Gmina Gdańsk")
    s1 = book.person("s1@coop.example.com", "DE", "supplier", "Kooperative Nord", consent_basis="consent")
    s2 = book.person("s2@coop.example.com", "DE", "supplier")
    s3 = book.person("s3@coop.example.com", "DE", "supplier", "Werkstatt Süd")
    e1 = book.person("e1@ville.example.net", "FR", "other", "Ville de Lyon")
    e2 = book.person("e2@ville.example.net", "FR", "other", "Ville de Lille")
    q1 = book.person("q1@gmina.example.org", "PL", "authority")
    u1 = book.person("u1@coop.example.com", "PL", "supplier")
    o1 = book.person("o1@gmina.example.org", "PL", "authority", "Gmina Łódź")
    book.send(AUTUMN, o1, when="2026-10-01T09:00Z")
    ids = {c.email[:2]: book.send(SPRING, c, when=S_DAY, status=sent) for c in (a1, a2, a3, s1, s2, s3, e1, e2)}
    ids["a4"] = book.send(SPRING, a4, when=S_DAY, status=DeliveryStatus.FAILED)
    hard_bounce(db, clock, a4, campaign=SPRING, delivery_id=ids["a4"], source="smtp", detail="550 5.1.1")
    book.send(SPRING, q1, when=S_DAY, status=DeliveryStatus.QUEUED)
    book.send(SPRING, u1, when=S_DAY, status=DeliveryStatus.UNKNOWN)
    book.send(MAY, a1, when=M_DAY)
    book.send(MAY, e1, when=M_DAY)
    book.at("2027-02-11T10:00Z")
    soft_bounce(db, clock, s1, limit=3, campaigns=2, campaign=SPRING, delivery_id=ids["s1"], source="bounce",
                source_id="soft-1")
    complain(db, clock, s2, campaign=SPRING, delivery_id=ids["s2"], source="arf", source_id="arf-1")
    unsubscribe(db, clock, s3, campaign=SPRING, source="web")
    book.erase(e1, when="2027-05-20T10:00Z")
    book.erase(e2, when="2027-05-20T10:00Z")
    book.at("2027-07-15T10:00Z")  # after the period: still the bounce of a message of the period
    hard_bounce(db, clock, a3, campaign=SPRING, delivery_id=ids["a3"], source="bounce", source_id="hard-1")
    return book
