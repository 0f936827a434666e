"""SQL of seller payouts: addresses, withdrawal rows and the seller's spendable earnings.
The journals themselves are written by `control_plane.db.ledger.post_journal`."""

from __future__ import annotations

from datetime import datetime

import asyncpg

COLUMNS = """id::text AS id, account_id::text AS account_id, amount_micro_usd, address, network, status,
    idempotency_key, tx_ref, reject_reason, created_at, approved_at, rejected_at, paid_at"""


async def get_address(conn: asyncpg.Connection, account_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT address, network, updated_at FROM payout_addresses WHERE account_id = $1", account_id)


async def set_address(conn: asyncpg.Connection, account_id: str, address: str) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "INSERT INTO payout_addresses (account_id, address) VALUES ($1, $2)"
        " ON CONFLICT (account_id) DO UPDATE SET address = excluded.address, updated_at = now()"
        " RETURNING address, network, updated_at", account_id, address)
    return row


async def lock_seller_balance(conn: asyncpg.Connection, account_id: str) -> int:
    """The seller book's balance, its row locked until the transaction ends (withdrawals of one
    seller run one at a time); 0 when the seller never earned."""
    value = await conn.fetchval(
        "SELECT balance FROM ledger_balances WHERE book = 'seller' AND account_id = $1 FOR UPDATE", account_id)
    return int(value or 0)


async def locked_earnings(conn: asyncpg.Connection, account_id: str, locked_after: datetime) -> int:
    """Earnings (usage payouts) settled after `locked_after`: not yet withdrawable."""
    value = await conn.fetchval(
        "SELECT coalesce(sum(p.amount), 0)::bigint FROM ledger_postings p JOIN ledger_journals j ON j.id = p.journal_id"
        " WHERE p.book = 'seller' AND p.account_id = $1 AND p.amount > 0 AND j.kind = 'usage'"
        " AND j.created_at > $2", account_id, locked_after)
    return int(value or 0)


async def by_idempotency_key(conn: asyncpg.Connection, account_id: str, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM payouts WHERE account_id = $1 AND idempotency_key = $2", account_id, key)


async def insert(conn: asyncpg.Connection, payout_id: str, account_id: str, amount: int, address: str,
                 idempotency_key: str | None) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        f"INSERT INTO payouts (id, account_id, amount_micro_usd, address, idempotency_key)"
        f" VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}", payout_id, account_id, amount, address, idempotency_key)
    return row


async def get(conn: asyncpg.Connection, payout_id: str, account_id: str | None = None, *,
              for_update: bool = False) -> asyncpg.Record | None:
    """One payout (of `account_id` when given: others' are not found)."""
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM payouts WHERE id = $1 AND ($2::uuid IS NULL OR account_id = $2){lock}",
        payout_id, account_id)


async def listing(conn: asyncpg.Connection, account_id: str | None, status: str | None,
                  limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"SELECT {COLUMNS} FROM payouts WHERE ($1::uuid IS NULL OR account_id = $1)"
        " AND ($2::text IS NULL OR status = $2) ORDER BY created_at DESC, id LIMIT $3", account_id, status, limit))


async def set_status(conn: asyncpg.Connection, payout_id: str, status: str, *, tx_ref: str | None = None,
                     reason: str | None = None) -> asyncpg.Record:
    stamp = {"approved": "approved_at", "rejected": "rejected_at", "paid": "paid_at"}[status]
    row: asyncpg.Record = await conn.fetchrow(
        f"UPDATE payouts SET status = $2, {stamp} = now(), tx_ref = coalesce($3, tx_ref),"
        f" reject_reason = coalesce($4, reject_reason) WHERE id = $1 RETURNING {COLUMNS}",
        payout_id, status, tx_ref, reason)
    return row
