"""The subscriber pages (Starlette): sign-up with double opt-in, unsubscribe, preferences, archive.

`create_app` is imported lazily so that importing this package costs nothing for commands that do not serve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from starlette.applications import Starlette

    from outreach.clock import Clock
    from outreach.config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, db_path: Path | None = None, clock: Clock | None = None,
               allow_hosts: Iterable[str] = ()) -> Starlette:
    """The subscriber pages as an ASGI app (see `outreach.web.app.create_app`)."""
    from outreach.web.app import create_app as _create_app

    return _create_app(settings, db_path, clock, allow_hosts)
