"""SQL of seller visibility: per-listing traffic figures from the settled generations (always
filtered by the seller in the query) and per-provider supply counts."""

from __future__ import annotations

from datetime import datetime

import asyncpg

_FIGURES = """
    count(*) AS requests,
    count(*) FILTER (WHERE status = 'failed') AS errors,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY ttft_ms) AS ttft_p50,
    percentile_disc(0.95) WITHIN GROUP (ORDER BY ttft_ms) AS ttft_p95,
    coalesce(sum(completion_tokens) FILTER (WHERE status = 'completed' AND latency_ms > coalesce(ttft_ms, 0)), 0)
        AS stream_tokens,
    coalesce(sum(latency_ms - coalesce(ttft_ms, 0))
        FILTER (WHERE status = 'completed' AND latency_ms > coalesce(ttft_ms, 0)), 0) AS stream_ms,
    count(*) FILTER (WHERE reported_completion_tokens > completion_tokens) AS over_reported,
    count(*) FILTER (WHERE capped_micro_usd > 0) AS capped,
    coalesce(sum(completion_tokens + prompt_tokens), 0) AS tokens,
    coalesce(sum(seller_payout_micro_usd), 0) AS earned,
    max(started_at) AS last_request_at
"""


async def figures(conn: asyncpg.Connection, seller_id: str, listing_id: str, since: datetime) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        f"SELECT {_FIGURES} FROM generations WHERE seller_account_id = $1 AND listing_id = $2 AND started_at >= $3",
        seller_id, listing_id, since)
    return row


async def provider_supply(conn: asyncpg.Connection, account_id: str) -> dict[str, asyncpg.Record]:
    """Per provider slug: routable listings market-wide, and the caller's pool keys (active, disabled)."""
    rows = await conn.fetch(
        "SELECT p.slug,"
        " (SELECT count(*) FROM listings l JOIN pool_keys k ON k.id = l.pool_key_id"
        "  JOIN accounts a ON a.id = l.account_id"
        "  WHERE k.provider = p.slug AND l.status = 'active' AND k.status = 'active' AND a.status = 'active')"
        "  AS listings,"
        " (SELECT count(*) FROM pool_keys k WHERE k.provider = p.slug AND k.account_id = $1 AND k.status = 'active')"
        "  AS my_active_keys,"
        " (SELECT count(*) FROM pool_keys k WHERE k.provider = p.slug AND k.account_id = $1 AND k.status <> 'active')"
        "  AS my_disabled_keys"
        " FROM providers p", account_id)
    return {str(r["slug"]): r for r in rows}


async def listing_ids_by_provider(conn: asyncpg.Connection) -> dict[str, str]:
    """Listing id -> provider slug, for every listing (to group live stats by provider)."""
    rows = await conn.fetch("SELECT l.id::text, k.provider FROM listings l JOIN pool_keys k ON k.id = l.pool_key_id")
    return {str(r[0]): str(r[1]) for r in rows}
