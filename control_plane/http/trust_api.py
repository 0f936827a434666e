"""Operator trust settings (README "Trust"): providers' official hosts and per-pool-key marks.

- `GET /api/admin/providers`; `PATCH /api/admin/providers/{slug}` `{official_hosts, trusted}`;
- `PATCH /api/admin/pool-keys/{id}` `{trusted}`: mark one seller's pool key trusted (or not).
Each change reaches the snapshot (NOTIFY on commit); a host is a lowercase DNS name or address.
"""

from __future__ import annotations

import re

from blacksheep import Response

from control_plane.db import catalog as db_catalog
from control_plane.errors import BadRequest, NotFound
from control_plane.http.context import Call, json_response
from control_plane.http.views import provider_view
from control_plane.schemas.admission import PoolKeyTrust, PoolKeyTrustView, ProviderPatch
from control_plane.schemas.envelopes import ListOf

_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def _hosts(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        host = value.strip().lower()
        if not _HOST.match(host) or len(host) > 253:
            raise BadRequest(f"official_hosts: {value[:80]!r} is not a host name such as api.deepseek.com "
                             "(no scheme, port or path)")
        out.append(host)
    if len(out) > 20:
        raise BadRequest("official_hosts: at most 20 hosts")
    return sorted(set(out))


async def list_providers(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db_catalog.providers(conn)
    return json_response(ListOf(data=[provider_view(r) for r in rows]))


async def patch_provider(call: Call) -> Response:
    body = await call.body(ProviderPatch)
    slug = call.route_values.get("slug", "")
    async with call.services.pool.acquire() as conn, conn.transaction():
        if isinstance(body.official_hosts, list):
            await conn.execute("UPDATE providers SET official_hosts = $2 WHERE slug = $1", slug,
                               _hosts(body.official_hosts))
        if isinstance(body.trusted, bool):
            await conn.execute("UPDATE providers SET trusted = $2 WHERE slug = $1", slug, body.trusted)
        row = next((r for r in await db_catalog.providers(conn) if r["slug"] == slug), None)
    if row is None:
        raise NotFound("no provider with this slug; list them with GET /api/admin/providers")
    return json_response(provider_view(row))


async def mark_pool_key(call: Call) -> Response:
    body = await call.body(PoolKeyTrust)
    async with call.services.pool.acquire() as conn:
        key_id = await conn.fetchval("UPDATE pool_keys SET trusted = $2 WHERE id = $1 RETURNING id::text",
                                     call.path_id(), body.trusted)
    if key_id is None:
        raise NotFound("no pool key with this id")
    return json_response(PoolKeyTrustView(id=key_id, trusted=body.trusted))
