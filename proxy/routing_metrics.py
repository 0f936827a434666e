"""Gauge families for market routing: this worker's per-listing live figures (EWMA) and circuit state.

Rendered from the `StatsBook` at sync/scrape time (nothing per request), `worker`-labelled
(see `proxy.worker_gauges`). The `listing` label is bounded as in `proxy.metric_families`.
"""

from __future__ import annotations

from collections.abc import Callable

from proxy.routing.stats import StatsBook
from proxy.worker_gauges import Family

GAUGES = {
    "gateway_listing_ttft_seconds": "EWMA time to first byte per listing (this worker's traffic).",
    "gateway_listing_tokens_per_second": "EWMA streamed events per second per listing.",
    "gateway_listing_error_rate": "EWMA share of failed attempts per listing.",
    "gateway_listing_ejected": "1 while the listing is ejected (outlier detection).",
}


def routing_gauges(worker: str, book: StatsBook, label: Callable[[str], str]) -> list[Family]:
    now = book.clock()
    rows = [(label(lid), h) for lid, h in sorted(book.health.items())]
    rows = [(lid, h) for lid, h in rows if lid != "other"]  # EWMA figures do not add up: no overflow row
    values = {
        "gateway_listing_ttft_seconds": [h.ttft_ms / 1000 for _, h in rows],
        "gateway_listing_tokens_per_second": [h.tps for _, h in rows],
        "gateway_listing_error_rate": [h.error_rate for _, h in rows],
        "gateway_listing_ejected": [1.0 if h.ejected_until > now else 0.0 for _, h in rows],
    }
    return [(name, "gauge", text, [f'{name}{{{worker},listing="{lid}"}} {v:g}'
                                   for (lid, _), v in zip(rows, values[name], strict=True)])
            for name, text in GAUGES.items()]
