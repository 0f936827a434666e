"""Every Prometheus metric of the proxy, rendered at scrape time from plain counters.

The hot path only bumps an integer in a dict (no prometheus_client objects per
request); `/metrics` renders this worker's figures with a `worker` label (its pid),
so a scrape through a load balancer shows which worker answered, and a Prometheus
that scrapes every worker (or sums by job) sees them all. Labels are bounded:
status codes and outcome names only — never keys, accounts or paths.
"""

from __future__ import annotations

import os
import time
from collections import Counter

from proxy.billing.gate import Billing
from proxy.limits.limiter import Limiter
from proxy.limits.redis_sync import RedisLimitSync
from proxy.routing.budget import RetryBudget
from proxy.routing.stats import StatsBook
from proxy.routing_metrics import ROUTING_NAMES, render_routing
from proxy.snapshot.store import SnapshotStore

NAMES = (
    "gateway_requests_total",
    "gateway_snapshot_info",
    "gateway_snapshot_age_seconds",
    "gateway_snapshot_source_up",
    "gateway_snapshot_stale_seconds",
    "gateway_snapshot_objects",
    *ROUTING_NAMES,
    "gateway_ratelimit_degraded",
    "gateway_ratelimit_replicas",
    "gateway_ratelimit_rejections_total",
    "gateway_ratelimit_sync_failures_total",
    "gateway_billing_capped_total",
    "gateway_billing_usage_mismatches_total",
)


class Metrics:
    __slots__ = ("requests", "_store", "_book", "_budget", "_limiter", "_sync", "_billing")

    def __init__(self, store: SnapshotStore, limiter: Limiter | None = None,
                 sync: RedisLimitSync | None = None) -> None:
        self.requests: Counter[int] = Counter()  # chat completions by HTTP status
        self._store = store
        self._limiter = limiter
        self._sync = sync
        self._book: StatsBook | None = None
        self._budget: RetryBudget | None = None
        self._billing: Billing | None = None

    def attach_billing(self, billing: Billing) -> None:
        self._billing = billing

    def attach_routing(self, book: StatsBook, budget: RetryBudget) -> None:
        self._book = book
        self._budget = budget

    def render(self) -> bytes:
        worker = f'worker="{os.getpid()}"'
        now = time.time()
        lines = [
            "# HELP gateway_requests_total Chat-completion requests answered, by HTTP status.",
            "# TYPE gateway_requests_total counter",
            *(f'gateway_requests_total{{{worker},status="{code}"}} {n}' for code, n in sorted(self.requests.items())),
        ]
        index = self._store.current()
        lines += [
            "# HELP gateway_snapshot_info The snapshot version in force (value 1).",
            "# TYPE gateway_snapshot_info gauge",
            f'gateway_snapshot_info{{{worker},version="{index.version if index else ""}"}} {1 if index else 0}',
            "# HELP gateway_snapshot_age_seconds Seconds since this worker swapped in its snapshot.",
            "# TYPE gateway_snapshot_age_seconds gauge",
            f"gateway_snapshot_age_seconds{{{worker}}} {now - self._store.swapped_at if index else -1:.3f}",
            "# HELP gateway_snapshot_source_up 1 while the snapshot source (Redis or file) is reachable.",
            "# TYPE gateway_snapshot_source_up gauge",
            f"gateway_snapshot_source_up{{{worker}}} {0 if self._store.stale_since is not None else 1}",
            "# HELP gateway_snapshot_stale_seconds Seconds the source has been unreachable (0 when up).",
            "# TYPE gateway_snapshot_stale_seconds gauge",
            f"gateway_snapshot_stale_seconds{{{worker}}} "
            f"{now - self._store.stale_since if self._store.stale_since is not None else 0:.3f}",
            "# HELP gateway_snapshot_objects Objects in the snapshot in force.",
            "# TYPE gateway_snapshot_objects gauge",
            *(f'gateway_snapshot_objects{{{worker},kind="{kind}"}} {n}'
              for kind, n in sorted((index.counts if index else {}).items())),
        ]
        if self._book is not None and self._budget is not None:
            lines += render_routing(worker, self._book, self._budget)
        if self._limiter is not None:
            lim = self._limiter
            lines += [
                "# HELP gateway_ratelimit_degraded 1 while limits are local (limit / replicas): Redis unreachable "
                "or not configured.",
                "# TYPE gateway_ratelimit_degraded gauge",
                f"gateway_ratelimit_degraded{{{worker}}} {1 if lim.degraded else 0}",
                "# HELP gateway_ratelimit_replicas Proxy workers sharing the limits (from Redis heartbeats).",
                "# TYPE gateway_ratelimit_replicas gauge",
                f"gateway_ratelimit_replicas{{{worker}}} {lim.replicas}",
                "# HELP gateway_ratelimit_rejections_total Requests refused or listings skipped, by limit.",
                "# TYPE gateway_ratelimit_rejections_total counter",
                *(f'gateway_ratelimit_rejections_total{{{worker},limit="{name}"}} {n}'
                  for name, n in sorted(lim.rejections.items())),
                "# HELP gateway_ratelimit_sync_failures_total Failed limit sync rounds with Redis.",
                "# TYPE gateway_ratelimit_sync_failures_total counter",
                f"gateway_ratelimit_sync_failures_total{{{worker}}} {self._sync.failures if self._sync else 0}",
            ]
        if self._billing is not None:
            lines += _billing_lines(worker, self._billing)
        return ("\n".join(lines) + "\n").encode()


def _billing_lines(worker: str, billing: Billing) -> list[str]:
    """Per listing (bounded by the snapshot's listings): charges capped, usage reports above our count."""
    return [
        "# HELP gateway_billing_capped_total Charges cut to their reservation (the seller reported more).",
        "# TYPE gateway_billing_capped_total counter",
        *(f'gateway_billing_capped_total{{{worker},listing="{lid}"}} {n}' for lid, n in sorted(billing.capped.items())),
        "# HELP gateway_billing_usage_mismatches_total Usage reports above our own count (billed at our bound).",
        "# TYPE gateway_billing_usage_mismatches_total counter",
        *(f'gateway_billing_usage_mismatches_total{{{worker},listing="{lid}"}} {n}'
          for lid, n in sorted(billing.mismatches.items())),
    ]
