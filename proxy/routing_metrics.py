"""Prometheus lines for market routing: per-listing live figures, ejections, retry budget.

Rendered at scrape time from the `StatsBook` (nothing per request). The `listing` label
is bounded by the snapshot's listings.
"""

from __future__ import annotations

from proxy.routing.budget import RetryBudget
from proxy.routing.stats import StatsBook

ROUTING_NAMES = (
    "gateway_listing_ttft_ms",
    "gateway_listing_tokens_per_second",
    "gateway_listing_error_rate",
    "gateway_listing_requests_total",
    "gateway_listing_failures_total",
    "gateway_listing_ejected",
    "gateway_listing_ejections_total",
    "gateway_retry_budget_refused_total",
)

_HELP = {
    "gateway_listing_ttft_ms": ("gauge", "EWMA time to first byte per listing (this worker's traffic)."),
    "gateway_listing_tokens_per_second": ("gauge", "EWMA streamed events per second per listing."),
    "gateway_listing_error_rate": ("gauge", "EWMA share of failed attempts per listing."),
    "gateway_listing_requests_total": ("counter", "Upstream attempts per listing."),
    "gateway_listing_failures_total": ("counter", "Failed upstream attempts per listing."),
    "gateway_listing_ejected": ("gauge", "1 while the listing is ejected (outlier detection)."),
    "gateway_listing_ejections_total": ("counter", "Times the listing was ejected."),
}


def render_routing(worker: str, book: StatsBook, budget: RetryBudget) -> list[str]:
    now = book.clock()
    rows = sorted(book.health.items())
    lines: list[str] = []
    for name, (kind, text) in _HELP.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        for lid, h in rows:
            value: float = {
                "gateway_listing_ttft_ms": h.ttft_ms,
                "gateway_listing_tokens_per_second": h.tps,
                "gateway_listing_error_rate": h.error_rate,
                "gateway_listing_requests_total": h.samples,
                "gateway_listing_failures_total": h.failures,
                "gateway_listing_ejected": 1 if h.ejected_until > now else 0,
                "gateway_listing_ejections_total": h.ejections_total,
            }[name]
            lines.append(f'{name}{{{worker},listing="{lid}"}} {value:g}')
    lines += [
        "# HELP gateway_retry_budget_refused_total Fallback attempts refused by the retry budget.",
        "# TYPE gateway_retry_budget_refused_total counter",
        f"gateway_retry_budget_refused_total{{{worker}}} {budget.refused}",
    ]
    return lines
