"""Circuit breaker for the background Redis calls (pure: the clock is passed in).

Closed: calls go through. After `threshold` consecutive failures it opens for `backoff`
seconds (doubling up to `max_backoff` while probes keep failing); then one probe call is
allowed (half-open); a success closes it.
"""

from __future__ import annotations


class Breaker:
    __slots__ = ("threshold", "base_backoff", "max_backoff", "failures", "open_until", "_backoff")

    def __init__(self, threshold: int = 3, base_backoff: float = 0.5, max_backoff: float = 5.0) -> None:
        self.threshold = threshold
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.failures = 0
        self.open_until: float | None = None
        self._backoff = base_backoff

    def allow(self, now: float) -> bool:
        return self.open_until is None or now >= self.open_until

    @property
    def is_open(self) -> bool:
        return self.open_until is not None

    def success(self) -> None:
        self.failures = 0
        self.open_until = None
        self._backoff = self.base_backoff

    def failure(self, now: float) -> None:
        self.failures += 1
        if self.open_until is not None:  # a failed probe: stay open, longer
            self._backoff = min(self._backoff * 2, self.max_backoff)
            self.open_until = now + self._backoff
        elif self.failures >= self.threshold:
            self.open_until = now + self._backoff
