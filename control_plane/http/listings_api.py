"""/v1/market/listings: a seller's offers (pool key + model + asks in USD per Mtok).

A new listing is `pending_admission` (not routed) until an admission probe passes; the probe
starts in the background at creation (`control_plane.admission`, README "Admission")."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

import asyncpg
import msgspec
import orjson
from blacksheep import Response

from control_plane.db import admission as db_admission
from control_plane.db import catalog as db_catalog
from control_plane.db import listings as db
from control_plane.db import pool_keys as db_pool
from control_plane.errors import BadRequest, Conflict, NotFound
from control_plane.http import listing_pricing as pricing
from control_plane.http import quotas
from control_plane.http.context import Call, json_response
from control_plane.http.listing_stats_api import listing_health
from control_plane.http.views import listing_view as _view
from control_plane.pool_key_health import decrypts
from control_plane.schemas.envelopes import Deleted, ListOf
from control_plane.schemas.seller import ListingCreate, ListingPatch, ListingView
from control_plane.validation import check_cached_ask, check_name, check_uuid, price_micros
from wire.snapshot import KINDS

_NOT_FOUND = "no listing with this id on your account; list yours with GET /v1/market/listings"


async def listing_view(call: Call, conn: asyncpg.Connection, row: asyncpg.Record) -> ListingView:
    view = await pricing.with_pricing(conn, row, _view(row, decrypts(call.services.box, row, "pool_key_id")))
    return msgspec.structs.replace(view, health=await listing_health(call, conn, row))


def multiplier_bps(value: str, field: str = "price_multiplier") -> int:
    """ "1.25" -> 12500 basis points; 0.0001 .. 100."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise BadRequest(f'{field}: {value[:20]!r} is not a decimal such as "1.00"') from None
    bps = number * 10_000
    if not number.is_finite() or "e" in value.lower() or bps != bps.to_integral_value():
        raise BadRequest(f'{field}: {value[:20]!r} must be a plain decimal with at most 4 decimals, such as "1.25"')
    if not 1 <= bps <= 1_000_000:
        raise BadRequest(f"{field}: must be between 0.0001 and 100")
    return int(bps)


def _positive(value: int | None, field: str) -> int | None:
    if value is not None and value <= 0:
        raise BadRequest(f"{field}: must be a positive integer, or null for no limit")
    return value


def check_capabilities(value: list[str], model_caps: tuple[str, ...] | None = None) -> list[str]:
    """Routing kinds, each known (and served by the model, when it is known); at least one."""
    if not value:
        raise BadRequest("capabilities: list at least one of " + ", ".join(KINDS))
    for cap in value:
        if cap not in KINDS:
            raise BadRequest(f"capabilities: unknown kind {cap[:40]!r}; use {', '.join(KINDS)}")
        if model_caps is not None and cap not in model_caps:
            raise BadRequest(f"capabilities: the model does not offer {cap!r} (it offers {', '.join(model_caps)})")
    return sorted(set(value))


def _values(body: ListingCreate | ListingPatch) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if value is msgspec.UNSET or name in ("pool_key_id", "model"):
            continue
        if name in ("ask_input", "ask_output"):
            out[name] = price_micros(value, name)
        elif name in ("ask_cached_input", "payout_floor"):
            out[name] = None if value is None else price_micros(value, name)
        elif name == "price_multiplier":
            out["price_multiplier_bps"] = None if value is None else multiplier_bps(value)
        elif name in ("rpm_limit", "concurrency_limit"):
            out[name] = _positive(value, name)
        elif name == "capabilities":
            if value is not None:
                out[name] = check_capabilities(value)
        elif name == "upstream_model":
            if value is not None:
                out[name] = check_name(value, "upstream_model", required=True, max_len=200)
        else:
            out[name] = value
    return out


def _check_asks(values: dict[str, object]) -> None:
    ask, cached = values.get("ask_input"), values.get("ask_cached_input")
    if isinstance(ask, int):
        check_cached_ask(ask, cached if isinstance(cached, int) else None)


async def create_listing(call: Call) -> Response:
    body = await call.body(ListingCreate)
    pool_key_id = check_uuid(body.pool_key_id, "pool_key_id")
    values = _values(body)
    _check_asks(values)
    async with call.services.pool.acquire() as conn, conn.transaction():
        await quotas.enforce(conn, call.services.settings, quotas.LISTINGS, call.account_id)
        if await db_pool.get_pool_key(conn, call.account_id, pool_key_id) is None:
            raise BadRequest("pool_key_id: no pool key with this id on your account; add one with POST /v1/pool/keys")
        if body.model not in await db_catalog.active_model_ids(conn):
            raise BadRequest(f"model: unknown model {body.model[:80]!r}; see GET /v1/models for model ids")
        values.setdefault("upstream_model", body.model.split("/", 1)[-1])
        model_caps = await db_catalog.model_capabilities(conn, body.model) or ("chat",)
        default_caps = [c for c in model_caps if c in KINDS] or ["chat"]
        values["capabilities"] = check_capabilities(body.capabilities or default_caps, model_caps)
        try:
            row = await db.insert_listing(
                conn,
                {
                    "id": str(uuid.uuid4()),
                    "account_id": call.account_id,
                    "pool_key_id": pool_key_id,
                    "model": body.model,
                    **values,
                },
            )
        except db.DuplicateListing:
            raise Conflict(
                "this pool key already has a listing for this model; change it with PATCH /v1/market/listings/:id"
            ) from None
        automatic = call.services.settings.admission
        # the scheduler's safety net: probed then if the background probe below never finished
        await db_admission.schedule(conn, row["id"], call.services.settings.probe_timeout_s + 10 if automatic else
                                    call.services.settings.probe_interval_s)
        if not automatic:  # DF_ADMISSION=off: admitted unprobed (development without proxies)
            await db_admission.admit(conn, row["id"], str(uuid.uuid4()), orjson.dumps({
                "model": row["model"], "upstream_model": row["upstream_model"], "baseline": None}).decode())
            row = await db.get_listing(conn, call.account_id, row["id"])
            assert row is not None
        view = await listing_view(call, conn, row)
    if automatic and call.services.admission is not None:  # after the commit: the probe reads the row
        call.services.admission.kick(row["id"], "admission")  # routable once it passes (~1 s when healthy)
    return json_response(view, 201)


async def list_listings(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db.list_listings(conn, call.account_id)
        views = [await listing_view(call, conn, r) for r in rows]
    return json_response(ListOf(data=views))


async def get_listing(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        row = await db.get_listing(conn, call.account_id, call.path_id())
        if row is None:
            raise NotFound(_NOT_FOUND)
        view = await listing_view(call, conn, row)
    return json_response(view)


async def patch_listing(call: Call) -> Response:
    body = await call.body(ListingPatch)
    values = _values(body)
    async with call.services.pool.acquire() as conn, conn.transaction():
        now = await db.get_listing(conn, call.account_id, call.path_id())
        if now is None:
            raise NotFound(_NOT_FOUND)
        if "ask_input" in values or "ask_cached_input" in values:
            _check_asks({"ask_input": now["ask_input"], "ask_cached_input": now["ask_cached_input"], **values})
        values = await pricing.hold_for_review(conn, call.services.settings, now, values)  # price review
        if not await db.update_listing(conn, call.account_id, call.path_id(), values):
            raise NotFound(_NOT_FOUND)
        row = await db.get_listing(conn, call.account_id, call.path_id())
        assert row is not None
        view = await listing_view(call, conn, row)
    if "upstream_model" in values and call.services.admission is not None and row["admitted_at"] is not None:
        call.services.admission.kick(row["id"], "reverify")  # a new upstream model: check it now
    return json_response(view)


async def confirm_price(call: Call) -> Response:
    """POST /v1/market/listings/{id}/confirm-price: apply the change held in price review."""
    async with call.services.pool.acquire() as conn, conn.transaction():
        await pricing.apply_held(conn, call.account_id, call.path_id())
        row = await db.get_listing(conn, call.account_id, call.path_id())
        assert row is not None
        view = await listing_view(call, conn, row)
    return json_response(view)


async def delete_listing(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        if not await db.delete_listing(conn, call.account_id, call.path_id()):
            raise NotFound(_NOT_FOUND)
    return json_response(Deleted(id=call.path_id()))
