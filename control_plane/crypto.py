"""Seller upstream keys at rest: AES-256-GCM, the seller id and key id bound as associated data.

Blob layout: version byte (1) || 12-byte nonce || ciphertext+tag. A blob copied to another
row (other seller or key id) fails to open. The data keys, newest first, are
DF_ENCRYPTION_KEYS (or DF_ENCRYPTION_KEY; 64 hex chars or base64 of 32 bytes each) when set,
else one derived from each of DF_SECRET_KEYS (`wire.secret_keys`). A box seals with the
first key and opens with any (`opened_with` tells which, for `dragonfly keys rotate`).
Plaintext lives only in memory on its way into the sealed snapshot; it is never logged or
returned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_LEN = 12


class SecretBoxError(ValueError):
    """A blob that does not open with this key and associated data."""


def data_key(secret_key: str, encryption_key: str | None) -> bytes:
    """One data key: `encryption_key` decoded when given, else derived from `secret_key`."""
    if encryption_key:
        raw = encryption_key.strip()
        try:
            key = (
                bytes.fromhex(raw) if len(raw) == 64 else base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_")
            )
        except (ValueError, binascii.Error) as exc:
            raise ValueError("DF_ENCRYPTION_KEY must be 64 hex characters or base64 of 32 bytes") from exc
        if len(key) != 32:
            raise ValueError("DF_ENCRYPTION_KEY must hold exactly 32 bytes (64 hex characters)")
        return key
    return hmac.new(secret_key.encode(), b"dragonfly/pool-key-encryption/v1", hashlib.sha256).digest()


def _aad(seller_id: str, key_id: str) -> bytes:
    return f"dragonfly/pool-key/v1|{seller_id}|{key_id}".encode()


def data_keys(secret_keys: tuple[str, ...], encryption_keys: tuple[str, ...]) -> tuple[bytes, ...]:
    """The data keys, newest first: the explicit ones if any, else one per master secret."""
    if encryption_keys:
        return tuple(data_key("", k) for k in encryption_keys)
    return tuple(data_key(s, None) for s in secret_keys)


class SecretBox:
    __slots__ = ("_aeads",)

    def __init__(self, *keys: bytes) -> None:
        if not keys:
            raise ValueError("a SecretBox needs at least one key")
        self._aeads = tuple(AESGCM(k) for k in keys)

    def seal(self, plaintext: str, *, seller_id: str, key_id: str) -> bytes:
        nonce = os.urandom(_NONCE_LEN)
        return _VERSION + nonce + self._aeads[0].encrypt(nonce, plaintext.encode(), _aad(seller_id, key_id))

    def open(self, blob: bytes, *, seller_id: str, key_id: str) -> str:
        return self.opened_with(blob, seller_id=seller_id, key_id=key_id)[0]

    def opened_with(self, blob: bytes, *, seller_id: str, key_id: str) -> tuple[str, int]:
        """The plaintext and the index of the key that opened it (0 = the newest)."""
        if blob[:1] != _VERSION or len(blob) <= 1 + _NONCE_LEN:
            raise SecretBoxError("unknown ciphertext format")
        nonce, body = blob[1 : 1 + _NONCE_LEN], blob[1 + _NONCE_LEN :]
        aad = _aad(seller_id, key_id)
        for index, aead in enumerate(self._aeads):
            try:
                return aead.decrypt(nonce, body, aad).decode(), index
            except InvalidTag:
                continue
        raise SecretBoxError("ciphertext does not open with any configured key for this seller and key id")


def secret_hint(secret: str) -> str:
    """Enough to recognise an upstream key, never enough to use it."""
    if len(secret) < 12:
        return "…" + secret[-2:] if len(secret) > 4 else "…"
    return f"{secret[:3]}…{secret[-4:]}"
