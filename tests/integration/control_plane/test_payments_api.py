"""Top-ups (USDT on TRC-20): create-payment validation, the deposit address pool (exclusive,
exhaustion -> 503), confirmation exactly once (also concurrently), expired intents never
credited, the credit visible at /api/billing/balance and in the Redis credit view, owners only.
The ledger check runs after every test."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import httpx
import pytest

from control_plane.billing import chain
from tests.conftest import TEST_DEPOSIT_ADDRESSES, ControlPlane
from tests.integration.control_plane.conftest import Account, admin_auth, assert_error, new_account
from tests.integration.control_plane.money import assert_ledger_ok, expire, mgmt_key, redis_credit

PAY = "/v1/billing/crypto/create-payment"


@pytest.fixture(autouse=True)
async def ledger_checked(db: asyncpg.Connection) -> AsyncIterator[None]:
    yield
    await assert_ledger_ok(db)


def tx() -> str:
    return secrets.token_hex(32)


async def create(http: httpx.AsyncClient, acct: Account, cents: int = 1000) -> dict[str, object]:
    r = await http.post(PAY, headers=acct.auth, json={"amount_cents": cents})
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


async def confirm(http: httpx.AsyncClient, cp: ControlPlane, payment_id: object, tx_hash: str,
                  amount: str = "10.00") -> httpx.Response:
    return await http.post(f"/api/admin/payments/{payment_id}/confirm", headers=admin_auth(cp),
                           json={"tx_hash": tx_hash, "amount_usdt": amount})


async def balance(http: httpx.AsyncClient, acct: Account) -> int:
    r = await http.get("/api/billing/balance", headers=acct.auth)
    assert r.status_code == 200, r.text
    return int(r.json()["balance_micro_usd"])


async def test_create_payment_validates_amount_cents(http: httpx.AsyncClient, buyer: Account) -> None:
    for body in ({}, {"amount_cents": 0}, {"amount_cents": -5}, {"amount_cents": 99},
                 {"amount_cents": 10_000_001}, {"amount_cents": "1000"}, {"amount_cents": 10.5}):
        assert_error(await http.post(PAY, headers=buyer.auth, json=body), 400, "amount_cents")
    assert_error(await http.post(PAY, headers=buyer.auth, json={"amount_cents": 1000, "currency": "usd"}), 400,
                 "currency", "unknown field")
    assert_error(await http.post(PAY, json={"amount_cents": 1000}), 401)


async def test_create_payment_shape_and_owner_only(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                   buyer: Account, other: Account) -> None:
    await expire(db)
    body = await create(http, buyer, 1234)
    assert {"payment_id", "amount_usdt", "address", "network", "expires_at"} <= set(body)
    uuid.UUID(str(body["payment_id"]))
    assert (body["amount_usdt"], body["network"], body["status"]) == ("12.34", "TRC-20", "pending")
    assert body["address"] in TEST_DEPOSIT_ADDRESSES
    ttl = datetime.fromisoformat(str(body["expires_at"])) - datetime.fromisoformat(str(body["created_at"]))
    assert ttl.total_seconds() == 1800  # DF_PAYMENT_TTL_S default
    shown = await http.get(f"/v1/billing/crypto/payments/{body['payment_id']}", headers=buyer.auth)
    assert shown.status_code == 200 and shown.json() == body
    assert_error(await http.get(f"/v1/billing/crypto/payments/{body['payment_id']}", headers=other.auth), 404)
    assert_error(await http.get("/v1/billing/crypto/payments/not-a-uuid", headers=buyer.auth), 404)


async def test_address_pool_is_exclusive_and_exhaustion_is_503(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                               control_plane: ControlPlane, buyer: Account,
                                                               other: Account) -> None:
    await expire(db)
    made = await asyncio.gather(*(http.post(PAY, headers=a.auth, json={"amount_cents": 500})
                                  for a in (buyer, other, buyer, other)))
    assert sorted(r.status_code for r in made) == [201, 201, 201, 503], [r.text for r in made]
    held = [r.json() for r in made if r.status_code == 201]
    assert {p["address"] for p in held} == set(TEST_DEPOSIT_ADDRESSES)  # three intents, three addresses
    refused = next(r for r in made if r.status_code == 503)
    assert_error(refused, 503, "deposit addresses", "retry")
    assert refused.json()["error"]["type"] == "market_unavailable"
    # a confirmed intent frees its address, and so does an expired one
    assert (await confirm(http, control_plane, held[0]["payment_id"], tx(), "5.00")).status_code == 200
    again = await create(http, buyer, 500)
    assert again["address"] == held[0]["address"]
    assert_error(await http.post(PAY, headers=buyer.auth, json={"amount_cents": 500}), 503)
    await expire(db, str(held[1]["payment_id"]))
    assert (await create(http, other, 500))["address"] == held[1]["address"]
    await expire(db)


async def test_confirm_credits_exactly_once(http: httpx.AsyncClient, db: asyncpg.Connection, redis_url: str,
                                            control_plane: ControlPlane, buyer: Account) -> None:
    await expire(db)
    before = await balance(http, buyer)
    pay = await create(http, buyer, 1000)
    tx_hash = tx()
    first = await confirm(http, control_plane, pay["payment_id"], tx_hash)
    assert first.status_code == 200, first.text
    done = first.json()
    assert (done["credited_micro_usd"], done["amount_mismatch_micro_usd"], done["account_id"]) == (
        10_000_000, 0, buyer.id)
    assert (done["payment"]["status"], done["payment"]["tx_hash"], done["confirmed_by"]) == (
        "confirmed", tx_hash, "operator")
    assert await balance(http, buyer) == before + 10_000_000
    assert await redis_credit(control_plane, redis_url, buyer.id) == int(await db.fetchval(
        "SELECT credited FROM ledger_balances WHERE book = 'buyer' AND account_id = $1", buyer.id))
    again = await confirm(http, control_plane, pay["payment_id"], tx_hash.upper())  # same tx, other spelling
    assert again.status_code == 200 and again.json() == done
    assert_error(await confirm(http, control_plane, pay["payment_id"], tx()), 409, "already confirmed")
    assert_error(await confirm(http, control_plane, pay["payment_id"], tx_hash, "11.00"), 409, "already confirmed")
    assert await balance(http, buyer) == before + 10_000_000
    assert await db.fetchval("SELECT count(*) FROM ledger_journals WHERE payment_id = $1", pay["payment_id"]) == 1
    shown = (await http.get(f"/v1/billing/crypto/payments/{pay['payment_id']}", headers=buyer.auth)).json()
    assert (shown["status"], shown["received_usdt"], shown["credited_micro_usd"]) == ("confirmed", "10.00",
                                                                                     10_000_000)
    txs = (await http.get("/api/billing/transactions", headers=buyer.auth)).json()["data"]
    assert (txs[0]["kind"], txs[0]["amount_micro_usd"]) == ("topup", 10_000_000)


async def test_concurrent_confirms_credit_once(http: httpx.AsyncClient, db: asyncpg.Connection,
                                               control_plane: ControlPlane, buyer: Account) -> None:
    await expire(db)
    before = await balance(http, buyer)
    pay = await create(http, buyer, 700)
    tx_hash = tx()
    same = await asyncio.gather(*(confirm(http, control_plane, pay["payment_id"], tx_hash, "7.00")
                                  for _ in range(8)))
    assert {r.status_code for r in same} == {200}
    assert len({r.text for r in same}) == 1  # every caller sees the one confirmation
    pay2 = await create(http, buyer, 300)
    racing = await asyncio.gather(*(confirm(http, control_plane, pay2["payment_id"], tx(), "3.00")
                                    for _ in range(4)))
    assert sorted(r.status_code for r in racing) == [200, 409, 409, 409]
    assert await balance(http, buyer) == before + 10_000_000
    assert await db.fetchval("SELECT count(*) FROM ledger_journals WHERE payment_id = ANY($1::uuid[])",
                             [pay["payment_id"], pay2["payment_id"]]) == 2


async def test_expired_intent_is_never_credited(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                control_plane: ControlPlane, buyer: Account) -> None:
    await expire(db)
    before = await balance(http, buyer)
    pay = await create(http, buyer, 1000)
    await expire(db, str(pay["payment_id"]))
    assert_error(await confirm(http, control_plane, pay["payment_id"], tx()), 409, "expired", "never credited")
    shown = (await http.get(f"/v1/billing/crypto/payments/{pay['payment_id']}", headers=buyer.auth)).json()
    assert shown["status"] == "expired" and shown["tx_hash"] is None
    assert await balance(http, buyer) == before
    assert await db.fetchval("SELECT count(*) FROM ledger_journals WHERE payment_id = $1", pay["payment_id"]) == 0


async def test_amount_mismatch_credits_what_arrived(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                    control_plane: ControlPlane, buyer: Account) -> None:
    await expire(db)
    before = await balance(http, buyer)
    short, extra = await create(http, buyer, 1000), await create(http, buyer, 1000)
    tx_hash = tx()
    r = await confirm(http, control_plane, short["payment_id"], tx_hash, "9.5")
    assert (r.json()["credited_micro_usd"], r.json()["amount_mismatch_micro_usd"]) == (9_500_000, -500_000)
    assert_error(await confirm(http, control_plane, extra["payment_id"], tx_hash), 409, "one transaction")
    r = await confirm(http, control_plane, extra["payment_id"], "0x" + tx(), "10.000001")
    assert (r.json()["credited_micro_usd"], r.json()["amount_mismatch_micro_usd"]) == (10_000_001, 1)
    assert await balance(http, buyer) == before + 19_500_001


async def test_confirm_validation_and_operator_only(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                    control_plane: ControlPlane, buyer: Account) -> None:
    await expire(db)
    pay = await create(http, buyer, 1000)
    path = f"/api/admin/payments/{pay['payment_id']}/confirm"
    assert_error(await http.post(path, headers=buyer.auth, json={"tx_hash": tx(), "amount_usdt": "10"}), 401)
    for body, field in (({"tx_hash": "abc", "amount_usdt": "10"}, "tx_hash"),
                        ({"tx_hash": tx(), "amount_usdt": "0"}, "amount_usdt"),
                        ({"tx_hash": tx(), "amount_usdt": "-1"}, "amount_usdt"),
                        ({"tx_hash": tx(), "amount_usdt": "1e3"}, "amount_usdt"),
                        ({"tx_hash": tx(), "amount_usdt": "1.0000001"}, "amount_usdt"),
                        ({"tx_hash": tx(), "amount_usdt": 10}, "amount_usdt"),
                        ({"tx_hash": tx(), "amount_usdt": "10", "note": "x"}, "note")):
        assert_error(await http.post(path, headers=admin_auth(control_plane), json=body), 400, field)
    assert_error(await confirm(http, control_plane, uuid.uuid4(), tx()), 404)
    await expire(db)


async def test_scopes_on_create_payment(http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account) -> None:
    await expire(db)
    seller_key, buyer_key = await mgmt_key(http, buyer, "seller"), await mgmt_key(http, buyer, "buyer")
    assert_error(await http.post(PAY, headers=seller_key, json={"amount_cents": 1000}), 403, "'buyer'")
    made = await http.post(PAY, headers=buyer_key, json={"amount_cents": 1000})
    assert made.status_code == 201, made.text
    assert (await http.get(f"/v1/billing/crypto/payments/{made.json()['payment_id']}",
                           headers=buyer_key)).status_code == 200
    await expire(db)


class _Only:
    """The dev watcher, limited to one payment (other tests' intents stay untouched)."""

    def __init__(self, payment_id: str) -> None:
        self._id = payment_id
        self._dev = chain.DevChainWatcher(pay_after_s=0)

    async def find_deposits(self, intents: list[chain.OpenIntent]) -> list[chain.Deposit]:  # type: ignore[override]
        return await self._dev.find_deposits([i for i in intents if i.payment_id == self._id])


async def test_chain_watcher_confirms_through_the_same_path(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                            database_url: str, control_plane: ControlPlane) -> None:
    await expire(db)
    acct = await new_account(http, control_plane)
    pay = await create(http, acct, 2500)
    pushed: list[str] = []

    async def push(account_id: str) -> None:
        pushed.append(account_id)

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        watcher: chain.ChainWatcher = _Only(str(pay["payment_id"]))
        assert await chain.watch_once(pool, watcher, push) == 1
        assert await chain.watch_once(pool, watcher, push) == 0  # confirmed: no longer open
    finally:
        await pool.close()
    assert pushed == [acct.id]
    shown = (await http.get(f"/v1/billing/crypto/payments/{pay['payment_id']}", headers=acct.auth)).json()
    assert (shown["status"], shown["credited_micro_usd"]) == ("confirmed", 25_000_000)
    assert await balance(http, acct) == 25_000_000
