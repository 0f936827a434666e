"""Ask a proxy to run a probe and wait for its answer (the control-plane half of `wire.probe`).

The request carries the listing as a snapshot would, its upstream key sealed for proxies
(`control_plane.snapshot.seal`); the control plane waits on the reply list one second at a
time up to the probe timeout (+5 s); the request list expires when nothing reads it. No
answer in time is a failed `runner` check: no proxy with Redis is running, or all of them are
busy — the listing stays as it was.
"""

from __future__ import annotations

import time
import uuid

import coredis
import msgspec

from control_plane.snapshot.seal import Sealer
from wire.probe import (
    ProbeCheck,
    ProbeRequest,
    ProbeResult,
    decode_result,
    encode,
    probe_reply_key,
    probe_requests_key,
)
from wire.snapshot import Listing


class ProbeClient:
    def __init__(self, redis: coredis.Redis[bytes], prefix: str, seal_key: bytes, timeout_s: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._seal_key = seal_key
        self._timeout = timeout_s

    async def run(self, run_id: str, listing: Listing, family: str, expect: dict[str, object]) -> ProbeResult:
        """`listing` with its plaintext `upstream_key`; it leaves here sealed."""
        sealed = Sealer(self._seal_key).seal(listing.upstream_key, listing.id, listing.seller_account_id)
        wait = self._timeout + 5.0
        request = ProbeRequest(run_id=run_id, listing=msgspec.structs.replace(listing, upstream_key="",
                                                                               sealed_key=sealed),
                               reply_key=probe_reply_key(self._prefix, f"{run_id}:{uuid.uuid4()}"),
                               family=family, expect=expect, deadline=time.time() + wait)
        queue = probe_requests_key(self._prefix)
        await self._redis.rpush(queue, [encode(request)])
        await self._redis.expire(queue, int(wait * 2) + 1)  # no proxy for that long: stale requests go
        until = time.monotonic() + wait
        while time.monotonic() < until:
            got = await self._redis.blpop([request.reply_key], timeout=1)
            if got is not None:
                try:
                    return decode_result(got[1])
                except msgspec.MsgspecError:
                    break
        return ProbeResult(run_id=run_id, checks=(ProbeCheck(
            name="runner", passed=False,
            detail=f"no proxy ran the probe within {wait:g}s (is a proxy with DF_REDIS_URL running?)"),))
