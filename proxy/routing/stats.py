"""Per-listing live figures and outlier ejection, from this worker's own traffic (no I/O).

`StatsBook` keeps, per listing, EWMA TTFT (ms), tokens/s and error rate, plus the circuit
state. The clock is injected (`time.monotonic` by default) so tests step it by hand.

Ejection (after Envoy's outlier detection): `consecutive` failures in a row (default 5)
eject a listing for `base_eject_s × 2^(ejections-1)`, capped at `max_eject_s`. When that
time is over the listing is half-open: it gets one probe request per `probe_interval_s`
(a trickle); a success closes the circuit, a failure ejects it again for longer. At most
`max_ejected_share` of a model's listings (rounded down) are ejected at once — so a
model's only listing is never ejected, and a further failing listing stays in rotation
(ranked low by its error rate) rather than emptying the market. Every ejection is counted for /metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from wire.snapshot import ListingStats


class Observer(Protocol):
    def ttft(self, listing_id: str, seconds: float) -> None: ...
    def stream_end(self, listing_id: str, tps: float) -> None: ...


@dataclass(slots=True)
class Health:
    ttft_ms: float = 0.0
    tps: float = 0.0
    error_rate: float = 0.0
    samples: int = 0
    failures: int = 0  # requests that failed (for /metrics)
    consecutive: int = 0
    ejections: int = 0  # times ejected since the circuit last closed
    ejections_total: int = 0
    ejected_until: float = 0.0  # > 0 while ejected or half-open
    probe_at: float = 0.0


class StatsBook:
    __slots__ = ("observer", "health", "auth_failures", "_alpha", "_consecutive", "_base", "_max", "_share", "_probe",
                 "clock", "epoch")

    def __init__(self, *, alpha: float = 0.2, consecutive: int = 5, base_eject_s: float = 10.0,
                 max_eject_s: float = 300.0, max_ejected_share: float = 0.5, probe_interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.health: dict[str, Health] = {}
        self.observer: Observer | None = None  # /metrics histograms (proxy.metrics)
        self.auth_failures: dict[str, int] = {}  # listing -> upstream 401/403 answers since start
        self._alpha = alpha
        self._consecutive = consecutive
        self._base = base_eject_s
        self._max = max_eject_s
        self._share = max_ejected_share
        self._probe = probe_interval_s
        self.clock = clock
        self.epoch = 0  # bumped whenever a listing's availability changes (ejection, recovery, probe)

    def _get(self, listing_id: str) -> Health:
        h = self.health.get(listing_id)
        if h is None:
            h = self.health[listing_id] = Health()
        return h

    def record_success(self, listing_id: str, ttft_ms: float, tps: float | None = None) -> None:
        h = self._get(listing_id)
        if self.observer is not None:
            self.observer.ttft(listing_id, ttft_ms / 1000)
        a = self._alpha
        if h.samples == 0:
            h.ttft_ms = ttft_ms
            h.tps = tps or 0.0
        else:
            h.ttft_ms += a * (ttft_ms - h.ttft_ms)
            if tps is not None:
                h.tps = tps if h.tps == 0.0 else h.tps + a * (tps - h.tps)
        h.error_rate -= a * h.error_rate
        h.samples += 1
        h.consecutive = 0
        h.ejections = 0
        if h.ejected_until:
            h.ejected_until = 0.0
            self.epoch += 1

    def record_tps(self, listing_id: str, tps: float) -> None:
        """Throughput measured at the end of a stream (the TTFT was recorded at its start)."""
        h = self._get(listing_id)
        if self.observer is not None and tps > 0:
            self.observer.stream_end(listing_id, tps)
        h.tps = tps if h.tps == 0.0 else h.tps + self._alpha * (tps - h.tps)

    def record_failure(self, listing_id: str, peers: Iterable[str]) -> bool:
        """Count a failed attempt; True if the listing was ejected by it."""
        h = self._get(listing_id)
        h.error_rate += self._alpha * (1.0 - h.error_rate)
        h.samples += 1
        h.failures += 1
        h.consecutive += 1
        now = self.clock()
        half_open = h.ejected_until > 0.0 and now >= h.ejected_until
        if h.consecutive < self._consecutive and not half_open:
            return False
        if h.ejected_until > now:
            return False  # already ejected (a request that started before the ejection)
        peer_ids = list(peers)
        ejected = sum(1 for p in peer_ids if p != listing_id and self.is_ejected(p, now))
        if ejected + 1 > int(len(peer_ids) * self._share):
            return False  # cap on the share of a model's listings ejected at once
        h.ejections += 1
        h.ejections_total += 1
        h.ejected_until = now + min(self._max, self._base * 2 ** (h.ejections - 1))
        h.probe_at = h.ejected_until
        self.epoch += 1
        return True

    def record_auth_failure(self, listing_id: str) -> None:
        """The upstream rejected the seller's key (401/403): reported to the control plane."""
        self.auth_failures[listing_id] = self.auth_failures.get(listing_id, 0) + 1

    def is_ejected(self, listing_id: str, now: float) -> bool:
        h = self.health.get(listing_id)
        return h is not None and h.ejected_until > now

    def unavailable(self, h: Health, now: float) -> bool:
        """Ejected, or half-open with its probe already taken for this interval."""
        return h.ejected_until > now or (h.ejected_until > 0.0 and now < h.probe_at)

    def took(self, listing_id: str, now: float) -> None:
        """The pipeline sent a request to this listing: a half-open one spends its probe."""
        h = self.health.get(listing_id)
        if h is not None and h.ejected_until > 0.0:
            h.probe_at = now + self._probe
            self.epoch += 1

    def ejection_counts(self) -> tuple[tuple[str, int], ...]:
        """(listing, ejections since this worker started), for listings ever ejected, sorted."""
        return tuple((i, h.ejections_total) for i, h in sorted(self.health.items()) if h.ejections_total)

    def export(self) -> tuple[ListingStats, ...]:
        return tuple(ListingStats(listing_id=i, ttft_ms=h.ttft_ms, tps=h.tps, error_rate=h.error_rate,
                                  samples=h.samples) for i, h in sorted(self.health.items()) if h.samples)
