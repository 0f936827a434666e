"""Seller earnings: GET /v1/market/earnings, /summary, /timeseries, /monthly, /settlements.
The caller's own postings only; every figure is a sum over the ledger.

Lock rule: an earning (a usage journal's positive posting to the seller book) is locked while younger than
`DF_EARNINGS_LOCK_S` (settled_at + window > now); locked = min(those, balance), available =
balance − locked (what `POST /v1/market/payouts` may withdraw: `billing.payouts`), total = every
payout ever earned. Withdrawals lower the balance when asked for; a rejection returns them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from blacksheep import Response

from control_plane.db import earnings as db
from control_plane.errors import BadRequest
from control_plane.http.context import Call, json_response
from control_plane.schemas.earnings import (
    Bucket,
    EarningsMonthly,
    EarningsSummary,
    EarningsTimeseries,
    EarningsView,
    MonthRow,
    SettlementPage,
    SummaryRow,
)
from control_plane.schemas.earnings import Settlement as SettlementView
from wire.money import micros_to_usd

MAX_BUCKETS = 2000
_UNITS = {"hour": "hour", "hourly": "hour", "day": "day", "daily": "day"}


def _query(call: Call, name: str) -> str | None:
    values = call.request.query.get(name)
    return values[0] if values else None


def _time(call: Call, name: str, default: datetime) -> datetime:
    raw = _query(call, name)
    if not raw:
        return default
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: not an ISO 8601 time such as 2026-01-31T00:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _int(call: Call, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = _query(call, name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise BadRequest(f"{name}: must be an integer from {lo} to {hi}")
    return int(raw)


def _settlement(r: asyncpg.Record, window: timedelta, now: datetime) -> SettlementView:
    unlocks = r["created_at"] + window
    return SettlementView(journal_id=r["id"], kind=r["kind"], amount_micro_usd=r["amount"],
                          amount_usd=micros_to_usd(r["amount"]), request_id=r["request_id"],
                          listing_id=r["listing_id"], model=r["model"], settled_at=r["created_at"],
                          unlocks_at=unlocks, locked=r["amount"] > 0 and unlocks > now)


def align(value: datetime, unit: str, *, up: bool = False) -> datetime:
    """`value` (UTC) rounded down (or up) to a whole hour or UTC day."""
    value = value.astimezone(UTC)
    down = value.replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        down = down.replace(hour=0)
    if up and down != value:
        down += timedelta(hours=1 if unit == "hour" else 24)
    return down


async def earnings(call: Call) -> Response:
    now = datetime.fromtimestamp(call.services.clock(), UTC)
    window = timedelta(seconds=call.services.settings.earnings_lock_s)
    async with call.services.pool.acquire() as conn:
        row = await db.totals(conn, call.account_id, now - window)
        latest = await db.settlements(conn, call.account_id, None, 10)
    balance = int(row["balance"])
    locked = min(int(row["locked"]), max(balance, 0))
    available = balance - locked
    oldest = row["oldest_locked"]
    return json_response(EarningsView(
        total_micro_usd=int(row["credited"]), available_micro_usd=available, locked_micro_usd=locked,
        balance_micro_usd=balance, total_usd=micros_to_usd(int(row["credited"])),
        available_usd=micros_to_usd(available), locked_usd=micros_to_usd(locked), balance_usd=micros_to_usd(balance),
        lock_window_s=call.services.settings.earnings_lock_s,
        next_unlock_at=None if oldest is None or locked == 0 else oldest + window, as_of=now,
        latest_settlements=[_settlement(r, window, now) for r in latest], pending_payout_micro_usd=int(row["pending"])))


def _range(call: Call, default_days: int) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    start = _time(call, "start", now - timedelta(days=default_days))
    end = _time(call, "end", now + timedelta(seconds=1))
    if end <= start:
        raise BadRequest("end: must be after start")
    return start, end


async def summary(call: Call) -> Response:
    start, end = _range(call, 30)
    async with call.services.pool.acquire() as conn:
        rows = await db.summary(conn, call.account_id, start, end)
    data = [SummaryRow(listing_id=r["listing_id"], model=r["model"], requests=r["requests"],
                       prompt_tokens=r["prompt_tokens"], completion_tokens=r["completion_tokens"],
                       cached_tokens=r["cached_tokens"], earnings_micro_usd=r["earned"],
                       earnings_usd=micros_to_usd(r["earned"])) for r in rows]
    return json_response(EarningsSummary(start=start, end=end, data=data,
                                         total_micro_usd=sum(d.earnings_micro_usd for d in data)))


async def timeseries(call: Call) -> Response:
    raw = (_query(call, "granularity") or "day").strip().lower()
    unit = _UNITS.get(raw)
    if unit is None:
        raise BadRequest(f"granularity: {raw[:20]!r} is not one of hour, day")
    start, end = _range(call, 2 if unit == "hour" else 30)
    start, end = align(start, unit), align(end, unit, up=True)
    step = 3600 if unit == "hour" else 86400
    if (end - start).total_seconds() / step > MAX_BUCKETS:
        raise BadRequest(f"start: the range holds more than {MAX_BUCKETS} {unit} buckets; narrow start/end "
                         "or use granularity=day")
    async with call.services.pool.acquire() as conn:
        rows = await db.timeseries(conn, call.account_id, unit, start, end)
    data = [Bucket(start=r["bucket"], requests=r["requests"], tokens=r["tokens"], earnings_micro_usd=r["earned"],
                   earnings_usd=micros_to_usd(r["earned"])) for r in rows]
    return json_response(EarningsTimeseries(granularity=unit, start=start, end=end, data=data))


async def monthly(call: Call) -> Response:
    async with call.services.pool.acquire() as conn:
        rows = await db.monthly(conn, call.account_id)
    return json_response(EarningsMonthly(data=[
        MonthRow(month=r["month"], requests=r["requests"], tokens=r["prompt_tokens"] + r["completion_tokens"],
                 earnings_micro_usd=r["earned"], earnings_usd=micros_to_usd(r["earned"])) for r in rows]))


async def settlements(call: Call) -> Response:
    limit = _int(call, "limit", 50, 1, 500) or 50
    before = _int(call, "before", None, 1, 2**62)
    now = datetime.fromtimestamp(call.services.clock(), UTC)
    window = timedelta(seconds=call.services.settings.earnings_lock_s)
    async with call.services.pool.acquire() as conn:
        rows = await db.settlements(conn, call.account_id, before, limit)
    data = [_settlement(r, window, now) for r in rows]
    return json_response(SettlementPage(data=data, next_before=data[-1].journal_id if len(data) == limit else None))
