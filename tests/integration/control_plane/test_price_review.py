"""Price review through the seller API and the published snapshot: a price change beyond the band
(default ±50 % of the current ask) or below the catalog floor (10 % of the catalog price) is held
(`status: price_review`, `pending_price`, the reason) while the listing keeps routing at its
current asks; `confirm-price` applies it; an in-band change replaces a held one; other fields of
the same PATCH apply at once; nobody else can confirm."""

from __future__ import annotations

import httpx

from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import Account, assert_error
from tests.integration.control_plane.test_seller_api import listing, pool_key
from tests.integration.control_plane.test_snapshot_publish import wait_for


async def made_listing(http: httpx.AsyncClient, seller: Account) -> tuple[str, str]:
    key = await pool_key(http, seller)
    made = await listing(http, seller, key["id"])  # deepseek/deepseek-chat at 0.40 / 1.20 (catalog 0.50 / 1.50)
    return str(made["id"]), f"/v1/market/listings/{made['id']}"


async def test_a_big_change_is_held_and_old_asks_keep_routing(http: httpx.AsyncClient, control_plane: ControlPlane,
                                                              redis_url: str, buyer: Account) -> None:
    lid, path = await made_listing(http, buyer)
    held = await http.patch(path, headers=buyer.auth, json={"ask_input": "4.00", "rpm_limit": 30})  # x10 by a typo
    assert held.status_code == 200, held.text
    body = held.json()
    assert (body["status"], body["ask_input"], body["rpm_limit"]) == ("price_review", "0.40", 30)
    assert "more than 50 %" in body["price_review_reason"] and body["pending_price"]["ask_input"] == "4.00"
    snap = await wait_for(redis_url, control_plane.redis_prefix,
                          lambda s: any(x.id == lid and x.rpm_limit == 30 for x in s.listings))
    assert next(x for x in snap.listings if x.id == lid).ask_input == 400_000  # routed, at the old price

    confirmed = await http.post(path + "/confirm-price", headers=buyer.auth)
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["ask_input"], confirmed.json()["pending_price"]) == (
        "active", "4.00", None)
    await wait_for(redis_url, control_plane.redis_prefix,
                   lambda s: any(x.id == lid and x.ask_input == 4_000_000 for x in s.listings))
    assert_error(await http.post(path + "/confirm-price", headers=buyer.auth), 409, "no price change")


async def test_below_the_catalog_floor_is_held(http: httpx.AsyncClient, buyer: Account) -> None:
    _, path = await made_listing(http, buyer)
    step = await http.patch(path, headers=buyer.auth, json={"ask_output": "0.70"})  # -42 %: in the band
    assert step.json()["status"] == "active" and step.json()["ask_output"] == "0.70"
    low = await http.patch(path, headers=buyer.auth, json={"ask_output": "0.14"})  # floor 0.15 = 10 % of 1.50
    assert low.json()["status"] == "price_review" and "catalog floor" in low.json()["price_review_reason"]
    assert low.json()["ask_output"] == "0.70"


async def test_an_in_band_change_replaces_a_held_one(http: httpx.AsyncClient, buyer: Account) -> None:
    _, path = await made_listing(http, buyer)
    await http.patch(path, headers=buyer.auth, json={"ask_input": "0.01"})
    kept = await http.patch(path, headers=buyer.auth, json={"concurrency_limit": 2})  # not a price: applies
    assert (kept.json()["status"], kept.json()["concurrency_limit"]) == ("price_review", 2)
    fixed = await http.patch(path, headers=buyer.auth, json={"ask_input": "0.45"})
    assert (fixed.json()["status"], fixed.json()["ask_input"], fixed.json()["pending_price"]) == ("active", "0.45", None)
    assert_error(await http.post(path + "/confirm-price", headers=buyer.auth), 409, "no price change")


async def test_nobody_else_confirms_a_price(http: httpx.AsyncClient, buyer: Account, other: Account) -> None:
    _, path = await made_listing(http, buyer)
    await http.patch(path, headers=buyer.auth, json={"ask_input": "9.00"})
    assert_error(await http.post(path + "/confirm-price", headers=other.auth), 404, "no listing")
    assert (await http.get(path, headers=buyer.auth)).json()["ask_input"] == "0.40"
