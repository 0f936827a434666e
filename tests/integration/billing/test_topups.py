"""A top-up end to end through the proxy's one base URL: an account without credit gets 402
before any upstream call; it creates a payment (dev-derived address), an operator confirms the
deposit, and the proxy admits its next request at once (the credit is pushed to Redis after the
commit). The seller's earnings then show that request's payout, locked for the reserve window."""

from __future__ import annotations

import asyncio

import httpx

from control_plane.billing.tron import check_address
from tests.support import redisdb
from tests.support.billing_stack import BillingStack, until
from wire.billing import account_key


def _chat(stack: BillingStack, key: str) -> int:
    return stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 50}).status_code


async def _credit(stack: BillingStack, account_id: str) -> int:
    async with redisdb.connect(stack.redis_url) as r:
        return int(await r.hget(account_key(stack.prefix, account_id), "credit") or 0)


def test_top_up_unlocks_requests_and_pays_the_seller(stack: BillingStack) -> None:
    buyer = stack.account(0)
    key = stack.key(buyer)
    upstream = stack.upstream_requests()
    assert _chat(stack, key) == 402
    assert stack.upstream_requests() == upstream  # refused before any upstream call
    made = stack.http.post("/v1/billing/crypto/create-payment", headers=buyer, json={"amount_cents": 500})
    assert made.status_code == 201, made.text
    pay = made.json()
    assert check_address(pay["address"]) and (pay["network"], pay["amount_usdt"]) == ("TRC-20", "5.00")
    other = stack.http.post("/v1/billing/crypto/create-payment", headers=buyer, json={"amount_cents": 500}).json()
    assert other["address"] != pay["address"]  # derived per intent
    confirmed = httpx.post(f"{stack.control.url}/api/admin/payments/{pay['payment_id']}/confirm",
                           headers={"Authorization": f"Bearer {stack.admin}"},
                           json={"tx_hash": "ab" * 32, "amount_usdt": "5.00"})
    assert confirmed.status_code == 200, confirmed.text
    assert stack.balance(buyer) == 5_000_000
    assert asyncio.run(_credit(stack, buyer["x-account-id"])) == 5_000_000  # pushed, no reconcile wait
    seller = stack.seller  # type: ignore[attr-defined]
    before = stack.http.get("/v1/market/earnings", headers=seller).json()
    r = stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 50})
    assert r.status_code == 200, r.text
    gen = stack.settled(key, r.headers["x-request-id"])
    payout = int(gen["seller_payout_micro_usd"])  # type: ignore[call-overload]
    assert payout > 0 and stack.balance(buyer) == 5_000_000 - int(gen["cost_micro_usd"])  # type: ignore[call-overload]
    until(lambda: stack.http.get("/v1/market/earnings", headers=seller).json()["total_micro_usd"]
          == before["total_micro_usd"] + payout)
    after = stack.http.get("/v1/market/earnings", headers=seller).json()
    assert after["locked_micro_usd"] == before["locked_micro_usd"] + payout
    assert after["available_micro_usd"] == before["available_micro_usd"]
    assert after["latest_settlements"][0]["request_id"] == r.headers["x-request-id"]
