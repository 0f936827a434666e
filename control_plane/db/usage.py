"""SQL of the buyer's read side: generations, balance, transactions, usage aggregates."""

from __future__ import annotations

from datetime import datetime

import asyncpg

_TOTALS = ("count(*) AS requests, coalesce(sum(g.prompt_tokens), 0)::bigint AS prompt_tokens,"
           " coalesce(sum(g.completion_tokens), 0)::bigint AS completion_tokens,"
           " coalesce(sum(g.cached_tokens), 0)::bigint AS cached_tokens,"
           " coalesce(sum(g.cost_micro_usd), 0)::bigint AS cost")


async def generation(conn: asyncpg.Connection, request_id: str, account_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM generations WHERE request_id = $1 AND account_id = $2", request_id, account_id)


async def balance_row(conn: asyncpg.Connection, account_id: str, month: int) -> tuple[int, int, int]:
    row = await conn.fetchrow(
        "SELECT coalesce((SELECT balance FROM ledger_balances WHERE book = 'buyer' AND account_id = $1), 0),"
        " coalesce((SELECT credited FROM ledger_balances WHERE book = 'buyer' AND account_id = $1), 0),"
        " coalesce((SELECT sum(cost_micro_usd) FROM generations WHERE account_id = $1 AND month = $2), 0)::bigint",
        account_id, month)
    return int(row[0]), int(row[1]), int(row[2])


async def transactions(conn: asyncpg.Connection, account_id: str, before: int | None, limit: int
                       ) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT j.id, j.kind, p.amount, j.request_id, j.reason, j.created_at FROM ledger_journals j"
        " JOIN ledger_postings p ON p.journal_id = j.id AND p.book = 'buyer' AND p.account_id = $1"
        " WHERE ($2::bigint IS NULL OR j.id < $2) ORDER BY j.id DESC LIMIT $3",
        account_id, before, limit))


async def usage(conn: asyncpg.Connection, account_id: str, start: datetime, end: datetime, group: str,
                key_group: str | None, model: str | None) -> list[asyncpg.Record]:
    """Aggregates of the caller's generations; `group` is "", "key" or "day" (code-chosen, never client text)."""
    select, group_by = {
        "": ("NULL::text AS key_id, NULL::text AS day", ""),
        "key": ("g.key_id, NULL::text AS day", " GROUP BY g.key_id ORDER BY g.key_id"),
        "day": ("NULL::text AS key_id, to_char(g.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day",
                " GROUP BY 2 ORDER BY 2"),
    }[group]
    return list(await conn.fetch(
        f"SELECT {select}, {_TOTALS} FROM generations g LEFT JOIN api_keys k ON k.id::text = g.key_id"
        " WHERE g.account_id = $1 AND g.started_at >= $2 AND g.started_at < $3"
        " AND ($4::text IS NULL OR k.key_group = $4) AND ($5::text IS NULL OR g.model = $5)" + group_by,
        account_id, start, end, key_group, model))
