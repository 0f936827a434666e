"""Who pays what for one request (pure). The proxy's reservation and the control plane's
settlement call these same functions, so an estimate and a charge can never disagree on rules.

The formula, stated once (all integers, micro-USD; prices micro-USD per Mtok, `wire.money`):

    cache   = min(ask_cached_input or ask_input, ask_input)   # a cached token never costs more
    base    = cost(prompt - cached, ask_input) + cost(cached, cache)
              + cost(completion, ask_output)           # cost() = ceil(tokens x price / 1e6)
    charge  = ceil(base x (10000 + buyer_fee_bps) / 10000)      what the buyer pays
    payout  = floor(base x (10000 - seller_fee_bps) / 10000)    what the seller earns
    fee     = charge - payout                                    what the platform keeps

so `charge == payout + fee` exactly, and `fee >= 0` because both fees are >= 0 bps.
Rounding always favours neither party by more than one micro-USD per component.

A charge never exceeds what was reserved for the request (`capped`): above it, the base is cut
to the largest one whose charge fits (`floor(limit x 10000 / (10000 + buyer_fee_bps))`), and
payout and fee follow from that base by the same formula. The proxy and the settlement both
apply it (README "Billing": "Charge caps").
The price a buyer can be charged per prompt token (ranking, price ceilings) is
`buyer_price(ask)`: the ask plus the buyer fee, rounded up.
"""

from __future__ import annotations

import msgspec

from wire.money import cost_micro_usd

BPS = 10_000


class Asks(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The prices a request was admitted at (micro-USD per Mtok) and the fee profile's bps."""

    ask_input: int
    ask_output: int
    ask_cached_input: int | None = None
    buyer_fee_bps: int = 0
    seller_fee_bps: int = 0


class Charge(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    base: int
    cost: int  # the buyer's debit
    seller_payout: int
    platform_fee: int


def base_cost(prompt_tokens: int, cached_tokens: int, completion_tokens: int, asks: Asks) -> int:
    cached = min(max(cached_tokens, 0), prompt_tokens)
    cache_price = asks.ask_input if asks.ask_cached_input is None else min(asks.ask_cached_input, asks.ask_input)
    return (cost_micro_usd(prompt_tokens - cached, asks.ask_input) + cost_micro_usd(cached, cache_price)
            + cost_micro_usd(completion_tokens, asks.ask_output))


def charge(prompt_tokens: int, cached_tokens: int, completion_tokens: int, asks: Asks) -> Charge:
    """The charge for delivered tokens; `cost == seller_payout + platform_fee` always."""
    if asks.buyer_fee_bps < 0 or asks.seller_fee_bps < 0 or asks.seller_fee_bps > BPS:
        raise ValueError("fee bps must be in 0..10000 (seller) and >= 0 (buyer)")
    base = base_cost(prompt_tokens, cached_tokens, completion_tokens, asks)
    cost = -(-base * (BPS + asks.buyer_fee_bps) // BPS)
    payout = base * (BPS - asks.seller_fee_bps) // BPS
    return Charge(base=base, cost=cost, seller_payout=payout, platform_fee=cost - payout)


def capped(c: Charge, limit: int, asks: Asks) -> Charge:
    """`c` if its cost is within `limit` (micro-USD, >= 0), else the largest charge whose cost fits."""
    if c.cost <= limit:
        return c
    base = max(limit, 0) * BPS // (BPS + asks.buyer_fee_bps)
    cost = -(-base * (BPS + asks.buyer_fee_bps) // BPS)
    payout = base * (BPS - asks.seller_fee_bps) // BPS
    return Charge(base=base, cost=cost, seller_payout=payout, platform_fee=cost - payout)


def buyer_price(ask: int, buyer_fee_bps: int) -> int:
    """What one Mtok at `ask` costs the buyer, fee included (micro-USD per Mtok, rounded up)."""
    return -(-ask * (BPS + buyer_fee_bps) // BPS)


def max_cost(prompt_tokens_bound: int, completion_tokens_cap: int, asks: Asks) -> int:
    """The most a request can cost: every prompt token uncached, every allowed completion token."""
    return charge(prompt_tokens_bound, 0, completion_tokens_cap, asks).cost


def affordable_completion_tokens(available: int, prompt_tokens_bound: int, asks: Asks) -> int:
    """How many completion tokens `available` micro-USD pays for after the prompt (for 402 messages)."""
    lo, hi = 0, 1 << 24
    if max_cost(prompt_tokens_bound, 0, asks) > available:
        return 0
    while lo < hi:  # largest n with max_cost(prompt, n) <= available
        mid = (lo + hi + 1) // 2
        if max_cost(prompt_tokens_bound, mid, asks) <= available:
            lo = mid
        else:
            hi = mid - 1
    return lo
