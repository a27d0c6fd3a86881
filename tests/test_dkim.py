"""DKIM: messages signed with the configured key verify with dkimpy against the key's record; a key that does not
match its record stops the send before the first message; `outreach dkim check|record`."""

from __future__ import annotations

import re
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from test_cli_send import CAMPAIGN, env, people  # noqa: F401 (fixtures)

from outreach.db.schema import open_database
from outreach.errors import ConfigError
from outreach.mail.dkim import DkimSigner, check_key, load_key

SELECTOR, DOMAIN = "outreach2027", "bsi.example.org"


def write_key(path: Path, pkcs8: bool = False) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8 if pkcs8
                                       else serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    return path


def record_of(path: Path) -> str:
    """The record for a key file, made by the `cryptography` package (independent of outreach's own DER code)."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64

    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory) -> Path:
    return write_key(tmp_path_factory.mktemp("dkim") / "dkim.pem")


@pytest.fixture(scope="module")
def other_key_file(tmp_path_factory) -> Path:
    return write_key(tmp_path_factory.mktemp("dkim") / "other.pem", pkcs8=True)


def signature_tags(data: bytes) -> dict[str, str]:
    header = re.search(rb"^DKIM-Signature:(.*?)\r\n(?![ \t])", data, re.S | re.M)
    assert header, data[:500]
    value = re.sub(rb"\s+", b"", header.group(1)).decode()
    return dict(part.split("=", 1) for part in value.split(";") if part)


def verifies(data: bytes, record: str) -> bool:
    return bool(dkim.verify(data, dnsfunc=lambda name, timeout=5: record.encode()))


def test_the_record_outreach_derives_is_the_one_cryptography_derives(key_file, other_key_file) -> None:
    for path in (key_file, other_key_file):  # PKCS#1 and PKCS#8
        key = load_key(path, SELECTOR, None, f"news@{DOMAIN}")
        assert key is not None and key.domain == DOMAIN
        assert key.record() == record_of(path)


def test_sent_campaign_messages_are_signed_over_the_list_headers_and_verify(runner, env, smtpd, people,  # noqa: F811
                                                                           key_file, other_key_file) -> None:
    dkim_env = {"OUTREACH_DKIM_KEY": str(key_file), "OUTREACH_DKIM_SELECTOR": SELECTOR,
                "OUTREACH_DKIM_RECORD": record_of(key_file)}
    result = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env(), **dkim_env})
    assert result.exit_code == 0, result.output
    assert f"DKIM: messages are signed for {SELECTOR}._domainkey.{DOMAIN}" in result.output
    assert len(smtpd.messages) == len(people)
    for received in smtpd.messages:
        tags = signature_tags(received.data)
        assert (tags["d"], tags["s"], tags["c"]) == (DOMAIN, SELECTOR, "relaxed/relaxed")
        signed = tags["h"].lower().split(":")
        for name in ("from", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"):
            assert name in signed
        assert received.message()["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert verifies(received.data, record_of(key_file))
        assert not verifies(received.data, record_of(other_key_file))
        tampered = received.data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                                         b"List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks")
        assert tampered != received.data and not verifies(tampered, record_of(key_file))


def test_a_key_that_does_not_match_its_record_stops_before_the_first_message(runner, env, smtpd, people,  # noqa: F811
                                                                            key_file, other_key_file,
                                                                            db_path) -> None:
    dkim_env = {"OUTREACH_DKIM_KEY": str(key_file), "OUTREACH_DKIM_SELECTOR": SELECTOR,
                "OUTREACH_DKIM_RECORD": record_of(other_key_file)}
    result = runner("send", CAMPAIGN, "--yes", env={**env, **smtpd.env(), **dkim_env})
    assert result.exit_code == 3, result.output
    assert f"does not match the record for {SELECTOR}._domainkey.{DOMAIN}" in result.output
    assert record_of(key_file) in result.output.replace("\n", "")  # the record to publish instead
    assert "Traceback" not in result.output
    assert smtpd.messages == []
    db = open_database(db_path)
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
    db.close()
    tests = runner("send", CAMPAIGN, "--test-to", "me@example.org", env={**env, **smtpd.env(), **dkim_env})
    assert tests.exit_code == 3 and smtpd.messages == []


def test_dkim_check_and_record_commands(runner, key_file, other_key_file) -> None:
    base = ["--key", str(key_file), "--selector", SELECTOR, "--domain", DOMAIN]
    record = runner("dkim", "record", *base)
    assert record.exit_code == 0, record.output
    assert record.stdout.strip() == record_of(key_file)
    good = runner("dkim", "check", "--record", record.stdout.strip(), *base)
    assert good.exit_code == 0, good.output
    assert "matches outreach2027._domainkey.bsi.example.org" in good.stdout and "verifies" in good.stdout
    bad = runner("dkim", "check", "--record", record_of(other_key_file), *base)
    assert bad.exit_code == 3 and "does not match" in bad.output
    garbage = runner("dkim", "check", "--record", "v=DKIM1; k=rsa; p=bm90IGEga2V5", *base)
    assert garbage.exit_code == 3 and "cannot be read" in garbage.output
    none = runner("dkim", "check")
    assert none.exit_code == 3 and "OUTREACH_DKIM_KEY is not set" in none.output


def test_bad_key_settings_are_named(tmp_path, key_file) -> None:
    not_a_key = tmp_path / "key.pem"
    not_a_key.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEga2V5\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="is not a PEM RSA private key"):
        load_key(not_a_key, SELECTOR, DOMAIN, "news@example.org")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_key(tmp_path / "missing.pem", SELECTOR, DOMAIN, "news@example.org")
    with pytest.raises(ConfigError, match="OUTREACH_DKIM_SELECTOR is not"):
        load_key(key_file, None, DOMAIN, "news@example.org")
    key = load_key(key_file, SELECTOR, DOMAIN, "news@example.org")
    assert key is not None
    with pytest.raises(ConfigError, match="no DKIM record found"):
        check_key(key, None, lookup=lambda name: None)
    assert check_key(key, None, lookup=lambda name: record_of(key_file)).source == f"DNS {key.record_name}"


def test_a_signed_message_keeps_its_bytes_below_the_signature(key_file) -> None:
    key = load_key(key_file, SELECTOR, DOMAIN, "news@example.org")
    assert key is not None
    message = (b"From: A <a@bsi.example.org>\r\nTo: b@example.org\r\n"
               b"Subject: =?utf-8?q?Za=C5=BC=C3=B3=C5=82=C4=87?=\r\n"
               b"Date: Mon, 01 Mar 2027 09:00:00 +0000\r\nMessage-ID: <1@bsi.example.org>\r\n\r\nBody\r\n")
    signed = DkimSigner(key).sign(message)
    assert signed.endswith(message) and signed.startswith(b"DKIM-Signature: ")
    assert verifies(signed, record_of(key_file))


def test_the_pages_transactional_mail_is_signed_too(key_file, clock) -> None:
    from outreach.config import Settings
    from outreach.web.mailer import build_message

    settings = Settings.from_env({"OUTREACH_FROM": f"BSI <news@{DOMAIN}>", "OUTREACH_DKIM_KEY": str(key_file),
                                  "OUTREACH_DKIM_SELECTOR": SELECTOR})
    mail = build_message(settings, clock, to_email="anna@example.org", to_name="Anna", language="pl",
                         subject="Potwierdź subskrypcję", text="Tekst", html="<p>Tekst</p>")
    assert signature_tags(mail.data)["d"] == DOMAIN
    assert verifies(mail.data, record_of(key_file))
