"""`outreach status SLUG`: a campaign's queue, on stdout."""

from __future__ import annotations

from typing import Annotated

import typer

from outreach.cli._common import out, print_json, state


def status(
    slug: Annotated[str, typer.Argument(help="The campaign.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a campaign's queue: counts per status, failures grouped by reply, unknown deliveries, retries."""
    from outreach.delivery.plan import queue_status

    queue = queue_status(state().db, slug)
    if json_output:
        print_json(queue.as_dict())
        return
    console = out()
    if not queue.total:
        console.print(f"Campaign {slug!r} has no deliveries yet. Send it with: outreach send {slug}")
        return
    counts = queue.counts
    console.print(f"{slug}: {queue.total} deliveries — " + ", ".join(f"{counts[s]} {s}" for s in counts))
    if queue.last_sent_at:
        console.print(f"First sent {queue.first_sent_at}, last {queue.last_sent_at}.")
    if queue.retrying.count:
        console.print(f"{queue.retrying.count} waiting to retry after a temporary refusal "
                      f"(next at {queue.retrying.next_attempt_at}).")
    for relay, figures in queue.by_relay().items():
        console.print(f"  relay {relay}: " + ", ".join(f"{count} {status}" for status, count in figures.items()))
    for failure in queue.failures[:10]:
        console.print(f"  failed ×{failure.count}: {failure.reply}")
    if queue.failures:
        console.print(f"  to send these again: outreach send {slug} --retry-failed  (only some: add --reply-code, "
                      "e.g. --reply-code '5.7.*')")
    for item in queue.unknown[:50]:
        console.print(f"  unknown: {item.email or '(erased)'} {item.message_id or ''}")
    if queue.lock:
        lock = queue.lock
        console.print(f"Interrupted (process {lock.pid} on {lock.host} is gone); the next send continues: "
                      f"outreach send {slug}" if queue.lock_gone else
                      f"Being sent now by process {lock.pid} on {lock.host} (since {lock.acquired_at}).")
