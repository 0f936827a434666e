"""Reservations against the Redis credit view (`wire.billing`), one atomic Lua call each.

`reserve` holds a request's maximum cost against the account's available credit
(credit - spent - held) and, if the key has a monthly budget, against the key's remaining
budget (budget - spent - held) — both or neither. `finish_args` builds the call that turns a
hold into the actual charge and appends the usage event to the stream, atomically.

Overspend bound (tested): while Redis is up, the sum of holds never exceeds what is available,
and a request's charge never exceeds its hold (billed tokens are capped at the reserved
bounds), so spend <= credit and <= budget exactly. Two exceptions, both stated in the README:
requests admitted on the offline allowance while Redis is unreachable (at most
DF_OFFLINE_ALLOWANCE_MICRO_USD per account per proxy process), and a Redis data loss (the holds
in flight and unsettled charges at that moment, until the control plane rebuilds the view).

Failure modes: Redis errors and timeouts (`DF_BILLING_REDIS_TIMEOUT_S`) raise `CreditUnavailable`;
the caller then uses the offline allowance.
"""

from __future__ import annotations

from typing import Any

import coredis

from wire.billing import account_key, hold_key, key_month_key, pending_key, ready_key, usage_stream

RESERVED, NO_CREDIT, NO_BUDGET, NOT_READY = 1, 0, -2, -1

_RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
local a = redis.call('HMGET', KEYS[2], 'credit', 'spent', 'held')
local avail = tonumber(a[1] or '0') - tonumber(a[2] or '0') - tonumber(a[3] or '0')
local amount = tonumber(ARGV[1])
if avail < amount then return {0, avail} end
local budget = tonumber(ARGV[2])
if budget >= 0 then
  local k = redis.call('HMGET', KEYS[3], 'spent', 'held')
  local left = budget - tonumber(k[1] or '0') - tonumber(k[2] or '0')
  if left < amount then return {-2, left} end
  redis.call('HINCRBY', KEYS[3], 'held', amount)
end
redis.call('HINCRBY', KEYS[2], 'held', amount)
redis.call('SET', KEYS[4], ARGV[1] .. '|' .. (budget >= 0 and '1' or '0'), 'EX', ARGV[3])
redis.call('SET', KEYS[5], ARGV[4], 'EX', ARGV[5])
return {1, avail}
"""

_FINISH = """
local h = redis.call('GET', KEYS[1])
local apply = false
if h then
  redis.call('DEL', KEYS[1])
  local amount, budgeted = string.match(h, '^(%d+)|(%d)$')
  redis.call('HINCRBY', KEYS[2], 'held', -tonumber(amount))
  if budgeted == '1' then redis.call('HINCRBY', KEYS[3], 'held', -tonumber(amount)) end
  apply = true
elseif ARGV[3] == '1' then
  apply = redis.call('SET', KEYS[5], '1', 'NX', 'EX', 604800) ~= false
end
if apply then
  redis.call('HINCRBY', KEYS[2], 'spent', ARGV[1])
  redis.call('HINCRBY', KEYS[3], 'spent', ARGV[1])
end
redis.call('XADD', KEYS[4], '*', 'e', ARGV[2])
return apply and 1 or 0
"""


class CreditUnavailable(Exception):
    """Redis could not answer the reservation in time."""


class RedisCredit:
    """Holds the current client; the shipper's task owns its life cycle (`bind`, and a fresh client
    when `broken` is set: a coredis client does not recover from a restarted server)."""

    def __init__(self, prefix: str, hold_ttl_s: int, pending_ttl_s: int = 3600) -> None:
        self._prefix = prefix
        self._hold_ttl = hold_ttl_s
        self._pending_ttl = pending_ttl_s
        self._client: coredis.Redis[bytes] | None = None
        self.broken = False

    def bind(self, redis: coredis.Redis[bytes] | None) -> None:
        self._client = redis
        self.broken = False
        if redis is not None:
            self._reserve = redis.register_script(_RESERVE)
            self.finish_script = redis.register_script(_FINISH)

    @property
    def connected(self) -> bool:
        return self._client is not None and not self.broken

    @property
    def redis(self) -> coredis.Redis[bytes]:
        if self._client is None:
            raise CreditUnavailable("no redis client yet")
        return self._client

    async def reserve(self, request_id: str, account_id: str, key_id: str, month: int, amount: int,
                      budget: int | None) -> tuple[int, int]:
        """(outcome, available): RESERVED, NO_CREDIT (available credit), NO_BUDGET (budget left), NOT_READY."""
        p = self._prefix
        if self._client is None:
            raise CreditUnavailable("no redis client")
        try:
            result: Any = await self._reserve(
                keys=[ready_key(p), account_key(p, account_id), key_month_key(p, key_id, month),
                      hold_key(p, request_id), pending_key(p, request_id)],
                args=[amount, -1 if budget is None else budget, self._hold_ttl, account_id, self._pending_ttl],
            )
        except (coredis.exceptions.RedisError, OSError, TimeoutError, RuntimeError) as exc:
            self.broken = True
            raise CreditUnavailable(str(exc)) from None
        return int(result[0]), int(result[1])

    async def ping(self) -> None:
        """Reachable, and the finish script loaded (a restarted Redis has an empty script cache)."""
        await self.redis.ping()
        await self.redis.script_load(_FINISH)

    def finish_call(self, request_id: str, account_id: str, key_id: str, month: int, cost: int, event: bytes,
                    offline: bool) -> tuple[list[str], list[str | int | bytes]]:
        p = self._prefix
        keys = [hold_key(p, request_id), account_key(p, account_id), key_month_key(p, key_id, month),
                usage_stream(p), f"{p}bill:f:{request_id}"]
        return keys, [cost, event, 1 if offline else 0]
