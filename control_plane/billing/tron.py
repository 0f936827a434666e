"""TRON addresses (TRC-20 deposit addresses): Base58Check of 0x41 + 20 bytes. Pure functions.

`check_address` refuses a mistyped pool address at start-up (a typo would send a buyer's
money nowhere); `dev_address` derives a well-formed address from a secret and a payment id
for development only — nobody holds a private key for it, so money sent there is lost.
"""

from __future__ import annotations

import hashlib
import hmac

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_VERSION = b"\x41"


class AddressError(ValueError):
    """Not a TRON Base58Check address."""


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]


def b58check_encode(payload: bytes) -> str:
    data = payload + _checksum(payload)
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, rem = divmod(n, 58)
        out = _ALPHABET[rem] + out
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + out


def b58check_decode(text: str) -> bytes:
    n = 0
    for c in text:
        if c not in _INDEX:
            raise AddressError(f"{c!r} is not a Base58 character")
        n = n * 58 + _INDEX[c]
    pad = len(text) - len(text.lstrip("1"))
    raw = b"\x00" * pad + (n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b"")
    if len(raw) < 5:
        raise AddressError("too short")
    payload, check = raw[:-4], raw[-4:]
    if not hmac.compare_digest(_checksum(payload), check):
        raise AddressError("checksum mismatch (mistyped?)")
    return payload


def check_address(text: str) -> str:
    """`text` when it is a TRON mainnet address (T…, 34 characters, valid checksum)."""
    if len(text) != 34 or not text.startswith("T"):
        raise AddressError(f"{text[:40]!r} is not a TRON address (34 characters starting with T)")
    payload = b58check_decode(text)
    if len(payload) != 21 or payload[:1] != _VERSION:
        raise AddressError(f"{text!r} is not a TRON address (wrong version byte or length)")
    return text


def dev_address(secret: bytes, payment_id: str) -> str:
    """A deterministic, well-formed address for one payment (development only: no key exists)."""
    body = hmac.new(secret, b"trc20-dev-address:" + payment_id.encode(), hashlib.sha256).digest()[:20]
    return b58check_encode(_VERSION + body)
