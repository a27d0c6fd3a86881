"""The contacts core (outreach/contacts.py): normalising, cleaning, adding, status, suppression, erasure, filters."""

from __future__ import annotations

import pytest
from clock_support import FakeClock
from hypothesis import given
from hypothesis import strategies as st

from outreach.contacts.model import (
    ContactFilter,
    clean_fields,
    count_contacts,
    erase,
    get_contact,
    insert_contact,
    is_suppressed,
    iter_contacts,
    normalize_email,
    require_contact,
    set_status,
    suppress,
    unsuppress,
    update_contact,
)
from outreach.db.schema import Database, suppression_hash
from outreach.errors import InputError, NotFoundError
from outreach.models import ContactStatus


@pytest.mark.parametrize(("raw", "expected"), [
    ("Jan.Kowalski@Gmina.Example.ORG", "jan.kowalski@gmina.example.org"),
    ("  anna@x.example.org ", "anna@x.example.org"),
    ("ana@CAFE\u0301.example", "ana@café.example"),
    ("a@xn--caf-dma.example", "a@café.example"),
])
def test_normalize_email(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "plain", "a@b", "a@@b.example.org", "a@x.test", "a\n@x.example.org",
                                 "a@x.example.org\r\nBcc: x@y.example.org"])
def test_normalize_email_refuses(raw: str) -> None:
    with pytest.raises(InputError):
        normalize_email(raw)


@given(st.text(max_size=40))
def test_normalize_email_raises_only_input_error(raw: str) -> None:
    try:
        assert "@" in normalize_email(raw)
    except InputError:
        pass


def test_clean_fields() -> None:
    cleaned = clean_fields({"name": " Ελένη ", "kind": "Supplier", "country": "Česko", "language": "polski",
                            "tags": "b, a, ,a", "attributes": {"Tel": " 1 "}, "consent_basis": ""})
    assert cleaned == {"name": "Ελένη", "kind": "supplier", "country": "CZ", "language": "pl", "tags": ["a", "b"],
                       "attributes": {"Tel": "1"}, "consent_basis": None}
    for bad in ({"name": "a\x00b"}, {"kind": "vendor"}, {"country": "Narnia"}, {"colour": "red"},
                {"attributes": {"x": "a\nb"}}):
        with pytest.raises(InputError):
            clean_fields(bad)


def test_insert_update_and_language_default(db: Database, clock: FakeClock) -> None:
    contact = insert_contact(db, clock, "a@x.example.org", clean_fields({"name": "A", "country": "GR"}))
    assert (contact.language, contact.status, contact.created_at) == ("el", "active", "2026-11-25T09:00:00Z")
    clock.advance(60)
    updated = update_contact(db, clock, contact, {"role": "buyer", "name": "A"})
    assert updated.role == "buyer" and updated.updated_at == "2026-11-25T09:01:00Z"
    assert updated.field_updated_at["role"] == "2026-11-25T09:01:00Z" and "name" not in (
        set(updated.field_updated_at) - set(contact.field_updated_at))
    assert update_contact(db, clock, updated, {"role": "buyer"}) is updated


def test_status_suppression_and_reactivation(db: Database, clock: FakeClock) -> None:
    contact = insert_contact(db, clock, "s@x.example.org", {})
    bounced = set_status(db, clock, contact, ContactStatus.BOUNCED, "hard bounce")
    assert bounced.status != ContactStatus.ACTIVE and is_suppressed(db, "s@x.example.org")
    active = set_status(db, clock, bounced, ContactStatus.ACTIVE)
    assert active.status == ContactStatus.ACTIVE and not is_suppressed(db, "s@x.example.org")
    suppress(db, clock, "t@x.example.org", "manual")
    suppress(db, clock, "t@x.example.org", "manual")
    assert is_suppressed(db, "t@x.example.org")
    unsuppress(db, "t@x.example.org")
    assert not is_suppressed(db, "t@x.example.org")


def test_erase_removes_the_person_everywhere(db: Database, clock: FakeClock) -> None:
    contact = insert_contact(db, clock, "gone@x.example.org", {"name": "Gone Person"})
    db.execute("INSERT INTO campaigns (slug, name, source_language, created_at) VALUES ('c', 'C', 'en', 'x')")
    db.execute("INSERT INTO deliveries (campaign, contact_id, email, kind, language, queued_at, updated_at, "
               "last_reply) VALUES ('c', ?, 'gone@x.example.org', 'other', 'en', 'x', 'x', '550 gone@x')",
               [contact.id])
    db.execute("INSERT INTO events (type, contact_id, detail, created_at) VALUES ('bounced', ?, 'gone@x', 'x')",
               [contact.id])
    erase(db, clock, "Gone@X.example.org")
    assert get_contact(db, "gone@x.example.org") is None
    dump = [tuple(row) for table in ("contacts", "deliveries", "events", "signups")
            for row in db.execute(f"SELECT * FROM {table}").fetchall()]
    assert not any("gone" in str(value).lower() for row in dump for value in row)
    assert db.execute("SELECT reason FROM suppressions WHERE hash = ?",
                      [suppression_hash("gone@x.example.org")]).fetchone()[0] == "erased"
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 1  # counts kept for the reports
    with pytest.raises(NotFoundError):
        erase(db, clock, "gone@x.example.org")


def test_filters(db: Database, clock: FakeClock) -> None:
    insert_contact(db, clock, "pl@x.example.org", clean_fields({"name": "Małgorzata Żółkiewska", "country": "PL",
                                                                "kind": "authority", "tags": ["bsi", "hospital"]}))
    insert_contact(db, clock, "gr@x.example.org", clean_fields({"organisation": "ΔΉΜΟΣ Αθηναίων", "country": "GR",
                                                                "kind": "supplier", "tags": ["bsi"]}))
    insert_contact(db, clock, "sk@x.example.org", clean_fields({"country": "SK", "language": "hu"}))

    def emails(**kwargs) -> list[str]:
        return [c.email for c in iter_contacts(db, ContactFilter.parse(**kwargs), order_by="email")]

    assert emails(countries=["Polska,Ελλάδα"]) == ["gr@x.example.org", "pl@x.example.org"]
    assert emails(kinds=["authority"]) == ["pl@x.example.org"]
    assert emails(languages=["Hungarian"]) == ["sk@x.example.org"]
    assert emails(tags=["bsi", "hospital"]) == ["pl@x.example.org"]
    assert emails(search="żółkiewska") == ["pl@x.example.org"]
    assert emails(search="δήμος") == ["gr@x.example.org"]
    assert emails(statuses=["active"]) == ["gr@x.example.org", "pl@x.example.org", "sk@x.example.org"]
    assert count_contacts(db, ContactFilter.parse(tags=["bsi"])) == 2
    with pytest.raises(InputError, match="sleeping"):
        ContactFilter.parse(statuses=["sleeping"])
    with pytest.raises(NotFoundError):
        require_contact(db, "nobody@x.example.org")


def test_erasure_outranks_an_earlier_unsubscribe(db, clock) -> None:
    from outreach.tracking.events import unsubscribe

    contact = insert_contact(db, clock, "left@x.example.org", {"name": "Left Person"})
    unsubscribe(db, clock, contact, source="web")
    erase(db, clock, "left@x.example.org")
    rows = db.execute("SELECT reason FROM suppressions WHERE hash = ?",
                      [suppression_hash("left@x.example.org")]).fetchall()
    assert [row[0] for row in rows] == ["erased"]


def test_stored_contacts_carry_the_enums(db: Database, clock: FakeClock) -> None:
    from outreach.models import Kind

    contact = insert_contact(db, clock, "k@x.example.org", clean_fields({"kind": "Supplier", "country": "PL"}))
    assert contact.kind is Kind.SUPPLIER and contact.status is ContactStatus.ACTIVE
    assert get_contact(db, "k@x.example.org") == contact


def test_count_by_groups_and_remove_contacts(db: Database, clock: FakeClock) -> None:
    from outreach.contacts.model import count_by, remove_contacts

    for email, country in (("a@x.example.org", "PL"), ("b@x.example.org", "PL"), ("c@x.example.org", None)):
        insert_contact(db, clock, email, clean_fields({"country": country, "kind": "authority"}))
    counts = count_by(db, None, ["country", "kind", "country"])
    assert (counts.total, counts.by) == (3, ("country", "kind"))
    assert counts.groups == (((None, "authority"), 1), (("PL", "authority"), 2))
    assert count_by(db, ContactFilter.parse(countries=["PL"])).groups == ()
    with pytest.raises(NotFoundError):
        remove_contacts(db, ["a@x.example.org", "nobody@x.example.org"])
    assert get_contact(db, "a@x.example.org") is not None  # all or none
    assert [c.email for c in remove_contacts(db, ["a@x.example.org"])] == ["a@x.example.org"]
    assert get_contact(db, "a@x.example.org") is None and not is_suppressed(db, "a@x.example.org")


def test_only_editable_columns_can_be_updated(db: Database, clock: FakeClock) -> None:
    from outreach.db.contacts import update_contact as store_update

    contact = insert_contact(db, clock, "u@x.example.org", {})
    with pytest.raises(ValueError, match="email"):
        store_update(db, contact.id, {"email": "other@x.example.org"}, "now", {})


def test_model_keeps_the_names_other_packages_import() -> None:
    """delivery, tracking, web and cli import these from outreach.contacts.model."""
    from outreach.contacts import model

    for name in ("normalize_email", "clean_text", "clean_kind", "clean_fields", "Contact", "ContactFilter",
                 "get_contact", "get_contact_by_id", "require_contact", "insert_contact", "update_contact",
                 "set_status", "erase", "is_suppressed", "suppress", "unsuppress", "iter_contacts",
                 "count_contacts", "EDITABLE_FIELDS"):
        assert hasattr(model, name), name
