"""Market simulation: `python bench/market_sim.py [--requests 5000] [--seed 1]`.

20 simulated sellers of one model with hidden truth — blended price, a log-normal TTFT
(median 150–1500 ms; three have a slow tail: 10 % of requests 6× slower) and a failure
rate (0–25 %; a failure is seen after 300 ms). Requests go through the REAL routing core
(`rank`, `StatsBook` with ejection, fallback to 3 attempts like the pipeline) on simulated
time (one request every 40 ms), so the stats are learnt from traffic. Strategies:
cost-first, balanced, reliability-first, balanced + hedging (second seller after 600 ms),
an oracle that knows the hidden truth (cheapest sellers with failure ≤ 2 %, by price,
same fallback) and random choice (same fallback). The buyer pays only the attempt that
answered. Prints buyer cost (mean blended price paid, relative to the oracle), p50/p99
TTFT and the share of requests that failed after every attempt.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from proxy.routing.policy import WEIGHTS, Policy  # noqa: E402
from proxy.routing.rank import rank  # noqa: E402
from proxy.routing.stats import StatsBook  # noqa: E402
from proxy.snapshot.index import ListingEntry, listing_entry  # noqa: E402
from wire.snapshot import Listing  # noqa: E402

FAIL_AFTER_MS = 300.0
ATTEMPTS = 3


@dataclass(frozen=True)
class Seller:
    entry: ListingEntry
    median_ms: float
    tail: bool
    fail: float

    def draw(self, rng: random.Random) -> tuple[bool, float]:
        """(ok, ms until the first byte or the failure)."""
        if rng.random() < self.fail:
            return False, FAIL_AFTER_MS
        ms = self.median_ms * math.exp(rng.gauss(0, 0.35))
        if self.tail and rng.random() < 0.10:
            ms *= 6
        return True, ms


def market(rng: random.Random) -> list[Seller]:
    out = []
    for i in range(20):
        price_in = rng.randint(100_000, 1_000_000)
        out.append(Seller(
            entry=listing_entry(Listing(id=f"seller-{i:02d}", seller_account_id="s", provider=f"p{i}", model="m",
                                        upstream_model="m", base_url="http://u/v1", ask_input=price_in,
                                        ask_output=price_in * 3)),
            median_ms=rng.uniform(150, 1500), tail=i % 7 == 3, fail=rng.choice([0.0, 0.01, 0.02, 0.05, 0.1, 0.25])))
    return out


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def simulate(sellers: list[Seller], strategy: str, n: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    now = [0.0]
    book = StatsBook(clock=lambda: now[0])
    by_id = {s.entry.id: s for s in sellers}
    entries = tuple(s.entry for s in sellers)
    hedge_ms = 600.0 if strategy == "hedging" else None
    weights = WEIGHTS["balanced" if strategy == "hedging" else strategy] if strategy in WEIGHTS or \
        strategy == "hedging" else WEIGHTS["balanced"]
    policy = Policy(weights=weights)
    oracle = tuple(s.entry for s in sorted(sellers, key=lambda s: (s.fail > 0.02, s.entry.price)))
    costs, ttfts, failed = [], [], 0
    for _ in range(n):
        now[0] += 0.04
        if strategy == "oracle":
            cands = oracle
        elif strategy == "random":
            cands = tuple(rng.sample(entries, len(entries)))
        else:
            cands = rank(entries, policy, book.health, {}, frozenset(), now[0], book.unavailable, rng.random()).candidates
        cands = cands[:ATTEMPTS]
        elapsed, done = 0.0, False
        i = 0
        while i < len(cands) and not done:
            first = by_id[cands[i].id]
            ok, ms = first.draw(rng)
            book.took(first.entry.id, now[0])
            if hedge_ms is not None and i + 1 < len(cands) and ms > hedge_ms:
                second = by_id[cands[i + 1].id]
                ok2, ms2 = second.draw(rng)
                ms2 += hedge_ms
                races = sorted([(ms if ok else math.inf, first, ok, ms), (ms2 if ok2 else math.inf, second, ok2, ms2)],
                               key=lambda r: r[0])
                for _, s, o, t in races:
                    (book.record_success(s.entry.id, t) if o else
                     book.record_failure(s.entry.id, (e.id for e in entries)))
                win = races[0]
                if win[2]:
                    elapsed += win[3]
                    costs.append(win[1].entry.price)
                    done = True
                else:
                    elapsed += max(ms, ms2)
                    i += 2
                continue
            if ok:
                book.record_success(first.entry.id, ms)
                elapsed += ms
                costs.append(first.entry.price)
                done = True
            else:
                book.record_failure(first.entry.id, (e.id for e in entries))
                elapsed += ms
                i += 1
        if done:
            ttfts.append(elapsed)
        else:
            failed += 1
    return {"cost": sum(costs) / max(1, len(costs)), "p50": pct(ttfts, 0.5), "p99": pct(ttfts, 0.99),
            "fail": failed / n}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    sellers = market(random.Random(args.seed))
    results = {s: simulate(sellers, s, args.requests, args.seed + 1)
               for s in ("oracle", "cost-first", "balanced", "reliability-first", "hedging", "random")}
    base = results["oracle"]["cost"]
    best_single = min(s.fail for s in sellers)
    print(f"{args.requests} requests, 20 sellers (seed {args.seed}); best single seller's failure rate "
          f"{best_single:.1%}; cheapest seller with failure <= 2 %: oracle")
    print("| strategy | buyer cost (vs oracle) | p50 TTFT ms | p99 TTFT ms | failed requests |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['cost'] / base:.3f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['fail']:.2%} |")


if __name__ == "__main__":
    main()
