"""`outreach browse`: the database in Datasette, read-only, with descriptions and a coordinator's canned queries.

Datasette is an optional extra (`pip install 'outreach[browse]'`). The file is opened the way Datasette opens a
mutable database — every query on a `mode=ro` connection — and not with `--immutable` (`immutable=1`), which tells
SQLite the file never changes: `outreach send` and the subscriber pages go on writing while someone browses,
and an immutable reader would not see their changes, or read half-written pages. What is shown, and the SQL of
the canned queries, is `outreach.db.browse`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach.errors import ConfigError

if TYPE_CHECKING:
    from datasette.app import Datasette

INSTALL_HINT = "Install the optional extra: pip install 'outreach[browse]'"
DEFAULT_PORT = 8001
SETTINGS = {"allow_download": False, "sql_time_limit_ms": 5000, "suggest_facets": False}


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address or name (only this machine can connect)."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _require_datasette() -> None:
    try:
        import datasette  # noqa: F401
    except ImportError:
        raise ConfigError("outreach browse needs Datasette, which is not installed", INSTALL_HINT) from None


def _quiet_errors() -> None:
    """Datasette 0.65 prints every error (a 404, a mistyped query) as a rich traceback *with the local variables*
    when rich is installed — it is, for outreach's own output — which would put query parameters (an address) and
    rows on the terminal, and takes seconds. Its own fallback, used without rich, prints nothing for those."""
    import datasette.handle_exception as handler

    handler.rich = None


def make_datasette(db_path: Path) -> Datasette:
    """A Datasette over the database file, named `contacts` (so URLs are /contacts/…), with outreach's metadata."""
    _require_datasette()
    from datasette.app import Datasette
    from datasette.database import Database as DatasetteDatabase

    from outreach.db.browse import browse_metadata, table_names
    from outreach.db.schema import connect

    db = connect(db_path)
    try:
        tables = table_names(db)
    finally:
        db.close()
    _quiet_errors()
    metadata: dict[str, Any] = browse_metadata(tables, f"outreach — {db_path.name}")
    ds = Datasette([], metadata=metadata, settings=SETTINGS)
    ds.add_database(DatasetteDatabase(ds, path=str(db_path.resolve()), is_mutable=True), name="contacts")
    return ds


def serve(ds: Datasette, host: str, port: int) -> None:
    """Serve a Datasette made by `make_datasette` until interrupted (blocks)."""
    import asyncio

    import uvicorn

    asyncio.run(ds.invoke_startup())
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on", server_header=False)
