"""Seller visibility: `GET /v1/market/listings/{id}/stats?window_s=`, the `health` summary of the
listing view, and provider status on `GET /v1/pool/providers`.

Figures come from what the control plane already has: the settled generations in PostgreSQL
(requests, failures, TTFT percentiles, streaming tokens/s, usage the upstream over-reported,
capped charges) and the proxies' live reports in Redis (`wire.stats`: TTFT, tokens/s and error
rate over the last ~2 minutes). Rules, stated once:
- a listing's health is `no_traffic` without requests in 24 h, `degraded` when its 24 h error
  rate is >= 20 % or any request's usage was over-reported, else `healthy`;
- a provider is `no_supply` without a routable listing market-wide, `degraded` when the
  sample-weighted live error rate of its listings is >= 20 %, else `operational`.
- `ejections` is the breaker ejections of the listing summed over the proxy workers' fresh reports
  (`wire.stats.ejection_counts`: each worker counts since it started, reports older than 2 minutes
  drop out), not limited to `window_s`; 0 when no proxy ejected it.
- `last_probe` is the listing's latest probe run (all of them at `/probe-runs`); null before any.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from blacksheep import Response

from control_plane.db import admission as db_admission
from control_plane.db import listing_stats as db
from control_plane.db import listings as db_listings
from control_plane.errors import BadRequest, NotFound
from control_plane.http.admission_api import run_view
from control_plane.http.context import Call, json_response
from control_plane.schemas.listing_stats import HealthStatus, ListingHealth, ListingStatsView, LiveFigures
from wire.snapshot import ListingStats

DEGRADED_ERROR_RATE = 0.2
DAY_S = 86400
MAX_WINDOW_S = 30 * DAY_S


def _live(stats: tuple[ListingStats, ...], listing_id: str) -> LiveFigures | None:
    for s in stats:
        if s.listing_id == listing_id:
            return LiveFigures(ttft_ms=s.ttft_ms, tokens_per_s=s.tps, error_rate=s.error_rate, samples=s.samples)
    return None


def _rate(errors: int, requests: int) -> float:
    return round(errors / requests, 4) if requests else 0.0


async def listing_health(call: Call, conn: asyncpg.Connection, row: asyncpg.Record) -> ListingHealth:
    now = datetime.fromtimestamp(call.services.clock(), UTC)
    f = await db.figures(conn, call.account_id, str(row["id"]), now - timedelta(seconds=DAY_S))
    requests, errors, over = int(f["requests"]), int(f["errors"]), int(f["over_reported"])
    rate = _rate(errors, requests)
    status: HealthStatus = ("no_traffic" if not requests else
                            "degraded" if rate >= DEGRADED_ERROR_RATE or over else "healthy")
    return ListingHealth(status=status, requests_24h=requests, error_rate_24h=rate, over_reported_usage_24h=over,
                         live=_live(await call.services.live_stats(), str(row["id"])))


async def listing_stats(call: Call) -> Response:
    raw = call.request.query.get("window_s")
    window = DAY_S
    if raw:
        if not raw[0].isdigit() or not 60 <= int(raw[0]) <= MAX_WINDOW_S:
            raise BadRequest(f"window_s: must be an integer from 60 to {MAX_WINDOW_S}")
        window = int(raw[0])
    now = datetime.fromtimestamp(call.services.clock(), UTC)
    since = now - timedelta(seconds=window)
    async with call.services.pool.acquire() as conn:
        row = await db_listings.get_listing(conn, call.account_id, call.path_id())
        if row is None:
            raise NotFound("no listing with this id on your account; list yours with GET /v1/market/listings")
        f = await db.figures(conn, call.account_id, str(row["id"]), since)
        runs = await db_admission.runs_of_listing(conn, call.account_id, str(row["id"]), 1)
    requests, errors = int(f["requests"]), int(f["errors"])
    stream_ms = int(f["stream_ms"])
    return json_response(ListingStatsView(
        listing_id=str(row["id"]), window_s=window, since=since, requests=requests, errors=errors,
        error_rate=_rate(errors, requests), ttft_ms_p50=f["ttft_p50"], ttft_ms_p95=f["ttft_p95"],
        tokens_per_s=round(int(f["stream_tokens"]) * 1000 / stream_ms, 1) if stream_ms else None,
        tokens=int(f["tokens"]), earned_micro_usd=int(f["earned"]), over_reported_usage=int(f["over_reported"]),
        capped_charges=int(f["capped"]),
        ejections=(await call.services.live_ejections()).get(str(row["id"]), 0), last_request_at=f["last_request_at"],
        last_probe=run_view(runs[0]) if runs else None,
        live=_live(await call.services.live_stats(), str(row["id"]))))


async def provider_status(call: Call, conn: asyncpg.Connection) -> dict[str, dict[str, object]]:
    """Per provider slug: the fields `ProviderView` adds (status, listings, error_rate, the caller's keys)."""
    supply = await db.provider_supply(conn, call.account_id)
    owner = await db.listing_ids_by_provider(conn)
    sums: dict[str, list[float]] = {}
    for s in await call.services.live_stats():
        slug = owner.get(s.listing_id)
        if slug is not None and s.samples > 0:
            acc = sums.setdefault(slug, [0.0, 0.0])
            acc[0] += s.error_rate * s.samples
            acc[1] += s.samples
    out: dict[str, dict[str, object]] = {}
    for slug, r in supply.items():
        err = round(sums[slug][0] / sums[slug][1], 4) if slug in sums else None
        status = ("no_supply" if not r["listings"] else
                  "degraded" if err is not None and err >= DEGRADED_ERROR_RATE else "operational")
        out[slug] = {"status": status, "listings": int(r["listings"]), "live_error_rate": err,
                     "my_active_keys": int(r["my_active_keys"]), "my_disabled_keys": int(r["my_disabled_keys"])}
    return out
