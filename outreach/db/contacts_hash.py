"""The keyed hash kept for an address that must never be mailed again (the `suppressions` table's key)."""

from __future__ import annotations

import hmac

# A project-wide key: every outreach database hashes an address the same way, so suppressions can be merged
# between the national databases. The hash is keyed so that a leaked table is no plain list of sha256(email).
_SUPPRESSION_KEY = b"outreach/suppression/v1"


def suppression_hash(normalized_email: str) -> str:
    """The salted hash kept for an address that must never be mailed again."""
    return hmac.digest(_SUPPRESSION_KEY, normalized_email.encode("utf-8"), "sha256").hex()
