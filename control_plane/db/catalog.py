"""SQL for the provider and model catalog (seeded by migrations)."""

from __future__ import annotations

import asyncpg


async def providers(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT slug, name, api_format, default_base_url, trusted, official_hosts FROM providers "
            "ORDER BY sort_order, slug"
        )
    )


async def provider(conn: asyncpg.Connection, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT slug, api_format FROM providers WHERE slug = $1", slug)


async def provider_slugs(conn: asyncpg.Connection) -> set[str]:
    return {str(r["slug"]) for r in await conn.fetch("SELECT slug FROM providers")}


async def model_capabilities(conn: asyncpg.Connection, model_id: str) -> tuple[str, ...] | None:
    caps = await conn.fetchval("SELECT capabilities FROM models WHERE id = $1 AND active", model_id)
    return None if caps is None else tuple(caps)


async def active_model_ids(conn: asyncpg.Connection) -> set[str]:
    return {str(r["id"]) for r in await conn.fetch("SELECT id FROM models WHERE active")}
