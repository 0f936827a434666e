"""Filter and rank a model's listings for one request (pure: no I/O, no clock, no RNG).

`rank()` applies the hard filters of the policy (price ceilings, providers, privacy,
hard TTFT/throughput limits on known figures, ejection, seller caps) and orders the rest
by a weighted score, lowest first:

    score = w_price·(price / cheapest) + w_latency·min(10, ttft / max(50 ms, fastest))
          + w_throughput·min(10, best tps / tps) + w_reliability·(20 × error rate)
          + 1 per missed soft target (X-Max-TTFT-Ms, X-Min-Throughput-TPS)

`price` is the blended price (3 × input + output, per Mtok). Every price routing compares
(ranking, X-Max-Price, the profile's max input/output price) is what the buyer can actually be
charged (`ListingEntry.ask_input` / `ask_output`): the costlier of `ask_input` and
`ask_cached_input`, buyer fee of the listing's fee profile included. Listings without figures get
neutral ones (1.25 × the best known TTFT, tps / 1.25, 2 % errors). `X-Provider-Order`
puts the named providers first, in that order. Ties break on listing id, so the order is
a function of the inputs. With `rand < explore_rate` (the caller draws `rand`) one
listing with no figures at all is moved to the front: a bounded exploration rate.

Every listing not returned as a candidate is in `excluded` with a reason code;
`explain()` turns those into the 503 message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from proxy.routing.policy import Policy
from proxy.routing.stats import Health
from proxy.snapshot.index import ListingEntry
from wire.money import micros_to_usd
from wire.snapshot import ListingStats

EXPLORE_RATE = 0.02
TTFT_FLOOR_MS = 50.0  # below this, TTFT differences do not matter to ranking
RATIO_CAP = 10.0  # a latency/throughput ratio counts at most this much
PRICE = "price_input"
PRICE_OUT = "price_output"
PROVIDER_ONLY = "provider_only"
PROVIDER_IGNORED = "provider_ignored"
UNTRUSTED = "untrusted"
HARD_TTFT = "hard_ttft"
HARD_TPS = "hard_tps"
EJECTED = "ejected"
CAPPED = "capped"


@dataclass(frozen=True, slots=True)
class Ranking:
    candidates: tuple[ListingEntry, ...]
    excluded: tuple[tuple[str, str], ...]  # (listing id, reason code)
    scores: tuple[float, ...] = ()


def rank(listings: tuple[ListingEntry, ...], policy: Policy, local: dict[str, Health],
         prior: dict[str, ListingStats], capped: frozenset[str], now: float,
         unavailable: Callable[[Health, float], bool], rand: float = 1.0,
         explore_rate: float = EXPLORE_RATE) -> Ranking:
    max_in, max_out = policy.max_price_input, policy.max_price_output
    only, ignore, trusted_only = policy.provider_only, policy.provider_ignore, policy.trusted_only
    hard_ttft, hard_tps = policy.hard_max_ttft_ms, policy.hard_min_tps
    excluded: list[tuple[str, str]] = []
    kept: list[tuple[ListingEntry, float, float, float, int]] = []  # entry, ttft, tps, err, samples
    static = max_in is not None or max_out is not None or only is not None or bool(ignore) or trusted_only
    for e in listings:
        lid = e.id
        if static and _static_reason(e, max_in, max_out, only, ignore, trusted_only, excluded):
            continue
        if capped and lid in capped:
            excluded.append((lid, CAPPED))
            continue
        h = local.get(lid)
        if h is not None and h.ejected_until and unavailable(h, now):
            excluded.append((lid, EJECTED))
            continue
        if h is not None and h.samples:
            ttft, tps, err, n = h.ttft_ms, h.tps, h.error_rate, h.samples
        else:
            p = prior.get(lid)
            ttft, tps, err, n = (p.ttft_ms, p.tps, p.error_rate, p.samples) if p is not None else (0.0, 0.0, 0.0, 0)
        if n:
            if hard_ttft is not None and ttft > hard_ttft:
                excluded.append((lid, HARD_TTFT))
                continue
            if hard_tps is not None and 0.0 < tps < hard_tps:
                excluded.append((lid, HARD_TPS))
                continue
        kept.append((e, ttft, tps, err, n))
    if not kept:
        return Ranking(candidates=(), excluded=tuple(excluded))
    return _order(kept, policy, tuple(excluded), rand, explore_rate)


def _static_reason(e: ListingEntry, max_in: int | None, max_out: int | None, only: frozenset[str] | None,
                   ignore: frozenset[str], trusted_only: bool, excluded: list[tuple[str, str]]) -> bool:
    """The snapshot-only filters; appends the reason and returns True when `e` is out."""
    if max_in is not None and e.ask_input > max_in:
        excluded.append((e.id, PRICE))
    elif max_out is not None and e.ask_output > max_out:
        excluded.append((e.id, PRICE_OUT))
    elif only is not None and e.provider not in only:
        excluded.append((e.id, PROVIDER_ONLY))
    elif e.provider in ignore:
        excluded.append((e.id, PROVIDER_IGNORED))
    elif trusted_only and not e.trusted:
        excluded.append((e.id, UNTRUSTED))
    else:
        return False
    return True


def _order(kept: list[tuple[ListingEntry, float, float, float, int]], policy: Policy,
           excluded: tuple[tuple[str, str], ...], rand: float, explore_rate: float) -> Ranking:
    wp, wl, wt, wr = policy.weights
    pmin = max(1, min(k[0].price for k in kept))
    known_ttft = [k[1] for k in kept if k[4] and k[1] > 0.0]
    known_tps = [k[2] for k in kept if k[4] and k[2] > 0.0]
    tref = max(TTFT_FLOOR_MS, min(known_ttft)) if known_ttft else 1000.0
    sref = max(known_tps) if known_tps else 50.0
    soft_ttft, soft_tps = policy.soft_max_ttft_ms, policy.soft_min_tps
    order = {p: i for i, p in enumerate(policy.provider_order)}
    last = len(order)
    keyed: list[tuple[int, float, str, int]] = []
    hi_ttft, lo_tps = tref * RATIO_CAP, sref / RATIO_CAP
    for i, (e, ttft, tps, err, n) in enumerate(kept):
        if not n:
            ttft, tps, err = tref * 1.25, sref / 1.25, 0.02
        if ttft <= 0.0:
            ttft = tref * 1.25
        if tps <= 0.0:
            tps = sref / 1.25
        score = (wp * e.price / pmin + wl * (hi_ttft if ttft > hi_ttft else ttft) / tref
                 + wt * sref / (lo_tps if tps < lo_tps else tps) + wr * 20.0 * err)
        if soft_ttft is not None and ttft > soft_ttft:
            score += 1.0
        if soft_tps is not None and tps < soft_tps:
            score += 1.0
        keyed.append((order.get(e.provider, last) if order else 0, score, e.id, i))
    keyed.sort()  # tuples compare in C: provider order, score, listing id (unique)
    candidates = [kept[k[3]][0] for k in keyed]
    scores = [k[1] for k in keyed]
    if rand < explore_rate:
        fresh = [i for i, k in enumerate(kept) if not k[4]]
        if fresh:
            pick = kept[fresh[int(rand / explore_rate * len(fresh)) % len(fresh)]][0]
            i = candidates.index(pick)
            candidates.insert(0, candidates.pop(i))
            scores.insert(0, scores.pop(i))
    return Ranking(candidates=tuple(candidates), excluded=excluded, scores=tuple(scores))


def _phrase(code: str, n: int, policy: Policy) -> str:
    if code == PRICE:
        limit = micros_to_usd(policy.max_price_input or 0)
        return f"{n} above the max input price {limit} (X-Max-Price or profile)"
    if code == PRICE_OUT:
        return f"{n} above the profile's max output price {micros_to_usd(policy.max_price_output or 0)}"
    return {
        PROVIDER_ONLY: f"{n} from providers outside X-Provider-Only/profile list",
        PROVIDER_IGNORED: f"{n} from ignored providers (X-Provider-Ignore/profile)",
        UNTRUSTED: f"{n} from providers not flagged trusted (X-Privacy-Mode: trusted_only)",
        HARD_TTFT: f"{n} slower than the hard TTFT limit {policy.hard_max_ttft_ms} ms",
        HARD_TPS: f"{n} below the hard throughput floor {policy.hard_min_tps} tokens/s",
        EJECTED: f"{n} ejected after upstream errors",
        CAPPED: f"{n} at their seller's capacity cap",
    }.get(code, f"{n} excluded ({code})")


def explain(model: str, total: int, excluded: tuple[tuple[str, str], ...], policy: Policy) -> str:
    """The 503 reason: '3 listings for m; 2 above the max input price 0.30 …, 1 ejected …'."""
    if total == 0:
        return f"No seller is currently offering '{model}': 0 active listings. Retry later or choose another model."
    counts = Counter(code for _, code in excluded)
    parts = "; ".join(_phrase(code, n, policy) for code, n in sorted(counts.items(), key=lambda c: (-c[1], c[0])))
    noun = "listing" if total == 1 else "listings"
    return f"No eligible listing: {total} {noun} for {model}; {parts}. Relax the constraints or retry later."
