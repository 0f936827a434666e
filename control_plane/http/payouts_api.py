"""Seller payouts: GET/PUT /v1/market/payout-address, GET/POST /v1/market/payouts,
GET /v1/market/payouts/{id} (the caller's own; anyone else's is a 404), and the operator's
GET /api/admin/payouts?status=&account_id=, POST /api/admin/payouts/{id}/{approve,reject,paid}.
The rules are in `control_plane.billing.payouts`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from blacksheep import Response

from control_plane.billing import payouts
from control_plane.db import payouts as db
from control_plane.errors import BadRequest, NotFound
from control_plane.http.context import Call, json_response
from control_plane.schemas.envelopes import ListOf
from control_plane.schemas.payouts import (
    PayoutAddress,
    PayoutAddressView,
    PayoutCreate,
    PayoutPaid,
    PayoutReject,
    PayoutView,
)
from control_plane.validation import check_uuid
from wire.money import micros_to_usd

_STATUSES = ("requested", "approved", "rejected", "paid")


def payout_view(r: asyncpg.Record) -> PayoutView:
    return PayoutView(
        id=r["id"], account_id=r["account_id"], amount_micro_usd=r["amount_micro_usd"],
        amount_usd=micros_to_usd(r["amount_micro_usd"]), address=r["address"], network=r["network"],
        status=r["status"], created_at=r["created_at"], idempotency_key=r["idempotency_key"],
        approved_at=r["approved_at"], rejected_at=r["rejected_at"], reject_reason=r["reject_reason"],
        paid_at=r["paid_at"], tx_ref=r["tx_ref"])


def _query(call: Call, name: str) -> str | None:
    values = call.request.query.get(name)
    return values[0] if values else None


def _address_view(row: asyncpg.Record) -> PayoutAddressView:
    return PayoutAddressView(address=row["address"], network=row["network"], updated_at=row["updated_at"])


async def get_address(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        row = await db.get_address(conn, call.account_id)
    if row is None:
        return json_response(PayoutAddressView(address=None, network="TRC-20"))
    return json_response(_address_view(row))


async def put_address(call: Call) -> Response:
    body = await call.body(PayoutAddress)
    address = payouts.address_or_400(body.address)
    async with call.services.pool.acquire() as conn:
        row = await db.set_address(conn, call.account_id, address)
    return json_response(_address_view(row))


async def create_payout(call: Call) -> Response:
    body = await call.body(PayoutCreate)
    raw_key = call.request.get_first_header(b"idempotency-key")
    key = payouts.check_idempotency_key(None if raw_key is None else raw_key.decode("latin-1"))
    address = None if body.address is None else payouts.address_or_400(body.address)
    now = datetime.fromtimestamp(call.services.clock(), UTC)
    locked_after = now - timedelta(seconds=call.services.settings.earnings_lock_s)
    async with call.services.pool.acquire() as conn:
        row, created = await payouts.request(conn, call.account_id, body.amount_micro_usd, address, key, locked_after)
    return json_response(payout_view(row), 201 if created else 200)


async def list_payouts(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db.listing(conn, call.account_id, None, 500)
    return json_response(ListOf(data=[payout_view(r) for r in rows]))


async def get_payout(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        row = await db.get(conn, call.path_id(), call.account_id)
    if row is None:
        raise NotFound("no payout with this id on your account; list yours with GET /v1/market/payouts")
    return json_response(payout_view(row))


async def admin_list(call: Call) -> Response:
    status = _query(call, "status")
    if status is not None and status not in _STATUSES:
        raise BadRequest(f"status: {status[:20]!r} is not one of {', '.join(_STATUSES)}")
    account = _query(call, "account_id")
    account_id = None if account is None else check_uuid(account, "account_id")
    async with call.services.pool.acquire() as conn:
        rows = await db.listing(conn, account_id, status, 500)
    return json_response(ListOf(data=[payout_view(r) for r in rows]))


async def admin_approve(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        row = await payouts.approve(conn, call.path_id())
    return json_response(payout_view(row))


async def admin_reject(call: Call) -> Response:
    body = await call.body(PayoutReject)
    async with call.services.pool.acquire() as conn:
        row = await payouts.reject(conn, call.path_id(), body.reason)
    return json_response(payout_view(row))


async def admin_paid(call: Call) -> Response:
    body = await call.body(PayoutPaid)
    async with call.services.pool.acquire() as conn:
        row = await payouts.mark_paid(conn, call.path_id(), body.tx_ref)
    return json_response(payout_view(row))
