"""SQL for the operator catalog: models with their aliases, providers, fee profiles.

Every write commits in the caller's transaction; the `df_snapshot_changed` triggers on
`models`, `model_aliases`, `providers`, `fee_profiles`, `listings` and `accounts` wake the
snapshot publisher, so a change reaches the proxies with the next snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

MODEL_COLUMNS = """
    m.id, m.owned_by, m.input_price, m.output_price, m.price_unit, m.context_length, m.max_output_tokens,
    m.capabilities, m.active, m.probe_expect::text AS probe_expect,
    coalesce((SELECT array_agg(x.alias ORDER BY x.alias) FROM model_aliases x WHERE x.model_id = m.id), '{}') AS aliases
"""
PROVIDER_COLUMNS = "slug, name, api_format, default_base_url, official_hosts, trusted"
MODEL_PATCHABLE = frozenset({"owned_by", "input_price", "output_price", "price_unit", "context_length",
                             "max_output_tokens", "capabilities", "active", "probe_expect"})


async def models(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch(f"SELECT {MODEL_COLUMNS} FROM models m ORDER BY m.id"))


async def model(conn: asyncpg.Connection, model_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {MODEL_COLUMNS} FROM models m WHERE m.id = $1", model_id)


async def insert_model(conn: asyncpg.Connection, values: dict[str, object]) -> bool:
    """False when the id is taken."""
    names = list(values)
    done = await conn.fetchval(
        f"INSERT INTO models ({', '.join(names)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(names)))})"
        " ON CONFLICT (id) DO NOTHING RETURNING id", *values.values())
    return done is not None


async def update_model(conn: asyncpg.Connection, model_id: str, changes: dict[str, object]) -> bool:
    assert set(changes) <= MODEL_PATCHABLE
    if not changes:
        return await conn.fetchval("SELECT true FROM models WHERE id = $1", model_id) is not None
    sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(changes))
    done = await conn.fetchval(f"UPDATE models SET {sets} WHERE id = $1 RETURNING id", model_id, *changes.values())
    return done is not None


async def alias_owners(conn: asyncpg.Connection, names: Sequence[str]) -> dict[str, str]:
    """Which of `names` are taken, by alias or as a model id: name -> the model holding it."""
    rows = await conn.fetch(
        "SELECT alias AS name, model_id FROM model_aliases WHERE alias = ANY($1::text[])"
        " UNION ALL SELECT id, id FROM models WHERE id = ANY($1::text[])", list(names))
    return {str(r["name"]): str(r["model_id"]) for r in rows}


async def set_aliases(conn: asyncpg.Connection, model_id: str, aliases: Sequence[str]) -> None:
    await conn.execute("DELETE FROM model_aliases WHERE model_id = $1", model_id)
    await conn.executemany("INSERT INTO model_aliases (alias, model_id) VALUES ($1, $2)",
                           [(a, model_id) for a in aliases])


async def provider(conn: asyncpg.Connection, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {PROVIDER_COLUMNS} FROM providers WHERE slug = $1", slug)


async def insert_provider(conn: asyncpg.Connection, values: dict[str, object]) -> bool:
    names = list(values)
    done = await conn.fetchval(
        f"INSERT INTO providers ({', '.join(names)}, sort_order)"
        f" VALUES ({', '.join(f'${i + 1}' for i in range(len(names)))},"
        " (SELECT coalesce(max(sort_order), 0) + 1 FROM providers WHERE sort_order < 99))"
        " ON CONFLICT (slug) DO NOTHING RETURNING slug", *values.values())
    return done is not None


async def fee_profiles(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT id, buyer_fee_bps, seller_fee_bps FROM fee_profiles ORDER BY id"))


async def insert_fee_profile(conn: asyncpg.Connection, profile_id: str, buyer_bps: int, seller_bps: int) -> bool:
    done = await conn.fetchval(
        "INSERT INTO fee_profiles (id, buyer_fee_bps, seller_fee_bps) VALUES ($1, $2, $3)"
        " ON CONFLICT (id) DO NOTHING RETURNING id", profile_id, buyer_bps, seller_bps)
    return done is not None


async def fee_profile_exists(conn: asyncpg.Connection, profile_id: str) -> bool:
    return await conn.fetchval("SELECT true FROM fee_profiles WHERE id = $1", profile_id) is not None
