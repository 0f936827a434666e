"""Per-IP limits on the unauthenticated auth endpoints (signup, login) and on failed operator
tokens (`admin`: wrong tokens per IP per minute, `DF_ADMIN_FAILS_PER_IP_PER_MIN`).

A fixed one-minute window per (endpoint, IP) counted in Redis (INCR + EXPIRE, one round trip;
these endpoints hash passwords, so the trip is noise), shared by every control-plane worker.
The caller's IP is the peer; when (and only when) the peer is a trusted proxy
(`DF_TRUSTED_PROXIES`, loopback by default: the proxy forwards `/api/*` from there) it is the
LAST value of `X-Forwarded-For` — the one that proxy computed and appended. Values before it
were written by the client and are never believed (the proxy strips them anyway).

Failure mode: when Redis fails or is slow (timeout `DF_REDIS_TIMEOUT_S`), the count falls back
to this worker's memory, so the limit holds per worker rather than not at all.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable

import coredis

from control_plane.errors import TooManyRequests

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_WINDOW_S = 60


def caller_ip(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    def is_trusted(ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in trusted)

    if not forwarded_for or not is_trusted(peer):
        return peer
    last = forwarded_for.rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return peer


class IpLimiter:
    def __init__(self, redis: coredis.Redis[bytes], prefix: str, limits: dict[str, int], timeout_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._limits = limits  # endpoint -> requests per IP per minute
        self._timeout = timeout_s
        self._clock = clock
        self._local: dict[str, int] = {}
        self._local_window = 0

    async def _count(self, key: str, window: int) -> int:
        try:
            async with asyncio.timeout(self._timeout):
                count = int(await self._redis.incr(key))
                if count == 1:
                    await self._redis.expire(key, _WINDOW_S + 5)
                return count
        except (coredis.exceptions.RedisError, OSError, TimeoutError):
            if window != self._local_window:
                self._local, self._local_window = {}, window
            self._local[key] = self._local.get(key, 0) + 1
            return self._local[key]

    async def _peek(self, key: str) -> int:
        try:
            async with asyncio.timeout(self._timeout):
                raw = await self._redis.get(key)
            return int(raw or 0)
        except (coredis.exceptions.RedisError, OSError, TimeoutError):
            return self._local.get(key, 0)

    async def refuse_if_spent(self, endpoint: str, ip: str) -> None:
        """429 when `ip` already spent this minute's allowance of `endpoint` (counts nothing)."""
        limit = self._limits.get(endpoint)
        if not limit:
            return
        now = self._clock()
        window = int(now // _WINDOW_S)
        if await self._peek(f"{self._prefix}iplimit:{endpoint}:{ip}:{window}") >= limit:
            wait = (window + 1) * _WINDOW_S - now
            raise TooManyRequests(
                f"too many {endpoint} attempts from {ip}: at most {limit} per minute; retry after {wait:.0f}s", wait)

    async def check(self, endpoint: str, ip: str) -> None:
        """Count one call of `endpoint` from `ip`; 429 once the minute's allowance is spent."""
        limit = self._limits.get(endpoint)
        if not limit:
            return
        now = self._clock()
        window = int(now // _WINDOW_S)
        count = await self._count(f"{self._prefix}iplimit:{endpoint}:{ip}:{window}", window)
        if count > limit:
            wait = (window + 1) * _WINDOW_S - now
            raise TooManyRequests(
                f"too many {endpoint} attempts from {ip}: at most {limit} per minute; retry after {wait:.0f}s", wait)
