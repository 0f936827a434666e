"""Memoised rankings (pure: the caller passes the time).

Ranking 1,000 listings costs ~1 ms of Python; the same (snapshot version, model,
endpoint, policy, capped set, availability epoch) ranks the same way until live stats
drift, so a ranking is reused for `ttl_s` (50 ms by default). Anything that changes a
listing's availability — an ejection, a recovery, a half-open probe, a cap, a new
snapshot — is part of the key and takes effect on the next request; only the slow
drift of EWMA figures waits for the TTL. Exploration draws bypass the cache.
"""

from __future__ import annotations

from collections.abc import Hashable

from proxy.routing.rank import Ranking


class RankCache:
    __slots__ = ("_ttl", "_max", "_entries")

    def __init__(self, ttl_s: float = 0.05, max_entries: int = 4096) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._entries: dict[Hashable, tuple[float, Ranking]] = {}

    def get(self, key: Hashable, now: float) -> Ranking | None:
        hit = self._entries.get(key)
        if hit is None or now - hit[0] > self._ttl:
            return None
        return hit[1]

    def put(self, key: Hashable, ranking: Ranking, now: float) -> None:
        if len(self._entries) >= self._max:
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] <= self._ttl}
            if len(self._entries) >= self._max:
                self._entries.clear()
        self._entries[key] = (now, ranking)
