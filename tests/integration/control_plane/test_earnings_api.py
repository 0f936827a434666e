"""Seller earnings, every figure checked against the generations this test settles (through the
settlement consumer's own `settle_event`, so the postings are the real ones): totals and the lock
window's boundaries, per-listing summary, hourly/daily buckets, calendar months, settlement
history, scopes and isolation. Settlement times are set on the journals to place them in time.
The ledger check runs after every test."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from control_plane.billing.settle import settle_event
from control_plane.db.ledger import credit
from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import Account, assert_error, new_account
from tests.integration.control_plane.money import assert_ledger_ok, mgmt_key
from wire.billing import month_of
from wire.money import micros_to_usd
from wire.pricing import Asks
from wire.usage import UsageEvent, UsageStatus, charge_of

E = "/v1/market/earnings"
LOCK = timedelta(days=7)  # DF_EARNINGS_LOCK_S default
ASKS = Asks(ask_input=300_000, ask_output=900_000, seller_fee_bps=500)


@pytest.fixture(autouse=True)
async def ledger_checked(db: asyncpg.Connection) -> AsyncIterator[None]:
    yield
    await assert_ledger_ok(db)


@pytest.fixture
async def seller(http: httpx.AsyncClient, control_plane: ControlPlane) -> Account:
    return await new_account(http, control_plane)


async def settle(db: asyncpg.Connection, buyer: Account, seller: Account, *, at: datetime | None = None,
                 listing: str = "listing-a", model: str = "m/a", prompt: int = 1000, completion: int = 500,
                 status: UsageStatus = "completed") -> int:
    """Settle one request of `buyer` on `seller`'s listing (settled `at`, default now); its payout."""
    ev = UsageEvent(request_id=uuid.uuid4().hex, account_id=buyer.id, key_id=f"key-{buyer.id[:8]}",
                    listing_id=listing, seller_account_id=seller.id, model=model, provider="fake",
                    upstream_model=model, status=status, prompt_tokens=prompt, completion_tokens=completion,
                    asks=ASKS, month=month_of(time.time()), started_at_ms=int(time.time() * 1000), latency_ms=5,
                    reserved_micro_usd=10**9)
    async with db.transaction():
        if charge_of(ev).cost:  # the buyer's funds: settlement never takes a balance below zero
            await credit(db, buyer.id, "admin_credit", charge_of(ev).cost, "funds for a test request")
        assert await settle_event(db, ev)
    if at is not None:
        await db.execute("UPDATE ledger_journals SET created_at = $2 WHERE request_id = $1", ev.request_id, at)
    return charge_of(ev).seller_payout


async def get(http: httpx.AsyncClient, who: Account, path: str = "", **params: str) -> dict[str, object]:
    r = await http.get(E + path, headers=who.auth, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


async def test_totals_and_the_lock_window(http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account,
                                          seller: Account, other: Account) -> None:
    now = datetime.now(UTC)
    old = await settle(db, buyer, seller, at=now - LOCK - timedelta(minutes=1))  # just past the window
    edge = await settle(db, buyer, seller, at=now - LOCK + timedelta(minutes=1))  # just inside it
    fresh = await settle(db, buyer, seller, completion=77)
    await settle(db, buyer, seller, status="failed")  # costs nothing, earns nothing
    assert old > 0 and fresh > 0
    body = await get(http, seller)
    assert (body["total_micro_usd"], body["locked_micro_usd"], body["available_micro_usd"]) == (
        old + edge + fresh, edge + fresh, old)
    assert body["balance_micro_usd"] == old + edge + fresh and body["lock_window_s"] == 7 * 86400
    assert (body["available_usd"], body["locked_usd"]) == (micros_to_usd(old), micros_to_usd(edge + fresh))
    unlock = datetime.fromisoformat(str(body["next_unlock_at"]))
    assert abs((unlock - now).total_seconds() - 60) < 5  # the edge earning unlocks in a minute
    latest = body["latest_settlements"]
    assert isinstance(latest, list) and [s["amount_micro_usd"] for s in latest] == [fresh, edge, old]
    assert [s["locked"] for s in latest] == [True, True, False]
    assert latest[0]["kind"] == "usage" and latest[0]["listing_id"] == "listing-a"
    nothing = await get(http, other)  # another account sees only its own (none)
    assert (nothing["total_micro_usd"], nothing["latest_settlements"]) == (0, [])
    assert nothing["next_unlock_at"] is None


async def test_summary_per_listing_and_model(http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account,
                                             seller: Account) -> None:
    a1 = await settle(db, buyer, seller, listing="L1", model="m/one", prompt=100, completion=10)
    a2 = await settle(db, buyer, seller, listing="L1", model="m/one", prompt=200, completion=20)
    b1 = await settle(db, buyer, seller, listing="L2", model="m/two", prompt=4000, completion=3000)
    body = await get(http, seller, "/summary")
    rows = {r["listing_id"]: r for r in body["data"]}  # type: ignore[union-attr]
    assert (rows["L1"]["requests"], rows["L1"]["prompt_tokens"], rows["L1"]["completion_tokens"],
            rows["L1"]["earnings_micro_usd"], rows["L1"]["model"]) == (2, 300, 30, a1 + a2, "m/one")
    assert (rows["L2"]["requests"], rows["L2"]["earnings_micro_usd"]) == (1, b1)
    assert body["total_micro_usd"] == a1 + a2 + b1
    assert [r["listing_id"] for r in body["data"]] == ["L2", "L1"]  # type: ignore[union-attr]
    past = await get(http, seller, "/summary", start="2020-01-01T00:00:00Z", end="2020-02-01T00:00:00Z")
    assert past["data"] == []


async def test_timeseries_buckets(http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account,
                                  seller: Account) -> None:
    day = datetime(2025, 3, 10, tzinfo=UTC)
    p1 = await settle(db, buyer, seller, at=day + timedelta(hours=5, minutes=30), prompt=10, completion=5)
    p2 = await settle(db, buyer, seller, at=day + timedelta(hours=5, minutes=59, seconds=59))
    p3 = await settle(db, buyer, seller, at=day + timedelta(hours=7))  # exactly on a bucket's start
    p4 = await settle(db, buyer, seller, at=day + timedelta(days=1, hours=1))
    hourly = await get(http, seller, "/timeseries", granularity="hour", start="2025-03-10T05:10:00Z",
                       end="2025-03-10T07:30:00Z")
    assert (hourly["start"], hourly["end"], hourly["granularity"]) == (
        "2025-03-10T05:00:00Z", "2025-03-10T08:00:00Z", "hour")
    assert [(b["start"], b["requests"], b["earnings_micro_usd"]) for b in hourly["data"]] == [  # type: ignore
        ("2025-03-10T05:00:00Z", 2, p1 + p2), ("2025-03-10T06:00:00Z", 0, 0), ("2025-03-10T07:00:00Z", 1, p3)]
    assert hourly["data"][0]["tokens"] == 15 + 1500  # type: ignore[index]
    daily = await get(http, seller, "/timeseries", granularity="daily", start="2025-03-10T00:00:00Z",
                      end="2025-03-12T00:00:00Z")
    assert [(b["start"], b["earnings_micro_usd"]) for b in daily["data"]] == [  # type: ignore[union-attr]
        ("2025-03-10T00:00:00Z", p1 + p2 + p3), ("2025-03-11T00:00:00Z", p4)]
    for params, word in (({"granularity": "week"}, "granularity"),
                         ({"start": "2025-03-11T00:00:00Z", "end": "2025-03-10T00:00:00Z"}, "end"),
                         ({"start": "yesterday"}, "start"),
                         ({"granularity": "hour", "start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
                          "buckets")):
        assert_error(await http.get(E + "/timeseries", headers=seller.auth, params=params), 400, word)


async def test_monthly_calendar_months_utc(http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account,
                                           seller: Account) -> None:
    jan = await settle(db, buyer, seller, at=datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC))
    feb1 = await settle(db, buyer, seller, at=datetime(2025, 2, 1, tzinfo=UTC))
    feb2 = await settle(db, buyer, seller, at=datetime(2025, 2, 28, 12, tzinfo=UTC), prompt=7, completion=3)
    now = await settle(db, buyer, seller)
    data = (await get(http, seller, "/monthly"))["data"]
    assert [(m["month"], m["requests"], m["earnings_micro_usd"]) for m in data] == [  # type: ignore[union-attr]
        (datetime.now(UTC).strftime("%Y-%m"), 1, now), ("2025-02", 2, feb1 + feb2), ("2025-01", 1, jan)]
    assert data[1]["tokens"] == 1500 + 10  # type: ignore[index]


async def test_settlement_history_pages(http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account,
                                        seller: Account) -> None:
    payouts = [await settle(db, buyer, seller, completion=100 + i) for i in range(5)]
    first = await get(http, seller, "/settlements", limit="3")
    second = await get(http, seller, "/settlements", limit="3", before=str(first["next_before"]))
    seen = [s["amount_micro_usd"] for s in [*first["data"], *second["data"]]]  # type: ignore[misc]
    assert seen == payouts[::-1] and second["next_before"] is None
    assert_error(await http.get(E + "/settlements", headers=seller.auth, params={"limit": "0"}), 400, "limit")


async def test_earnings_scopes(http: httpx.AsyncClient, seller: Account) -> None:
    buyer_key, seller_key = await mgmt_key(http, seller, "buyer"), await mgmt_key(http, seller, "seller")
    for path in ("", "/summary", "/timeseries", "/monthly", "/settlements"):
        assert_error(await http.get(E + path, headers=buyer_key), 403, "'seller'")
        assert (await http.get(E + path, headers=seller_key)).status_code == 200
        assert_error(await http.get(E + path), 401)
