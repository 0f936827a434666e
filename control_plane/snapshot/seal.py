"""Seal upstream keys for the snapshot (the control-plane half of `wire.sealing`).

Sealing is deterministic per (key, listing, plaintext), so rebuilding the same rows gives
the same snapshot bytes and content versions. Seals with the first (newest) sealing key.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wire import sealing


class Sealer:
    __slots__ = ("_aead", "_key", "_id")

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._aead = AESGCM(sealing.aes_key(key))
        self._id = sealing.key_id(key)

    def seal(self, plaintext: str, listing_id: str, seller_id: str) -> bytes:
        aad = sealing.aad(listing_id, seller_id)
        body = plaintext.encode()
        nonce = sealing.synthetic_nonce(self._key, aad, body)
        return sealing.MAGIC + self._id + nonce + self._aead.encrypt(nonce, body, aad)
