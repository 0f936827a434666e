"""SQL of seller earnings: sums of the seller's postings (book `seller`), never a separate
counter. Ledger time is the journal's `created_at` (when the request was settled); the
request's own figures (listing, model, tokens) come from its generation, joined by journal."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

_FROM = (" FROM ledger_postings p JOIN ledger_journals j ON j.id = p.journal_id"
         " LEFT JOIN generations g ON g.journal_id = j.id"
         " WHERE p.book = 'seller' AND p.account_id = $1")
_EARNED = _FROM + " AND j.kind = 'usage'"  # earnings only: withdrawals are in the settlement history
_SUMS = ("count(g.request_id) AS requests, coalesce(sum(g.prompt_tokens), 0)::bigint AS prompt_tokens,"
         " coalesce(sum(g.completion_tokens), 0)::bigint AS completion_tokens,"
         " coalesce(sum(g.cached_tokens), 0)::bigint AS cached_tokens, coalesce(sum(p.amount), 0)::bigint AS earned")


async def totals(conn: asyncpg.Connection, account_id: str, locked_after: datetime) -> asyncpg.Record:
    """credited (all earnings: positive postings, less withdrawals returned by a rejection),
    balance, locked (usage earnings settled after `locked_after`), the oldest locked settlement
    time and pending (withdrawals asked for and not yet paid or rejected)."""
    row: asyncpg.Record = await conn.fetchrow(
        "SELECT coalesce((SELECT credited FROM ledger_balances WHERE book = 'seller' AND account_id = $1), 0)"
        " - coalesce((SELECT sum(x.amount) FROM ledger_postings x JOIN ledger_journals y ON y.id = x.journal_id"
        "   WHERE y.kind = 'payout_reject' AND y.account_id = $1 AND x.book = 'seller' AND x.account_id = $1), 0)"
        " AS credited,"
        " coalesce((SELECT balance FROM ledger_balances WHERE book = 'seller' AND account_id = $1), 0) AS balance,"
        " coalesce((SELECT balance FROM ledger_balances WHERE book = 'payout_pending' AND account_id = $1), 0)"
        " AS pending,"
        " coalesce(sum(p.amount), 0)::bigint AS locked, min(j.created_at) AS oldest_locked"
        " FROM ledger_postings p JOIN ledger_journals j ON j.id = p.journal_id"
        " WHERE p.book = 'seller' AND p.account_id = $1 AND p.amount > 0 AND j.kind = 'usage'"
        " AND j.created_at > $2",
        account_id, locked_after)
    return row


async def settlements(conn: asyncpg.Connection, account_id: str, before: int | None,
                      limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT j.id, j.kind, p.amount, j.request_id, g.listing_id, g.model, j.created_at" + _FROM +
        " AND ($2::bigint IS NULL OR j.id < $2) ORDER BY j.id DESC LIMIT $3", account_id, before, limit))


async def summary(conn: asyncpg.Connection, account_id: str, start: datetime, end: datetime) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        f"SELECT coalesce(g.listing_id, '') AS listing_id, coalesce(g.model, '') AS model, {_SUMS}" + _EARNED +
        " AND j.created_at >= $2 AND j.created_at < $3 GROUP BY 1, 2 ORDER BY earned DESC, 1, 2",
        account_id, start, end))


async def timeseries(conn: asyncpg.Connection, account_id: str, unit: str, start: datetime,
                     end: datetime) -> list[asyncpg.Record]:
    """One row per `unit` ('hour' | 'day', code-chosen) bucket of [start, end), empty ones included."""
    return list(await conn.fetch(
        "WITH b AS (SELECT generate_series($3::timestamptz, $4::timestamptz - $5::interval, $5::interval) AS bucket),"
        f" e AS (SELECT date_trunc($2, j.created_at, 'UTC') AS bucket, {_SUMS}" + _EARNED +
        " AND j.created_at >= $3 AND j.created_at < $4 GROUP BY 1)"
        " SELECT b.bucket, coalesce(e.requests, 0) AS requests,"
        " coalesce(e.prompt_tokens + e.completion_tokens, 0)::bigint AS tokens, coalesce(e.earned, 0) AS earned"
        " FROM b LEFT JOIN e ON e.bucket = b.bucket ORDER BY b.bucket",
        account_id, unit, start, end, timedelta(hours=1 if unit == "hour" else 24)))


async def monthly(conn: asyncpg.Connection, account_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, " + _SUMS + _EARNED +
        " GROUP BY 1 ORDER BY 1 DESC LIMIT 600", account_id))
