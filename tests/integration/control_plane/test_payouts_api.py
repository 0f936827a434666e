"""Seller payouts through the public API: a withdrawal moves exactly the amount asked for, through
request -> approve -> paid (or reject, which returns it), never more than `available_micro_usd`
(locked earnings stay), idempotent on retries, isolated per seller; the ledger check runs after
every test and covers each step. Earnings come from requests settled by the settlement consumer's
own `settle_event` (as in test_earnings_api), placed before the lock window to be available."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from control_plane.billing.tron import dev_address
from control_plane.ledger_check import check
from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import Account, admin_auth, assert_error, new_account
from tests.integration.control_plane.money import assert_ledger_ok
from tests.integration.control_plane.test_earnings_api import LOCK, settle

P = "/v1/market/payouts"
OLD = timedelta(minutes=5)  # settled this long before the lock window ends: available


@pytest.fixture(autouse=True)
async def ledger_checked(db: asyncpg.Connection) -> AsyncIterator[None]:
    yield
    await assert_ledger_ok(db)


@pytest.fixture
async def seller(http: httpx.AsyncClient, control_plane: ControlPlane) -> Account:
    return await new_account(http, control_plane)


def address() -> str:
    return dev_address(secrets.token_bytes(16), "payout-test")


async def earned(db: asyncpg.Connection, buyer: Account, seller: Account, *, locked: bool = False) -> int:
    at = None if locked else datetime.now(UTC) - LOCK - OLD
    return await settle(db, buyer, seller, at=at, completion=2000)


async def earnings(http: httpx.AsyncClient, who: Account) -> dict[str, int]:
    r = await http.get("/v1/market/earnings", headers=who.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    return {k: body[k] for k in ("total_micro_usd", "available_micro_usd", "locked_micro_usd", "balance_micro_usd",
                                 "pending_payout_micro_usd")}


async def withdraw(http: httpx.AsyncClient, who: Account, amount: object, key: str | None = None,
                   **extra: object) -> httpx.Response:
    headers = {**who.auth, **({"Idempotency-Key": key} if key else {})}
    return await http.post(P, headers=headers, json={"amount_micro_usd": amount, **extra})


async def test_a_withdrawal_moves_exactly_the_amount_through_approve_and_paid(
        http: httpx.AsyncClient, db: asyncpg.Connection, control_plane: ControlPlane, buyer: Account,
        seller: Account) -> None:
    payout = await earned(db, buyer, seller) + await earned(db, buyer, seller)
    fresh = await earned(db, buyer, seller, locked=True)
    to = address()
    assert (await http.put("/v1/market/payout-address", headers=seller.auth, json={"address": to})).status_code == 200
    assert (await http.get("/v1/market/payout-address", headers=seller.auth)).json()["address"] == to
    before = await earnings(http, seller)
    assert before["available_micro_usd"] == payout and before["locked_micro_usd"] == fresh
    external = await db.fetchval("SELECT balance FROM ledger_balances WHERE book = 'external'"
                                 " AND account_id = '00000000-0000-0000-0000-000000000000'")
    amount = payout - 7
    made = await withdraw(http, seller, amount)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["status"], body["amount_micro_usd"], body["address"], body["network"]) == (
        "requested", amount, to, "TRC-20")
    after = await earnings(http, seller)
    assert after == {**before, "available_micro_usd": 7, "balance_micro_usd": before["balance_micro_usd"] - amount,
                     "pending_payout_micro_usd": amount}
    await assert_ledger_ok(db)

    admin = admin_auth(control_plane)
    listed = await http.get("/api/admin/payouts", headers=admin, params={"status": "requested",
                                                                         "account_id": seller.id})
    assert [p["id"] for p in listed.json()["data"]] == [body["id"]]
    early = await http.post(f"/api/admin/payouts/{body['id']}/paid", headers=admin, json={"tx_ref": "tx-1"})
    assert_error(early, 409, "approve it")
    approved = await http.post(f"/api/admin/payouts/{body['id']}/approve", headers=admin)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert await earnings(http, seller) == after  # approval moves no money
    tx_ref = "t" + secrets.token_hex(31)
    paid = await http.post(f"/api/admin/payouts/{body['id']}/paid", headers=admin, json={"tx_ref": tx_ref})
    assert paid.status_code == 200 and (paid.json()["status"], paid.json()["tx_ref"]) == ("paid", tx_ref)
    again = await http.post(f"/api/admin/payouts/{body['id']}/paid", headers=admin, json={"tx_ref": tx_ref})
    assert again.status_code == 200 and again.json() == paid.json()  # a retried "paid" changes nothing
    assert_error(await http.post(f"/api/admin/payouts/{body['id']}/paid", headers=admin, json={"tx_ref": "other"}),
                 409, "another tx_ref")
    assert_error(await http.post(f"/api/admin/payouts/{body['id']}/reject", headers=admin, json={"reason": "x"}),
                 409, "paid")
    final = await earnings(http, seller)
    assert final == {**after, "pending_payout_micro_usd": 0}
    assert await db.fetchval("SELECT balance FROM ledger_balances WHERE book = 'external'"
                             " AND account_id = '00000000-0000-0000-0000-000000000000'") == external + amount
    mine = (await http.get(P, headers=seller.auth)).json()["data"]
    assert [(p["id"], p["status"], p["tx_ref"]) for p in mine] == [(body["id"], "paid", tx_ref)]


async def test_a_rejected_withdrawal_returns_the_money(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                     control_plane: ControlPlane, buyer: Account,
                                                     seller: Account) -> None:
    payout = await earned(db, buyer, seller)
    before = await earnings(http, seller)
    made = (await withdraw(http, seller, payout, address=address())).json()
    assert (await earnings(http, seller))["available_micro_usd"] == 0
    admin = admin_auth(control_plane)
    assert_error(await http.post(f"/api/admin/payouts/{made['id']}/reject", headers=admin, json={"reason": " "}),
                 400, "reason")
    rejected = await http.post(f"/api/admin/payouts/{made['id']}/reject", headers=admin,
                               json={"reason": "address is an exchange we cannot pay"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["reject_reason"] == "address is an exchange we cannot pay"
    assert await earnings(http, seller) == before  # total counts the earnings once, not the return
    again = await http.post(f"/api/admin/payouts/{made['id']}/reject", headers=admin, json={"reason": "again"})
    assert again.status_code == 200 and again.json()["reject_reason"] == "address is an exchange we cannot pay"
    assert_error(await http.post(f"/api/admin/payouts/{made['id']}/approve", headers=admin), 409, "rejected")
    history = (await http.get("/v1/market/earnings/settlements", headers=seller.auth)).json()["data"]
    assert [h["kind"] for h in history[:2]] == ["payout_reject", "payout_request"]


async def test_never_more_than_available_and_never_locked_earnings(
        http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account, seller: Account) -> None:
    await http.put("/v1/market/payout-address", headers=seller.auth, json={"address": address()})
    locked = await earned(db, buyer, seller, locked=True)
    assert_error(await withdraw(http, seller, 1), 402, "available")  # everything earned is still locked
    payout = await earned(db, buyer, seller)
    before = await earnings(http, seller)
    assert before["locked_micro_usd"] == locked and before["available_micro_usd"] == payout
    assert_error(await withdraw(http, seller, payout + 1), 402, str(payout))
    for bad in (0, -5, -payout, "100", 1.5, True, None, 10**16):
        assert_error(await withdraw(http, seller, bad), 400, "amount_micro_usd")
    assert await earnings(http, seller) == before
    assert (await http.get(P, headers=seller.auth)).json()["data"] == []


async def test_concurrent_withdrawals_never_take_more_than_available(
        http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account, seller: Account) -> None:
    await http.put("/v1/market/payout-address", headers=seller.auth, json={"address": address()})
    payout = await earned(db, buyer, seller)
    share = payout * 6 // 10
    results = await asyncio.gather(*(withdraw(http, seller, share) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [201, 402, 402, 402], [r.text for r in results]
    assert (await earnings(http, seller))["available_micro_usd"] == payout - share


async def test_a_retried_request_makes_one_payout(http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account,
                                                  seller: Account) -> None:
    await http.put("/v1/market/payout-address", headers=seller.auth, json={"address": address()})
    payout = await earned(db, buyer, seller)
    key = "withdraw-" + secrets.token_hex(4)
    results = await asyncio.gather(*(withdraw(http, seller, payout // 2, key) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201], [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert (await earnings(http, seller))["available_micro_usd"] == payout - payout // 2
    assert_error(await withdraw(http, seller, payout // 3, key), 409, "Idempotency-Key")
    assert len((await http.get(P, headers=seller.auth)).json()["data"]) == 1


async def test_addresses_are_checked(http: httpx.AsyncClient, db: asyncpg.Connection, buyer: Account,
                                     seller: Account) -> None:
    payout = await earned(db, buyer, seller)
    assert_error(await withdraw(http, seller, payout), 400, "PUT /v1/market/payout-address")
    good = address()
    for bad in ("", "0x" + "ab" * 20, good[:-1] + ("A" if good[-1] != "A" else "B"), "T" + "1" * 33):
        assert_error(await http.put("/v1/market/payout-address", headers=seller.auth, json={"address": bad}),
                     400, "address")
        assert_error(await withdraw(http, seller, payout, address=bad), 400, "address")
    assert (await http.get("/v1/market/payout-address", headers=seller.auth)).json()["address"] is None
    assert (await earnings(http, seller))["available_micro_usd"] == payout


async def test_another_sellers_payout_is_out_of_reach(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                      buyer: Account, seller: Account, other: Account) -> None:
    payout = await earned(db, buyer, seller)
    made = (await withdraw(http, seller, payout, address=address())).json()
    assert_error(await http.get(f"{P}/{made['id']}", headers=other.auth), 404, "payout")
    assert (await http.get(P, headers=other.auth)).json()["data"] == []
    assert_error(await withdraw(http, other, 1, address=address()), 402, "available")  # others' money is not theirs
    for action, body in (("approve", None), ("reject", {"reason": "mine now"}), ("paid", {"tx_ref": "x"})):
        r = await http.post(f"/api/admin/payouts/{made['id']}/{action}", headers=other.auth, json=body)
        assert r.status_code in (401, 403), r.text
    assert (await http.get(f"{P}/{made['id']}", headers=seller.auth)).json()["status"] == "requested"


async def test_the_ledger_check_sees_a_payout_that_disagrees_with_its_journal(http: httpx.AsyncClient, db: asyncpg.Connection,
                                                                  control_plane: ControlPlane, buyer: Account,
                                                                  seller: Account) -> None:
    payout = await earned(db, buyer, seller)
    made = (await withdraw(http, seller, payout, address=address())).json()
    await db.execute("UPDATE payouts SET amount_micro_usd = amount_micro_usd + 1 WHERE id = $1", made["id"])
    try:
        problems, _ = await check(db)
        assert any(p.startswith("every payout step has its journal") for p in problems), problems
        assert any(p.startswith("pending payouts equal open withdrawals") and seller.id in p for p in problems)
    finally:
        await db.execute("UPDATE payouts SET amount_micro_usd = amount_micro_usd - 1 WHERE id = $1", made["id"])
