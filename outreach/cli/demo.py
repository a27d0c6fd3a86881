"""`outreach sink` (a local capture SMTP server) and `outreach demo` (outreach end to end on this machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli._common import err


def sink(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 2525,
    maildir: Annotated[Path, typer.Option("--maildir", help="Where received messages are stored.")
                       ] = Path("sink"),
) -> None:
    """Run a local capture SMTP server on 127.0.0.1 that stores and prints every message it receives."""
    import threading

    from outreach.delivery.sink import Captured, Sink

    console = err()

    def show(message: Captured) -> None:
        from rich.markup import escape

        console.print(f"{', '.join(message.recipients)}  {escape(message.subject)}  ({message.size} bytes, "
                      f"from {message.mail_from})")

    server = Sink(maildir, port, on_message=show).start()
    console.print(f"Capturing mail on 127.0.0.1:{server.port} into {maildir}/ — point outreach at it with "
                  f"OUTREACH_SMTP_HOST=127.0.0.1 OUTREACH_SMTP_PORT={server.port} OUTREACH_SMTP_SECURITY=none. "
                  "Ctrl-C stops.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print(f"Stopped; {server.count} messages captured.")
    finally:
        server.stop()


def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo (created).")] = Path("outreach-demo"),
) -> None:
    """Try outreach end to end on this machine: sample contacts, both example campaigns, a real SMTP send to a
    capture server on 127.0.0.1."""
    from outreach.demo import run_demo

    console = err()
    result = run_demo(directory, on_step=lambda text: console.print(text))
    from rich.table import Table

    if result.cells:
        languages = sorted({lang for _, lang in result.cells})
        table = Table("country", *languages, "total", box=None, pad_edge=False,
                      title="Messages received, per country × language", title_justify="left")
        for country in sorted({c for c, _ in result.cells}):
            row = [result.cells.get((country, lang), 0) for lang in languages]
            table.add_row(country, *[str(n) if n else "·" for n in row], str(sum(row)))
        console.print(table)
    for line in result.where_to_look:
        console.print(line)
