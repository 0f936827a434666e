"""The operator API (DF_ADMIN_TOKEN) beyond the catalog: search accounts, payments and listings
across sellers; assign fee profiles; debit and refund adjustments.

Rules, stated once (README "Catalog and operator API"):
- lists are paginated by `?limit=` (1-200, default 50) and `?offset=`; `next_offset` is null on
  the last page. Accounts filter by `email` (case-insensitive substring), `status`, `plan`;
  payments by `status` (pending, expired, confirmed) and `account_id`; listings by `model`,
  `account_id` and `status`;
- a listing's fee profile is its own; a seller account's fee profile applies to its listings
  left on `default` (the snapshot resolves it; settlement records the profile applied);
- adjustments are ledger journals with a required reason: `admin_debit` (buyer -amount,
  external +amount; refused with 409 above the balance) and `admin_refund` (platform_fee
  -amount, buyer +amount: paid back from the platform's revenue). Both balance to zero and
  are covered by `dragonfly ledger check`.
"""

from __future__ import annotations

import time

import asyncpg
from blacksheep import Response

from control_plane.billing import payments as pay
from control_plane.db import accounts as accounts_db
from control_plane.db import catalog_admin as catalog_db
from control_plane.db import ledger
from control_plane.db.accounts import ACCOUNT_COLUMNS
from control_plane.db.payments import COLUMNS as PAYMENT_COLUMNS
from control_plane.errors import BadRequest, Conflict, NotFound
from control_plane.http.context import Call, json_response
from control_plane.http.views import account_view
from control_plane.schemas.accounts import LedgerEntryView
from control_plane.schemas.catalog import (
    AccountFeeProfileView,
    AccountPage,
    Adjustment,
    AdminListingView,
    AdminPaymentView,
    AssignFeeProfile,
    ListingPage,
    PaymentPage,
)
from control_plane.validation import cents_to_micros, check_name, check_uuid
from wire.money import micros_to_usd


def _query(call: Call, name: str) -> str | None:
    values = call.request.query.get(name)
    return values[0] if values else None


def _page(call: Call) -> tuple[int, int]:
    out = []
    for name, default, hi in (("limit", 50, 200), ("offset", 0, 1_000_000)):
        raw = _query(call, name)
        if raw is None or raw == "":
            out.append(default)
            continue
        if not raw.isdigit() or not (name == "offset" or int(raw) >= 1) or int(raw) > hi:
            raise BadRequest(f"{name}: must be an integer from {0 if name == 'offset' else 1} to {hi}")
        out.append(int(raw))
    return out[0], out[1]


def _next(offset: int, limit: int, got: int) -> int | None:
    return offset + limit if got > limit else None


def _choice(call: Call, name: str, allowed: tuple[str, ...]) -> str | None:
    value = _query(call, name)
    if value in (None, ""):
        return None
    if value not in allowed:
        raise BadRequest(f"{name}: use one of {', '.join(allowed)}")
    return value


async def search_accounts(call: Call) -> Response:
    limit, offset = _page(call)
    email = (_query(call, "email") or "").strip().lower()[:254]
    status = _choice(call, "status", ("active", "suspended"))
    plan = _query(call, "plan") or None
    like = "%" + email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    async with call.services.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE lower(a.email) LIKE $1"
            " AND ($2::text IS NULL OR a.status = $2) AND ($3::text IS NULL OR a.plan = $3)"
            " ORDER BY a.created_at DESC, a.id LIMIT $4 OFFSET $5", like, status, plan, limit + 1, offset)
    return json_response(AccountPage(data=[account_view(r) for r in rows[:limit]],
                                     next_offset=_next(offset, limit, len(rows))))


async def list_payments(call: Call) -> Response:
    limit, offset = _page(call)
    status = _choice(call, "status", ("pending", "expired", "confirmed"))
    account = _query(call, "account_id")
    account_id = check_uuid(account, "account_id") if account else None
    where = {None: "true", "confirmed": "confirmed_at IS NOT NULL",
             "pending": "confirmed_at IS NULL AND expires_at > clock_timestamp()",
             "expired": "confirmed_at IS NULL AND expires_at <= clock_timestamp()"}[status]
    async with call.services.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {PAYMENT_COLUMNS} FROM crypto_payments WHERE {where}"
            " AND ($1::uuid IS NULL OR account_id = $1) ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
            account_id, limit + 1, offset)
    now = time.time()
    return json_response(PaymentPage(
        data=[AdminPaymentView(account_id=r["account_id"], payment=pay.view(r, now)) for r in rows[:limit]],
        next_offset=_next(offset, limit, len(rows))))


async def list_listings(call: Call) -> Response:
    limit, offset = _page(call)
    status = _choice(call, "status", ("active", "paused"))
    account = _query(call, "account_id")
    account_id = check_uuid(account, "account_id") if account else None
    model = _query(call, "model") or None
    async with call.services.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT l.id::text AS id, l.account_id::text AS account_id, a.email, k.provider, l.model,"
            " l.upstream_model, l.ask_input, l.ask_output, l.status, l.fee_profile_id, l.created_at"
            " FROM listings l JOIN pool_keys k ON k.id = l.pool_key_id JOIN accounts a ON a.id = l.account_id"
            " WHERE ($1::text IS NULL OR l.status = $1) AND ($2::uuid IS NULL OR l.account_id = $2)"
            " AND ($3::text IS NULL OR l.model = $3) ORDER BY l.created_at DESC, l.id LIMIT $4 OFFSET $5",
            status, account_id, model, limit + 1, offset)
    data = [AdminListingView(id=r["id"], account_id=r["account_id"], seller_email=r["email"], provider=r["provider"],
                             model=r["model"], upstream_model=r["upstream_model"],
                             ask_input=micros_to_usd(r["ask_input"]), ask_output=micros_to_usd(r["ask_output"]),
                             status=r["status"], fee_profile_id=r["fee_profile_id"], created_at=r["created_at"])
            for r in rows[:limit]]
    return json_response(ListingPage(data=data, next_offset=_next(offset, limit, len(rows))))


async def _profile(conn: asyncpg.Connection, profile_id: str) -> str:
    if not await catalog_db.fee_profile_exists(conn, profile_id):
        raise BadRequest(f"fee_profile_id: no fee profile {profile_id[:64]!r}; create it with POST "
                         "/api/admin/fee-profiles")
    return profile_id


async def assign_listing_fee_profile(call: Call) -> Response:
    body = await call.body(AssignFeeProfile)
    if body.fee_profile_id is None:
        raise BadRequest("fee_profile_id: a listing always has a fee profile (\"default\" for the standard one)")
    async with call.services.pool.acquire() as conn, conn.transaction():
        await _profile(conn, body.fee_profile_id)
        done = await conn.fetchval("UPDATE listings SET fee_profile_id = $2, updated_at = now() WHERE id = $1"
                                   " RETURNING id::text", call.path_id(), body.fee_profile_id)
    if done is None:
        raise NotFound("no listing with this id")
    return json_response(AssignFeeProfile(fee_profile_id=body.fee_profile_id))


async def assign_account_fee_profile(call: Call) -> Response:
    body = await call.body(AssignFeeProfile)
    async with call.services.pool.acquire() as conn, conn.transaction():
        if body.fee_profile_id is not None:
            await _profile(conn, body.fee_profile_id)
        done = await conn.fetchval("UPDATE accounts SET fee_profile_id = $2, updated_at = now() WHERE id = $1"
                                   " RETURNING id::text", call.path_id(), body.fee_profile_id)
    if done is None:
        raise NotFound("no account with this id")
    return json_response(AccountFeeProfileView(account_id=done, fee_profile_id=body.fee_profile_id))


async def _adjust(call: Call, kind: str) -> Response:
    body = await call.body(Adjustment)
    amount = cents_to_micros(body.amount_cents, "amount_cents", positive=True)
    reason = check_name(body.reason, "reason", required=True, max_len=500)
    account_id = call.path_id()
    async with call.services.pool.acquire() as conn, conn.transaction():
        if await conn.fetchval("SELECT id FROM accounts WHERE id = $1 FOR UPDATE", account_id) is None:
            raise NotFound("no account with this id")
        before = await ledger.balance(conn, account_id)
        if kind == "admin_debit":
            if amount > before:
                raise Conflict(f"amount_cents: the balance is {micros_to_usd(before)} USD; a debit cannot take it "
                               "below zero")
            postings = [("buyer", account_id, -amount), ("external", ledger.NIL, amount)]
        else:
            postings = [("platform_fee", ledger.NIL, -amount), ("buyer", account_id, amount)]
        journal = await ledger.post_journal(conn, kind, account_id, postings, reason=reason)
        entry = await conn.fetchrow("SELECT id, account_id::text AS account_id, kind, amount_micro_usd, reason,"
                                    " created_at FROM ledger_entries WHERE id = $1", journal)
        balance = await accounts_db.balance(conn, account_id)
    assert entry is not None
    await call.services.push_credit(account_id)
    return json_response(LedgerEntryView(
        id=entry["id"], account_id=entry["account_id"], kind=entry["kind"],
        amount_micro_usd=entry["amount_micro_usd"], amount_usd=micros_to_usd(entry["amount_micro_usd"]),
        reason=entry["reason"], created_at=entry["created_at"], balance_micro_usd=balance,
        balance_usd=micros_to_usd(balance)), 201)


async def debit_account(call: Call) -> Response:
    return await _adjust(call, "admin_debit")


async def refund_account(call: Call) -> Response:
    return await _adjust(call, "admin_refund")
