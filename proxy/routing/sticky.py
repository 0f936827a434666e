"""Session stickiness by rendezvous hashing of X-Session-Id (pure; no shared state).

Every worker and replica computes the same answer from the same snapshot: the session's
listing is the eligible candidate with the highest `crc32(session, listing id)` among
those priced within `PRICE_BAND` of the cheapest eligible one (so a cost-minded buyer is
not pinned to an expensive seller). It stays put while that listing stays eligible and
moves — to the next-highest hash — when it is filtered, ejected or capped. Live stats
do not enter the choice, so workers with different traffic still agree.
"""

from __future__ import annotations

import zlib

from proxy.snapshot.index import ListingEntry

PRICE_BAND = 1.5


def sticky_first(candidates: tuple[ListingEntry, ...], session_id: str) -> tuple[ListingEntry, ...]:
    """`candidates` with the session's listing moved to the front (order otherwise kept)."""
    if len(candidates) < 2:
        return candidates
    cheapest = min(c.price for c in candidates)
    seed = zlib.crc32(session_id.encode())
    best, best_hash = 0, -1
    for i, c in enumerate(candidates):
        if c.price > cheapest * PRICE_BAND:
            continue
        h = zlib.crc32(c.id_bytes, seed)
        if h > best_hash or (h == best_hash and c.id < candidates[best].id):
            best, best_hash = i, h
    if best == 0:
        return candidates
    return (candidates[best], *candidates[:best], *candidates[best + 1:])
