"""SQL of top-up payment intents (`crypto_payments`). Times come from PostgreSQL's clock.

Address allocation from the pool runs under a transaction-scoped advisory lock, so two
intents never hold one address at once: a pool address is free when no unconfirmed intent
holding it expires after `now` (`now` read once, after the lock, and used as the new
intent's created_at — so holds never overlap, see the ledger check).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

_LOCK_ID = 0x4446504159  # "DFPAY"
COLUMNS = (
    "id::text AS id, account_id::text AS account_id, amount_cents, amount_usdt_micro, network, address,"
    " address_source, created_at, expires_at, tx_hash, received_usdt_micro, journal_id, confirmed_at, confirmed_by"
)


async def clock(conn: asyncpg.Connection) -> datetime:
    value: datetime = await conn.fetchval("SELECT clock_timestamp()")
    return value


async def free_pool_address(conn: asyncpg.Connection, pool: Sequence[str]) -> tuple[str | None, datetime]:
    """(the least recently held free address of `pool` or None, now). Call inside a transaction:
    the lock is held until it ends, so the caller inserts its intent before anyone else looks."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
    now = await clock(conn)
    row = await conn.fetchrow(
        "SELECT a.address FROM unnest($1::text[]) WITH ORDINALITY AS a (address, n)"
        " LEFT JOIN crypto_payments p ON p.address = a.address"
        " GROUP BY a.address, a.n"
        " HAVING count(*) FILTER (WHERE p.confirmed_at IS NULL AND p.expires_at > $2) = 0"
        " ORDER BY max(coalesce(p.confirmed_at, p.expires_at)) NULLS FIRST, a.n LIMIT 1",
        list(pool), now)
    return (None if row is None else str(row["address"])), now


async def insert(conn: asyncpg.Connection, *, payment_id: str, account_id: str, amount_cents: int,
                 amount_usdt_micro: int, address: str, source: str, created_at: datetime,
                 ttl_s: int) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "INSERT INTO crypto_payments (id, account_id, amount_cents, amount_usdt_micro, address, address_source,"
        " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING " + COLUMNS,
        payment_id, account_id, amount_cents, amount_usdt_micro, address, source, created_at,
        created_at + timedelta(seconds=ttl_s))
    return row


async def get(conn: asyncpg.Connection, payment_id: str, account_id: str | None = None, *,
              for_update: bool = False) -> asyncpg.Record | None:
    """One intent (of `account_id` when given: others' are not found)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM crypto_payments WHERE id = $1 AND ($2::uuid IS NULL OR account_id = $2)"
        + (" FOR UPDATE" if for_update else ""), payment_id, account_id)
    return row


async def payment_of_tx(conn: asyncpg.Connection, tx_hash: str) -> str | None:
    value = await conn.fetchval("SELECT id::text FROM crypto_payments WHERE tx_hash = $1", tx_hash)
    return None if value is None else str(value)


async def mark_confirmed(conn: asyncpg.Connection, payment_id: str, *, tx_hash: str, received: int,
                         journal_id: int, confirmed_at: datetime, by: str) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "UPDATE crypto_payments SET tx_hash = $2, received_usdt_micro = $3, journal_id = $4, confirmed_at = $5,"
        " confirmed_by = $6 WHERE id = $1 AND confirmed_at IS NULL RETURNING " + COLUMNS,
        payment_id, tx_hash, received, journal_id, confirmed_at, by)
    return row


async def open_intents(conn: asyncpg.Connection, limit: int = 500) -> list[asyncpg.Record]:
    """Unconfirmed, unexpired intents, oldest first (what a chain watcher looks for)."""
    return list(await conn.fetch(
        f"SELECT {COLUMNS} FROM crypto_payments WHERE confirmed_at IS NULL AND expires_at > clock_timestamp()"
        " ORDER BY expires_at LIMIT $1", limit))
