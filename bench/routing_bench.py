"""Routing cost among N listings of one model: `python bench/routing_bench.py [--listings 1000]`.

Times `rank()` (filters + scores + sort, with live stats for every listing), `refine()` of a
profile by headers, `sticky_first()` on the result and a `RankCache` hit (what a request pays
while its ranking is fresh: building the key and one dict lookup), in-process, best of 5 repeats.
"""

from __future__ import annotations

import argparse
import random
import sys
import timeit
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from proxy.routing.cache import RankCache  # noqa: E402
from proxy.routing.headers import parse_route_headers  # noqa: E402
from proxy.routing.policy import DEFAULT_POLICY, refine  # noqa: E402
from proxy.routing.rank import rank  # noqa: E402
from proxy.routing.stats import Health, StatsBook  # noqa: E402
from proxy.routing.sticky import sticky_first  # noqa: E402
from proxy.snapshot.index import listing_entry  # noqa: E402
from wire.snapshot import Listing  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--listings", type=int, default=1000)
    n = p.parse_args().listings
    rng = random.Random(7)
    listings = tuple(listing_entry(Listing(
        id=f"listing-{i:05d}", seller_account_id="s", provider=f"prov{i % 40}", model="m", upstream_model="m",
        base_url="http://u/v1", ask_input=rng.randint(100_000, 2_000_000), ask_output=rng.randint(300_000, 6_000_000),
        trusted=i % 3 == 0)) for i in range(n))
    book = StatsBook()
    for e in listings:
        book.health[e.id] = Health(ttft_ms=rng.uniform(80, 3000), tps=rng.uniform(10, 200),
                                   error_rate=rng.uniform(0, 0.1), samples=20)
    headers = {b"x-max-price": b"1.50", b"x-provider-ignore": b"prov3,prov4", b"x-session-id": b"sess-1"}
    policy = refine(DEFAULT_POLICY, parse_route_headers(headers))
    cases = {
        "rank, no headers": lambda: rank(listings, DEFAULT_POLICY, book.health, {}, frozenset(), 0.0,
                                         book.unavailable, 0.5),
        "rank, price+ignore headers": lambda: rank(listings, policy, book.health, {}, frozenset(), 0.0,
                                                   book.unavailable, 0.5),
        "parse headers + refine": lambda: refine(DEFAULT_POLICY, parse_route_headers(headers)),
        "sticky_first (all eligible)": lambda: sticky_first(listings, "sess-1"),
        "ranking cache hit (as per request)": lambda: cache.get(
            ("v1", "m", "chat", book.epoch, frozenset(),
             policy if policy.session_id is None else replace(policy, session_id=None)), 0.01),
    }
    cache = RankCache()
    cache.put(("v1", "m", "chat", book.epoch, frozenset(), replace(policy, session_id=None)),
              rank(listings, policy, book.health, {}, frozenset(), 0.0, book.unavailable, 0.5), 0.0)
    print(f"{n} listings of one model, CPython {sys.version.split()[0]}")
    for name, fn in cases.items():
        loops = 200 if n >= 1000 else 2000
        best = min(timeit.repeat(fn, number=loops, repeat=5)) / loops
        print(f"  {name:32s} {best * 1e6:9.1f} µs")


if __name__ == "__main__":
    main()
