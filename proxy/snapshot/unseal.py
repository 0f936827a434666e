"""Open the upstream keys sealed in a snapshot (the proxy half of `wire.sealing`).

Runs once per listing when a catalog is loaded (never per request): each listing with a
`sealed_key` gets its plaintext `upstream_key` in memory. A listing whose key this proxy
cannot open (no matching DF_SEAL_KEYS key, or tampered bytes) is left out of routing and
reported; the rest of the snapshot still applies, so revocations keep flowing. Sealing is
deterministic, so an unchanged listing arrives with the same blob: the previous load's
results are reused and only new or changed keys are decrypted.
"""

from __future__ import annotations

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wire import sealing
from wire.snapshot import Listing, Snapshot


class Unsealer:
    __slots__ = ("_by_id", "_last")

    def __init__(self, keys: tuple[bytes, ...]) -> None:
        self._by_id = {sealing.key_id(k): AESGCM(sealing.aes_key(k)) for k in keys}
        self._last: dict[tuple[str, str, bytes], str] = {}  # (listing, seller, blob) -> plaintext, last load

    def _open(self, listing: Listing) -> str | None:
        hit = self._last.get((listing.id, listing.seller_account_id, listing.sealed_key))
        if hit is not None:
            return hit
        parts = sealing.split_blob(listing.sealed_key)
        if parts is None:
            return None
        kid, nonce, body = parts
        aead = self._by_id.get(kid)
        if aead is None:
            return None
        try:
            return aead.decrypt(nonce, body, sealing.aad(listing.id, listing.seller_account_id)).decode()
        except (InvalidTag, UnicodeDecodeError):
            return None

    def open_listing(self, listing: Listing) -> Listing | None:
        """One listing with its sealed key opened (admission probes, `proxy.probe`); None if it cannot be."""
        if not listing.sealed_key:
            return listing if listing.upstream_key else None
        plain = self._open(listing)
        return None if plain is None else msgspec.structs.replace(listing, upstream_key=plain, sealed_key=b"")

    def open_catalog(self, snap: Snapshot) -> tuple[Snapshot, tuple[str, ...]]:
        """The snapshot with every sealed key opened, and the ids of listings left out."""
        if not any(listing.sealed_key for listing in snap.listings):
            return snap, ()
        kept: list[Listing] = []
        dropped: list[str] = []
        opened: dict[tuple[str, str, bytes], str] = {}
        for listing in snap.listings:
            if not listing.sealed_key:
                kept.append(listing)
                continue
            plain = self._open(listing)
            if plain is None:
                dropped.append(listing.id)
            else:
                opened[(listing.id, listing.seller_account_id, listing.sealed_key)] = plain
                kept.append(msgspec.structs.replace(listing, upstream_key=plain, sealed_key=b""))
        self._last = opened
        live = {x.id for x in kept}
        stats = tuple(s for s in snap.stats if s.listing_id in live)
        return msgspec.structs.replace(snap, listings=tuple(kept), stats=stats), tuple(dropped)
