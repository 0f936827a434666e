"""A listing's pricing controls -> the asks it is routed and charged at (pure; no I/O).

Rules, stated once (prices are integer micro-USD per million units, `wire.money`):

- **Fixed** (default: `price_multiplier` null, `auto_follow` false): the seller's own asks.
- **Multiplier** (`price_multiplier` set): asks follow the catalog reference price of the model,
  `ceil(catalog x multiplier)`, for input and output; a catalog price change moves them.
- **Auto-follow** (`auto_follow` true): asks track the market's reference price for the model:
  the median (lower median) of the asks of the model's other routed listings that do not
  themselves follow (fixed or multiplier ones, so followers never chase each other), or the
  catalog price when there are none; times the multiplier when one is set. Recomputed on every
  snapshot build, i.e. whenever a listing, a fee profile or the catalog changes, and at least
  every `DF_SNAPSHOT_RESYNC_S`.
- The cached-input ask is the seller's own, never above the resulting input ask.
- **Payout floor** (`payout_floor`, per Mtok): the seller never receives less per token, whatever
  the fee profile. Every ask (input, output, cached input) is raised to at least
  `ceil(floor x 10000 / (10000 - seller_fee_bps))`, the smallest ask whose payout per Mtok is
  the floor: the buyer pays more, the platform fee rate is untouched, and `wire.pricing.charge`
  keeps `charge == payout + fee` and every reservation cap. Per request the payout is at least
  `floor(tokens x payout_floor / 1e6)`. A floor above zero with a fee profile that keeps everything
  (`seller_fee_bps` 10000) cannot be met: such a listing is not routed.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from wire.pricing import BPS

Source = Literal["fixed", "multiplier", "auto_follow"]


class Controls(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    ask_input: int
    ask_output: int
    ask_cached_input: int | None = None
    payout_floor: int | None = None
    multiplier_bps: int | None = None
    auto_follow: bool = False


class Effective(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    ask_input: int
    ask_output: int
    ask_cached_input: int | None
    source: Source
    floor_raised: bool = False  # the payout floor lifted at least one ask
    unmet: str | None = None  # set: the controls cannot be met, the listing is not routed


def scale(price: int, bps: int) -> int:
    return -(-price * bps // BPS)


def floor_ask(payout_floor: int, seller_fee_bps: int) -> int | None:
    """The smallest ask whose payout per Mtok is at least `payout_floor`; None when no ask can be."""
    if payout_floor <= 0:
        return 0
    if seller_fee_bps >= BPS:
        return None
    return -(-payout_floor * BPS // (BPS - seller_fee_bps))


def median_low(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def market_reference(catalog: tuple[int, int], others: list[tuple[int, int]]) -> tuple[int, int]:
    """(input, output) reference for auto-follow: the lower median of the non-following listings'
    asks, else the catalog's prices."""
    if not others:
        return catalog
    return median_low([i for i, _ in others]), median_low([o for _, o in others])


def effective(c: Controls, catalog: tuple[int, int], market: tuple[int, int], seller_fee_bps: int) -> Effective:
    """The asks a listing with controls `c` is routed and charged at (see the module rules)."""
    source: Source = "fixed"
    ask_in, ask_out = c.ask_input, c.ask_output
    if c.auto_follow:
        source = "auto_follow"
        ask_in, ask_out = market
        if c.multiplier_bps is not None:
            ask_in, ask_out = scale(ask_in, c.multiplier_bps), scale(ask_out, c.multiplier_bps)
    elif c.multiplier_bps is not None:
        source = "multiplier"
        ask_in, ask_out = scale(catalog[0], c.multiplier_bps), scale(catalog[1], c.multiplier_bps)
    cached = None if c.ask_cached_input is None else min(c.ask_cached_input, ask_in)
    if not c.payout_floor:
        return Effective(ask_input=ask_in, ask_output=ask_out, ask_cached_input=cached, source=source)
    least = floor_ask(c.payout_floor, seller_fee_bps)
    if least is None:
        return Effective(ask_input=ask_in, ask_output=ask_out, ask_cached_input=cached, source=source,
                         unmet="payout_floor cannot be met: the fee profile keeps the whole ask")
    raised = ask_in < least or ask_out < least or (cached is not None and cached < least)
    return Effective(ask_input=max(ask_in, least), ask_output=max(ask_out, least),
                     ask_cached_input=None if cached is None else max(cached, least), source=source,
                     floor_raised=raised)
