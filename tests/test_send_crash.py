"""SIGKILL `outreach send` at random moments, again and again, then let it finish: every recipient receives
exactly one copy, except the deliveries reported `unknown` (0 or 1 copy), and there is at most one unknown per kill
— at most three with pipelining (RFC 2920), where a connection holds the message whose final dot is out, the one
whose envelope went with that dot, and the next one, each committed `sending` before it was handed over.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from clock_support import FakeClock
from conftest import REPO, SECRET

from outreach.contacts.model import clean_fields, insert_contact
from outreach.db.schema import open_database

RECIPIENTS = 400
KILLS = 30


@pytest.fixture(params=["plain", "pipelining"])
def relay(request, smtpd):  # type: ignore[no-untyped-def]
    """The conftest sink, as it is or advertising PIPELINING (aiosmtpd serves pipelined commands in order)."""
    if request.param == "pipelining":
        async def pipelining(server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]]

        smtpd.handler.handle_EHLO = pipelining  # read by each new connection's protocol
    smtpd.per_kill = 3 if request.param == "pipelining" else 1
    return smtpd


def _workspace(db_path, smtpd, recipients: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """`recipients` contacts in the database; the environment of an `outreach send` into `smtpd`."""
    db = open_database(db_path)
    clock = FakeClock()
    countries = ["PL", "IE"]  # few variants: each run renders them anew, and start-up time is test time
    with db.atomic():
        for n in range(recipients):
            insert_contact(db, clock, f"p{n:04d}@gmina{n % 7}.example.org",
                           clean_fields({"name": f"Osoba {n}", "kind": "authority", "country": countries[n % 2]}))
    db.close()
    return {**os.environ, "OUTREACH_DB": str(db_path), "OUTREACH_FROM": "BSI <news@bsi.example.org>",
           "OUTREACH_SECRET_KEY": SECRET, "OUTREACH_PUBLIC_URL": "https://news.example.org",
           "OUTREACH_ORGANISATION": "Buying for Social Impact", "OUTREACH_POSTAL_ADDRESS": "Rue 1, Bruxelles",
           "OUTREACH_CAMPAIGNS": str(REPO / "campaigns"),
           "OUTREACH_TEMPLATES": str(REPO / "templates" / "emails"), **smtpd.env()}


@pytest.mark.slow
def test_sigkill_at_random_moments_never_sends_twice(db_path, relay, tmp_path) -> None:
    smtpd = relay
    env = _workspace(db_path, smtpd, RECIPIENTS)
    command = [sys.executable, "-m", "outreach", "send", "bsi-awareness", "--yes"]
    rng = random.Random(20261125)
    kills = 0
    for _ in range(KILLS):
        before = len(smtpd.messages)
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.0, 1.5))  # anywhere: start-up, lock, enqueue, sending
        else:
            deadline = time.monotonic() + 20
            while len(smtpd.messages) == before and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.05))  # in the middle of sending
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    final = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr

    db = open_database(db_path)
    rows = {email: status for email, status in db.execute("SELECT email, status FROM deliveries")}
    received = Counter(rcpt for message in smtpd.messages for rcpt in message.rcpt_tos)
    unknown = [email for email, status in rows.items() if status == "unknown"]
    duplicates = [email for email, count in received.items() if count > 1]
    print(f"\ncrash test: {kills} kills, {len(duplicates)} duplicates, {len(unknown)} unknown, "
          f"{len(smtpd.messages)} messages for {RECIPIENTS} recipients")
    assert len(rows) == RECIPIENTS
    assert set(rows.values()) <= {"sent", "unknown"}
    assert duplicates == []
    for email, status in rows.items():
        assert received[email] == 1 or (status == "unknown" and received[email] == 0), email
    assert len(unknown) <= kills * smtpd.per_kill
    assert kills >= KILLS // 2  # the kills really landed while it was running


@pytest.mark.slow
def test_sigkill_while_a_pipelined_dot_awaits_its_reply(db_path, relay, tmp_path) -> None:
    """The moment pipelining adds: message 2's final dot and message 3's envelope are out in one write, message 4
    is handed over, and the server holds its reply to the dot. Killed there, the next run finds 2, 3 (and 4)
    `unknown` — 2 stored once by the server, 3 and 4 never (no dot) — and sends everything else once."""
    import asyncio
    import threading

    smtpd = relay
    if smtpd.per_kill == 1:
        pytest.skip("the pipelining moment only")
    env = _workspace(db_path, smtpd, 8)
    release, held = threading.Event(), threading.Event()
    handler = smtpd.handler
    plain_data = handler.handle_DATA

    async def hold_second(server, session, envelope):  # type: ignore[no-untyped-def]
        reply = await plain_data(server, session, envelope)  # stored
        if len(handler.messages) == 2 and not release.is_set():
            held.set()
            while not release.is_set():
                await asyncio.sleep(0.01)
        return reply

    handler.handle_DATA = hold_second
    command = [sys.executable, "-m", "outreach", "send", "bsi-awareness", "--yes"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert held.wait(60), "the server never got the second message"
        time.sleep(0.3)  # the sender hands over the next message meanwhile
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        release.set()
    db = open_database(db_path)
    order = [email for (email,) in db.execute("SELECT email FROM deliveries ORDER BY id")]
    states = dict(db.execute("SELECT email, status FROM deliveries").fetchall())
    assert states[order[0]] == "sent" and states[order[1]] == states[order[2]] == "sending"
    assert states[order[3]] in ("sending", "queued") and set(states[e] for e in order[4:]) == {"queued"}
    assert [m.rcpt_tos for m in smtpd.messages] == [[order[0]], [order[1]]]  # 3 had no dot
    db.close()

    final = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    db = open_database(db_path)
    states = dict(db.execute("SELECT email, status FROM deliveries").fetchall())
    unknown = {e for e, status in states.items() if status == "unknown"}
    assert {order[1], order[2]} <= unknown <= {order[1], order[2], order[3]}
    received = Counter(rcpt for message in smtpd.messages for rcpt in message.rcpt_tos)
    assert received == Counter(e for e in order if e not in unknown or e == order[1])  # once each, never twice
