"""SQL for accounts, verification tokens and the mail outbox; credits go through `db.ledger`."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from control_plane.db import ledger

ACCOUNT_COLUMNS = """
    a.id::text AS id, a.email, a.email_verified_at, a.plan, a.status, a.rpm_limit, a.tpm_limit,
    a.daily_request_limit, a.daily_token_quota,
    a.trading_terms_accepted_at, a.created_at,
    (SELECT p.id::text FROM routing_profiles p WHERE p.account_id = a.id AND p.is_default) AS default_profile_id,
    coalesce((SELECT l.balance FROM ledger_balances l WHERE l.book = 'buyer' AND l.account_id = a.id), 0) AS balance
"""


class EmailTaken(Exception):
    """Another account already uses this email (case-insensitively)."""


async def insert_account(
    conn: asyncpg.Connection,
    *,
    email: str,
    password_hash: str,
    plan: str = "free",
    verified_at: datetime | None = None,
    terms_at: datetime | None = None,
) -> str:
    account_id = str(uuid.uuid4())
    try:
        await conn.execute(
            "INSERT INTO accounts (id, email, password_hash, plan, email_verified_at, trading_terms_accepted_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            account_id,
            email,
            password_hash,
            plan,
            verified_at,
            terms_at,
        )
    except asyncpg.UniqueViolationError as exc:
        raise EmailTaken(email) from exc
    await conn.execute(
        "INSERT INTO routing_profiles (id, account_id, name, strategy, is_default)"
        " VALUES ($1, $2, 'default', 'balanced', true)",
        str(uuid.uuid4()),
        account_id,
    )
    return account_id


async def account(conn: asyncpg.Connection, account_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1", account_id)


async def credentials_by_email(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id::text AS id, password_hash, status FROM accounts WHERE lower(email) = lower($1)", email
    )


async def caller(conn: asyncpg.Connection, account_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id::text AS id, status, email_verified_at FROM accounts WHERE id = $1", account_id
    )


async def plan_exists(conn: asyncpg.Connection, plan: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM plans WHERE name = $1", plan))


async def plan_names(conn: asyncpg.Connection) -> list[str]:
    return [str(r["name"]) for r in await conn.fetch("SELECT name FROM plans ORDER BY sort_order")]


async def update_account(conn: asyncpg.Connection, account_id: str, changes: dict[str, object]) -> bool:
    """Set the given columns (names come from code, never from the client)."""
    if not changes:
        return bool(await conn.fetchval("SELECT 1 FROM accounts WHERE id = $1", account_id))
    cols = list(changes)
    sets = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(cols))
    status = await conn.execute(
        f"UPDATE accounts SET {sets}, updated_at = now() WHERE id = $1", account_id, *changes.values()
    )
    return bool(status.endswith(" 1"))


async def insert_verification(conn: asyncpg.Connection, account_id: str, token_hash: str, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO email_verifications (token_hash, account_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        account_id,
        expires_at,
    )


async def use_verification(conn: asyncpg.Connection, token_hash: str, now: datetime) -> asyncpg.Record | None:
    """Mark a token used; returns (account_id, expired, already_used) or None when unknown."""
    row = await conn.fetchrow(
        "SELECT account_id::text AS account_id, expires_at, used_at FROM email_verifications"
        " WHERE token_hash = $1 FOR UPDATE",
        token_hash,
    )
    if row is not None and row["used_at"] is None and row["expires_at"] > now:
        await conn.execute("UPDATE email_verifications SET used_at = $2 WHERE token_hash = $1", token_hash, now)
    return row


async def queue_mail(conn: asyncpg.Connection, to: str, subject: str, body: str) -> None:
    await conn.execute("INSERT INTO mail_outbox (to_address, subject, body) VALUES ($1, $2, $3)", to, subject, body)


async def add_ledger_entry(
    conn: asyncpg.Connection, account_id: str, kind: str, amount_micro_usd: int, reason: str
) -> asyncpg.Record | None:
    """Post a credit journal (external -> buyer); None when it is a second signup credit.
    Must run inside a transaction."""
    return await ledger.credit(conn, account_id, kind, amount_micro_usd, reason)


async def balance(conn: asyncpg.Connection, account_id: str) -> int:
    return await ledger.balance(conn, account_id)
