"""SQL for seller listings (always filtered by owner in the query)."""

from __future__ import annotations

import asyncpg

LISTING_COLUMNS = """
    l.id::text AS id, l.pool_key_id::text AS pool_key_id, k.provider, l.model, l.upstream_model,
    l.ask_input, l.ask_output, l.ask_cached_input, l.payout_floor, l.price_multiplier_bps, l.auto_follow,
    l.rpm_limit, l.concurrency_limit, l.status, l.created_at, l.updated_at, l.capabilities,
    l.pending_price::text AS pending_price, l.price_review_reason, l.fee_profile_id,
    k.account_id::text AS account_id, k.key_ciphertext, l.admitted_at, l.admission_reason,
    (SELECT c.state FROM contracts c WHERE c.listing_id = l.id ORDER BY c.created_at DESC LIMIT 1) AS contract_state,
    (SELECT c.state_reason FROM contracts c WHERE c.listing_id = l.id ORDER BY c.created_at DESC LIMIT 1)
        AS contract_reason
"""
_FROM = "FROM listings l JOIN pool_keys k ON k.id = l.pool_key_id"
PATCHABLE = frozenset(
    {
        "upstream_model",
        "ask_input",
        "ask_output",
        "ask_cached_input",
        "payout_floor",
        "price_multiplier_bps",
        "auto_follow",
        "rpm_limit",
        "concurrency_limit",
        "status",
        "capabilities",
        "pending_price",
        "price_review_reason",
    }
)


class DuplicateListing(Exception):
    """The pool key already has a listing for this model."""


async def insert_listing(conn: asyncpg.Connection, values: dict[str, object]) -> asyncpg.Record:
    cols = list(values)
    marks = ", ".join(f"${i + 1}" for i in range(len(cols)))
    try:
        listing_id = await conn.fetchval(
            f"INSERT INTO listings ({', '.join(cols)}) VALUES ({marks}) RETURNING id", *values.values()
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateListing() from exc
    row = await conn.fetchrow(f"SELECT {LISTING_COLUMNS} {_FROM} WHERE l.id = $1", listing_id)
    assert row is not None
    return row


async def list_listings(conn: asyncpg.Connection, account_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {LISTING_COLUMNS} {_FROM} WHERE l.account_id = $1 ORDER BY l.created_at, l.id", account_id
        )
    )


async def get_listing(conn: asyncpg.Connection, account_id: str, listing_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {LISTING_COLUMNS} {_FROM} WHERE l.id = $1 AND l.account_id = $2", listing_id, account_id
    )


async def update_listing(
    conn: asyncpg.Connection, account_id: str, listing_id: str, changes: dict[str, object]
) -> bool:
    assert set(changes) <= PATCHABLE
    if not changes:
        return await get_listing(conn, account_id, listing_id) is not None
    sets = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(changes))
    status = await conn.execute(
        f"UPDATE listings SET {sets}, updated_at = now() WHERE id = $1 AND account_id = $2",
        listing_id,
        account_id,
        *changes.values(),
    )
    return bool(status.endswith(" 1"))


async def delete_listing(conn: asyncpg.Connection, account_id: str, listing_id: str) -> bool:
    status = await conn.execute("DELETE FROM listings WHERE id = $1 AND account_id = $2", listing_id, account_id)
    return bool(status.endswith(" 1"))
