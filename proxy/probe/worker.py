"""Background: take admission probes off Redis, run them, hand the results back (`wire.probe`).

Every proxy worker with a Redis runs one loop: BLPOP the probe list (1 s at a time), open the
listing's sealed key with this proxy's DF_SEAL_KEYS, run the probe (`proxy.probe.runner`) and
RPUSH the result onto the request's reply key (with a TTL). A request past its deadline (the
control plane stopped waiting) is dropped; a key this proxy cannot open is a failed `auth`
check naming that cause. At most `concurrency` probes run at once per worker. Never on the
buyer path: probes use the shared upstream client but no buyer, billing or limits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

import coredis
import msgspec

from proxy.probe.runner import run_probe
from proxy.snapshot.unseal import Unsealer
from proxy.upstream.client import UpstreamClient
from wire.probe import REPLY_TTL_S, ProbeCheck, ProbeRequest, ProbeResult, decode_request, encode, probe_requests_key

log = logging.getLogger("dragonfly.proxy.probe")


class ProbeWorker:
    def __init__(self, url: str, prefix: str, upstream: UpstreamClient, unsealer: Unsealer, timeout_s: float,
                 concurrency: int = 4) -> None:
        self._url = url
        self._key = probe_requests_key(prefix)
        self._upstream = upstream
        self._unsealer = unsealer
        self._timeout = timeout_s
        self._slots = asyncio.Semaphore(concurrency)
        self._name = f"{os.getpid()}@{socket.gethostname()}"
        self._running: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        client: coredis.Redis[bytes] = coredis.Redis.from_url(self._url, decode_responses=False,
                                                               connect_timeout=2.0, stream_timeout=5.0)
        async with client:
            while True:
                await self._slots.acquire()
                try:
                    popped = await client.blpop([self._key], timeout=1)
                except (coredis.exceptions.RedisError, OSError, TimeoutError) as exc:
                    self._slots.release()
                    log.debug("probe queue unreadable: %s", exc)
                    await asyncio.sleep(1.0)
                    continue
                if popped is None:
                    self._slots.release()
                    continue
                task = asyncio.create_task(self._one(client, popped[1]))  # noqa: TID251
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    async def _one(self, client: coredis.Redis[bytes], body: bytes) -> None:
        try:
            try:
                request = decode_request(body)
            except msgspec.MsgspecError:
                log.warning("dropped an unreadable probe request")
                return
            if request.deadline and time.time() > request.deadline:
                return
            result = await self._result(request)
            async with asyncio.timeout(5.0):
                await client.rpush(request.reply_key, [encode(result)])
                await client.expire(request.reply_key, REPLY_TTL_S)
        except (coredis.exceptions.RedisError, OSError, TimeoutError) as exc:
            log.warning("probe result not delivered: %s", exc)
        except Exception:
            log.exception("probe crashed")
        finally:
            self._slots.release()

    async def _result(self, request: ProbeRequest) -> ProbeResult:
        listing = self._unsealer.open_listing(request.listing)
        if listing is None:
            return ProbeResult(run_id=request.run_id, runner=self._name, checks=(ProbeCheck(
                name="auth", passed=False, detail="this proxy cannot open the sealed upstream key (DF_SEAL_KEYS)"),))
        return await run_probe(self._upstream, request, listing, self._timeout, self._name)
