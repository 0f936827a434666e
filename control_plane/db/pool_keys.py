"""SQL for seller pool keys. The upstream key is stored only as AES-GCM ciphertext."""

from __future__ import annotations

import asyncpg

POOL_KEY_COLUMNS = """
    k.id::text AS id, k.provider, k.name, k.base_url, k.api_format, k.key_hint, k.status, k.created_at,
    k.account_id::text AS account_id, k.key_ciphertext,
    (SELECT count(*) FROM listings l WHERE l.pool_key_id = k.id) AS listing_count,
    k.trusted AS operator_trusted, p.trusted AS provider_trusted, p.official_hosts
"""
_FROM = "FROM pool_keys k JOIN providers p ON p.slug = k.provider"


async def insert_pool_key(conn: asyncpg.Connection, values: dict[str, object]) -> asyncpg.Record:
    cols = list(values)
    marks = ", ".join(f"${i + 1}" for i in range(len(cols)))
    key_id = await conn.fetchval(
        f"INSERT INTO pool_keys ({', '.join(cols)}) VALUES ({marks}) RETURNING id", *values.values()
    )
    row = await conn.fetchrow(f"SELECT {POOL_KEY_COLUMNS} {_FROM} WHERE k.id = $1", key_id)
    assert row is not None
    return row


async def list_pool_keys(conn: asyncpg.Connection, account_id: str) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"SELECT {POOL_KEY_COLUMNS} {_FROM} WHERE k.account_id = $1 ORDER BY k.created_at, k.id",
            account_id,
        )
    )


async def get_pool_key(conn: asyncpg.Connection, account_id: str, key_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {POOL_KEY_COLUMNS} {_FROM} WHERE k.id = $1 AND k.account_id = $2", key_id, account_id
    )


async def replace_secret(conn: asyncpg.Connection, account_id: str, key_id: str, ciphertext: bytes,
                         hint: str) -> asyncpg.Record | None:
    await conn.execute("UPDATE pool_keys SET key_ciphertext = $3, key_hint = $4 WHERE id = $1 AND account_id = $2",
                       key_id, account_id, ciphertext, hint)
    return await get_pool_key(conn, account_id, key_id)


async def delete_pool_key(conn: asyncpg.Connection, account_id: str, key_id: str) -> bool:
    status = await conn.execute("DELETE FROM pool_keys WHERE id = $1 AND account_id = $2", key_id, account_id)
    return bool(status.endswith(" 1"))
