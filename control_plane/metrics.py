"""The control plane's Prometheus metrics (`GET /metrics`; names, labels and buckets in README "Metrics").

Settlement (events by outcome, lag from the end of a request to its settlement, backlog of the
usage stream, money settled), the periodic ledger check, snapshot builds (time, size, publish
latency, last publish time), the market as published (listings by state, asks per model) and
HTTP by route. Under Granian (`control_plane.asgi`) prometheus-client runs in multiprocess mode
(`wire.metrics_dir`) so every worker's series are in every scrape; gauges that describe shared
state (backlog, market, ledger, snapshot) keep the most recent value any worker set.

Labels are bounded: `route` is a route template (or `unmatched`), `outcome`/`state`/`kind` fixed
names, `model` and `provider` the catalog's, `seller` a seller account id for the first
`DF_METRICS_SELLERS` sellers this process settles for (default 100; then `other`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

from blacksheep import Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from wire.pricing import Charge
from wire.snapshot import Snapshot
from wire.usage import UsageEvent

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
BUILD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_MICRO = 1_000_000


class ControlPlaneMetrics:
    def __init__(self, registry: CollectorRegistry, max_sellers: int = 100, max_listings: int = 200) -> None:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self.registry = registry
        r = self.own = CollectorRegistry() if directory else registry  # where our metric objects register
        if directory:
            MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        self._max_sellers, self._max_listings = max_sellers, max_listings
        self._sellers: set[str] = set()
        self.events = Counter("dragonfly_settlement_events", "Usage events handled by settlement, by outcome "
                              "(settled, replayed: already settled, dead: undecodable or refused).", ["outcome"],
                              registry=r)
        self.lag = Histogram("dragonfly_settlement_lag_seconds", "From the end of a request to its settlement.",
                             buckets=LAG_BUCKETS, registry=r)
        self.backlog = Gauge("dragonfly_settlement_backlog", "Usage events waiting in the stream (XLEN).",
                             registry=r, multiprocess_mode="mostrecent")
        self.last_batch = Gauge("dragonfly_settlement_last_batch_timestamp_seconds", "When settlement last "
                                "finished a batch (Unix time).", registry=r, multiprocess_mode="max")
        self.charged = Counter("dragonfly_settlement_charged_usd", "Buyer debits settled (revenue), in USD.",
                               ["model"], registry=r)
        self.fees = Counter("dragonfly_settlement_fees_usd", "Platform fees settled, in USD.", ["model"], registry=r)
        self.payouts = Counter("dragonfly_settlement_payout_usd", "Seller payouts settled, in USD.", ["seller"],
                               registry=r)
        self.capped = Counter("dragonfly_settlement_capped", "Settled charges cut to the reservation or balance.",
                              ["model"], registry=r)
        self.ledger_ok = Gauge("dragonfly_ledger_check_ok", "1 if the last ledger check found no violation.",
                               registry=r, multiprocess_mode="mostrecent")
        self.ledger_violations = Gauge("dragonfly_ledger_check_violations", "Invariants violated at the last ledger "
                                       "check.", registry=r, multiprocess_mode="mostrecent")
        self.ledger_at = Gauge("dragonfly_ledger_check_timestamp_seconds", "When the ledger was last checked.",
                               registry=r, multiprocess_mode="max")
        self.build = Histogram("dragonfly_snapshot_build_seconds", "Reading the rows and building a snapshot.",
                               buckets=BUILD_BUCKETS, registry=r)
        self.publish = Histogram("dragonfly_snapshot_publish_seconds", "Writing a built snapshot to Redis.",
                                 buckets=BUILD_BUCKETS, registry=r)
        self.publishes = Counter("dragonfly_snapshot_publishes", "Snapshot builds by result (changed, unchanged, "
                                 "failed).", ["result"], registry=r)
        self.snapshot_bytes = Gauge("dragonfly_snapshot_bytes", "Bytes written by the last changed publish.",
                                    registry=r, multiprocess_mode="mostrecent")
        self.published_at = Gauge("dragonfly_snapshot_published_timestamp_seconds", "When a snapshot was last "
                                  "built and published successfully (Unix time).", registry=r,
                                  multiprocess_mode="max")
        self.objects = Gauge("dragonfly_snapshot_objects", "Objects in the last published snapshot.", ["kind"],
                             registry=r, multiprocess_mode="mostrecent")
        self.listings = Gauge("dragonfly_market_listings", "Listings routed, by model and provider.",
                              ["model", "provider"], registry=r, multiprocess_mode="mostrecent")
        self.by_state = Gauge("dragonfly_market_listings_by_state", "Listings in the database by state (active, "
                              "paused) and routed (in the snapshot).", ["state"], registry=r,
                              multiprocess_mode="mostrecent")
        self.listing_info = Gauge("dragonfly_market_listing_info", "1 per routed listing (0 once it left the "
                                  "snapshot), naming its seller, model and provider: join proxy series on `listing`.",
                                  ["listing", "seller", "model", "provider"], registry=r,
                                  multiprocess_mode="mostrecent")
        self.asks = Gauge("dragonfly_market_ask_usd_per_million_tokens", "Asks of routed listings per model "
                          "(min, median, max), per million tokens.", ["model", "side", "stat"], registry=r,
                          multiprocess_mode="mostrecent")
        self.http = Histogram("dragonfly_http_request_duration_seconds", "Control-plane HTTP requests by route.",
                              ["route", "method", "status"], buckets=HTTP_BUCKETS, registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def _seller(self, seller: str) -> str:
        if seller in self._sellers or len(self._sellers) < self._max_sellers:
            self._sellers.add(seller)
            return seller
        return "other"

    def settled(self, ev: UsageEvent, charge: Charge | None, full_cost: int) -> None:
        if charge is None:
            self.events.labels("replayed").inc()
            return
        self.events.labels("settled").inc()
        self.lag.observe(max(time.time() - (ev.started_at_ms + ev.latency_ms) / 1000, 0.0))
        self.charged.labels(ev.model).inc(charge.cost / _MICRO)
        self.fees.labels(ev.model).inc(charge.platform_fee / _MICRO)
        self.payouts.labels(self._seller(ev.seller_account_id)).inc(charge.seller_payout / _MICRO)
        if charge.cost < full_cost:
            self.capped.labels(ev.model).inc()

    def market(self, snap: Snapshot) -> None:
        """Listings and asks per model of a published snapshot (models that vanished read 0)."""
        counts: dict[tuple[str, str], int] = {}
        asks: dict[tuple[str, str], list[int]] = {}
        for lst in snap.listings:
            counts[(lst.model, lst.provider)] = counts.get((lst.model, lst.provider), 0) + 1
            asks.setdefault((lst.model, "input"), []).append(lst.ask_input)
            asks.setdefault((lst.model, "output"), []).append(lst.ask_output)
        for gauge in (self.listings, self.listing_info):
            for labels in list(gauge._metrics):
                gauge.labels(*labels).set(0)
        for lst in sorted(snap.listings, key=lambda x: x.id)[:self._max_listings]:
            self.listing_info.labels(lst.id, self._seller(lst.seller_account_id), lst.model, lst.provider).set(1)
        self.by_state.labels("routed").set(len(snap.listings))
        for (model, provider), n in counts.items():
            self.listings.labels(model, provider).set(n)
        for (model, side), values in asks.items():
            values.sort()
            for stat, v in (("min", values[0]), ("median", values[len(values) // 2]), ("max", values[-1])):
                self.asks.labels(model, side, stat).set(v / _MICRO)
        for kind, n in (("keys", len(snap.keys)), ("listings", len(snap.listings)), ("models", len(snap.models))):
            self.objects.labels(kind).set(n)

    def timed(self, route: str, method: str,
              handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            started = time.perf_counter()
            response = await handler(request)
            self.http.labels(route, method, str(response.status)).observe(time.perf_counter() - started)
            return response

        return run
