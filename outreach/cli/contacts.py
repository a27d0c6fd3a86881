"""`outreach contacts …` (filled in by the contacts work)."""

from __future__ import annotations

from outreach.cli._common import App

app = App(help="Contact lists: add, import, list, export, erase.")
