"""The pricing rule: cost = payout + fee exactly, rounding as stated in wire/pricing.py."""

from __future__ import annotations

import itertools

from wire.pricing import Asks, affordable_completion_tokens, charge, max_cost


def test_cost_is_payout_plus_fee_everywhere() -> None:
    for p, c, ain, aout, bfee, sfee in itertools.product(
            (0, 1, 7, 999), (0, 3, 1001), (0, 1, 300_000, 2_500_001), (0, 900_000, 7), (0, 250, 10_000),
            (0, 500, 10_000)):
        got = charge(p, 0, c, Asks(ask_input=ain, ask_output=aout, buyer_fee_bps=bfee, seller_fee_bps=sfee))
        assert got.cost == got.seller_payout + got.platform_fee
        assert got.platform_fee >= 0 and got.seller_payout >= 0


def test_worked_example() -> None:
    asks = Asks(ask_input=300_000, ask_output=900_000, buyer_fee_bps=0, seller_fee_bps=500)
    got = charge(100, 0, 120, asks)  # base = 30 + 108 = 138
    assert (got.base, got.cost, got.seller_payout, got.platform_fee) == (138, 138, 131, 7)


def test_cached_tokens_use_the_cache_price() -> None:
    asks = Asks(ask_input=1_000_000, ask_output=0, ask_cached_input=100_000)
    assert charge(1000, 400, 0, asks).base == 600 + 40


def test_affordable_tokens_are_the_largest_that_fit() -> None:
    asks = Asks(ask_input=0, ask_output=100_000_000)
    assert max_cost(10, 1000, asks) == 100_000
    assert affordable_completion_tokens(100_000, 10, asks) == 1000
    assert affordable_completion_tokens(99_999, 10, asks) == 999
