"""SnapshotStore: the current RoutingIndex. Readers never lock; sources are the only writers."""

from __future__ import annotations

import time

from proxy.snapshot.index import RoutingIndex


class SnapshotStore:
    __slots__ = ("_current", "swapped_at", "stale_since")

    def __init__(self) -> None:
        self._current: RoutingIndex | None = None
        self.swapped_at = 0.0
        self.stale_since: float | None = None  # set while the source cannot be reached

    def current(self) -> RoutingIndex | None:
        return self._current

    def swap(self, new: RoutingIndex) -> None:
        self._current = new  # one reference assignment: a request sees old or new, never a mix
        self.swapped_at = time.time()

    def mark_source(self, reachable: bool) -> None:
        if reachable:
            self.stale_since = None
        elif self.stale_since is None:
            self.stale_since = time.time()
