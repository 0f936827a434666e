"""Charge caps (pure): a charge never exceeds its reservation; a cached token never costs more
than an uncached one; routing's price is what the buyer can be charged."""

from __future__ import annotations

import pytest

from wire.pricing import Asks, buyer_price, capped, charge, max_cost
from wire.usage import UsageEvent, charge_of, uncapped_charge_of


def event(prompt: int, cached: int, completion: int, asks: Asks, reserved: int) -> UsageEvent:
    return UsageEvent(request_id="r", account_id="a", key_id="k", listing_id="l", seller_account_id="s", model="m",
                      provider="p", upstream_model="m", status="completed", prompt_tokens=prompt,
                      cached_tokens=cached, completion_tokens=completion, asks=asks, reserved_micro_usd=reserved)


def test_cached_tokens_priced_above_input_are_charged_at_input() -> None:
    # the attack: every prompt token reported cached at $10,000/M on a $0.30 listing
    greedy = Asks(ask_input=300_000, ask_output=900_000, ask_cached_input=10_000_000_000)
    fair = Asks(ask_input=300_000, ask_output=900_000)
    assert charge(4096, 4096, 0, greedy) == charge(4096, 0, 0, fair)
    assert charge(4096, 4096, 0, greedy).cost <= max_cost(4096, 0, greedy)


@pytest.mark.parametrize("buyer_bps", [0, 250, 10_000])
@pytest.mark.parametrize("seller_bps", [0, 500, 10_000])
@pytest.mark.parametrize("limit", [0, 1, 7, 51, 999_999])
def test_capped_charge_fits_and_keeps_the_split(buyer_bps: int, seller_bps: int, limit: int) -> None:
    asks = Asks(ask_input=3_000_000, ask_output=9_000_000, buyer_fee_bps=buyer_bps, seller_fee_bps=seller_bps)
    full = charge(500_000, 0, 200_000, asks)
    c = capped(full, limit, asks)
    assert c.cost <= limit and c.cost == c.seller_payout + c.platform_fee and c.platform_fee >= 0
    assert c.cost >= limit - 2  # cut to the largest base that fits, not to nothing
    assert capped(full, c.cost, asks) == c  # reproducible from the recorded cost (the ledger check)


def test_rounding_cannot_push_a_charge_over_its_reservation() -> None:
    # two per-component roundings (uncached + cached) can exceed the one rounding of the reservation
    asks = Asks(ask_input=1, ask_output=0, ask_cached_input=1)
    reserved = max_cost(100, 0, asks)
    ev = event(100, 1, 0, asks, reserved)
    assert uncapped_charge_of(ev).cost == 2 > reserved == 1
    assert charge_of(ev).cost == 1


def test_an_event_is_charged_at_most_its_reservation() -> None:
    asks = Asks(ask_input=300_000, ask_output=900_000)
    ev = event(1_000_000, 0, 1_000_000, asks, reserved=51)
    assert uncapped_charge_of(ev).cost == 1_200_000
    assert charge_of(ev).cost == 51


def test_buyer_price_includes_the_buyer_fee() -> None:
    assert buyer_price(300_000, 0) == 300_000
    assert buyer_price(300_000, 5_000) == 450_000
    assert buyer_price(1, 1) == 2  # rounded up: a ceiling never loosens
