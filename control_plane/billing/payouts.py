"""Seller payouts: withdrawals of available earnings, in USDT on TRC-20 (1 USDT = 1 USD).

Rules, stated once:
- A seller registers a payout address (`PUT /v1/market/payout-address`, a TRON mainnet address,
  checked like deposit addresses: `billing.tron.check_address`) or names one per withdrawal.
- A withdrawal takes at most `available_micro_usd` (GET /v1/market/earnings): the seller book's
  balance minus earnings still inside the lock window (`DF_EARNINGS_LOCK_S`). Locked earnings
  and money already asked for are never withdrawable. The seller's balance row is locked while
  the amount is checked and posted, so concurrent withdrawals of one seller run one at a time
  and can never take more than was available together.
- Requesting posts `payout_request` (seller -amount, payout_pending +amount) at once, so the
  money leaves `available` the moment the request is accepted. The operator approves (no money
  moves), rejects (`payout_reject`: payout_pending -amount, seller +amount: the money returns)
  or marks paid with the transfer's reference (`payout_paid`: payout_pending -amount, external
  +amount). requested -> approved -> paid; requested|approved -> rejected; nothing else.
- Retries are safe: a request with an `Idempotency-Key` header answers the payout made under
  that key (same amount and address; a different body under the same key is a 409); operator
  actions repeated on a payout already in their target state answer it unchanged (`paid` with
  another tx_ref is a 409). Without the header, every POST is a new withdrawal.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from control_plane.billing.tron import AddressError, check_address
from control_plane.db import ledger
from control_plane.db import payouts as db
from control_plane.errors import BadRequest, Conflict, InsufficientBalance, NotFound
from wire.money import micros_to_usd

MAX_AMOUNT = 10**15  # micro-USD ($1e9): far above any balance, below bigint overflow
_NOT_FOUND = "no payout with this id"


def address_or_400(text: str, field: str = "address") -> str:
    try:
        return check_address(text.strip())
    except AddressError as exc:
        raise BadRequest(f"{field}: {exc}; use a TRON (TRC-20) address such as T...") from None


def check_idempotency_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not 1 <= len(raw) <= 200 or not raw.isprintable():
        raise BadRequest("Idempotency-Key: must be 1 to 200 printable characters")
    return raw


async def request(conn: asyncpg.Connection, account_id: str, amount: int, address: str | None,
                  idempotency_key: str | None, locked_after: datetime) -> tuple[asyncpg.Record, bool]:
    """(the payout, created now?) — posts `payout_request`; 402 beyond what is available."""
    if isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise BadRequest(f"amount_micro_usd: must be a positive integer of micro-USD up to {MAX_AMOUNT}")
    async with conn.transaction():
        balance = await db.lock_seller_balance(conn, account_id)
        if address is None:
            registered = await db.get_address(conn, account_id)
            if registered is None:
                raise BadRequest("address: no payout address registered; send one, or register it with "
                                 "PUT /v1/market/payout-address")
            address = str(registered["address"])
        if idempotency_key is not None:
            done = await db.by_idempotency_key(conn, account_id, idempotency_key)
            if done is not None:
                if (done["amount_micro_usd"], done["address"]) != (amount, address):
                    raise Conflict("Idempotency-Key: already used for a different withdrawal; use a new key")
                return done, False
        locked = min(await db.locked_earnings(conn, account_id, locked_after), max(balance, 0))
        available = balance - locked
        if amount > available:
            raise InsufficientBalance(
                f"amount_micro_usd: {amount} is more than the {max(available, 0)} micro-USD available "
                f"(${micros_to_usd(max(available, 0))}); locked earnings become available after the lock window")
        payout_id = str(uuid.uuid4())
        row = await db.insert(conn, payout_id, account_id, amount, address, idempotency_key)
        await ledger.post_journal(conn, "payout_request", account_id,
                                  [("seller", account_id, -amount), ("payout_pending", account_id, amount)],
                                  reason=f"withdrawal to {address}", payout_id=payout_id)
    return row, True


async def approve(conn: asyncpg.Connection, payout_id: str) -> asyncpg.Record:
    async with conn.transaction():
        row = await _locked(conn, payout_id)
        if row["status"] == "approved":
            return row
        if row["status"] != "requested":
            raise Conflict(f"payout is {row['status']}; only a requested payout can be approved")
        return await db.set_status(conn, payout_id, "approved")


async def reject(conn: asyncpg.Connection, payout_id: str, reason: str) -> asyncpg.Record:
    """Reject and return the money to the seller's earnings (available again at once)."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise BadRequest("reason: say why, in 1 to 500 characters")
    async with conn.transaction():
        row = await _locked(conn, payout_id)
        if row["status"] == "rejected":
            return row
        if row["status"] not in ("requested", "approved"):
            raise Conflict(f"payout is {row['status']}; a paid payout cannot be rejected")
        acct, amount = row["account_id"], row["amount_micro_usd"]
        await ledger.post_journal(conn, "payout_reject", acct,
                                  [("payout_pending", acct, -amount), ("seller", acct, amount)],
                                  reason=f"withdrawal rejected: {reason}", payout_id=payout_id)
        return await db.set_status(conn, payout_id, "rejected", reason=reason)


async def mark_paid(conn: asyncpg.Connection, payout_id: str, tx_ref: str) -> asyncpg.Record:
    tx_ref = tx_ref.strip()
    if not 1 <= len(tx_ref) <= 200 or not tx_ref.isprintable():
        raise BadRequest("tx_ref: the transfer's reference (e.g. its transaction id), 1 to 200 characters")
    async with conn.transaction():
        row = await _locked(conn, payout_id)
        if row["status"] == "paid":
            if row["tx_ref"] != tx_ref:
                raise Conflict("payout is already paid under another tx_ref")
            return row
        if row["status"] != "approved":
            raise Conflict(f"payout is {row['status']}; approve it before marking it paid")
        acct, amount = row["account_id"], row["amount_micro_usd"]
        try:
            async with conn.transaction():
                updated = await db.set_status(conn, payout_id, "paid", tx_ref=tx_ref)
        except asyncpg.UniqueViolationError:
            raise Conflict("tx_ref: another payout was already paid with this transfer") from None
        await ledger.post_journal(conn, "payout_paid", acct,
                                  [("payout_pending", acct, -amount), ("external", ledger.NIL, amount)],
                                  reason=f"withdrawal paid: {tx_ref}", payout_id=payout_id)
        return updated


async def _locked(conn: asyncpg.Connection, payout_id: str) -> asyncpg.Record:
    row = await db.get(conn, payout_id, for_update=True)
    if row is None:
        raise NotFound(_NOT_FOUND + "; list payouts with GET /api/admin/payouts")
    return row
