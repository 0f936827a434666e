"""Live listing stats from Prometheus' HTTP API (`DF_STATS_SOURCE=prometheus`), for the snapshot.

The alternative to `live_stats` (the proxies' reports in Redis): Prometheus scrapes every
proxy, and each snapshot build asks it, per listing over `DF_PROMETHEUS_WINDOW` (default 5m):

- TTFT: the `DF_PROMETHEUS_QUANTILE` (default 0.5) of `gateway_ttft_seconds` (ms in the snapshot);
- throughput: the same quantile of `gateway_tokens_per_second`;
- error rate and samples: from `gateway_listing_failures_total` / `gateway_listing_requests_total`.

Listings past the proxies' `DF_METRICS_LISTINGS` cap (label `other`) get no figures. Figures are
quantized like `wire.stats.aggregate` (TTFT to 10 ms, tokens/s to 1, errors to 1 %; samples
capped at 100) so unchanged traffic does not churn the snapshot. Prometheus down, slow
(`DF_PROMETHEUS_TIMEOUT_S`) or answering an error yields no stats — the build goes on: stats
are advisory.
"""

from __future__ import annotations

import logging
import math

import httpx
import orjson

from wire.snapshot import ListingStats

log = logging.getLogger("control_plane.stats")


def queries(window: str, quantile: float) -> dict[str, str]:
    q, w, own = quantile, window, 'listing!="other"'
    return {
        "ttft": f"histogram_quantile({q}, sum by (listing, le) (rate(gateway_ttft_seconds_bucket{{{own}}}[{w}])))",
        "tps": f"histogram_quantile({q}, sum by (listing, le) (rate(gateway_tokens_per_second_bucket{{{own}}}[{w}])))",
        "failures": f"sum by (listing) (increase(gateway_listing_failures_total{{{own}}}[{w}]))",
        "samples": f"sum by (listing) (increase(gateway_listing_requests_total{{{own}}}[{w}]))",
    }


def _vector(body: bytes) -> dict[str, float]:
    doc = orjson.loads(body)
    if doc.get("status") != "success":
        raise ValueError(f"prometheus answered {doc.get('errorType', 'an error')}")
    out: dict[str, float] = {}
    for row in doc["data"]["result"]:
        value = float(row["value"][1])
        if math.isfinite(value):
            out[str(row["metric"].get("listing", ""))] = value
    return out


def combine(found: dict[str, dict[str, float]]) -> tuple[ListingStats, ...]:
    """Per-listing figures from the four query results (pure)."""
    ttft, tps, failures, samples = (found.get(k, {}) for k in ("ttft", "tps", "failures", "samples"))
    out: list[ListingStats] = []
    for lid in sorted(set(ttft) | set(samples)):
        n = samples.get(lid, 0.0)
        if not lid or (n < 0.5 and lid not in ttft):
            continue
        out.append(ListingStats(listing_id=lid, ttft_ms=round(ttft.get(lid, 0.0) * 1000, -1),
                                tps=float(round(tps.get(lid, 0.0))),
                                error_rate=round(min(failures.get(lid, 0.0) / n, 1.0), 2) if n else 0.0,
                                samples=min(max(int(round(n)), 1), 100)))
    return tuple(out)


async def prometheus_stats(client: httpx.AsyncClient, base_url: str, window: str,
                           quantile: float) -> tuple[ListingStats, ...]:
    found: dict[str, dict[str, float]] = {}
    try:
        for name, expr in queries(window, quantile).items():
            r = await client.get(base_url.rstrip("/") + "/api/v1/query", params={"query": expr})
            found[name] = _vector(r.content)
    except (httpx.HTTPError, ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        log.warning("prometheus stats unreadable (%s); building without them", exc)
        return ()
    return combine(found)
