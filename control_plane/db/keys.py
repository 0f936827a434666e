"""SQL for buyer keys and management keys (hashes and hints only; never raw keys)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

KEY_COLUMNS = """
    k.id::text AS id, k.name, k.key_hint, k.key_group, k.status, k.monthly_budget_micro_usd,
    coalesce(k.routing_profile_id,
             (SELECT p.id FROM routing_profiles p WHERE p.account_id = k.account_id AND p.is_default))::text
        AS routing_profile_id,
    k.ip_whitelist::text[] AS ip_whitelist, k.ip_blacklist::text[] AS ip_blacklist, k.model_allowlist,
    k.expires_at, k.created_at, k.updated_at, k.daily_request_limit, k.daily_token_quota
"""
# Columns a PATCH may set, mapped from API names; anything else never reaches SQL.
KEY_PATCH_COLUMNS = {
    "name": "name",
    "key_group": "key_group",
    "monthly_budget_micro_usd": "monthly_budget_micro_usd",
    "routing_profile_id": "routing_profile_id",
    "ip_whitelist": "ip_whitelist",
    "ip_blacklist": "ip_blacklist",
    "model_allowlist": "model_allowlist",
    "expires_at": "expires_at",
    "status": "status",
    "daily_request_limit": "daily_request_limit",
    "daily_token_quota": "daily_token_quota",
}


async def insert_key(conn: asyncpg.Connection, values: dict[str, object]) -> asyncpg.Record:
    cols = list(values)
    marks = ", ".join(f"${i + 1}" for i in range(len(cols)))
    key_id = await conn.fetchval(
        f"INSERT INTO api_keys ({', '.join(cols)}) VALUES ({marks}) RETURNING id", *values.values()
    )
    row = await conn.fetchrow(f"SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = $1", key_id)
    assert row is not None
    return row


async def list_keys(conn: asyncpg.Connection, account_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.account_id = $1 AND k.status <> 'revoked'"
            " ORDER BY k.created_at, k.id",
            account_id,
        )
    )


async def get_key(conn: asyncpg.Connection, account_id: str, key_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = $1 AND k.account_id = $2 AND k.status <> 'revoked'",
        key_id,
        account_id,
    )


async def update_key(conn: asyncpg.Connection, account_id: str, key_id: str, changes: dict[str, object]) -> bool:
    cols = [KEY_PATCH_COLUMNS[c] for c in changes]
    sets = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(cols))
    status = await conn.execute(
        f"UPDATE api_keys SET {sets}, updated_at = now() WHERE id = $1 AND account_id = $2 AND status <> 'revoked'",
        key_id,
        account_id,
        *changes.values(),
    )
    return bool(status.endswith(" 1"))


async def revoke_key(conn: asyncpg.Connection, account_id: str, key_id: str) -> bool:
    status = await conn.execute(
        "UPDATE api_keys SET status = 'revoked', revoked_at = now(), updated_at = now()"
        " WHERE id = $1 AND account_id = $2 AND status <> 'revoked'",
        key_id,
        account_id,
    )
    return bool(status.endswith(" 1"))


MGMT_COLUMNS = "id::text AS id, name, mgmt_scope, key_hint, expires_at, created_at"


async def insert_mgmt_key(
    conn: asyncpg.Connection,
    *,
    key_id: str,
    account_id: str,
    name: str,
    key_hash: str,
    key_hint: str,
    scope: str,
    expires_at: datetime | None,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "INSERT INTO management_keys (id, account_id, name, key_hash, key_hint, mgmt_scope, expires_at)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {MGMT_COLUMNS}",
        key_id,
        account_id,
        name,
        key_hash,
        key_hint,
        scope,
        expires_at,
    )
    assert row is not None
    return row


async def list_mgmt_keys(conn: asyncpg.Connection, account_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {MGMT_COLUMNS} FROM management_keys WHERE account_id = $1 AND revoked_at IS NULL"
            " ORDER BY created_at, id",
            account_id,
        )
    )


async def revoke_mgmt_key(conn: asyncpg.Connection, account_id: str, key_id: str) -> bool:
    status = await conn.execute(
        "UPDATE management_keys SET revoked_at = now() WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL",
        key_id,
        account_id,
    )
    return bool(status.endswith(" 1"))


async def mgmt_caller(conn: asyncpg.Connection, key_hash: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT m.account_id::text AS account_id, m.mgmt_scope, m.expires_at, a.status, a.email_verified_at"
        " FROM management_keys m JOIN accounts a ON a.id = m.account_id"
        " WHERE m.key_hash = $1 AND m.revoked_at IS NULL",
        key_hash,
    )
