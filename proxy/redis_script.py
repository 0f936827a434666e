"""One Lua script on one Redis connection, for the proxy's background sync loops.

Connects on first use (with the caller's connect and stream timeouts), registers the script
once, and `reset()` drops the connection after a failure so the next round reconnects — a
coredis client does not recover by itself once Redis has restarted. Used by the rate-limit
sync (`proxy.limits.redis_sync`) and the credit-lease sync (`proxy.billing.lease_sync`).
"""

from __future__ import annotations

import contextlib

import coredis

from proxy.redis_client import open_redis


class ScriptClient:
    __slots__ = ("_url", "_timeout", "_lua", "_script", "_stack")

    def __init__(self, url: str, timeout_s: float, lua: str) -> None:
        self._url = url
        self._timeout = timeout_s
        self._lua = lua
        self._script: coredis.commands.Script[bytes] | None = None
        self._stack = contextlib.AsyncExitStack()

    async def script(self) -> coredis.commands.Script[bytes]:
        if self._script is None:
            client: coredis.Redis[bytes] = open_redis(
                self._url, connect_timeout=self._timeout, stream_timeout=self._timeout)
            redis = await self._stack.enter_async_context(client)
            self._script = redis.register_script(self._lua)
        return self._script

    async def reset(self) -> None:
        self._script = None
        with contextlib.suppress(Exception):
            await self._stack.aclose()
        self._stack = contextlib.AsyncExitStack()
