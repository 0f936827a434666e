"""GET /api/account and POST /api/account/trading-terms (the caller's own account)."""

from __future__ import annotations

from datetime import UTC, datetime

from blacksheep import Response

from control_plane.db import accounts as db
from control_plane.errors import NotFound
from control_plane.http.context import Call, json_response
from control_plane.http.views import account_view


async def get_account(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        row = await db.account(conn, call.account_id)
    if row is None:
        raise NotFound("account not found")
    return json_response(account_view(row))


async def accept_trading_terms(call: Call) -> Response:
    """Idempotent: the first acceptance time is kept."""
    async with call.services.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE accounts SET trading_terms_accepted_at = coalesce(trading_terms_accepted_at, $2),"
            " updated_at = now() WHERE id = $1",
            call.account_id,
            datetime.now(UTC),
        )
        row = await db.account(conn, call.account_id)
    if row is None:
        raise NotFound("account not found")
    return json_response(account_view(row))
