"""Several relays (OUTREACH_RELAYS): real aiosmtpd servers on 127.0.0.1, a real database, the sender as
`outreach send` wires it. A relay that refuses its login is set aside and its messages go to the other."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace

import pytest
from send_support import add_contacts, make_sender

from outreach.config import Settings
from outreach.delivery.plan import queue_status
from outreach.delivery.relays import configured_relays, relay_pool
from outreach.errors import ConfigError, TransportError


def with_relays(settings: Settings, **relays: dict[str, str]) -> Settings:
    """Settings naming `relays` (name → {KEY: value}) as OUTREACH_RELAYS and OUTREACH_RELAY_<NAME>_<KEY> do."""
    env = {f"OUTREACH_RELAY_{name.upper()}_{key}": value for name, keys in relays.items()
           for key, value in keys.items()}
    return replace(settings, relays=tuple(relays), relay_values=tuple(sorted(env.items())))


def server(smtpd, **extra: str) -> dict[str, str]:
    return {"HOST": smtpd.host, "PORT": str(smtpd.port), "SECURITY": "none", **extra}


def rows(db) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return {r["email"]: (r["status"], r["relay"]) for r in db.query("SELECT email, status, relay FROM deliveries")}


def test_a_relay_refusing_its_login_is_set_aside_and_the_other_carries_its_queue(settings, db, clock, smtpd,
                                                                                  smtpd_auth, caplog,
                                                                                  runner) -> None:
    emails = add_contacts(db, clock, 12)
    config = with_relays(settings, m365=server(smtpd_auth, USER="expert@example.org", PASSWORD="app-password"),
                         ses=server(smtpd))
    pool = relay_pool(config, clock)
    assert pool is not None
    with caplog.at_level(logging.WARNING, logger="outreach.delivery"):
        report = make_sender(config, db, clock, connections=pool).run()
    assert report.sent == 12 and rows(db) == dict.fromkeys(emails, ("sent", "ses"))
    assert Counter(r for m in smtpd.messages for r in m.rcpt_tos) == Counter(emails)  # each once
    assert smtpd_auth.messages == []
    assert len(pool.set_aside) == 1
    message = pool.set_aside[0]
    assert "m365" in message and "OUTREACH_RELAY_M365_HOST" in message and "535" in message
    assert "app-password" not in caplog.text and "m365" in caplog.text
    assert queue_status(db, "autumn-news", clock).by_relay() == {"ses": {"sent": 12}}
    shown = runner("status", "autumn-news")
    assert shown.exit_code == 0 and "relay ses: 12 sent" in shown.stdout
    assert '"by_relay": {' in runner("status", "autumn-news", "--json").stdout


def test_when_every_relay_fails_the_run_stops_with_the_queue_kept(settings, db, clock, smtpd_auth) -> None:
    emails = add_contacts(db, clock, 4)
    config = with_relays(settings, a=server(smtpd_auth, USER="u@example.org", PASSWORD="p"))
    with pytest.raises(TransportError):
        make_sender(config, db, clock, connections=relay_pool(config, clock)).run()
    assert {status for status, _ in rows(db).values()} == {"queued"} and len(rows(db)) == len(emails)


def test_recipients_are_routed_by_domain_and_spread_by_weight(settings, db, clock, smtpd) -> None:
    from aiosmtpd.controller import Controller
    from conftest import SinkHandler, free_port

    other = SinkHandler()
    port = free_port()
    controller = Controller(other, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        routed = add_contacts(db, clock, 5, domain="ministry.example.org")
        spread = add_contacts(db, clock, 20, domain="gmina.example.org", start=100)
        config = with_relays(settings, uni=server(smtpd, WEIGHT="3", DOMAINS="ministry.example.org"),
                             esp={"HOST": "127.0.0.1", "PORT": str(port), "SECURITY": "none", "WORKERS": "2"})
        report = make_sender(config, db, clock, connections=relay_pool(config, clock)).run()
    finally:
        controller.stop()
    assert report.sent == 25
    states = rows(db)
    assert all(states[e] == ("sent", "uni") for e in routed)
    carried = Counter(relay for e, (_, relay) in states.items() if e in spread)
    assert carried["uni"] + carried["esp"] == 20 and carried["uni"] > carried["esp"] > 0  # weight 3 against 1
    assert Counter(r for m in smtpd.messages for r in m.rcpt_tos) + Counter(
        r for m in other.messages for r in m.rcpt_tos) == Counter(routed + spread)


def test_relay_settings_are_checked_and_their_passwords_masked(settings) -> None:
    config = with_relays(settings, m365={"HOST": "smtp.example.com", "USER": "u", "PASSWORD": "s3cret-pass"})
    (relay,) = configured_relays(config)
    assert relay.settings.smtp_host == "smtp.example.com" and relay.settings.smtp_password == "s3cret-pass"
    assert relay.settings.effective_smtp_port == 587
    shown = dict((name, value) for name, value, _ in config.describe())
    assert shown["OUTREACH_RELAY_M365_PASSWORD"] == "********" and "s3cret-pass" in config.secrets()

    typo = replace(config, relay_values=(*config.relay_values, ("OUTREACH_RELAY_M356_HOST", "x.example.com")))
    with pytest.raises(ConfigError) as error:
        configured_relays(typo)
    assert "OUTREACH_RELAY_M356_HOST" in error.value.message and "did you mean" in error.value.message
    with pytest.raises(ConfigError, match="OUTREACH_RELAY_SES_HOST is not set"):
        configured_relays(with_relays(settings, ses={"PORT": "587"}))
    with pytest.raises(ConfigError, match="OUTREACH_RELAY_SES_WORKERS"):
        configured_relays(with_relays(settings, ses={"HOST": "h.example.com", "WORKERS": "0"}))


def test_from_env_reads_the_relay_variables(tmp_path) -> None:
    config = Settings.from_env({"OUTREACH_RELAYS": "a, b", "OUTREACH_RELAY_A_HOST": "a.example.com",
                                "OUTREACH_RELAY_B_HOST": "b.example.com", "OUTREACH_RELAY_B_RATE": "30/min"})
    assert [r.name for r in configured_relays(config)] == ["a", "b"]
    assert configured_relays(config)[1].rates and not configured_relays(config)[0].rates
    assert configured_relays(Settings.from_env({})) == []  # the one relay of OUTREACH_SMTP_*, as before


def test_a_relay_closing_with_421_again_and_again_is_set_aside(settings, db, clock, smtpd, caplog) -> None:
    from aiosmtpd.controller import Controller
    from conftest import SinkHandler, free_port

    closing = SinkHandler(max_per_connection=0)  # "421 too many messages" at every MAIL FROM, then hangs up
    port = free_port()
    controller = Controller(closing, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        emails = add_contacts(db, clock, 10)
        config = with_relays(settings, busy={"HOST": "127.0.0.1", "PORT": str(port), "SECURITY": "none",
                                             "WEIGHT": "5"}, spare=server(smtpd))
        pool = relay_pool(config, clock)
        with caplog.at_level(logging.WARNING, logger="outreach.delivery"):
            report = make_sender(config, db, clock, connections=pool).run()
    finally:
        controller.stop()
    assert report.sent == 10 and rows(db) == dict.fromkeys(emails, ("sent", "spare"))
    assert Counter(r for m in smtpd.messages for r in m.rcpt_tos) == Counter(emails)
    assert pool is not None and len(pool.set_aside) == 1 and "busy" in pool.set_aside[0] and "421" in caplog.text


def test_each_relay_keeps_its_own_rate(settings, db, clock, smtpd) -> None:
    add_contacts(db, clock, 4)
    config = with_relays(settings, slow=server(smtpd, RATE="6/min"))
    started = clock.monotonic()
    report = make_sender(config, db, clock, connections=relay_pool(config, clock)).run()
    assert report.sent == 4
    assert clock.monotonic() - started >= 30  # one message every 10 s: three waits between four messages
