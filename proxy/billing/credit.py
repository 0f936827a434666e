"""The billing Redis client holder and the settle-side script of offline-admitted requests.

Reservations no longer touch Redis per request: they come out of this worker's credit leases
(`proxy.billing.leases`, synced by `proxy.billing.lease_sync`), and the charges of requests
admitted online reach Redis's `spent` through the lease rounds. A usage event of such a
request is a plain XADD. A request admitted on the offline allowance (Redis unreachable) had
no lease: its charge is added to the account's and key-month's `spent` when its event is
shipped, once per request id (`{p}bill:f:{request}`, SET NX), in the same script as the XADD.

Failure modes: Redis errors and timeouts (`DF_BILLING_REDIS_TIMEOUT_S`) propagate to the
shipper, which spools the batch to disk and replays it.
"""

from __future__ import annotations

import coredis

from wire.billing import account_key, key_month_key, usage_stream

_FINISH_OFFLINE = """
if redis.call('SET', KEYS[4], '1', 'NX', 'EX', 604800) then
  redis.call('HINCRBY', KEYS[1], 'spent', ARGV[1])
  redis.call('HINCRBY', KEYS[2], 'spent', ARGV[1])
end
redis.call('XADD', KEYS[3], '*', 'e', ARGV[2])
return 1
"""


class CreditUnavailable(Exception):
    """Redis could not answer the reservation in time."""


class RedisCredit:
    """Holds the current client; the shipper's task owns its life cycle (`bind`, and a fresh client
    when `broken` is set: a coredis client does not recover from a restarted server)."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self.stream = usage_stream(prefix)
        self._client: coredis.Redis[bytes] | None = None
        self.broken = False

    def bind(self, redis: coredis.Redis[bytes] | None) -> None:
        self._client = redis
        self.broken = False
        if redis is not None:
            self.finish_script = redis.register_script(_FINISH_OFFLINE)

    @property
    def connected(self) -> bool:
        return self._client is not None and not self.broken

    @property
    def redis(self) -> coredis.Redis[bytes]:
        if self._client is None:
            raise CreditUnavailable("no redis client yet")
        return self._client

    async def ping(self) -> None:
        """Reachable, and the finish script loaded (a restarted Redis has an empty script cache)."""
        await self.redis.ping()
        await self.redis.script_load(_FINISH_OFFLINE)

    def finish_call(self, request_id: str, account_id: str, key_id: str, month: int, cost: int,
                    event: bytes) -> tuple[list[str], list[str | int | bytes]]:
        """The offline settle script's keys and args for one event."""
        p = self._prefix
        keys = [account_key(p, account_id), key_month_key(p, key_id, month), self.stream, f"{p}bill:f:{request_id}"]
        return keys, [cost, event]
