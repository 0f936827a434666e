"""The control plane's side of the Redis credit view (`wire.billing`): it writes what PostgreSQL
knows, the proxies reserve and settle against it.

- After a credit or an operator adjustment commits (top-up, admin credit, signup, debit, refund),
  `push(account)` raises the account's `credit` and settled `spent` to PostgreSQL's totals
  (set-to-max: a late or repeated push never lowers them).
- `run()` checks every `interval_s` that `{p}bill:ready` exists; when Redis lost its data it
  rebuilds every account's `credit`/`spent` and every key's current-month `spent` from the
  ledger (set-to-max again), then sets `ready`. Until then proxies admit only against their
  local offline allowance. What a rebuild cannot know: holds in flight and charges of events
  not yet settled at the moment of the loss — the stated overspend bound of a Redis loss.
  After a rebuild it calls `on_rebuilt` (the composition root republishes the snapshot, which
  the lost Redis held too, at once rather than at the next periodic resync).
- Every `reconcile_s` it re-pushes every account's credit and settled spend, set-to-max (heals
  a push lost to a Redis blip, and the charges a crashed proxy worker never reported).

Failure modes: Redis unreachable -> logged, retried next tick; nothing here is on a request path
except `push`, which never raises (the periodic reconcile covers a failed push).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg
import coredis

from wire.billing import account_key, key_month_key, month_of, ready_key

log = logging.getLogger("control_plane.billing")

_SET_MAX = """
for i = 1, #KEYS do
  local f1, v1 = ARGV[4 * i - 3], tonumber(ARGV[4 * i - 2])
  local f2, v2 = ARGV[4 * i - 1], tonumber(ARGV[4 * i])
  if v1 > tonumber(redis.call('HGET', KEYS[i], f1) or '0') then redis.call('HSET', KEYS[i], f1, v1) end
  if f2 ~= '' and v2 > tonumber(redis.call('HGET', KEYS[i], f2) or '0') then redis.call('HSET', KEYS[i], f2, v2) end
end
return #KEYS
"""


class CreditState:
    def __init__(self, redis: coredis.Redis[bytes], pool: asyncpg.Pool, prefix: str, *,
                 interval_s: float = 0.5, reconcile_s: float = 30.0,
                 on_rebuilt: Callable[[], None] | None = None) -> None:
        self._redis = redis
        self._on_rebuilt = on_rebuilt
        self._pool = pool
        self._prefix = prefix
        self._interval_s = interval_s
        self._reconcile_s = reconcile_s
        self._script = redis.register_script(_SET_MAX)
        self.rebuilds = 0

    async def _set_max(self, keys: list[str], args: list[str | int]) -> None:
        for i in range(0, len(keys), 500):
            await self._script(keys=keys[i:i + 500], args=args[4 * i:4 * (i + 500)])

    async def push(self, account_id: str) -> None:
        try:
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow("SELECT credited, credited - balance AS spent FROM ledger_balances"
                                          " WHERE book = 'buyer' AND account_id = $1", account_id)
            if row is not None:  # spent too: an operator debit raises it (set-to-max, like the reconcile)
                await self._set_max([account_key(self._prefix, account_id)],
                                    ["credit", int(row["credited"]), "spent", int(row["spent"])])
        except Exception as exc:  # a lost push is healed by the periodic reconcile
            log.warning("credit push for %s failed: %s", account_id, exc)

    async def rebuild(self, *, full: bool) -> int:
        """Write PostgreSQL's figures into Redis (set-to-max); `full` also restores spend and `ready`."""
        month = month_of(time.time())
        async with self._pool.acquire() as conn:
            accounts = await conn.fetch(
                "SELECT account_id::text AS id, credited, credited - balance AS spent FROM ledger_balances"
                " WHERE book = 'buyer'")
            keys = await conn.fetch("SELECT key_id, spent FROM key_spend WHERE month = $1", month) if full else []
        keys_out = [account_key(self._prefix, r["id"]) for r in accounts]
        args: list[str | int] = []
        for r in accounts:
            args += ["credit", int(r["credited"]), "spent", int(r["spent"])]
        keys_out += [key_month_key(self._prefix, r["key_id"], month) for r in keys]
        for r in keys:
            args += ["spent", int(r["spent"]), "", 0]
        await self._set_max(keys_out, args)
        if full:
            await self._redis.set(ready_key(self._prefix), str(int(time.time())))
            self.rebuilds += 1
        return len(keys_out)

    async def run(self) -> None:
        last_reconcile = time.monotonic()
        while True:
            try:
                if not await self._redis.exists([ready_key(self._prefix)]):
                    n = await self.rebuild(full=True)
                    log.info("billing state rebuilt in redis from postgresql (%d hashes)", n)
                    if self._on_rebuilt is not None:
                        self._on_rebuilt()
                    last_reconcile = time.monotonic()
                elif time.monotonic() - last_reconcile > self._reconcile_s:
                    await self.rebuild(full=False)
                    last_reconcile = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # background boundary
                log.warning("billing state check failed: %s", exc)
            await asyncio.sleep(self._interval_s)
