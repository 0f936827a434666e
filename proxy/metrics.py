"""Every Prometheus metric of the proxy (`GET /metrics`); names, labels and buckets in README "Metrics".

Counters and histograms are prometheus-client objects. Under Granian (`proxy.asgi`) they run in
multiprocess mode (`wire.metrics_dir`), so any worker's `/metrics` shows the sums over all
workers of the process group. The hot path only bumps integers in dicts (requests by status,
the limiter's, billing's and the stats book's counters); `sync` turns them into counter
increments about once a second and at every scrape. Histograms are observed where the figure
is known: `ttft` and `stream_end` from the stats book, `request_end` by the edge. Gauges are
per worker (`worker` label, see `proxy.worker_gauges`).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.multiprocess import MultiProcessCollector

from proxy import worker_gauges
from proxy.billing.gate import Billing
from proxy.limits.limiter import Limiter
from proxy.limits.redis_sync import RedisLimitSync
from proxy.metric_families import Families
from proxy.routing.budget import RetryBudget
from proxy.routing.stats import StatsBook
from proxy.routing_metrics import GAUGES, routing_gauges
from proxy.snapshot.index import RoutingIndex
from proxy.snapshot.store import SnapshotStore
from proxy.worker_gauges import Family

NAMES = (  # every series name a dashboard may query (histograms: their _bucket/_sum/_count)
    "gateway_requests_total", "gateway_request_duration_seconds", "gateway_ttft_seconds",
    "gateway_inter_token_seconds", "gateway_tokens_per_second", "gateway_upstream_attempts",
    "gateway_snapshot_info", "gateway_snapshot_age_seconds", "gateway_snapshot_source_up",
    "gateway_snapshot_stale_seconds", "gateway_snapshot_objects", *GAUGES,
    "gateway_listing_requests_total", "gateway_listing_failures_total", "gateway_listing_ejections_total",
    "gateway_retry_budget_refused_total", "gateway_ratelimit_degraded", "gateway_ratelimit_replicas",
    "gateway_ratelimit_rejections_total", "gateway_ratelimit_sync_failures_total", "gateway_billing_rejections_total",
    "gateway_billing_capped_total", "gateway_billing_usage_mismatches_total", "gateway_billing_usage_estimated_total",
)


class Labels:
    """listing id -> (model, provider, listing label), rebuilt when the snapshot changes."""

    __slots__ = ("_store", "_max", "_version", "_map")

    def __init__(self, store: SnapshotStore, max_listings: int) -> None:
        self._store, self._max = store, max_listings
        self._version: str | None = None
        self._map: dict[str, tuple[str, str, str]] = {}

    def of(self, listing_id: str) -> tuple[str, str, str]:
        index = self._store.current()
        if index is not None and index.version != self._version:
            self._map, self._version = _label_map(index, self._max), index.version
        return self._map.get(listing_id, ("none", "none", "other"))

    def listing(self, listing_id: str) -> str:
        return self.of(listing_id)[2]


def _label_map(index: RoutingIndex, max_listings: int) -> dict[str, tuple[str, str, str]]:
    entries = sorted((e for group in index.listings.values() for e in group), key=lambda e: e.id)
    return {e.id: (e.listing.model, e.provider, e.id if i < max_listings else "other") for i, e in enumerate(entries)}


class _Children(NamedTuple):
    ttft: Histogram
    tps: Histogram
    gap: Histogram
    duration: Histogram
    attempts: Histogram


class Metrics:
    __slots__ = ("requests", "labels", "fam", "_registry", "_dir", "_store", "_book", "_budget", "_limiter", "_sync",
                 "_billing", "_seen", "_synced_at", "_kids")

    def __init__(self, store: SnapshotStore, limiter: Limiter | None = None, sync: RedisLimitSync | None = None,
                 max_listings: int = 200) -> None:
        self.requests: Counter[int] = Counter()  # inference requests by HTTP status (bumped by the edge)
        self._store, self._limiter, self._sync = store, limiter, sync
        self.labels = Labels(store, max_listings)
        multiproc = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self._dir = Path(multiproc) if multiproc else None
        self._registry = CollectorRegistry()
        self.fam = Families(CollectorRegistry() if self._dir else self._registry)
        if self._dir is not None:
            MultiProcessCollector(self._registry, path=str(self._dir))  # type: ignore[no-untyped-call]
        self._book: StatsBook | None = None
        self._budget: RetryBudget | None = None
        self._billing: Billing | None = None
        self._seen: dict[tuple[str, tuple[str, ...]], float] = {}  # counter values already exported
        self._synced_at = 0.0
        self._kids: dict[tuple[str, str, str], _Children] = {}  # bounded like the label sets

    def attach_billing(self, billing: Billing) -> None:
        self._billing = billing

    def attach_routing(self, book: StatsBook, budget: RetryBudget) -> None:
        self._book, self._budget = book, budget
        book.observer = self

    # --- histograms (children cached per label set: `labels()` costs more than the observation) ------
    def _children(self, listing_id: str | None) -> _Children:
        labels = self.labels.of(listing_id) if listing_id else ("none", "none", "other")
        found = self._kids.get(labels)
        if found is None:
            f = self.fam
            found = self._kids[labels] = _Children(f.ttft.labels(*labels), f.tps.labels(*labels),
                                                   f.gap.labels(*labels), f.duration.labels(*labels[:2]),
                                                   f.attempts.labels(labels[0]))
        return found

    def ttft(self, listing_id: str, seconds: float) -> None:
        self._children(listing_id).ttft.observe(seconds)

    def stream_end(self, listing_id: str, tps: float) -> None:
        kids = self._children(listing_id)
        kids.tps.observe(tps)
        kids.gap.observe(1.0 / tps)

    def request_end(self, listing_id: str | None, attempts: int, seconds: float) -> None:
        kids = self._children(listing_id)
        kids.duration.observe(seconds)
        if attempts:
            kids.attempts.observe(attempts)

    # --- counters from plain dicts ----------------------------------------------------------------
    def _add(self, counter: PromCounter, labels: tuple[str, ...], value: float) -> None:
        key = (counter._name, labels)
        seen = self._seen.get(key)
        if seen is None or value > seen:
            (counter.labels(*labels) if labels else counter).inc(value - (seen or 0))  # a 0 shows the series
            self._seen[key] = value

    def sync(self) -> None:
        f = self.fam
        for code, n in list(self.requests.items()):
            self._add(f.requests, (str(code),), n)
        if self._book is not None and self._budget is not None:
            per: dict[tuple[str, str], Counter[str]] = {}
            for lid, h in list(self._book.health.items()):
                _, provider, label = self.labels.of(lid)
                for name, v in (("req", h.samples), ("fail", h.failures), ("ej", h.ejections_total)):
                    per.setdefault((name, provider), Counter())[label] += v
            families = {"req": f.listing_requests, "fail": f.listing_failures, "ej": f.ejections}
            for (name, provider), counts in per.items():
                for label, v in counts.items():
                    self._add(families[name], (label, provider), v)
            self._add(f.budget_refused, (), self._budget.refused)
        if self._limiter is not None:
            for name, n in list(self._limiter.rejections.items()):
                self._add(f.rate_rejections, (name,), n)
            self._add(f.sync_failures, (), self._sync.failures if self._sync else 0)
        if self._billing is not None:
            b = self._billing
            for reason, n in list(b.rejections.items()):
                self._add(f.billing_rejections, (reason,), n)
            for counter, src in ((f.capped, b.capped), (f.mismatches, b.mismatches), (f.estimated, b.estimated)):
                totals: Counter[str] = Counter()
                for lid, n in list(src.items()):
                    totals[self.labels.listing(lid)] += n
                for label, n in totals.items():
                    self._add(counter, (label,), n)
        if self._dir is not None:
            worker_gauges.write(self._dir, self.gauges())
        self._synced_at = time.monotonic()

    # --- gauges (this worker) ---------------------------------------------------------------------
    def gauges(self) -> list[Family]:
        worker = f'worker="{os.getpid()}"'
        now, index, store = time.time(), self._store.current(), self._store
        fams: list[Family] = [
            ("gateway_snapshot_info", "gauge", "The snapshot version in force (value 1).",
             [f'gateway_snapshot_info{{{worker},version="{index.version if index else ""}"}} {1 if index else 0}']),
            ("gateway_snapshot_age_seconds", "gauge", "Seconds since this worker swapped in its snapshot.",
             [f"gateway_snapshot_age_seconds{{{worker}}} {now - store.swapped_at if index else -1:.3f}"]),
            ("gateway_snapshot_source_up", "gauge", "1 while the snapshot source (Redis or file) is reachable.",
             [f"gateway_snapshot_source_up{{{worker}}} {0 if store.stale_since is not None else 1}"]),
            ("gateway_snapshot_stale_seconds", "gauge", "Seconds the source has been unreachable (0 when up).",
             [f"gateway_snapshot_stale_seconds{{{worker}}} "
              f"{now - store.stale_since if store.stale_since is not None else 0:.3f}"]),
            ("gateway_snapshot_objects", "gauge", "Objects in the snapshot in force.",
             [f'gateway_snapshot_objects{{{worker},kind="{kind}"}} {n}'
              for kind, n in sorted((index.counts if index else {}).items())]),
        ]
        if self._book is not None:
            fams += routing_gauges(worker, self._book, self.labels.listing)
        if self._limiter is not None:
            fams += [
                ("gateway_ratelimit_degraded", "gauge", "1 while limits are local (limit / replicas): Redis "
                 "unreachable or not configured.", [f"gateway_ratelimit_degraded{{{worker}}} "
                                                    f"{1 if self._limiter.degraded else 0}"]),
                ("gateway_ratelimit_replicas", "gauge", "Proxy workers sharing the limits (from Redis heartbeats).",
                 [f"gateway_ratelimit_replicas{{{worker}}} {self._limiter.replicas}"]),
            ]
        return fams

    def render(self) -> bytes:
        self.sync()
        others = worker_gauges.others(self._dir) if self._dir is not None else []
        text = "\n".join(worker_gauges.render(self.gauges(), others)) + "\n"
        return text.encode() + generate_latest(self._registry)

    def due(self, interval_s: float = 1.0) -> bool:
        return time.monotonic() - self._synced_at >= interval_s
