"""pricing_controls and snapshot.asks: the asks a listing's controls give (pure), and the payout
floor's promise checked through `wire.pricing.charge` for every fee profile."""

from __future__ import annotations

import pytest

from control_plane.pricing_controls import Controls, effective, floor_ask, market_reference
from control_plane.snapshot.asks import routed_asks
from control_plane.snapshot.rows import FeeProfileRow, ModelRow
from tests.unit.control_plane.snapshot.test_builder import listing
from wire.pricing import Asks, charge

CATALOG = (500_000, 1_500_000)


def test_fixed_asks_are_the_sellers_own() -> None:
    eff = effective(Controls(ask_input=400_000, ask_output=1_200_000, ask_cached_input=100_000), CATALOG, CATALOG, 500)
    assert (eff.source, eff.ask_input, eff.ask_output, eff.ask_cached_input, eff.floor_raised) == (
        "fixed", 400_000, 1_200_000, 100_000, False)


def test_multiplier_follows_the_catalog_and_caps_the_cached_ask() -> None:
    eff = effective(Controls(ask_input=1, ask_output=1, ask_cached_input=450_000, multiplier_bps=8_000),
                    CATALOG, (1, 1), 500)
    assert (eff.source, eff.ask_input, eff.ask_output, eff.ask_cached_input) == (
        "multiplier", 400_000, 1_200_000, 400_000)
    assert effective(Controls(ask_input=1, ask_output=1, multiplier_bps=3), (7, 7), (7, 7), 0).ask_input == 1  # ceil


def test_auto_follow_takes_the_lower_median_of_the_market() -> None:
    assert market_reference(CATALOG, []) == CATALOG
    assert market_reference(CATALOG, [(3, 30), (1, 10), (2, 20), (4, 40)]) == (2, 20)
    eff = effective(Controls(ask_input=9, ask_output=9, auto_follow=True, multiplier_bps=5_000), CATALOG, (100, 300), 0)
    assert (eff.source, eff.ask_input, eff.ask_output) == ("auto_follow", 50, 150)


@pytest.mark.parametrize("seller_fee_bps", [0, 1, 500, 3333, 5000, 9999])
@pytest.mark.parametrize("buyer_fee_bps", [0, 250, 1000])
def test_the_payout_floor_holds_whatever_the_fee_profile(seller_fee_bps: int, buyer_fee_bps: int) -> None:
    floor = 777_777
    eff = effective(Controls(ask_input=1, ask_output=2, ask_cached_input=1, payout_floor=floor), CATALOG, CATALOG,
                    seller_fee_bps)
    assert eff.floor_raised and eff.unmet is None
    asks = Asks(ask_input=eff.ask_input, ask_output=eff.ask_output, ask_cached_input=eff.ask_cached_input,
                buyer_fee_bps=buyer_fee_bps, seller_fee_bps=seller_fee_bps)
    for prompt, cached, completion in [(1, 0, 0), (1000, 0, 0), (0, 0, 1), (123_457, 1000, 98_765), (10**6, 10**6, 0)]:
        c = charge(prompt, cached, completion, asks)
        assert c.cost == c.seller_payout + c.platform_fee and c.platform_fee >= 0
        assert c.seller_payout >= (prompt + completion) * floor // 10**6  # never less than the floor
    assert floor_ask(floor, seller_fee_bps) == eff.ask_input


def test_a_floor_the_fee_profile_takes_whole_is_unmet() -> None:
    eff = effective(Controls(ask_input=1, ask_output=1, payout_floor=1), CATALOG, CATALOG, 10_000)
    assert eff.unmet is not None and "payout_floor" in eff.unmet
    assert effective(Controls(ask_input=1, ask_output=1, payout_floor=0), CATALOG, CATALOG, 10_000).unmet is None


def test_followers_track_non_followers_only() -> None:
    model = ModelRow(id="deepseek/deepseek-chat", owned_by="deepseek", input_price=500_000, output_price=1_500_000,
                     context_length=1, capabilities=("chat",))
    rows = [listing(1, ask_input=300_000, ask_output=900_000), listing(2, price_multiplier_bps=20_000),
            listing(3, auto_follow=True, ask_input=1, ask_output=1),
            listing(4, auto_follow=True, ask_input=1, ask_output=1, payout_floor=2_000_000, fee_profile_id="half")]
    asks = routed_asks(rows, [model], [FeeProfileRow(id="half", buyer_fee_bps=0, seller_fee_bps=5_000)])
    ids = [r.id for r in rows]
    assert (asks[ids[1]].ask_input, asks[ids[1]].ask_output) == (1_000_000, 3_000_000)  # catalog x 2
    assert (asks[ids[2]].ask_input, asks[ids[2]].ask_output) == (300_000, 900_000)  # lower median of 1 and 2
    assert (asks[ids[3]].ask_input, asks[ids[3]].ask_output) == (4_000_000, 4_000_000)  # its floor, not the market
