"""SQL of what a listing's pricing controls depend on: the catalog price of its model, its fee
profile, and the other routable listings of the model (the auto-follow market)."""

from __future__ import annotations

import asyncpg


async def catalog_price(conn: asyncpg.Connection, model: str) -> tuple[int, int] | None:
    row = await conn.fetchrow("SELECT input_price, output_price FROM models WHERE id = $1", model)
    return None if row is None else (int(row[0]), int(row[1]))


async def seller_fee_bps(conn: asyncpg.Connection, fee_profile_id: str | None) -> int:
    value = await conn.fetchval("SELECT seller_fee_bps FROM fee_profiles WHERE id = $1", fee_profile_id or "")
    return int(value or 0)


async def market_listings(conn: asyncpg.Connection, model: str, except_id: str) -> list[asyncpg.Record]:
    """The model's other listings that can be routed (listing, pool key and seller active)."""
    return list(await conn.fetch(
        "SELECT l.ask_input, l.ask_output, l.ask_cached_input, l.payout_floor, l.price_multiplier_bps,"
        " l.auto_follow, coalesce(f.seller_fee_bps, 0) AS seller_fee_bps"
        " FROM listings l JOIN pool_keys k ON k.id = l.pool_key_id JOIN accounts a ON a.id = l.account_id"
        " LEFT JOIN fee_profiles f ON f.id = l.fee_profile_id"
        " WHERE l.model = $1 AND l.id <> $2 AND l.status = 'active' AND k.status = 'active'"
        " AND a.status = 'active'", model, except_id))
