"""The effective routing policy of one request: the key's profile refined by headers (pure).

Headers refine, never loosen: a hard ceiling is the minimum of profile and header, a hard
floor the maximum, `X-Provider-Only` intersects the profile's list (an empty intersection
routes nowhere, on purpose), ignores add up, and trusted-only from either side holds.
Soft targets and provider order from a header replace the profile's.

Strategies are weight presets (price, latency, throughput, reliability); `custom` takes
the profile's own weights (0..100, missing ones 0) — see `WEIGHTS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.routing.headers import RouteHeaders
from wire.snapshot import DEFAULT_FALLBACK_ON, FallbackOn, Profile

WEIGHTS: dict[str, tuple[float, float, float, float]] = {
    "cost-first": (1.0, 0.05, 0.0, 0.1),
    "balanced": (1.0, 0.5, 0.2, 1.0),
    "reliability-first": (0.3, 0.5, 0.2, 3.0),
    "quality-first": (0.2, 1.0, 0.6, 2.0),
}


@dataclass(frozen=True, slots=True)
class Policy:
    strategy: str = "balanced"
    weights: tuple[float, float, float, float] = WEIGHTS["balanced"]
    max_price_input: int | None = None  # hard, micro-USD per Mtok the buyer can be charged (`ListingEntry`)
    max_price_output: int | None = None
    hard_max_ttft_ms: int | None = None
    hard_min_tps: int | None = None
    soft_max_ttft_ms: int | None = None
    soft_min_tps: int | None = None
    trusted_only: bool = False
    provider_only: frozenset[str] | None = None  # None = any provider
    provider_ignore: frozenset[str] = frozenset()
    provider_order: tuple[str, ...] = ()
    max_attempts: int = 3
    fallback_on: frozenset[FallbackOn] = frozenset(DEFAULT_FALLBACK_ON)
    deadline_ms: int = 0  # 0 = the proxy's default
    hedge_ttft_ms: int | None = None
    session_id: str | None = None


DEFAULT_POLICY = Policy()


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def profile_policy(profile: Profile | None) -> Policy:
    """The policy of a profile alone (computed once per snapshot and cached by the caller)."""
    if profile is None:
        return DEFAULT_POLICY
    if profile.strategy == "custom":
        weights = tuple(float(w or 0) / 100 for w in (profile.weight_price, profile.weight_latency,
                                                       profile.weight_throughput, profile.weight_reliability))
        if not any(weights):
            weights = WEIGHTS["balanced"]
    else:
        weights = WEIGHTS[profile.strategy]
    return Policy(
        strategy=profile.strategy,
        weights=(weights[0], weights[1], weights[2], weights[3]),
        max_price_input=profile.max_price_input,
        max_price_output=profile.max_price_output,
        hard_max_ttft_ms=profile.hard_max_ttft_ms,
        hard_min_tps=profile.hard_min_throughput_tps,
        soft_max_ttft_ms=profile.max_ttft_ms,
        soft_min_tps=profile.min_throughput_tps,
        trusted_only=profile.privacy_mode == "trusted_only",
        provider_only=frozenset(profile.provider_only) if profile.provider_only else None,
        provider_ignore=frozenset(profile.provider_ignore),
        provider_order=profile.provider_order,
        max_attempts=max(1, profile.max_attempts) if profile.fallback_enabled else 1,
        fallback_on=frozenset(profile.fallback_on),
        deadline_ms=profile.deadline_ms,
        hedge_ttft_ms=profile.hedge_ttft_ms,
    )


def refine(base: Policy, h: RouteHeaders) -> Policy:
    """`base` tightened by the request headers."""
    only = base.provider_only
    if h.provider_only:
        only = h.provider_only if only is None else only & h.provider_only
    return Policy(
        strategy=base.strategy,
        weights=base.weights,
        max_price_input=_min(base.max_price_input, h.max_price),
        max_price_output=base.max_price_output,
        hard_max_ttft_ms=_min(base.hard_max_ttft_ms, h.hard_max_ttft_ms),
        hard_min_tps=_max(base.hard_min_tps, h.hard_min_tps),
        soft_max_ttft_ms=h.max_ttft_ms if h.max_ttft_ms is not None else base.soft_max_ttft_ms,
        soft_min_tps=h.min_tps if h.min_tps is not None else base.soft_min_tps,
        trusted_only=base.trusted_only or h.trusted_only,
        provider_only=only,
        provider_ignore=base.provider_ignore | h.provider_ignore,
        provider_order=h.provider_order or base.provider_order,
        max_attempts=base.max_attempts,
        fallback_on=base.fallback_on,
        deadline_ms=base.deadline_ms,
        hedge_ttft_ms=base.hedge_ttft_ms,
        session_id=h.session_id,
    )
