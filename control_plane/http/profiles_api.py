"""/api/routing/profiles: list, create, patch. Exactly one default profile per account."""

from __future__ import annotations

import uuid

import asyncpg
import msgspec
from blacksheep import Response

from control_plane.auth.principal import require_verified
from control_plane.db import catalog as db_catalog
from control_plane.db import profiles as db
from control_plane.errors import BadRequest, NotFound
from control_plane.http import quotas
from control_plane.http.context import Call, json_response
from control_plane.http.views import profile_view
from control_plane.schemas.envelopes import ListOf
from control_plane.schemas.profiles import ProfileCreate, ProfilePatch
from control_plane.validation import check_name, price_micros

_INT_FIELDS = ("max_ttft_ms", "min_throughput_tps", "hard_max_ttft_ms", "hard_min_throughput_tps")


async def _providers(conn: asyncpg.Connection, values: list[str], field: str) -> list[str]:
    known = await db_catalog.provider_slugs(conn)
    for i, slug in enumerate(values):
        if slug not in known:
            raise BadRequest(f"{field}[{i}]: unknown provider {slug[:40]!r}; see GET /v1/pool/providers")
    return list(dict.fromkeys(values))


def _positive(value: int | None, field: str) -> int | None:
    if value is not None and value <= 0:
        raise BadRequest(f"{field}: must be a positive integer, or null for no target")
    return value


def _between(value: int | None, field: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        raise BadRequest(f"{field}: must be between {low} and {high}, or null")
    return value


_RANGES = {"deadline_ms": (100, 600_000), "hedge_ttft_ms": (10, 600_000), "weight_price": (0, 100),
           "weight_latency": (0, 100), "weight_throughput": (0, 100), "weight_reliability": (0, 100)}


def _attempts(value: int) -> int:
    if not 1 <= value <= 10:
        raise BadRequest("max_attempts: must be between 1 and 10")
    return value


async def _values(conn: asyncpg.Connection, body: ProfileCreate | ProfilePatch) -> dict[str, object]:
    """Checked column values for every field present in the body."""
    out: dict[str, object] = {}
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if value is msgspec.UNSET:
            continue
        if name == "name":
            out[name] = check_name(value, "name", required=True)
        elif name in ("provider_only", "provider_ignore", "provider_order"):
            out[name] = await _providers(conn, value, name)
        elif name in ("max_price_input", "max_price_output"):
            out[name] = None if value is None else price_micros(value, name)
        elif name in _INT_FIELDS:
            out[name] = _positive(value, name)
        elif name == "max_attempts":
            out[name] = _attempts(value)
        elif name in _RANGES:
            out[name] = _between(value, name, *_RANGES[name])
        elif name == "fallback_on":
            out[name] = list(dict.fromkeys(value))
        else:
            out[name] = value
    return out


async def list_profiles(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db.list_profiles(conn, call.account_id)
    return json_response(ListOf(data=[profile_view(r) for r in rows]))


async def create_profile(call: Call) -> Response:
    assert call.principal is not None
    require_verified(call.principal, "routing profile creation")
    body = await call.body(ProfileCreate)
    profile_id = str(uuid.uuid4())
    async with call.services.pool.acquire() as conn, conn.transaction():
        await quotas.enforce(conn, call.services.settings, quotas.ROUTING_PROFILES, call.account_id)
        values = await _values(conn, body)
        if body.is_default:
            await db.clear_default(conn, call.account_id)
        await db.insert_profile(conn, profile_id, call.account_id, values)
        row = await db.get_profile(conn, call.account_id, profile_id)
    assert row is not None
    return json_response(profile_view(row), 201)


async def patch_profile(call: Call) -> Response:
    body = await call.body(ProfilePatch)
    profile_id = call.path_id()
    async with call.services.pool.acquire() as conn, conn.transaction():
        current = await db.get_profile(conn, call.account_id, profile_id)
        if current is None:
            raise NotFound("no routing profile with this id on your account; list yours with GET /api/routing/profiles")
        values = await _values(conn, body)
        if values.get("is_default") is False and current["is_default"]:
            raise BadRequest(
                "is_default: an account always has a default profile; make another profile the default instead"
            )
        if values.get("is_default") is True:
            await db.clear_default(conn, call.account_id)
        await db.update_profile(conn, call.account_id, profile_id, values)
        row = await db.get_profile(conn, call.account_id, profile_id)
    assert row is not None
    return json_response(profile_view(row))
