"""Suggestions for typos: the closest known name to a mistyped one (difflib), for error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.75) -> str | None:
    """The known name closest to `word` (case and surrounding spaces ignored), or None when none is close."""
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(candidate.strip().casefold(), candidate)
    matches = difflib.get_close_matches(word.strip().casefold(), list(by_key), n=1, cutoff=cutoff)
    return by_key[matches[0]] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`— did you mean 'x'?` to append to a message (with its leading space), or "" when nothing is close."""
    match = closest(word, candidates)
    return f" — did you mean {match!r}?" if match else ""
