"""Retry budget (after Envoy's): retries in flight at most `share` of active requests.

Per worker, in memory. A retry (a fallback attempt or a hedge) may start only while
`retries < max(min_retries, share × active)`, so a market-wide outage does not multiply
the load on sellers: with the default 20 % and a floor of 3, at 100 requests in flight at
most 20 are second attempts.
"""

from __future__ import annotations


class RetryBudget:
    __slots__ = ("active", "retries", "_share", "_floor", "refused")

    def __init__(self, share: float = 0.2, min_retries: int = 3) -> None:
        self.active = 0
        self.retries = 0
        self.refused = 0
        self._share = share
        self._floor = min_retries

    def start(self) -> None:
        self.active += 1

    def finish(self) -> None:
        self.active -= 1

    def try_retry(self) -> bool:
        if self.retries >= max(self._floor, int(self.active * self._share)):
            self.refused += 1
            return False
        self.retries += 1
        return True

    def retry_done(self) -> None:
        self.retries -= 1
