"""The proxy's counters and histograms (prometheus-client; multiprocess mode under Granian).

Buckets are chosen for LLM traffic: whole requests run from tens of milliseconds (a cached
embedding) to minutes (a long stream); time to first token from 25 ms to 30 s; the mean
gap between streamed events from 2 ms to 1 s; throughput from 1 to 1000 events/s. Labels are
bounded: `model` and `provider` come from the snapshot's catalog (`none` when no seller was
reached), `listing` is a listing id for the first `DF_METRICS_LISTINGS` listings by id
(default 200; 0 = none) and `other` beyond, `status` an HTTP code, `limit` and `reason` fixed
names. A listing belongs to one model and one provider, so (model, provider, listing) has at
most `listings + model×provider pairs` values.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
GAP_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0)
TPS_BUCKETS = (1.0, 5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0, 500.0, 1000.0)
ATTEMPT_BUCKETS = (1.0, 2.0, 3.0, 4.0, 5.0, 8.0)

_SEEN = ("model", "provider", "listing")


class Families:
    """One instance per app; `registry` is only used outside multiprocess mode."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.requests = Counter("gateway_requests", "Inference requests answered, by HTTP status.", ["status"],
                                registry=r)
        self.duration = Histogram("gateway_request_duration_seconds", "Whole inference requests, until the last "
                                  "byte was sent, by the model and provider that answered.", ["model", "provider"],
                                  buckets=DURATION_BUCKETS, registry=r)
        self.ttft = Histogram("gateway_ttft_seconds", "Time from sending an upstream attempt to its first byte.",
                              _SEEN, buckets=TTFT_BUCKETS, registry=r)
        self.gap = Histogram("gateway_inter_token_seconds", "Mean gap between streamed events, one sample per stream.",
                             _SEEN, buckets=GAP_BUCKETS, registry=r)
        self.tps = Histogram("gateway_tokens_per_second", "Streamed events per second, one sample per stream.",
                             _SEEN, buckets=TPS_BUCKETS, registry=r)
        self.attempts = Histogram("gateway_upstream_attempts", "Upstream attempts per inference request.", ["model"],
                                  buckets=ATTEMPT_BUCKETS, registry=r)
        self.listing_requests = Counter("gateway_listing_requests", "Upstream attempts per listing.",
                                        ["listing", "provider"], registry=r)
        self.listing_failures = Counter("gateway_listing_failures", "Failed upstream attempts per listing.",
                                        ["listing", "provider"], registry=r)
        self.ejections = Counter("gateway_listing_ejections", "Times the listing was ejected (outlier detection).",
                                 ["listing", "provider"], registry=r)
        self.budget_refused = Counter("gateway_retry_budget_refused", "Fallback attempts refused by the retry budget.",
                                      registry=r)
        self.rate_rejections = Counter("gateway_ratelimit_rejections", "Requests refused or listings skipped, by "
                                       "limit.", ["limit"], registry=r)
        self.sync_failures = Counter("gateway_ratelimit_sync_failures", "Failed limit sync rounds with Redis.",
                                     registry=r)
        self.billing_rejections = Counter("gateway_billing_rejections", "Requests refused by billing (402/503), by "
                                          "reason.", ["reason"], registry=r)
        self.capped = Counter("gateway_billing_capped", "Charges cut to their reservation (the seller reported "
                              "more).", ["listing"], registry=r)
        self.mismatches = Counter("gateway_billing_usage_mismatches", "Usage reports above our own count (billed at "
                                  "our bound).", ["listing"], registry=r)
        self.estimated = Counter("gateway_billing_usage_estimated", "Charges from our own token estimate (the seller "
                                 "reported no usage).", ["listing"], registry=r)
