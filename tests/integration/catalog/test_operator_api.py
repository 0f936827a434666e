"""The operator API: fee profiles applied in pricing, search across accounts, payments and
listings, and debit/refund adjustments that are balanced ledger journals."""

from __future__ import annotations

import secrets

import httpx

from tests.support.billing_stack import BillingStack, until
from wire.pricing import Asks, charge


def _chat(stack: BillingStack, key: str) -> httpx.Response:
    return stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": "qwen/qwen3-30b-a3b", "messages": [{"role": "user", "content": "x" * 40}], "max_tokens": 50,
        "fake": {"chunks": 20}})


def test_fee_profiles_apply_to_listings_and_seller_accounts(stack: BillingStack, admin: httpx.Client) -> None:
    vip, house = "vip-" + secrets.token_hex(3), "house-" + secrets.token_hex(3)
    r = admin.post("/api/admin/fee-profiles", json={"id": vip, "buyer_fee_bps": 1000, "seller_fee_bps": 200})
    assert r.status_code == 201, r.text
    assert admin.post("/api/admin/fee-profiles", json={"id": vip}).status_code == 409
    assert admin.post("/api/admin/fee-profiles", json={"id": house, "buyer_fee_bps": 20_000}).status_code == 400
    assert admin.post("/api/admin/fee-profiles", json={"id": house, "seller_fee_bps": 300}).status_code == 201
    seller = stack.account(0)
    listing = stack.listing(seller, "qwen/qwen3-30b-a3b", "1.00", "3.00")
    key = stack.key(stack.account(1_000))
    r = admin.put(f"/api/admin/listings/{listing}/fee-profile", json={"fee_profile_id": "nope"})
    assert r.status_code == 400, r.text
    assert admin.put(f"/api/admin/listings/{listing}/fee-profile",
                     json={"fee_profile_id": vip}).status_code == 200
    until(lambda: _chat(stack, key).headers.get("x-df-market-fee-profile-id") == vip, 15)
    r = _chat(stack, key)
    gen = stack.settled(key, r.headers["x-request-id"])
    assert gen["fee_profile_id"] == vip
    expected = charge(int(str(gen["prompt_tokens"])), 0, int(str(gen["completion_tokens"])),
                      Asks(ask_input=1_000_000, ask_output=3_000_000, buyer_fee_bps=1000, seller_fee_bps=200))
    assert gen["cost_micro_usd"] == expected.cost and gen["seller_payout_micro_usd"] == expected.seller_payout
    # the seller's account profile applies to its listings on `default`
    assert admin.put(f"/api/admin/listings/{listing}/fee-profile",
                     json={"fee_profile_id": "default"}).status_code == 200
    r = admin.put(f"/api/admin/accounts/{seller['x-account-id']}/fee-profile", json={"fee_profile_id": house})
    assert r.status_code == 200 and r.json()["fee_profile_id"] == house, r.text
    until(lambda: _chat(stack, key).headers.get("x-df-market-fee-profile-id") == house, 15)


def test_search_accounts_payments_and_listings(stack: BillingStack, admin: httpx.Client) -> None:
    buyer = stack.account(0)
    email = admin.get(f"/api/admin/accounts/{buyer['x-account-id']}").json()["email"]
    r = admin.get("/api/admin/accounts", params={"email": email[5:12].upper(), "plan": "enterprise"})
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["data"]] == [buyer["x-account-id"]]
    assert admin.get("/api/admin/accounts", params={"email": email, "status": "suspended"}).json()["data"] == []
    page = admin.get("/api/admin/accounts", params={"limit": 1}).json()
    assert len(page["data"]) == 1 and page["next_offset"] == 1
    second = admin.get("/api/admin/accounts", params={"limit": 1, "offset": 1}).json()
    assert second["data"][0]["id"] != page["data"][0]["id"]
    assert admin.get("/api/admin/accounts", params={"status": "gone"}).status_code == 400
    created = stack.http.post("/v1/billing/crypto/create-payment", headers=buyer, json={"amount_cents": 500})
    assert created.status_code == 201, created.text
    pid = created.json()["payment_id"]
    pending = admin.get("/api/admin/payments", params={"status": "pending", "account_id": buyer["x-account-id"]})
    assert [p["payment"]["payment_id"] for p in pending.json()["data"]] == [pid]
    assert admin.get("/api/admin/payments", params={"status": "confirmed",
                                                    "account_id": buyer["x-account-id"]}).json()["data"] == []
    seller = stack.account(0)
    listing = stack.listing(seller, "deepseek/deepseek-chat", "0.40", "1.20")
    found = admin.get("/api/admin/listings", params={"account_id": seller["x-account-id"]}).json()["data"]
    assert [(x["id"], x["model"], x["ask_output"], x["fee_profile_id"]) for x in found] == [
        (listing, "deepseek/deepseek-chat", "1.20", "default")]


def test_debit_and_refund_are_balanced_journals(stack: BillingStack, admin: httpx.Client) -> None:
    buyer = stack.account(1_000)
    before = stack.balance(buyer)
    acct = buyer["x-account-id"]
    r = admin.post(f"/api/admin/accounts/{acct}/debit", json={"amount_cents": 250, "reason": "chargeback #12"})
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["amount_micro_usd"]) == ("admin_debit", -2_500_000)
    assert stack.balance(buyer) == before - 2_500_000
    r = admin.post(f"/api/admin/accounts/{acct}/refund", json={"amount_cents": 100, "reason": "outage credit"})
    assert r.status_code == 201 and r.json()["kind"] == "admin_refund", r.text
    assert stack.balance(buyer) == before - 1_500_000
    too_much = admin.post(f"/api/admin/accounts/{acct}/debit", json={"amount_cents": 1_000_000, "reason": "x"})
    assert too_much.status_code == 409, too_much.text
    assert admin.post(f"/api/admin/accounts/{acct}/debit", json={"amount_cents": 5}).status_code == 400
    assert stack.balance(buyer) == before - 1_500_000  # refused ones moved nothing
    txs = stack.http.get("/api/billing/transactions", headers=buyer).json()["data"]
    assert [(t["kind"], t["reason"]) for t in txs[:2]] == [("admin_refund", "outage credit"),
                                                           ("admin_debit", "chargeback #12")]
    platform = stack.query("SELECT coalesce(sum(p.amount), 0) AS s FROM ledger_postings p"
                           " JOIN ledger_journals j ON j.id = p.journal_id WHERE j.kind = 'admin_refund'"
                           " AND j.account_id = $1 AND p.book = 'platform_fee'", acct)
    assert platform[0]["s"] == -1_000_000
