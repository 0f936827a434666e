"""/api/keys (buyer keys) and /api/management-keys. Raw keys appear only in the POST response."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import msgspec
from blacksheep import Response

from control_plane.auth.principal import require_verified
from control_plane.db import catalog as db_catalog
from control_plane.db import keys as db
from control_plane.db import profiles as db_profiles
from control_plane.errors import BadRequest, NotFound
from control_plane.http import quotas
from control_plane.http.context import Call, json_response
from control_plane.http.views import key_fields, key_view, mgmt_key_view
from control_plane.schemas.envelopes import Deleted, ListOf
from control_plane.schemas.keys import KeyCreate, KeyCreated, KeyPatch, MgmtKeyCreate, MgmtKeyCreated
from control_plane.validation import (
    MAX_ALLOWLIST,
    cents_to_micros,
    check_cidrs,
    check_key_group,
    check_name,
    check_uuid,
    daily_quota,
    parse_time,
)
from wire.keys import hash_key, key_hint, new_key

_NOT_FOUND = "no key with this id on your account; list yours with GET /api/keys"


async def _profile_id(conn: asyncpg.Connection, account_id: str, value: str | None) -> str | None:
    if value is None:
        return None
    profile_id = check_uuid(value, "routing_profile_id")
    if await db_profiles.get_profile(conn, account_id, profile_id) is None:
        raise BadRequest(
            "routing_profile_id: no routing profile with this id on your account; "
            "list yours with GET /api/routing/profiles"
        )
    return profile_id


async def _allowlist(conn: asyncpg.Connection, models: list[str]) -> list[str]:
    if len(models) > MAX_ALLOWLIST:
        raise BadRequest(f"model_allowlist: {len(models)} entries; at most {MAX_ALLOWLIST} are allowed")
    known = await db_catalog.active_model_ids(conn)
    for i, model in enumerate(models):
        if model not in known:
            raise BadRequest(f"model_allowlist[{i}]: unknown model {model[:80]!r}; see GET /v1/models for model ids")
    return list(dict.fromkeys(models))


def _expiry(value: str | None) -> datetime | None:
    return None if value is None else parse_time(value, "expires_at", now=datetime.now(UTC))


async def create_key(call: Call) -> Response:
    assert call.principal is not None
    require_verified(call.principal, "key creation")
    body = await call.body(KeyCreate)
    values: dict[str, object] = {
        "name": check_name(body.name, "name"),
        "key_group": check_key_group(body.key_group),
        "monthly_budget_micro_usd": None
        if body.monthly_budget_cents is None
        else cents_to_micros(body.monthly_budget_cents, "monthly_budget_cents"),
        "ip_whitelist": check_cidrs(body.ip_whitelist, "ip_whitelist"),
        "ip_blacklist": check_cidrs(body.ip_blacklist, "ip_blacklist"),
        "expires_at": _expiry(body.expires_at),
        "daily_request_limit": daily_quota(body.daily_request_limit, "daily_request_limit"),
        "daily_token_quota": daily_quota(body.daily_token_quota, "daily_token_quota"),
    }
    raw = new_key()
    async with call.services.pool.acquire() as conn, conn.transaction():
        await quotas.enforce(conn, call.services.settings, quotas.KEYS, call.account_id)
        values["routing_profile_id"] = await _profile_id(conn, call.account_id, body.routing_profile_id)
        values["model_allowlist"] = await _allowlist(conn, body.model_allowlist)
        row = await db.insert_key(
            conn,
            {
                "id": str(uuid.uuid4()),
                "account_id": call.account_id,
                "key_hash": hash_key(call.services.hash_secret, raw),
                "key_hint": key_hint(raw),
                **values,
            },
        )
    return json_response(KeyCreated(**key_fields(row), key=raw), 201)  # type: ignore[arg-type]


async def list_keys(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db.list_keys(conn, call.account_id)
    return json_response(ListOf(data=[key_view(r) for r in rows]))


async def get_key(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        row = await db.get_key(conn, call.account_id, call.path_id())
    if row is None:
        raise NotFound(_NOT_FOUND)
    return json_response(key_view(row))


async def patch_key(call: Call) -> Response:
    body = await call.body(KeyPatch)
    changes: dict[str, object] = {}
    if body.name is not msgspec.UNSET:
        changes["name"] = check_name(body.name, "name")
    if body.key_group is not msgspec.UNSET:
        changes["key_group"] = check_key_group(body.key_group)
    if body.monthly_budget_cents is not msgspec.UNSET:
        changes["monthly_budget_micro_usd"] = (
            None
            if body.monthly_budget_cents is None
            else cents_to_micros(body.monthly_budget_cents, "monthly_budget_cents")
        )
    if body.ip_whitelist is not msgspec.UNSET:
        changes["ip_whitelist"] = check_cidrs(body.ip_whitelist, "ip_whitelist")
    if body.ip_blacklist is not msgspec.UNSET:
        changes["ip_blacklist"] = check_cidrs(body.ip_blacklist, "ip_blacklist")
    if body.expires_at is not msgspec.UNSET:
        changes["expires_at"] = _expiry(body.expires_at)
    if body.status is not msgspec.UNSET:
        changes["status"] = body.status
    if body.daily_request_limit is not msgspec.UNSET:
        changes["daily_request_limit"] = daily_quota(body.daily_request_limit, "daily_request_limit")
    if body.daily_token_quota is not msgspec.UNSET:
        changes["daily_token_quota"] = daily_quota(body.daily_token_quota, "daily_token_quota")
    async with call.services.pool.acquire() as conn, conn.transaction():
        if await db.get_key(conn, call.account_id, call.path_id()) is None:
            raise NotFound(_NOT_FOUND)
        if body.routing_profile_id is not msgspec.UNSET:
            changes["routing_profile_id"] = await _profile_id(conn, call.account_id, body.routing_profile_id)
        if body.model_allowlist is not msgspec.UNSET:
            changes["model_allowlist"] = await _allowlist(conn, body.model_allowlist)
        if changes:
            await db.update_key(conn, call.account_id, call.path_id(), changes)
        row = await db.get_key(conn, call.account_id, call.path_id())
    assert row is not None
    return json_response(key_view(row))


async def delete_key(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        if not await db.revoke_key(conn, call.account_id, call.path_id()):
            raise NotFound(_NOT_FOUND)
    return json_response(Deleted(id=call.path_id()))


async def create_mgmt_key(call: Call) -> Response:
    assert call.principal is not None
    require_verified(call.principal, "management key creation")
    body = await call.body(MgmtKeyCreate)
    name = check_name(body.name, "name", required=True)
    raw = new_key()
    async with call.services.pool.acquire() as conn, conn.transaction():
        await quotas.enforce(conn, call.services.settings, quotas.MANAGEMENT_KEYS, call.account_id)
        row = await db.insert_mgmt_key(
            conn,
            key_id=str(uuid.uuid4()),
            account_id=call.account_id,
            name=name,
            key_hash=hash_key(call.services.hash_secret, raw),
            key_hint=key_hint(raw),
            scope=body.mgmt_scope,
            expires_at=_expiry(body.expires_at),
        )
    view = mgmt_key_view(row)
    return json_response(MgmtKeyCreated(**msgspec.structs.asdict(view), key=raw), 201)


async def list_mgmt_keys(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db.list_mgmt_keys(conn, call.account_id)
    return json_response(ListOf(data=[mgmt_key_view(r) for r in rows]))


async def delete_mgmt_key(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        if not await db.revoke_mgmt_key(conn, call.account_id, call.path_id()):
            raise NotFound("no management key with this id on your account; list yours with GET /api/management-keys")
    return json_response(Deleted(id=call.path_id()))
