"""Per-IP limit on unauthenticated traffic (pure; local to this worker).

Every failed authentication charges the caller's IP one token; once its bucket is empty the
IP's failures are answered 429 with Retry-After instead of 401 (the flood is told to back off
and costs a hash and a dict lookup). Valid keys never touch it, from any IP.
At most `max_ips` buckets are kept (oldest dropped first).
"""

from __future__ import annotations

from proxy.limits.bucket import Bucket, full, level, wait_s


class IpGuard:
    __slots__ = ("per_minute", "max_ips", "_buckets")

    def __init__(self, per_minute: int, max_ips: int = 100_000) -> None:
        self.per_minute = per_minute
        self.max_ips = max_ips
        self._buckets: dict[str, Bucket] = {}

    def retry_after(self, ip: str, now: float) -> float:
        """0 if the IP may try to authenticate; else seconds until it may."""
        bucket = self._buckets.get(ip)
        if bucket is None:
            return 0.0
        tokens = level(bucket, now)
        return 0.0 if tokens >= 1 else max(wait_s(tokens, 1, bucket.rate), 0.001)

    def charge(self, ip: str, now: float) -> None:
        bucket = self._buckets.get(ip)
        if bucket is None:
            if len(self._buckets) >= self.max_ips:
                del self._buckets[next(iter(self._buckets))]
            bucket = self._buckets[ip] = full(self.per_minute, self.per_minute / 60.0, now)
        level(bucket, now)
        bucket.tokens -= 1
