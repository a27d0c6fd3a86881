"""How `outreach db merge` decides one contact field: what counts as the same value, and how lists unite.

- Values are compared *normalised*: text in Unicode NFC with runs of blanks as one space and no blanks at the ends;
  country codes in capitals, languages and kinds in small letters; timestamps as instants (`…Z` equals
  `…+00:00`); tag and topic lists as sets; attributes as objects. Equal after that is no change and no conflict.
- Tags are *united*, as an import adds them: the coordinator's and the expert's labels are both kept, never a
  conflict.
- Attributes are merged key by key: a key only one side has is kept; a key both have with different values
  follows the field rule (the more recently updated side wins) and is reported as `attributes.<key>`.
- Every other field (topics included: they are the subscriber's own choice) is one value: the more recently
  updated side wins, and a conflict is reported when both sides hold a value and they really differ.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from outreach.models.tracking import SQLValue

UNITED = ("tags",)  # list fields whose values from both sides are kept
_BLANKS = re.compile(r"\s+")


@dataclass
class Conflict:
    """Both databases had a different value; `kept` says which side won and why."""

    email: str
    field: str
    here: object
    there: object
    kept: str


@dataclass
class Change:
    """A field of a contact present on both sides that the merge changes here (what `--dry-run` lists)."""

    email: str
    field: str
    before: object
    after: object


def shown(value: SQLValue) -> object:
    """A value as a report shows it: JSON columns as data."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def empty(value: SQLValue) -> bool:
    """Whether a stored value holds nothing (NULL, '', an empty list or object)."""
    return value is None or (isinstance(value, str) and not value.strip()) or value in ("[]", "{}")


def _text(value: object) -> str:
    return _BLANKS.sub(" ", unicodedata.normalize("NFC", str(value))).strip()


def _instant(value: str) -> object:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value


def normalised(name: str, value: SQLValue) -> object:
    """The form two values of field `name` are compared in (see the module docstring)."""
    data = shown(value)
    if data is None or data == "":
        return None
    if isinstance(data, list):
        items = frozenset(_text(item) for item in data if _text(item))
        return items or None
    if isinstance(data, dict):
        return {_text(k): _text(v) for k, v in data.items()} or None
    text = _text(data)
    if name == "country":
        return text.upper() or None
    if name in ("language", "kind"):
        return text.lower() or None
    if name == "consent_at":
        return _instant(text)
    return text or None


def same(name: str, here: SQLValue, there: SQLValue) -> bool:
    """Whether two stored values of a field mean the same once normalised."""
    return here == there or normalised(name, here) == normalised(name, there)


def united_list(here: SQLValue, there: SQLValue) -> str | None:
    """The JSON of both lists united (sorted, as an import writes tags); None when `here` already holds it all."""
    mine, theirs = shown(here), shown(there)
    mine_items = [str(i) for i in mine] if isinstance(mine, list) else []
    their_items = [str(i) for i in theirs] if isinstance(theirs, list) else []
    known = {_text(item) for item in mine_items}
    added = [item for item in their_items if _text(item) and _text(item) not in known]
    if not added:
        return None
    merged = sorted({*mine_items, *{_text(item) for item in added}})
    return json.dumps(merged, ensure_ascii=False)


def merged_attributes(here: SQLValue, there: SQLValue, take_there: bool) -> tuple[str | None, list[str]]:
    """(the merged attributes' JSON or None when `here` stays as it is, the keys both sides hold differently)."""
    mine, theirs = shown(here), shown(there)
    mine = mine if isinstance(mine, dict) else {}
    theirs = theirs if isinstance(theirs, dict) else {}
    merged = dict(mine)
    differing = []
    for key, value in theirs.items():
        if key not in mine or empty(mine[key]):
            merged[key] = value
        elif _text(mine[key]) != _text(value):
            differing.append(key)
            if take_there:
                merged[key] = value
    if merged == mine:
        return None, differing
    return json.dumps(merged, ensure_ascii=False, sort_keys=True), differing
