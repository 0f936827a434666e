"""Bodies of seller visibility: a listing's traffic figures (`GET /v1/market/listings/{id}/stats`,
and a summary as `health` on the listing view) and provider status on `/v1/pool/providers`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from control_plane.schemas.admission import ProbeRunView

HealthStatus = Literal["healthy", "degraded", "no_traffic"]
ProviderStatus = Literal["operational", "degraded", "no_supply"]


class LiveFigures(msgspec.Struct, kw_only=True):
    """What the proxies report right now (last ~2 minutes, sample-weighted; `wire.stats`)."""

    ttft_ms: float
    tokens_per_s: float
    error_rate: float
    samples: int


class ListingStatsView(msgspec.Struct, kw_only=True):
    listing_id: str
    window_s: int  # the figures cover requests started in the last window_s seconds
    since: datetime
    requests: int
    errors: int  # requests that failed (status failed)
    error_rate: float  # errors / requests (0 with no requests)
    ttft_ms_p50: int | None
    ttft_ms_p95: int | None
    tokens_per_s: float | None  # completion tokens per second of streaming, over completed requests
    tokens: int  # prompt + completion tokens billed
    earned_micro_usd: int
    over_reported_usage: int  # requests whose upstream reported more completion tokens than we counted
    capped_charges: int  # charges cut to their reservation (README "Charge caps")
    ejections: int  # breaker ejections summed over the proxies' live reports (see listing_stats_api)
    last_request_at: datetime | None
    last_probe: ProbeRunView | None = None  # the listing's latest admission probe run (null before any)
    live: LiveFigures | None = None


class ListingHealth(msgspec.Struct, kw_only=True):
    """The listing view's summary of the last 24 hours (details at /stats)."""

    status: HealthStatus  # degraded: error rate >= 20 % or any over-reported usage
    requests_24h: int
    error_rate_24h: float
    over_reported_usage_24h: int
    live: LiveFigures | None = None
