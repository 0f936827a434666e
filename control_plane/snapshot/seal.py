"""Seal upstream keys for the snapshot (the control-plane half of `wire.sealing`).

Sealing is deterministic per (key, listing, plaintext), so rebuilding the same rows gives
the same snapshot bytes and content versions. Seals with the first (newest) sealing key.
A listing whose key did not change since the previous build reuses its blob (`end_build`
keeps only the listings of the last build), so a rebuild costs a dict lookup per listing.
The plaintexts it keeps are no more than the control plane can decrypt at any time.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wire import sealing


class Sealer:
    __slots__ = ("_aead", "_nonce_key", "_id", "_cache", "_next")

    def __init__(self, key: bytes) -> None:
        self._cache: dict[str, tuple[str, str, bytes]] = {}  # listing id -> (seller, plaintext, blob)
        self._next: dict[str, tuple[str, str, bytes]] = {}
        self._nonce_key = sealing.nonce_key(key)
        self._aead = AESGCM(sealing.aes_key(key))
        self._id = sealing.key_id(key)

    def seal(self, plaintext: str, listing_id: str, seller_id: str) -> bytes:
        hit = self._cache.get(listing_id)
        if hit is not None and hit[0] == seller_id and hit[1] == plaintext:
            blob = hit[2]
        else:
            aad = sealing.aad(listing_id, seller_id)
            body = plaintext.encode()
            nonce = sealing.synthetic_nonce(self._nonce_key, aad, body)
            blob = sealing.MAGIC + self._id + nonce + self._aead.encrypt(nonce, body, aad)
        self._next[listing_id] = (seller_id, plaintext, blob)
        return blob

    def end_build(self) -> None:
        """Forget listings the last build did not seal."""
        self._cache, self._next = self._next, {}
