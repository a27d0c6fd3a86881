"""outreach.contacts.editing as a library: add one, edit one, tag many (the CLI's own tests cover the output)."""

from __future__ import annotations

import pytest

from outreach.contacts.editing import add_contact, edit_contact, tag_contacts
from outreach.contacts.model import ContactFilter, get_contact, suppress
from outreach.db.schema import Database
from outreach.errors import InputError, NotFoundError


def test_add_cleans_fields_and_refuses_known_and_suppressed(db: Database, clock) -> None:
    added = add_contact(db, clock, "ana@ayto.example.org", {"name": "Ana", "kind": "Authority", "country": "Spain",
                                                             "language": None, "tags": ["b", "a"], "role": ""})
    assert (added.kind, added.country, added.language, added.tags, added.role) == ("authority", "ES", "es",
                                                                                  ["a", "b"], "")
    with pytest.raises(InputError, match="already a contact"):
        add_contact(db, clock, "ana@ayto.example.org", {"name": "Ana"})
    suppress(db, clock, "gone@ayto.example.org", "erased")
    with pytest.raises(InputError, match="suppression list"):
        add_contact(db, clock, "gone@ayto.example.org", {"name": "Gone"})
    assert get_contact(db, "gone@ayto.example.org") is None


def test_edit_changes_given_fields_and_attributes(db: Database, clock) -> None:
    add_contact(db, clock, "jan@gmina.example.org", {"name": "Jan", "attributes": {"Phone": "1", "Fax": "2"}})
    edited = edit_contact(db, clock, "Jan@Gmina.example.org", {"role": "wójt", "name": None},
                          {"Phone": "3", "Fax": ""})
    assert (edited.name, edited.role, edited.attributes) == ("Jan", "wójt", {"Phone": "3"})
    with pytest.raises(InputError, match="Nothing to change"):
        edit_contact(db, clock, "jan@gmina.example.org", {"name": None})
    with pytest.raises(NotFoundError):
        edit_contact(db, clock, "nobody@gmina.example.org", {"name": "X"})


def test_tag_by_address_or_filter_all_or_nothing(db: Database, clock) -> None:
    for address, country in (("a@x.example.org", "PL"), ("b@x.example.org", "PL"), ("c@x.example.org", "LV")):
        add_contact(db, clock, address, {"country": country})
    assert tag_contacts(db, clock, ["speakers"], [], ContactFilter.parse(countries=["PL"]), add=True) == 2
    assert tag_contacts(db, clock, ["speakers"], [], ContactFilter.parse(countries=["PL"]), add=True) == 0
    with pytest.raises(NotFoundError):
        tag_contacts(db, clock, ["x"], ["c@x.example.org", "nobody@x.example.org"], ContactFilter(), add=True)
    contact = get_contact(db, "c@x.example.org")
    assert contact is not None and contact.tags == []
    assert tag_contacts(db, clock, ["speakers"], ["a@x.example.org"], ContactFilter(), add=False) == 1
