"""Commands of the sending part (filled in by its issue)."""

from __future__ import annotations

from outreach.cli._common import App


def register(app: App) -> None:
    """Add this part's commands and groups to the root app."""
