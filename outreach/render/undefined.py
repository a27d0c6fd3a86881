"""Jinja's strict undefined, with a suggestion: `{{ contact.organisaton }}` → "… did you mean 'organisation'?"."""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import StrictUndefined
from jinja2.utils import missing

from outreach.suggest import closest


class SuggestingUndefined(StrictUndefined):
    """Fails as StrictUndefined does; a missing field of a mapping names the field and the closest one there is."""

    @property
    def _undefined_message(self) -> str:
        name, owner = self._undefined_name, self._undefined_obj
        if self._undefined_hint or owner is missing or not isinstance(name, str) or not isinstance(owner, Mapping):
            return str(super()._undefined_message)
        known = [key for key in owner if isinstance(key, str)]
        match = closest(name, known)
        if match is None:
            return f"no field {name!r} (there are: {', '.join(sorted(known))})"
        return f"no field {name!r} — did you mean {match!r}?"
