"""Seller upstream keys at rest: AES-256-GCM, the seller id and key id bound as associated data.

Blob layout: version byte (1) || 12-byte nonce || ciphertext+tag. A blob copied to another
row (other seller or key id) fails to open. The data key is DF_ENCRYPTION_KEY (64 hex
chars or base64 of 32 bytes) when set, else derived from DF_SECRET_KEY. Plaintext lives
only in memory on its way into the snapshot; it is never logged or returned.
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


class SecretBox:
    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, *, seller_id: str, key_id: str) -> bytes:
        nonce = os.urandom(_NONCE_LEN)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), _aad(seller_id, key_id))

    def open(self, blob: bytes, *, seller_id: str, key_id: str) -> str:
        if blob[:1] != _VERSION or len(blob) <= 1 + _NONCE_LEN:
            raise SecretBoxError("unknown ciphertext format")
        nonce, body = blob[1 : 1 + _NONCE_LEN], blob[1 + _NONCE_LEN :]
        try:
            return self._aead.decrypt(nonce, body, _aad(seller_id, key_id)).decode()
        except InvalidTag as exc:
            raise SecretBoxError("ciphertext does not open for this seller and key id") from exc


def secret_hint(secret: str) -> str:
    """Enough to recognise an upstream key, never enough to use it."""
    if len(secret) < 12:
        return "…" + secret[-2:] if len(secret) > 4 else "…"
    return f"{secret[:3]}…{secret[-4:]}"
