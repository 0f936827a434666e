"""The credit-lease round: this worker's leases against the Redis credit view, in the background.

Each round (every `DF_BILLING_SYNC_MS`, or at once when a request waits for credit) sends ONE
script call (`proxy.billing.lease_script`) with the worker's heartbeat and every lease that
has something to say: charges to add to `spent`, credit to give back, credit to ask for.
Requests never wait on Redis beyond `DF_BILLING_WAIT_MS` (`proxy.billing.leases`).

Failure mode: every call has a timeout (`DF_BILLING_REDIS_TIMEOUT_S`); on an error the client
is dropped and rebuilt at the next round (a coredis client does not recover from a restarted
server), reports are re-sent with their sequence number (applied once), and the book goes
offline: requests spend what their leases still hold, then the offline allowance. Rounds are
retried every 0.5 s while Redis is away.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

import coredis

from proxy.billing.lease_script import LUA
from proxy.billing.leases import CreditBook
from proxy.redis_script import ScriptClient
from wire.billing import ready_key

log = logging.getLogger("dragonfly.proxy.billing")
_HEARTBEAT_S = 1.0
_HEARTBEAT_TTL_MS = 10_000  # a worker silent this long loses its leases (others may use the credit)
_RETRY_S = 0.5


class LeaseSync:
    def __init__(self, url: str, prefix: str, book: CreditBook, interval_s: float, timeout_s: float) -> None:
        self._prefix = prefix
        self._book = book
        self._interval = interval_s
        self._timeout = timeout_s
        self.worker = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.rounds = 0
        self.failures = 0
        self._redis = ScriptClient(url, timeout_s, LUA)

    async def sync_once(self, heartbeat: bool = True) -> bool:
        """One round; True if Redis was called. Raises on Redis failures (after telling the book)."""
        book = self._book
        ops = book.collect()
        if not ops and not heartbeat:
            return False
        p = self._prefix
        keys = [ready_key(p), f"{p}bill:workers", *(op.lease.redis_key for op in ops)]
        args: list[str | int] = [self.worker, _HEARTBEAT_TTL_MS]
        for op in ops:
            args += [op.lease.limit, op.report, op.seq, op.floor, op.want]
        try:
            async with asyncio.timeout(self._timeout):
                script = await self._redis.script()
                raw: list[int] = await script(keys=keys, args=args)
        except BaseException:
            book.fail(ops)
            raise
        book.apply(ops, [int(v) for v in raw])
        self.rounds += 1
        return True

    async def run(self) -> None:
        last = 0.0
        try:
            while True:
                await self._book.wait_for_demand(self._interval if self._book.online else _RETRY_S)
                now = time.monotonic()
                try:
                    if await self.sync_once(heartbeat=now - last >= _HEARTBEAT_S or not self._book.online):
                        last = now
                except (coredis.exceptions.RedisError, OSError, TimeoutError, RuntimeError) as exc:
                    self.failures += 1
                    if self.failures == 1 or self.failures % 100 == 0:
                        log.warning("credit lease round failed (%s: %s); offline allowance meanwhile",
                                    type(exc).__name__, exc)
                    await self._redis.reset()
                else:
                    self.failures = 0
        finally:
            await self._redis.reset()
