"""The global limit algorithm, end to end through the real Lua script on the real Redis.

Several Limiter instances (the workers of several proxies) share one Redis; the test drives
their clock and shifts Redis's clock to match (the script's clock offset), so minutes pass in
milliseconds. Property: with any interleaving of bursts, spends after a grant (within the lease
TTL), refunds and idle hand-backs, no rolling 60 s window ever admits more than the limit.
"""

from __future__ import annotations

import asyncio
import secrets
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.limits import lease as L
from proxy.limits.limiter import Limiter
from proxy.limits.redis_sync import RedisLimitSync
from tests.support import redisdb
from tests.unit.proxy.limits.test_window import max_in_any_window

WINDOW = 60.0
TTL = 0.25


class Cluster:
    def __init__(self, url: str, workers: int) -> None:
        self.now = 1000.0
        prefix = f"{redisdb.new_prefix()}{secrets.token_hex(3)}:"
        self.limiters = [Limiter(WINDOW, 1.0, 1, standalone=False, clock=lambda: self.now, lease_ttl_s=TTL)
                         for _ in range(workers)]
        self.syncs = [RedisLimitSync(url, prefix, lim, 0.02, 5.0) for lim in self.limiters]
        self.spends: list[tuple[float, float]] = []

    async def round(self, i: int) -> None:
        sync = self.syncs[i]
        sync._clock_offset = self.now - time.time()  # Redis's clock reads the test's clock
        await sync.sync_once()

    async def requests(self, i: int, key: str, limit: int, costs: list[float]) -> list[tuple[list[tuple[str, float]], float]]:
        """Requests arriving at one worker at once: admitted from its grants, else after one round."""
        lease = self.limiters[i].view(key, limit)
        admitted, waiting = [], []
        for cost in costs:
            verdict = L.decide(lease, cost, self.now, self.now)
            if verdict == L.ADMITTED:
                admitted.append((list(lease.taken), cost))
            elif verdict == L.WAIT:
                L.ask(lease, cost)
                waiting.append(cost)
        if waiting:
            since = self.now
            await self.round(i)
            for cost in waiting:
                if L.decide(lease, cost, self.now, since) == L.ADMITTED:
                    admitted.append((list(lease.taken), cost))
        return admitted

    async def close(self) -> None:
        for sync in self.syncs:
            await sync._redis.reset()


STEP = st.tuples(st.integers(0, 2), st.sampled_from([0.0, 0.0, 0.01, 0.1, 0.2, 3.0, 20.0, 59.0]),
                 st.integers(0, 6), st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(STEP, min_size=1, max_size=40), st.integers(1, 12))
def test_no_rolling_window_admits_more_than_the_limit_across_workers(redis_url: str, steps: list[tuple[int, float, int, bool]],
                                                                       limit: int) -> None:
    async def run() -> list[tuple[float, float]]:
        cluster = Cluster(redis_url, 3)
        try:
            for worker, dt, n, sync_too in steps:
                cluster.now += dt
                for _taken, cost in await cluster.requests(worker, "a:acct:r", limit, [1.0] * n):
                    cluster.spends.append((cluster.now, cost))
                if sync_too:  # a background round: idle grants go back, headroom is asked
                    await cluster.round(worker)
            return cluster.spends
        finally:
            await cluster.close()

    spends = asyncio.run(run())
    assert max_in_any_window(spends, WINDOW) <= limit


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.1, 5.0, 30.0]), st.integers(1, 900),
                          st.integers(0, 900)), min_size=1, max_size=30))
def test_token_windows_hold_with_refunds(redis_url: str, steps: list[tuple[int, float, int, int]]) -> None:
    """Reservations corrected down by real usage: the final charges of any window stay <= the limit."""
    limit = 2000

    async def run() -> list[tuple[float, float]]:
        cluster = Cluster(redis_url, 2)
        spends: list[tuple[float, float]] = []
        try:
            for worker, dt, cost, used in steps:
                cluster.now += dt
                for taken, got in await cluster.requests(worker, "a:acct:t", limit, [float(cost)]):
                    final = min(used, got)
                    L.refund(cluster.limiters[worker].view("a:acct:t", limit), taken, got - final)
                    spends.append((cluster.now, float(final)))
                await cluster.round(worker)
            return spends
        finally:
            await cluster.close()

    assert max_in_any_window(asyncio.run(run()), WINDOW) <= limit


def test_ten_at_once_across_workers_then_the_next_a_window_after(redis_url: str) -> None:
    async def run() -> None:
        cluster = Cluster(redis_url, 2)
        try:
            a = await cluster.requests(0, "a:free:r", 10, [1.0] * 20)
            b = await cluster.requests(1, "a:free:r", 10, [1.0] * 20)
            assert len(a) + len(b) == 10
            cluster.now += 30
            assert await cluster.requests(1, "a:free:r", 10, [1.0]) == []
            lease = cluster.limiters[1].view("a:free:r", 10)
            assert 30 < lease.next_free - cluster.now <= 30 + TTL + 0.1  # Retry-After names when it frees (+ real ms)
            cluster.now += 30 + TTL + 0.1
            assert len(await cluster.requests(1, "a:free:r", 10, [1.0] * 3)) == 3  # a window after the first
        finally:
            await cluster.close()

    asyncio.run(run())
