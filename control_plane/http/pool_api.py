"""/v1/pool/providers and /v1/pool/keys. Upstream keys go in encrypted and never come out.

A key that no longer decrypts (the operator changed DF_SECRET_KEYS) shows
`status: "undecryptable"`; PATCH /v1/pool/keys/{id} re-enters it under the newest key.
"""

from __future__ import annotations

import uuid

import asyncpg
import msgspec
from blacksheep import Response

from control_plane.auth.principal import require_verified
from control_plane.crypto import secret_hint
from control_plane.db import catalog as db_catalog
from control_plane.db import pool_keys as db
from control_plane.errors import BadRequest, Conflict, NotFound
from control_plane.http import quotas
from control_plane.http.context import Call, json_response
from control_plane.http.listing_stats_api import provider_status
from control_plane.http.upstream_names import refuse_inward_names
from control_plane.http.views import pool_key_view as _view
from control_plane.http.views import provider_view
from control_plane.pool_key_health import decrypts
from control_plane.schemas.envelopes import Deleted, ListOf
from control_plane.schemas.seller import PoolKeyCreate, PoolKeyPatch, PoolKeyView
from control_plane.validation import check_base_url, check_name

_NOT_FOUND = "no pool key with this id on your account; list yours with GET /v1/pool/keys"


def pool_key_view(call: Call, row: asyncpg.Record) -> PoolKeyView:
    return _view(row, decrypts(call.services.box, row))


async def list_providers(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db_catalog.providers(conn)
        status = await provider_status(call, conn)
    return json_response(ListOf(data=[msgspec.structs.replace(provider_view(r), **status.get(r["slug"], {}))
                                      for r in rows]))


def _api_key(value: str) -> str:
    key = value.strip()
    if len(key) < 8 or len(key) > 512 or any(c.isspace() for c in key):
        raise BadRequest("api_key: must be the provider's key as issued (8-512 characters, no spaces)")
    return key


async def create_pool_key(call: Call) -> Response:
    assert call.principal is not None
    require_verified(call.principal, "adding pool keys")
    body = await call.body(PoolKeyCreate)
    settings = call.services.settings
    base_url = check_base_url(body.base_url, allow_private=settings.allow_private_upstreams,
                              ports=settings.upstream_ports)
    if not settings.allow_private_upstreams:
        await refuse_inward_names(base_url)
    secret = _api_key(body.api_key)
    name = check_name(body.name, "name")
    key_id = str(uuid.uuid4())
    async with call.services.pool.acquire() as conn, conn.transaction():
        await quotas.enforce(conn, settings, quotas.POOL_KEYS, call.account_id)
        provider = await db_catalog.provider(conn, body.provider)
        if provider is None:
            raise BadRequest(f"provider: unknown provider {body.provider[:40]!r}; see GET /v1/pool/providers")
        row = await db.insert_pool_key(
            conn,
            {
                "id": key_id,
                "account_id": call.account_id,
                "provider": provider["slug"],
                "name": name,
                "base_url": base_url,
                "api_format": body.api_format or provider["api_format"],
                "key_ciphertext": call.services.box.seal(secret, seller_id=call.account_id, key_id=key_id),
                "key_hint": secret_hint(secret),
            },
        )
    return json_response(pool_key_view(call, row), 201)


async def list_pool_keys(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db.list_pool_keys(conn, call.account_id)
    return json_response(ListOf(data=[pool_key_view(call, r) for r in rows]))


async def patch_pool_key(call: Call) -> Response:
    """Re-enter the upstream key (the seller rotated it, or it no longer decrypts)."""
    body = await call.body(PoolKeyPatch)
    secret = _api_key(body.api_key)
    key_id = call.path_id()
    blob = call.services.box.seal(secret, seller_id=call.account_id, key_id=key_id)
    async with call.services.pool.acquire() as conn, conn.transaction():
        row = await db.replace_secret(conn, call.account_id, key_id, blob, secret_hint(secret))
    if row is None:
        raise NotFound(_NOT_FOUND)
    return json_response(pool_key_view(call, row))


async def delete_pool_key(call: Call) -> Response:
    async with call.services.pool.acquire() as conn, conn.transaction():
        row = await db.get_pool_key(conn, call.account_id, call.path_id())
        if row is None:
            raise NotFound(_NOT_FOUND)
        if row["listing_count"]:
            raise Conflict(
                f"this pool key still backs {row['listing_count']} listing(s); "
                "delete them first with DELETE /v1/market/listings/:id"
            )
        try:
            await db.delete_pool_key(conn, call.account_id, call.path_id())
        except asyncpg.ForeignKeyViolationError:
            raise Conflict("this pool key still backs listings; delete them first") from None
    return json_response(Deleted(id=call.path_id()))
