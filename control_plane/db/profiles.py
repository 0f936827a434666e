"""SQL for routing profiles (one default per account, enforced by a partial unique index)."""

from __future__ import annotations

import asyncpg

PROFILE_COLUMNS = """
    id::text AS id, name, strategy, is_default, provider_only, provider_ignore, provider_order,
    max_price_input, max_price_output, max_ttft_ms, min_throughput_tps, hard_max_ttft_ms,
    hard_min_throughput_tps, privacy_mode, fallback_enabled, max_attempts, fallback_on, deadline_ms, hedge_ttft_ms,
    weight_price, weight_latency, weight_throughput, weight_reliability, created_at, updated_at
"""
PATCHABLE = frozenset(
    {
        "name",
        "strategy",
        "is_default",
        "provider_only",
        "provider_ignore",
        "provider_order",
        "max_price_input",
        "max_price_output",
        "max_ttft_ms",
        "min_throughput_tps",
        "hard_max_ttft_ms",
        "hard_min_throughput_tps",
        "privacy_mode",
        "fallback_enabled",
        "max_attempts",
        "fallback_on",
        "deadline_ms",
        "hedge_ttft_ms",
        "weight_price",
        "weight_latency",
        "weight_throughput",
        "weight_reliability",
    }
)


async def list_profiles(conn: asyncpg.Connection, account_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {PROFILE_COLUMNS} FROM routing_profiles WHERE account_id = $1 ORDER BY created_at, id", account_id
        )
    )


async def get_profile(conn: asyncpg.Connection, account_id: str, profile_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {PROFILE_COLUMNS} FROM routing_profiles WHERE id = $1 AND account_id = $2", profile_id, account_id
    )


async def clear_default(conn: asyncpg.Connection, account_id: str) -> None:
    await conn.execute(
        "UPDATE routing_profiles SET is_default = false, updated_at = now() WHERE account_id = $1 AND is_default",
        account_id,
    )


async def insert_profile(conn: asyncpg.Connection, profile_id: str, account_id: str, values: dict[str, object]) -> None:
    cols = ["id", "account_id", *values]
    marks = ", ".join(f"${i + 1}" for i in range(len(cols)))
    await conn.execute(
        f"INSERT INTO routing_profiles ({', '.join(cols)}) VALUES ({marks})", profile_id, account_id, *values.values()
    )


async def update_profile(
    conn: asyncpg.Connection, account_id: str, profile_id: str, changes: dict[str, object]
) -> bool:
    assert set(changes) <= PATCHABLE
    if not changes:
        return await get_profile(conn, account_id, profile_id) is not None
    sets = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(changes))
    status = await conn.execute(
        f"UPDATE routing_profiles SET {sets}, updated_at = now() WHERE id = $1 AND account_id = $2",
        profile_id,
        account_id,
        *changes.values(),
    )
    return bool(status.endswith(" 1"))
