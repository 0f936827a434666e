"""Sealed upstream keys in snapshots: the format both sides agree on (pure, stdlib only).

A listing in a published snapshot carries its seller's upstream key only as
`Listing.sealed_key` (never `upstream_key`): AES-256-GCM under a sealing key that only
the control plane (which seals) and proxies (which open, once per listing per snapshot
load) hold; Redis and anyone reading it see ciphertext.

Blob: b"S1" || key id (4 bytes) || nonce (12) || ciphertext+tag. From one sealing key K:
the AES key is HMAC(K, "aes"), the key id HMAC(K, "id")[:4] (so a proxy picks the right
key of several at once), and the nonce HMAC(HMAC(K, "nonce"), aad || plaintext)[:12], a
synthetic IV: the same key for the same listing seals to the same bytes, so snapshot
content versions stay deterministic, and a nonce repeats only for identical messages.
The associated data binds the blob to its listing and seller.

The AES calls live in `control_plane.snapshot.seal` and `proxy.snapshot.unseal`.
"""

from __future__ import annotations

import hashlib
import hmac

MAGIC = b"S1"
KEY_ID_LEN = 4
NONCE_LEN = 12
HEADER_LEN = len(MAGIC) + KEY_ID_LEN + NONCE_LEN


def _sub(key: bytes, label: bytes) -> bytes:
    return hmac.new(key, b"dragonfly/snapshot-seal/" + label, hashlib.sha256).digest()


def aes_key(key: bytes) -> bytes:
    return _sub(key, b"aes")


def key_id(key: bytes) -> bytes:
    return _sub(key, b"id")[:KEY_ID_LEN]


def aad(listing_id: str, seller_id: str) -> bytes:
    return f"dragonfly/sealed-upstream-key/v1|{listing_id}|{seller_id}".encode()


def nonce_key(key: bytes) -> bytes:
    return _sub(key, b"nonce")


def synthetic_nonce(nonce_secret: bytes, associated: bytes, plaintext: bytes) -> bytes:
    """`nonce_secret` is `nonce_key(key)`."""
    data = len(associated).to_bytes(4, "big") + associated + plaintext
    return hmac.digest(nonce_secret, data, "sha256")[:NONCE_LEN]


def split_blob(blob: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(key id, nonce, ciphertext) of a well-formed blob, else None."""
    if len(blob) <= HEADER_LEN + 16 or blob[: len(MAGIC)] != MAGIC:
        return None
    start = len(MAGIC)
    return blob[start : start + KEY_ID_LEN], blob[start + KEY_ID_LEN : HEADER_LEN], blob[HEADER_LEN:]
