"""Done-when of issue 13's payouts, end to end: a seller earns through buyers' purchases on a real
billing stack, withdraws part of it once the lock window has passed, the operator approves and
marks it paid; exactly the requested amount moves at each step and `dragonfly ledger check`
(the CLI) passes after each."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import httpx

from control_plane.billing.tron import dev_address
from tests.support.billing_stack import BillingStack


def age_earnings(url: str, seller_id: str) -> None:
    """Move the seller's settlements before the lock window (as if a week had passed)."""
    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "UPDATE ledger_journals SET created_at = created_at - interval '8 days' WHERE id IN ("
                " SELECT journal_id FROM ledger_postings WHERE book = 'seller' AND account_id = $1)", seller_id)
        finally:
            await conn.close()
    asyncio.run(run())


def earnings(stack: BillingStack, seller: dict[str, str]) -> dict[str, int]:
    body = stack.http.get("/v1/market/earnings", headers=seller).json()
    return {k: int(body[k]) for k in ("available_micro_usd", "balance_micro_usd", "pending_payout_micro_usd")}


def test_a_withdrawal_of_purchase_earnings_moves_exactly_the_amount(stack: BillingStack) -> None:
    seller = stack.account(0)
    stack.listing(seller, "deepseek/deepseek-reasoner", "1.00", "3.00")
    key = stack.key(stack.account(500))
    paid = 0
    for _ in range(3):
        r = stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
            "model": "deepseek/deepseek-reasoner", "messages": [{"role": "user", "content": "x" * 400}],
            "fake": {"chunks": 300}})
        assert r.status_code == 200, r.text
        paid += int(str(stack.settled(key, r.headers["x-request-id"])["seller_payout_micro_usd"]))
    assert earnings(stack, seller)["available_micro_usd"] == 0  # all locked for now
    age_earnings(stack.database_url, seller["x-account-id"])
    before = earnings(stack, seller)
    assert before == {"available_micro_usd": paid, "balance_micro_usd": paid, "pending_payout_micro_usd": 0}

    address = dev_address(secrets.token_bytes(8), "e2e")
    assert stack.http.put("/v1/market/payout-address", headers=seller, json={"address": address}).status_code == 200
    amount = paid - 11
    key_header = {**seller, "Idempotency-Key": "e2e-" + secrets.token_hex(4)}
    made = stack.http.post("/v1/market/payouts", headers=key_header, json={"amount_micro_usd": amount})
    assert made.status_code == 201, made.text
    retry = stack.http.post("/v1/market/payouts", headers=key_header, json={"amount_micro_usd": amount})
    assert retry.status_code == 200 and retry.json()["id"] == made.json()["id"]
    assert earnings(stack, seller) == {"available_micro_usd": 11, "balance_micro_usd": 11,
                                       "pending_payout_micro_usd": amount}
    stack.ledger_check()

    admin = {"Authorization": f"Bearer {stack.admin}"}
    payout = made.json()["id"]
    operator = httpx.Client(base_url=stack.control.url, timeout=20)  # the operator API: control plane port only
    assert operator.post(f"/api/admin/payouts/{payout}/approve", headers=admin).json()["status"] == "approved"
    stack.ledger_check()
    done = operator.post(f"/api/admin/payouts/{payout}/paid", headers=admin, json={"tx_ref": secrets.token_hex(32)})
    assert done.status_code == 200 and done.json()["status"] == "paid"
    assert earnings(stack, seller) == {"available_micro_usd": 11, "balance_micro_usd": 11,
                                       "pending_payout_micro_usd": 0}
    assert "OK" in stack.ledger_check()
    operator.close()
