"""Ranking and price ceilings compare what the buyer can actually be charged: the costlier of
ask_input / ask_cached_input, with the buyer fee of the listing's fee profile."""

from __future__ import annotations

from proxy.routing.policy import Policy
from proxy.routing.rank import PRICE, rank
from proxy.snapshot.index import RoutingIndex, build_index
from wire.snapshot import Account, FeeProfile, Listing, Model, Snapshot


def listing(lid: str, ask_in: int, fee: str | None = None, cached: int | None = None) -> Listing:
    return Listing(id=lid, seller_account_id="s", provider=lid, model="m/x", upstream_model="x",
                   base_url="http://u/v1", ask_input=ask_in, ask_output=ask_in, ask_cached_input=cached,
                   fee_profile_id=fee)


def index(*listings: Listing) -> RoutingIndex:
    snap = Snapshot(version="v1", created_at=1, models=(Model(id="m/x", owned_by="m", input_price=1,
                                                                output_price=1),),
                    listings=listings, keys=(), accounts=(Account(id="s"),),
                    fee_profiles=(FeeProfile(id="dear", buyer_fee_bps=5_000, seller_fee_bps=0),))
    return build_index(snap)


def no_ejection(*_: object) -> bool:
    return False


def test_max_price_applies_to_the_price_with_the_buyer_fee() -> None:
    idx = index(listing("fee", 300_000, fee="dear"), listing("plain", 400_000))
    ranked = rank(idx.listings["m/x"], Policy(max_price_input=420_000), {}, {}, frozenset(), 0.0, no_ejection)
    assert [e.id for e in ranked.candidates] == ["plain"]  # 0.30 + 50 % fee = 0.45 > 0.42
    assert ranked.excluded == (("fee", PRICE),)


def test_ranking_orders_by_the_chargeable_price() -> None:
    idx = index(listing("fee", 300_000, fee="dear"), listing("plain", 400_000))
    ranked = rank(idx.listings["m/x"], Policy(weights=(1.0, 0.0, 0.0, 0.0)), {}, {}, frozenset(), 0.0,
                  no_ejection)
    assert [e.id for e in ranked.candidates] == ["plain", "fee"]


def test_a_cached_ask_above_the_input_ask_is_the_price() -> None:
    idx = index(listing("cachey", 100_000, cached=900_000))
    ranked = rank(idx.listings["m/x"], Policy(max_price_input=500_000), {}, {}, frozenset(), 0.0, no_ejection)
    assert ranked.candidates == ()
