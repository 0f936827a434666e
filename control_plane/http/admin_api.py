"""The operator API behind DF_ADMIN_TOKEN: create accounts, change plan/limits/status, credit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
from blacksheep import Response

from control_plane.auth.passwords import hash_password, password_problem
from control_plane.db import accounts as db
from control_plane.errors import BadRequest, Conflict, NotFound
from control_plane.http.context import Call, json_response
from control_plane.http.views import account_view
from control_plane.schemas.accounts import AdminCreateAccount, AdminCredit, AdminPatchAccount, LedgerEntryView
from control_plane.validation import cents_to_micros, check_email, check_name, daily_quota
from wire.money import micros_to_usd


async def _check_plan(conn: object, plan: str) -> None:
    if not await db.plan_exists(conn, plan):
        names = ", ".join(await db.plan_names(conn))
        raise BadRequest(f"plan: unknown plan {plan[:40]!r}; use one of {names}")


def _limit(value: int | None, field: str) -> int | None:
    if value is not None and value <= 0:
        raise BadRequest(f"{field}: must be a positive integer, or null to use the plan's limit")
    return value


async def create_account(call: Call) -> Response:
    body = await call.body(AdminCreateAccount)
    email = check_email(body.email)
    problem = password_problem(body.password)
    if problem:
        raise BadRequest(f"password: {problem}")
    credit = cents_to_micros(body.credit_cents, "credit_cents")
    pw_hash = await asyncio.to_thread(hash_password, body.password)
    now = datetime.now(UTC)
    async with call.services.pool.acquire() as conn, conn.transaction():
        await _check_plan(conn, body.plan)
        try:
            account_id = await db.insert_account(
                conn,
                email=email,
                password_hash=pw_hash,
                plan=body.plan,
                verified_at=now if body.verified else None,
                terms_at=now if body.trading_terms_accepted else None,
            )
        except db.EmailTaken:
            raise Conflict("email: an account with this email already exists") from None
        if credit:
            await db.add_ledger_entry(conn, account_id, "initial_credit", credit, "initial credit (operator)")
        row = await db.account(conn, account_id)
    assert row is not None
    if credit:
        await call.services.push_credit(account_id)
    return json_response(account_view(row), 201)


async def get_account(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        row = await db.account(conn, call.path_id())
    if row is None:
        raise NotFound("no account with this id")
    return json_response(account_view(row))


async def patch_account(call: Call) -> Response:
    body = await call.body(AdminPatchAccount)
    changes: dict[str, object] = {}
    now = datetime.now(UTC)
    if body.rpm_limit is not msgspec.UNSET:
        changes["rpm_limit"] = _limit(body.rpm_limit, "rpm_limit")
    if body.tpm_limit is not msgspec.UNSET:
        changes["tpm_limit"] = _limit(body.tpm_limit, "tpm_limit")
    if body.daily_request_limit is not msgspec.UNSET:
        changes["daily_request_limit"] = daily_quota(body.daily_request_limit, "daily_request_limit")
    if body.daily_token_quota is not msgspec.UNSET:
        changes["daily_token_quota"] = daily_quota(body.daily_token_quota, "daily_token_quota")
    if body.status is not msgspec.UNSET:
        changes["status"] = body.status
    if body.verified is not msgspec.UNSET:
        changes["email_verified_at"] = now if body.verified else None
    if body.trading_terms_accepted is not msgspec.UNSET:
        changes["trading_terms_accepted_at"] = now if body.trading_terms_accepted else None
    async with call.services.pool.acquire() as conn, conn.transaction():
        if body.plan is not msgspec.UNSET:
            await _check_plan(conn, body.plan)
            changes["plan"] = body.plan
        if not await db.update_account(conn, call.path_id(), changes):
            raise NotFound("no account with this id")
        row = await db.account(conn, call.path_id())
    assert row is not None
    return json_response(account_view(row))


async def credit_account(call: Call) -> Response:
    body = await call.body(AdminCredit)
    amount = cents_to_micros(body.amount_cents, "amount_cents", positive=True)
    reason = check_name(body.reason, "reason", required=True, max_len=500)
    async with call.services.pool.acquire() as conn, conn.transaction():
        if await db.caller(conn, call.path_id()) is None:
            raise NotFound("no account with this id")
        entry = await db.add_ledger_entry(conn, call.path_id(), "admin_credit", amount, reason)
        assert entry is not None
        balance = await db.balance(conn, call.path_id())
    await call.services.push_credit(call.path_id())
    return json_response(
        LedgerEntryView(
            id=entry["id"],
            account_id=entry["account_id"],
            kind=entry["kind"],
            amount_micro_usd=entry["amount_micro_usd"],
            amount_usd=micros_to_usd(entry["amount_micro_usd"]),
            reason=entry["reason"],
            created_at=entry["created_at"],
            balance_micro_usd=balance,
            balance_usd=micros_to_usd(balance),
        ),
        201,
    )
