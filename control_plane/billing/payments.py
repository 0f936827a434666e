"""Top-ups in USDT on TRC-20: payment intents and their one-time confirmation.

Rules (stated once, README "Billing"):
- An intent asks for `amount_cents` as USDT at 1 USDT = 1 USD: `amount_usdt_micro = cents × 10,000`
  (USDT has 6 decimals on TRC-20, so micro-USDT = micro-USD; no floats anywhere).
- Its deposit address comes from the pool `DF_TRC20_ADDRESSES` (held exclusively until it is
  confirmed or expires; none free -> 503) or, with `DF_TRC20_ADDRESSES=dev`, is derived from
  the payment id (development only: nobody holds its key).
- Confirming credits the account once: one `topup` journal (external -amount, buyer +amount),
  idempotent by payment id. A repeat with the same tx and amount answers the same result and
  writes nothing; another tx (or amount) for a confirmed intent is 409; an expired intent is
  never credited (409). **Amount rule: what arrived is credited** (under- or over-payment
  alike); the difference is reported as `amount_mismatch_micro_usd`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import asyncpg

from control_plane.billing.tron import dev_address
from control_plane.db import ledger
from control_plane.db import payments as db
from control_plane.errors import BadRequest, Conflict, NotFound, Unavailable
from control_plane.schemas.payments import ConfirmedPayment, PaymentStatus, PaymentView
from wire.money import MoneyFormatError, micros_to_usd, usd_to_micros

MIN_CENTS = 100  # $1.00: below it a TRC-20 transfer fee is a large share
MAX_CENTS = 10_000_000  # $100,000 per intent
NETWORK = "TRC-20"
_TX = re.compile(r"^(?:0x)?([0-9a-fA-F]{64})$")


@dataclass(frozen=True)
class AddressSource:
    pool: tuple[str, ...]
    dev_secret: bytes | None  # set: derive per-intent addresses (DF_TRC20_ADDRESSES=dev)


def check_amount_cents(cents: int) -> int:
    if not MIN_CENTS <= cents <= MAX_CENTS:
        raise BadRequest(f"amount_cents: must be an integer from {MIN_CENTS} ($1.00) to {MAX_CENTS} "
                         f"($100,000.00) US cents; got {cents}")
    return cents


def check_tx_hash(text: str) -> str:
    m = _TX.match(text.strip())
    if m is None:
        raise BadRequest("tx_hash: must be the TRON transaction id, 64 hexadecimal digits")
    return m.group(1).lower()


def parse_usdt(text: str, field: str = "amount_usdt") -> int:
    try:
        micros = usd_to_micros(text.strip())
    except MoneyFormatError as exc:
        raise BadRequest(f"{field}: {exc}; send a decimal string such as \"10.00\" (at most 6 decimals)") from None
    if micros <= 0:
        raise BadRequest(f"{field}: must be greater than 0")
    return micros


def status_of(row: asyncpg.Record, now_ts: float) -> PaymentStatus:
    if row["confirmed_at"] is not None:
        return "confirmed"
    return "expired" if row["expires_at"].timestamp() <= now_ts else "pending"


def view(row: asyncpg.Record, now_ts: float) -> PaymentView:
    received = row["received_usdt_micro"]
    return PaymentView(
        payment_id=row["id"], status=status_of(row, now_ts), amount_cents=row["amount_cents"],
        amount_usdt=micros_to_usd(row["amount_usdt_micro"]), address=row["address"], network=row["network"],
        created_at=row["created_at"], expires_at=row["expires_at"], tx_hash=row["tx_hash"],
        received_usdt=None if received is None else micros_to_usd(received), credited_micro_usd=received,
        confirmed_at=row["confirmed_at"])


def confirmed_view(row: asyncpg.Record) -> ConfirmedPayment:
    return ConfirmedPayment(
        payment=view(row, row["confirmed_at"].timestamp()), account_id=row["account_id"],
        journal_id=row["journal_id"], credited_micro_usd=row["received_usdt_micro"],
        amount_mismatch_micro_usd=row["received_usdt_micro"] - row["amount_usdt_micro"],
        confirmed_by=row["confirmed_by"])


async def create_intent(conn: asyncpg.Connection, source: AddressSource, account_id: str, amount_cents: int,
                        ttl_s: int) -> asyncpg.Record:
    """A new pending intent with its own deposit address (503 when the pool has none free)."""
    payment_id = str(uuid.uuid4())
    async with conn.transaction():
        if source.dev_secret is not None:
            address, kind, now = dev_address(source.dev_secret, payment_id), "dev", await db.clock(conn)
        elif source.pool:
            found, now = await db.free_pool_address(conn, source.pool)
            if found is None:
                raise Unavailable(f"all {len(source.pool)} deposit addresses are held by open payments; retry in a "
                                  "few minutes (an address frees when its payment is confirmed or expires)")
            address, kind = found, "pool"
        else:
            raise Unavailable("top-ups are not configured on this server: the operator sets DF_TRC20_ADDRESSES")
        return await db.insert(conn, payment_id=payment_id, account_id=account_id, amount_cents=amount_cents,
                               amount_usdt_micro=amount_cents * 10_000, address=address, source=kind,
                               created_at=now, ttl_s=ttl_s)


async def confirm(conn: asyncpg.Connection, payment_id: str, tx_hash: str, received: int, *,
                  by: str) -> tuple[ConfirmedPayment, bool]:
    """(the confirmation, whether this call credited). Exactly once per payment id: the row lock
    serializes concurrent confirms, the journal's unique payment id backs it up."""
    async with conn.transaction():
        row = await db.get(conn, payment_id, for_update=True)
        if row is None:
            raise NotFound(f"no payment {payment_id}")
        if row["confirmed_at"] is not None:
            if (row["tx_hash"], row["received_usdt_micro"]) == (tx_hash, received):
                return confirmed_view(row), False
            raise Conflict(
                f"payment {payment_id} was already confirmed by tx {row['tx_hash']} for "
                f"{micros_to_usd(row['received_usdt_micro'])} USDT; a different deposit is not this payment's: "
                "credit it with POST /api/admin/accounts/{id}/credit")
        now = await db.clock(conn)
        if now >= row["expires_at"]:
            raise Conflict(f"payment {payment_id} expired at {row['expires_at'].isoformat()} and is never credited; "
                           "the buyer creates a new payment, or an operator credits a late deposit with "
                           "POST /api/admin/accounts/{id}/credit")
        other = await db.payment_of_tx(conn, tx_hash)
        if other is not None:
            raise Conflict(f"tx {tx_hash} already confirmed payment {other}; one transaction credits one payment")
        journal = await ledger.post_journal(
            conn, "topup", row["account_id"],
            [("external", ledger.NIL, -received), ("buyer", row["account_id"], received)],
            reason=f"USDT {NETWORK} top-up, tx {tx_hash}", payment_id=payment_id)
        if journal is None:  # unreachable under the row lock; never credit twice
            raise Conflict(f"payment {payment_id} already has a top-up journal")
        try:
            done = await db.mark_confirmed(conn, payment_id, tx_hash=tx_hash, received=received,
                                           journal_id=journal, confirmed_at=now, by=by)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"tx {tx_hash} already confirmed another payment; one transaction credits one "
                           "payment") from None
        return confirmed_view(done), True
