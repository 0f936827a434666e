"""Bodies of the billing, usage and generation endpoints (money in integer micro-USD)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class GenerationView(msgspec.Struct, kw_only=True):
    """One request's trade. `status: "pending"` (other fields null) until it is settled."""

    id: str
    status: str
    model: str | None = None
    key_id: str | None = None
    listing_id: str | None = None
    provider: str | None = None
    upstream_model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    usage_estimated: bool | None = None
    ask_input: str | None = None  # USD per million tokens, decimal string
    ask_output: str | None = None
    ask_cached_input: str | None = None
    fee_profile_id: str | None = None
    cost_micro_usd: int | None = None
    platform_fee_micro_usd: int | None = None
    seller_payout_micro_usd: int | None = None
    reserved_micro_usd: int | None = None  # held at admission: the most the request could be charged
    capped_micro_usd: int | None = None  # cut off by the charge caps (README "Billing": "Charge caps")
    ttft_ms: int | None = None
    latency_ms: int | None = None
    created_at: datetime | None = None


class BalanceView(msgspec.Struct, kw_only=True):
    balance_micro_usd: int
    balance_usd: str
    total_credited_micro_usd: int
    total_spent_micro_usd: int
    month_spent_micro_usd: int


class TransactionView(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    amount_micro_usd: int  # signed, on the caller's buyer balance
    amount_usd: str
    request_id: str | None
    reason: str
    created_at: datetime


class TransactionPage(msgspec.Struct, kw_only=True):
    data: list[TransactionView]
    next_before: int | None  # pass as ?before= for the next (older) page


class UsageRow(msgspec.Struct, kw_only=True):
    key_id: str | None = None
    day: str | None = None  # YYYY-MM-DD (UTC)
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_micro_usd: int


class UsageReport(msgspec.Struct, kw_only=True):
    start: datetime
    end: datetime
    data: list[UsageRow]
