"""Signed tokens: bound to purpose and address, expiring where they should, VERP round trip."""

from __future__ import annotations

import pytest

from outreach.mail.tokens import (
    Purpose,
    TokenError,
    contact_token,
    email_fingerprint,
    make_token,
    parse_verp,
    read_token,
    verp_address,
)

SECRET = "s" * 40


def test_token_round_trip_and_purpose_binding() -> None:
    token = contact_token(SECRET, Purpose.UNSUBSCRIBE, 7, "ana@example.org", "bsi-awareness")
    payload = read_token(SECRET, Purpose.UNSUBSCRIBE, token)
    assert payload == {"c": 7, "e": email_fingerprint("ana@example.org"), "k": "bsi-awareness"}
    with pytest.raises(TokenError):
        read_token(SECRET, Purpose.CONFIRM, token)
    with pytest.raises(TokenError):
        read_token("t" * 40, Purpose.UNSUBSCRIBE, token)
    with pytest.raises(TokenError):
        read_token(SECRET, Purpose.UNSUBSCRIBE, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])


def test_expired_token() -> None:
    token = make_token(SECRET, Purpose.CONFIRM, {"s": 1})
    with pytest.raises(TokenError, match="expired"):
        read_token(SECRET, Purpose.CONFIRM, token, max_age=-1)


def test_verp_round_trip() -> None:
    address = verp_address(SECRET, "bounces@bsi.example.org", 12345)
    assert address.startswith("bounces+12345-") and address.endswith("@bsi.example.org")
    assert len(address.partition("@")[0]) <= 64
    assert parse_verp(SECRET, address) == 12345
    assert parse_verp(SECRET, "<" + address + ">") == 12345
    assert parse_verp(SECRET, address.replace("12345", "12346")) is None
    assert parse_verp(SECRET, "bounces@bsi.example.org") is None
