"""Buyer read side: GET /v1/generation, /api/billing/balance, /api/billing/transactions,
/api/usage, /api/usage/by-key, /api/usage/daily. The caller's own account only."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import asyncpg
from blacksheep import Response

from control_plane.db import usage as db
from control_plane.errors import BadRequest, NotFound
from control_plane.http.context import Call, json_response
from control_plane.schemas.billing import (
    BalanceView,
    GenerationView,
    TransactionPage,
    TransactionView,
    UsageReport,
    UsageRow,
)
from wire.billing import month_of
from wire.money import micros_to_usd
from wire.request_ids import belongs_to


def _query(call: Call, name: str) -> str | None:
    values = call.request.query.get(name)
    return values[0] if values else None


def _generation_view(r: asyncpg.Record) -> GenerationView:
    cached = r["ask_cached_input"]
    return GenerationView(
        id=r["request_id"], status=r["status"], model=r["model"], key_id=r["key_id"], listing_id=r["listing_id"],
        provider=r["provider"], upstream_model=r["upstream_model"], prompt_tokens=r["prompt_tokens"],
        completion_tokens=r["completion_tokens"], cached_tokens=r["cached_tokens"],
        usage_estimated=r["usage_estimated"], ask_input=micros_to_usd(r["ask_input"]),
        ask_output=micros_to_usd(r["ask_output"]), ask_cached_input=None if cached is None else micros_to_usd(cached),
        fee_profile_id=r["fee_profile_id"], cost_micro_usd=r["cost_micro_usd"],
        platform_fee_micro_usd=r["platform_fee_micro_usd"], seller_payout_micro_usd=r["seller_payout_micro_usd"],
        reserved_micro_usd=r["reserved_micro_usd"], capped_micro_usd=r["capped_micro_usd"], ttft_ms=r["ttft_ms"],
        latency_ms=r["latency_ms"], created_at=r["started_at"],
    )


async def get_generation(call: Call) -> Response:
    request_id = (_query(call, "id") or "").strip()
    if not request_id or len(request_id) > 64:
        raise BadRequest("id: pass the request id as ?id= (the x-request-id header of the response)")
    async with call.services.pool.acquire() as conn:
        row = await db.generation(conn, request_id, call.account_id)
    if row is not None:
        return json_response(_generation_view(row))
    secret = call.services.request_id_secret
    if secret and belongs_to(secret, request_id, call.account_id):
        return json_response(GenerationView(id=request_id, status="pending"))
    raise NotFound(f"no request {request_id} on this account (ids come from the x-request-id response header)")


async def get_balance(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        balance, credited, month = await db.balance_row(conn, call.account_id, month_of(time.time()))
    return json_response(BalanceView(balance_micro_usd=balance, balance_usd=micros_to_usd(balance),
                                     total_credited_micro_usd=credited, total_spent_micro_usd=credited - balance,
                                     month_spent_micro_usd=month))


def _int_param(call: Call, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = _query(call, name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise BadRequest(f"{name}: must be an integer from {lo} to {hi}")
    return int(raw)


async def list_transactions(call: Call) -> Response:
    limit = _int_param(call, "limit", 50, 1, 500) or 50
    before = _int_param(call, "before", None, 1, 2**62)
    async with call.services.pool.acquire() as conn:
        rows = await db.transactions(conn, call.account_id, before, limit)
    data = [TransactionView(id=r["id"], kind=r["kind"], amount_micro_usd=r["amount"],
                            amount_usd=micros_to_usd(r["amount"]), request_id=r["request_id"], reason=r["reason"],
                            created_at=r["created_at"]) for r in rows]
    return json_response(TransactionPage(data=data, next_before=data[-1].id if len(data) == limit else None))


def _time(call: Call, name: str, default: datetime) -> datetime:
    raw = _query(call, name)
    if not raw:
        return default
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: not an ISO 8601 time such as 2026-01-31T00:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _usage(call: Call, group: str) -> Response:
    now = datetime.now(UTC)
    start = _time(call, "start", now - timedelta(days=30))
    end = _time(call, "end", now + timedelta(seconds=1))
    if end <= start:
        raise BadRequest("end: must be after start")
    async with call.services.pool.acquire() as conn:
        rows = await db.usage(conn, call.account_id, start, end, group, _query(call, "key_group"),
                              _query(call, "model"))
    data = [UsageRow(key_id=r["key_id"], day=r["day"], requests=r["requests"], prompt_tokens=r["prompt_tokens"],
                     completion_tokens=r["completion_tokens"], cached_tokens=r["cached_tokens"],
                     cost_micro_usd=r["cost"]) for r in rows]
    return json_response(UsageReport(start=start, end=end, data=data))


async def usage_total(call: Call) -> Response:
    return await _usage(call, "")


async def usage_by_key(call: Call) -> Response:
    return await _usage(call, "key")


async def usage_daily(call: Call) -> Response:
    return await _usage(call, "day")
