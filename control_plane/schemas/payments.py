"""Bodies of the top-up endpoints (USDT on TRC-20). Amounts: integer cents in, decimal strings
out (`amount_usdt`, 6 decimals at most: USDT's unit on TRC-20); credits in integer micro-USD."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

PaymentStatus = Literal["pending", "confirmed", "expired"]


class CreatePayment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount_cents: int  # e.g. 1000 = $10.00


class PaymentView(msgspec.Struct, kw_only=True):
    """A payment intent: send exactly `amount_usdt` USDT on `network` to `address` before `expires_at`."""

    payment_id: str
    status: PaymentStatus
    amount_cents: int
    amount_usdt: str  # decimal string, e.g. "10.00"
    address: str
    network: str  # "TRC-20"
    created_at: datetime
    expires_at: datetime
    tx_hash: str | None = None
    received_usdt: str | None = None  # what arrived (credited 1 USDT = 1 USD), once confirmed
    credited_micro_usd: int | None = None
    confirmed_at: datetime | None = None


class ConfirmPayment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    tx_hash: str  # the TRON transaction id: 64 hex digits
    amount_usdt: str  # what arrived on chain, decimal string ("10.00"); this amount is credited


class ConfirmedPayment(msgspec.Struct, kw_only=True):
    """The operator's view of a confirmation; a repeated confirm answers the same body."""

    payment: PaymentView
    account_id: str
    journal_id: int
    credited_micro_usd: int
    amount_mismatch_micro_usd: int  # received - requested (0 when the buyer sent the exact amount)
    confirmed_by: str  # "operator" | "watcher"
