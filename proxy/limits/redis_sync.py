"""The limit sync: this worker's leases against the global buckets in Redis, in the background.

Each round (every `DF_LIMITS_SYNC_MS`, or at once when a request waits for tokens) sends one
script call (`proxy.limits.script`) with the worker's heartbeat and every key that needs
tokens, hands back idle grants and refunds, or owes a debt. Requests never wait on Redis: at most
`DF_LIMITS_WAIT_MS` for a round, then their lease falls back to its local share.

Failure mode: every call has a timeout (`DF_LIMITS_REDIS_TIMEOUT_MS`); after 3 failures in a
row the circuit breaker opens and the limiter goes degraded: every key is limited locally at
limit / n per window, n = the replicas that heartbeated last (at least
`DF_LIMITS_MIN_REPLICAS`), starting from this worker's share of the last known usage (fail open
to the share, never to unlimited). `/readyz` says `limits.mode: "degraded"` and `gateway_ratelimit_degraded` is 1.
The breaker probes again after 0.5 s (doubling to 5 s); on success the limiter leaves degraded
mode, charges Redis with what it admitted locally (at most one limit per key) and resyncs.
A slow Redis costs requests nothing: they are answered from local state meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

import coredis

from proxy.limits.breaker import Breaker
from proxy.limits.limiter import Limiter
from proxy.limits.script import LUA
from proxy.redis_script import ScriptClient

log = logging.getLogger("dragonfly.proxy.limits")
_HEARTBEAT_S = 1.0  # a round at least this often, even with nothing to sync
_HEARTBEAT_TTL_MS = 5000  # a worker silent this long no longer counts as a replica


class RedisLimitSync:
    def __init__(self, url: str, prefix: str, limiter: Limiter, interval_s: float, timeout_s: float,
                 clock_offset_s: float = 0.0) -> None:
        self._clock_offset = clock_offset_s  # added to Redis's clock (tests only)
        self._tag = f"{prefix}{{rl}}:"  # on a Cluster the prefix is the hash tag (wire.redis_target)
        self._limiter = limiter
        self._interval = interval_s
        self._timeout = timeout_s
        self._worker = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.breaker = Breaker()
        self.rounds = 0
        self.failures = 0
        self._redis = ScriptClient(url, timeout_s, LUA)

    async def sync_once(self, heartbeat: bool = True) -> bool:
        """One round: heartbeat + the keys that need it (none and no heartbeat due: no call).
        True if Redis was called. Raises on any Redis failure."""
        limiter = self._limiter
        ops = [] if limiter.degraded else limiter.collect()
        if not ops and not heartbeat:
            return False
        keys = [self._tag + "replicas"]
        args: list[str | int | float] = [self._worker, _HEARTBEAT_TTL_MS, self._clock_offset]
        for op in ops:
            name = self._tag + "w:" + op.key  # "w:": not the token buckets' keys (a rolling deploy shares Redis)
            keys += [name, name + ":a", name + ":h"]
            args += [op.kind, op.limit, op.span, op.want, op.give, op.debt, op.entry, op.extra, op.probe, op.held]
        async with asyncio.timeout(self._timeout):
            script = await self._redis.script()
            raw: list[bytes] = await script(keys=keys, args=args)
        values = [float(v) for v in raw]
        self.breaker.success()
        if limiter.degraded:
            log.warning("redis reachable again: rate limits resync (leaving degraded mode)")
            limiter.set_degraded(False)
        limiter.apply(ops, values[1:], int(values[0]))
        limiter.recover_strays()
        self.rounds += 1
        return True

    async def run(self) -> None:
        last = 0.0
        try:
            while True:
                await self._limiter.wait_for_demand(self._interval)
                now = time.monotonic()
                if not self.breaker.allow(now):
                    continue
                try:
                    if await self.sync_once(heartbeat=now - last >= _HEARTBEAT_S or self._limiter.degraded):
                        last = now
                except (coredis.exceptions.RedisError, OSError, TimeoutError) as exc:
                    self.failures += 1
                    self.breaker.failure(time.monotonic())
                    await self._redis.reset()
                    if self.breaker.is_open and not self._limiter.degraded:
                        log.warning("redis unreachable for rate limits (%r): local limits at limit / %d",
                                    exc, self._limiter.replicas)
                        self._limiter.set_degraded(True)
                    self._limiter.round_done()
        finally:
            await self._redis.reset()
