"""Bodies of the seller earnings endpoints. Every figure is summed from the seller's postings in
the ledger (book `seller`); money in integer micro-USD with decimal-string USD twins."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Settlement(msgspec.Struct, kw_only=True):
    """One ledger journal that moved the seller's earnings: a settled request (`usage`), a
    withdrawal asked for (`payout_request`, negative) or returned (`payout_reject`)."""

    journal_id: int
    kind: str  # "usage" | "payout_request" | "payout_reject"
    amount_micro_usd: int
    amount_usd: str
    request_id: str | None
    listing_id: str | None
    model: str | None
    settled_at: datetime
    unlocks_at: datetime  # settled_at + the lock window
    locked: bool


class EarningsView(msgspec.Struct, kw_only=True):
    total_micro_usd: int  # all payouts ever earned
    available_micro_usd: int  # balance minus what is still locked
    locked_micro_usd: int  # earned within the last lock window (reserve against disputes)
    balance_micro_usd: int  # earned minus withdrawals asked for (returned when rejected)
    total_usd: str
    available_usd: str
    locked_usd: str
    balance_usd: str
    lock_window_s: int
    next_unlock_at: datetime | None  # when the oldest locked earning becomes available
    as_of: datetime
    latest_settlements: list[Settlement]  # newest first, up to 10 (more at /v1/market/earnings/settlements)
    pending_payout_micro_usd: int = 0  # withdrawals asked for, not yet paid or rejected (GET /v1/market/payouts)


class SummaryRow(msgspec.Struct, kw_only=True):
    listing_id: str
    model: str
    requests: int  # settled requests that earned a payout
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    earnings_micro_usd: int
    earnings_usd: str


class EarningsSummary(msgspec.Struct, kw_only=True):
    start: datetime
    end: datetime
    data: list[SummaryRow]
    total_micro_usd: int


class Bucket(msgspec.Struct, kw_only=True):
    start: datetime
    requests: int
    tokens: int  # prompt + completion
    earnings_micro_usd: int
    earnings_usd: str


class EarningsTimeseries(msgspec.Struct, kw_only=True):
    granularity: str  # "hour" | "day"
    start: datetime  # aligned down to a bucket boundary (UTC)
    end: datetime  # aligned up; exclusive
    data: list[Bucket]  # every bucket of the range, empty ones included


class MonthRow(msgspec.Struct, kw_only=True):
    month: str  # YYYY-MM (UTC)
    requests: int
    tokens: int
    earnings_micro_usd: int
    earnings_usd: str


class EarningsMonthly(msgspec.Struct, kw_only=True):
    data: list[MonthRow]  # newest first, months with earnings only


class SettlementPage(msgspec.Struct, kw_only=True):
    data: list[Settlement]
    next_before: int | None  # pass as ?before= for the next (older) page
