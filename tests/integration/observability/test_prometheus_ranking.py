"""DF_STATS_SOURCE=prometheus: the control plane asks a real Prometheus (which scraped the loaded
proxy) for TTFT and throughput quantiles per listing and ships them in the snapshot; a proxy that
has only ever served the slow, cheaper listing moves its traffic to the fast one."""

from __future__ import annotations

import asyncio

import httpx

from tests.integration.observability.conftest import Loaded, chat
from tests.support import redisdb
from tests.support.billing_stack import until
from wire.snapshot import ListingStats


def published_stats(loaded: Loaded) -> dict[str, ListingStats]:
    async def read() -> dict[str, ListingStats]:
        async with redisdb.connect(loaded.stack.redis_url) as redis:
            snap = await redisdb.read_snapshot(redis, loaded.stack.prefix)
        return {s.listing_id: s for s in (snap.stats if snap else ())}

    return asyncio.run(read())


def test_prometheus_figures_move_traffic_off_a_slow_listing(loaded: Loaded) -> None:
    assert loaded.before == loaded.slow  # no figures anywhere yet: the cheaper listing came first
    ttft = {r["metric"]["listing"]: float(r["value"][1]) for r in loaded.prom.query(  # type: ignore[index]
        "histogram_quantile(0.5, sum by (listing, le) (rate(gateway_ttft_seconds_bucket[1m])))")}
    assert ttft[loaded.slow] > 0.25 > ttft[loaded.fast], ttft

    def shipped() -> bool:  # the Redis reports are not read: these figures can only come from Prometheus
        stats = published_stats(loaded)
        return {loaded.slow, loaded.fast} <= set(stats) and stats[loaded.slow].ttft_ms > stats[loaded.fast].ttft_ms

    until(shipped, 30)
    stats = published_stats(loaded)
    assert stats[loaded.slow].ttft_ms >= 250 and stats[loaded.slow].tps > 0, stats  # TTFT in ms, a throughput
    chosen = []
    for _ in range(6):  # a new connection each: both workers of the idle proxy, neither has tried `fast`
        with httpx.Client(base_url=loaded.stack.proxies[1].url, timeout=20) as idle:
            r = chat(idle, loaded.key, fake={"chunks": 4})
            assert r.status_code == 200, r.text
            chosen.append(r.headers["x-df-market-listing-id"])
    assert set(chosen) == {loaded.fast}, chosen
