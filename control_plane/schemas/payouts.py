"""Bodies of seller payouts (withdrawals of earnings in USDT on TRC-20) and the operator's
payout actions. Amounts are integer micro-USD (1 USDT = 1 USD, 6 decimals on TRC-20)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

PayoutStatus = Literal["requested", "approved", "rejected", "paid"]


class PayoutAddress(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    address: str  # a TRON mainnet address (T…, Base58Check)


class PayoutAddressView(msgspec.Struct, kw_only=True):
    address: str | None  # null until the seller registers one
    network: str  # "TRC-20"
    updated_at: datetime | None = None


class PayoutCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount_micro_usd: int  # > 0, at most `available_micro_usd` of GET /v1/market/earnings
    address: str | None = None  # default: the registered payout address


class PayoutView(msgspec.Struct, kw_only=True):
    id: str
    account_id: str
    amount_micro_usd: int
    amount_usd: str
    address: str
    network: str
    status: PayoutStatus
    created_at: datetime
    idempotency_key: str | None = None
    approved_at: datetime | None = None
    rejected_at: datetime | None = None
    reject_reason: str | None = None
    paid_at: datetime | None = None
    tx_ref: str | None = None  # the transfer's reference (transaction id), once paid


class PayoutReject(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: str


class PayoutPaid(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    tx_ref: str  # the transfer's reference, e.g. the TRON transaction id
