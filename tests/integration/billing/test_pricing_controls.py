"""Pricing controls and price review through purchases on a real billing stack (control plane,
proxy, fake seller): what the buyer is charged and the seller earns follows `price_multiplier`
(catalog x multiplier, moving with the catalog), `auto_follow` (the market's median ask, moving
with the other sellers; it reaches ranking too) and `payout_floor` (the seller's payout per token
whatever the fee profile), and a price change beyond the review band is not charged before the
seller confirms it. Charges are computed here from the fake's rules (prompt = ceil(chars / 4),
completion = `chunks`) by `wire.pricing.charge`; the ledger check runs after every test."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from tests.support.billing_stack import BillingStack, until
from wire.pricing import Asks, charge

PROMPT = "x" * 400  # 100 prompt tokens
CHUNKS = 50


def sql(url: str, query: str, *args: object) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(query, *args)
        finally:
            await conn.close()
    asyncio.run(run())


def buy(stack: BillingStack, key: str, model: str) -> httpx.Response:
    r = stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": model, "messages": [{"role": "user", "content": PROMPT}], "fake": {"chunks": CHUNKS}})
    assert r.status_code == 200, r.text
    return r


def routed_at(stack: BillingStack, key: str, model: str, ask_input: str, ask_output: str) -> httpx.Response:
    """Buy until the proxy routes at these asks (its snapshot caught up); the last purchase."""
    last: list[httpx.Response] = []

    def caught_up() -> bool:
        last[:] = [buy(stack, key, model)]
        return (last[0].headers["x-df-market-ask-input"], last[0].headers["x-df-market-ask-output"]) == (
            ask_input, ask_output)
    until(caught_up, 15)
    return last[0]


def patch(stack: BillingStack, seller: dict[str, str], listing: str, **body: object) -> dict[str, object]:
    r = stack.http.patch(f"/v1/market/listings/{listing}", headers=seller, json=body)
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


def settled_as(stack: BillingStack, key: str, r: httpx.Response, asks: Asks) -> dict[str, object]:
    gen = stack.settled(key, r.headers["x-request-id"])
    c = charge(100, 0, CHUNKS, asks)
    assert (gen["prompt_tokens"], gen["completion_tokens"]) == (100, CHUNKS)
    assert (gen["cost_micro_usd"], gen["seller_payout_micro_usd"], gen["platform_fee_micro_usd"]) == (
        c.cost, c.seller_payout, c.platform_fee)
    return gen


def test_multiplier_asks_follow_the_catalog_price(stack: BillingStack) -> None:
    model = "zhipu/glm-5-0131"  # catalog 1.00 / 4.00
    seller = stack.account(0)
    listing = stack.listing(seller, model, "1.00", "4.00")
    key = stack.key(stack.account(500))
    view = patch(stack, seller, listing, price_multiplier="1.25")
    assert view["effective"] == {"source": "multiplier", "ask_input": "1.25", "ask_output": "5.00",
                                 "ask_cached_input": None, "floor_raised": False, "not_met": None}
    r = routed_at(stack, key, model, "1.25", "5.00")
    gen = settled_as(stack, key, r, Asks(ask_input=1_250_000, ask_output=5_000_000, seller_fee_bps=500))
    assert (gen["ask_input"], gen["ask_output"]) == ("1.25", "5.00")
    sql(stack.database_url, "UPDATE models SET input_price = 1100000 WHERE id = $1", model)  # the catalog moves
    try:
        r = routed_at(stack, key, model, "1.375", "5.00")
        settled_as(stack, key, r, Asks(ask_input=1_375_000, ask_output=5_000_000, seller_fee_bps=500))
    finally:
        sql(stack.database_url, "UPDATE models SET input_price = 1000000 WHERE id = $1", model)


def test_auto_follow_tracks_the_market_and_wins_the_ranking(stack: BillingStack) -> None:
    model = "qwen/qwen3-235b-a22b"  # catalog 1.00 / 4.00
    rival = stack.account(0)
    low = stack.listing(rival, model, "0.60", "2.00")
    stack.listing(rival, model, "0.80", "3.00")
    follower = stack.account(0)
    mine = stack.listing(follower, model, "0.70", "2.50")
    view = patch(stack, follower, mine, auto_follow=True, price_multiplier="0.9")  # 10 % under the median
    assert view["effective"]["source"] == "auto_follow"  # type: ignore[index]
    assert (view["effective"]["ask_input"], view["effective"]["ask_output"]) == ("0.54", "1.80")  # type: ignore[index]
    buyer = stack.account(500)
    profile = stack.http.post("/api/routing/profiles", headers=buyer, json={"name": "cheap", "strategy": "cost-first"})
    assert profile.status_code == 201, profile.text
    key = stack.key(buyer, routing_profile_id=profile.json()["id"])
    r = routed_at(stack, key, model, "0.54", "1.80")
    assert r.headers["x-df-market-listing-id"] == mine  # the cheapest listing, ranked first
    settled_as(stack, key, r, Asks(ask_input=540_000, ask_output=1_800_000, seller_fee_bps=500))
    patch(stack, rival, low, ask_input="0.50")  # the market moves: median input 0.50
    r = routed_at(stack, key, model, "0.45", "1.80")
    assert r.headers["x-df-market-listing-id"] == mine
    settled_as(stack, key, r, Asks(ask_input=450_000, ask_output=1_800_000, seller_fee_bps=500))


def test_payout_floor_holds_whatever_the_fee_profile_after_price_review(stack: BillingStack) -> None:
    model = "minimax/minimax-m2.5"  # catalog 0.80 / 2.40
    seller = stack.account(0)
    listing = stack.listing(seller, model, "0.80", "2.40")
    sql(stack.database_url, "INSERT INTO fee_profiles (id, buyer_fee_bps, seller_fee_bps) VALUES ('steep', 1000, 5000)"
        " ON CONFLICT DO NOTHING")
    sql(stack.database_url, "UPDATE listings SET fee_profile_id = 'steep' WHERE id = $1", listing)
    key = stack.key(stack.account(500))
    steep = {"buyer_fee_bps": 1000, "seller_fee_bps": 5000}
    r = routed_at(stack, key, model, "0.80", "2.40")
    gen = settled_as(stack, key, r, Asks(ask_input=800_000, ask_output=2_400_000, **steep))
    assert int(str(gen["seller_payout_micro_usd"])) < (100 + CHUNKS) * 800_000 // 10**6  # the fee eats the floor

    # a floor of 0.80/M raises the input ask to 1.60 (+100 %): beyond the review band, held
    view = patch(stack, seller, listing, payout_floor="0.80")
    assert view["status"] == "price_review" and "input ask" in str(view["price_review_reason"])
    assert view["effective"]["ask_input"] == "0.80"  # type: ignore[index]
    assert view["pending_price"]["payout_floor"] == "0.80"  # type: ignore[index]
    r = buy(stack, key, model)  # still routed, at the old price
    assert r.headers["x-df-market-ask-input"] == "0.80"
    settled_as(stack, key, r, Asks(ask_input=800_000, ask_output=2_400_000, **steep))

    confirmed = stack.http.post(f"/v1/market/listings/{listing}/confirm-price", headers=seller)
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body["status"], body["pending_price"], body["payout_floor"]) == ("active", None, "0.80")
    assert body["effective"] == {"source": "fixed", "ask_input": "1.60", "ask_output": "2.40",
                                 "ask_cached_input": None, "floor_raised": True, "not_met": None}
    r = routed_at(stack, key, model, "1.60", "2.40")
    gen = settled_as(stack, key, r, Asks(ask_input=1_600_000, ask_output=2_400_000, **steep))
    assert int(str(gen["seller_payout_micro_usd"])) >= (100 + CHUNKS) * 800_000 // 10**6
    again = stack.http.post(f"/v1/market/listings/{listing}/confirm-price", headers=seller)
    assert again.status_code == 409, again.text


def test_a_floor_no_ask_can_meet_is_not_routed(stack: BillingStack) -> None:
    model = "doubao/doubao-1.5-pro-256k"  # catalog 0.30 / 0.90
    seller = stack.account(0)
    listing = stack.listing(seller, model, "0.30", "0.90")
    sql(stack.database_url, "INSERT INTO fee_profiles (id, buyer_fee_bps, seller_fee_bps) VALUES ('all', 0, 10000)"
        " ON CONFLICT DO NOTHING")
    sql(stack.database_url, "UPDATE listings SET fee_profile_id = 'all' WHERE id = $1", listing)
    key = stack.key(stack.account(500))
    routed_at(stack, key, model, "0.30", "0.90")
    view = patch(stack, seller, listing, payout_floor="0.01")
    assert "cannot be met" in str(view["not_routed"])

    def gone() -> bool:
        return stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
            "model": model, "messages": [{"role": "user", "content": "x"}]}).status_code == 503
    until(gone, 15)
