"""Buyer API-key format and its keyed hash.

A key is `sk-df-` + 32 base62 characters of randomness + 6 base62 characters of
checksum (CRC-32 of the random part). The checksum lets the proxy tell a
mistyped or truncated copy ("looks truncated or mistyped") from a well-formed key
it does not know ("unknown key") without storing anything.

Keys are never stored raw: only `hash_key(secret, key)`, an HMAC-SHA256 keyed
with a server secret, and a short hint (`sk-df-abcd…wxyz`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from enum import Enum

PREFIX = "sk-df-"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LEN = 32
_CHECK_LEN = 6
KEY_LEN = len(PREFIX) + _BODY_LEN + _CHECK_LEN


class KeyShape(Enum):
    OK = "ok"
    WRONG_PREFIX = "wrong_prefix"
    TRUNCATED = "truncated"
    BAD_CHECKSUM = "bad_checksum"


def _base62(number: int, width: int) -> str:
    out = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        out.append(_ALPHABET[rem])
    return "".join(reversed(out))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECK_LEN)


def new_key() -> str:
    """A fresh random buyer key (190 bits of randomness)."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LEN))
    return PREFIX + body + _checksum(body)


def check_shape(key: str) -> KeyShape:
    """Classify a presented key without any lookup."""
    if not key.startswith(PREFIX):
        return KeyShape.WRONG_PREFIX
    if len(key) < KEY_LEN:
        return KeyShape.TRUNCATED
    body = key[len(PREFIX) : len(PREFIX) + _BODY_LEN]
    if len(key) != KEY_LEN or _checksum(body) != key[len(PREFIX) + _BODY_LEN :]:
        return KeyShape.BAD_CHECKSUM
    return KeyShape.OK


def derive_hash_secret(server_secret: str) -> bytes:
    """The HMAC key used for key hashes, derived from the server secret."""
    return hmac.new(server_secret.encode(), b"dragonfly/key-hash/v1", hashlib.sha256).digest()


def hash_key(hash_secret: bytes, key: str) -> str:
    """Keyed hash of a raw key, as stored and as looked up (hex)."""
    return hmac.new(hash_secret, key.encode(), hashlib.sha256).hexdigest()


def key_hint(key: str) -> str:
    """A short, safe-to-show reminder of which key this is."""
    return f"{key[:10]}…{key[-4:]}"
