"""SQL of the double-entry ledger: journals, postings and running balances.

`post_journal` is the only writer: it refuses a journal whose postings do not sum to zero
and updates `ledger_balances` in the same transaction (the caller's), so "balances equal
postings" holds at every commit. Amounts are integer micro-USD.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

NIL = "00000000-0000-0000-0000-000000000000"  # the platform's and the outside world's account id
CREDIT_KINDS = ("signup_credit", "admin_credit", "initial_credit", "topup")

Posting = tuple[str, str, int]  # (book, account id, amount)


class UnbalancedJournal(ValueError):
    """Postings that do not sum to zero: a bug, never committed."""


async def post_journal(
    conn: asyncpg.Connection, kind: str, account_id: str, postings: Sequence[Posting], *,
    reason: str = "", request_id: str | None = None, payment_id: str | None = None,
    payout_id: str | None = None,
) -> int | None:
    """Insert a journal and its postings; None when its unique id (signup credit, request, payment,
    payout step) was already posted. Must run inside a transaction."""
    if sum(amount for _, _, amount in postings) != 0:
        raise UnbalancedJournal(f"{kind} journal postings sum to {sum(a for _, _, a in postings)}")
    journal_id = await conn.fetchval(
        "INSERT INTO ledger_journals (kind, account_id, reason, request_id, payment_id, payout_id)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        kind, account_id, reason, request_id, payment_id, payout_id,
    )
    if journal_id is None:
        return None
    rows = [(journal_id, book, acct, amount) for book, acct, amount in postings if amount != 0]
    await conn.executemany(
        "INSERT INTO ledger_postings (journal_id, book, account_id, amount) VALUES ($1, $2, $3, $4)", rows
    )
    await conn.executemany(
        "INSERT INTO ledger_balances (book, account_id, balance, credited)"
        " VALUES ($1, $2, $3::bigint, greatest($3::bigint, 0))"
        " ON CONFLICT (book, account_id) DO UPDATE SET balance = ledger_balances.balance + excluded.balance,"
        " credited = ledger_balances.credited + excluded.credited",
        [(book, acct, amount) for _, book, acct, amount in rows],
    )
    return int(journal_id)


async def credit(conn: asyncpg.Connection, account_id: str, kind: str, amount: int, reason: str, *,
                 payment_id: str | None = None) -> asyncpg.Record | None:
    """Money in from outside: external -> buyer. None when already granted (signup, payment id)."""
    if kind not in CREDIT_KINDS or amount <= 0:
        raise ValueError(f"not a credit: {kind} {amount}")
    journal = await post_journal(conn, kind, account_id, [("external", NIL, -amount), ("buyer", account_id, amount)],
                                 reason=reason, payment_id=payment_id)
    if journal is None:
        return None
    return await conn.fetchrow(
        "SELECT id, account_id::text AS account_id, kind, amount_micro_usd, reason, created_at"
        " FROM ledger_entries WHERE id = $1", journal,
    )


async def balance(conn: asyncpg.Connection, account_id: str, book: str = "buyer") -> int:
    value = await conn.fetchval(
        "SELECT balance FROM ledger_balances WHERE book = $1 AND account_id = $2", book, account_id
    )
    return int(value or 0)


async def credit_and_spend(conn: asyncpg.Connection, account_id: str) -> tuple[int, int]:
    """(all credit ever posted to the buyer book, all spent from it) — the Redis view's inputs."""
    row = await conn.fetchrow(
        "SELECT credited, credited - balance AS spent FROM ledger_balances WHERE book = 'buyer' AND account_id = $1",
        account_id,
    )
    return (int(row["credited"]), int(row["spent"])) if row else (0, 0)
