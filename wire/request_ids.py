"""Request ids that name their account: `/v1/generation` answers "pending" for a request that
happened but is not settled yet, with no per-request write anywhere.

An id is UUID-shaped, 32 hex digits: 24 chosen by the proxy (a random per-process prefix with
the UUID version digit, and a counter) and 8 of HMAC-SHA256(secret, those 24 + account id).
The proxy mints it once the key is known; the control plane, holding the same secret (derived
from DF_KEY_HASH_SECRET, `wire.secret_keys.request_id_secret`),
checks an unknown id against the caller's account: a match is "pending", anything else 404.
A forged match (1 in 2^32 per guess) reveals only the word "pending".
"""

from __future__ import annotations

import hashlib
import hmac


def _mac(secret: bytes, base: str, account_id: str) -> str:
    return hmac.new(secret, (base + account_id).encode(), hashlib.sha256).hexdigest()[:8]


def account_request_id(secret: bytes, base: str, account_id: str) -> str:
    """`base`: 24 hex digits."""
    h = base + _mac(secret, base, account_id)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def belongs_to(secret: bytes, request_id: str, account_id: str) -> bool:
    h = request_id.replace("-", "").lower()
    if len(h) != 32:
        return False
    return hmac.compare_digest(h[24:], _mac(secret, h[:24], account_id))
