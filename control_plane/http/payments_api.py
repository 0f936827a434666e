"""Top-ups: POST /v1/billing/crypto/create-payment, GET /v1/billing/crypto/payments/{id} (the
caller's own; anyone else's is a 404) and the operator's POST /api/admin/payments/{id}/confirm."""

from __future__ import annotations

import hashlib
import hmac

from blacksheep import Response

from control_plane.auth.principal import require_verified
from control_plane.billing import payments
from control_plane.db import payments as db
from control_plane.errors import NotFound
from control_plane.http import quotas
from control_plane.http.context import Call, json_response
from control_plane.schemas.payments import ConfirmPayment, CreatePayment


def _source(call: Call) -> payments.AddressSource:
    s = call.services.settings
    dev = hmac.new(s.secret_key.encode(), b"dragonfly trc20 dev addresses", hashlib.sha256).digest()
    return payments.AddressSource(pool=s.trc20_addresses, dev_secret=dev if s.trc20_dev_addresses else None)


async def create_payment(call: Call) -> Response:
    assert call.principal is not None
    require_verified(call.principal, "creating a payment intent")
    body = await call.body(CreatePayment)
    cents = payments.check_amount_cents(body.amount_cents)
    async with call.services.pool.acquire() as conn, conn.transaction():
        await quotas.enforce(conn, call.services.settings, quotas.OPEN_PAYMENTS, call.account_id)
        row = await payments.create_intent(conn, _source(call), call.account_id, cents,
                                           call.services.settings.payment_ttl_s)
    return json_response(payments.view(row, call.services.clock()), 201)


async def get_payment(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        row = await db.get(conn, call.path_id(), call.account_id)
    if row is None:
        raise NotFound("no payment with this id on your account (ids come from POST /v1/billing/crypto/create-payment)")
    return json_response(payments.view(row, call.services.clock()))


async def confirm_payment(call: Call) -> Response:
    body = await call.body(ConfirmPayment)
    tx_hash = payments.check_tx_hash(body.tx_hash)
    received = payments.parse_usdt(body.amount_usdt)
    async with call.services.pool.acquire() as conn:
        result, _ = await payments.confirm(conn, call.path_id(), tx_hash, received, by="operator")
    await call.services.push_credit(result.account_id)  # also on a repeat: set-to-max, heals a lost push
    return json_response(result)
