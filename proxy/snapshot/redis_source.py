"""Snapshots from Redis: the manifest + sections that the control plane publishes.

Loads the latest at start, subscribes to the notify channel, fetches on notice and
swaps atomically; also polls the manifest every `DF_SNAPSHOT_POLL_S` so a lost
notice heals. Fetches only the sections whose versions changed.

Failure mode: while Redis is unreachable the proxy keeps serving its last snapshot,
`/readyz` says `source_reachable: false` with `stale_since`, and the loop retries with
backoff (0.2 s doubling to 5 s). A refused snapshot (bad bytes, inconsistent) is
logged and the previous one stays. A proxy with no snapshot at all answers 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import coredis
import msgspec

from proxy.redis_client import open_redis
from proxy.snapshot.assemble import SectionAssembler
from proxy.snapshot.store import SnapshotStore
from proxy.snapshot.unseal import Unsealer
from wire.publish import Manifest, manifest_key, notify_channel, section_key
from wire.snapshot import SnapshotInconsistent

log = logging.getLogger("dragonfly.proxy.snapshot")
_manifest_decoder = msgspec.msgpack.Decoder(Manifest)
_REDIS_TIMEOUT_S = 5.0
_BIG = 5_000  # sections at once beyond which decoding moves off the event loop thread


class RedisSnapshotSource:
    def __init__(self, url: str, prefix: str, store: SnapshotStore, poll_s: float,
                 unsealer: Unsealer | None = None) -> None:
        self._url = url
        self._prefix = prefix
        self._store = store
        self._poll_s = poll_s
        self._assembler = SectionAssembler(unsealer)
        self._wake = asyncio.Event()
        self._redis: coredis.Redis[bytes] | None = None
        self._stack = contextlib.AsyncExitStack()

    async def _client(self) -> coredis.Redis[bytes]:
        if self._redis is None:
            client: coredis.Redis[bytes] = open_redis(
                self._url, connect_timeout=2.0, stream_timeout=_REDIS_TIMEOUT_S
            )
            self._redis = await self._stack.enter_async_context(client)
        return self._redis

    async def _reset(self) -> None:
        self._redis = None
        with contextlib.suppress(Exception):
            await self._stack.aclose()
        self._stack = contextlib.AsyncExitStack()

    async def sync_once(self) -> bool:
        """Bring the store up to the manifest in Redis. True if a new version was applied."""
        redis = await self._client()
        async with asyncio.timeout(_REDIS_TIMEOUT_S):
            raw = await redis.get(manifest_key(self._prefix))
        self._store.mark_source(True)
        if raw is None:
            return False
        manifest = _manifest_decoder.decode(raw)
        current = self._store.current()
        if current is not None and current.version == manifest.version:
            return False
        wanted = self._assembler.wanted(manifest)
        names = list(wanted)
        fetched: dict[str, bytes] = {}
        if names:
            async with asyncio.timeout(_REDIS_TIMEOUT_S * 4):
                bodies = await redis.mget([section_key(self._prefix, n, wanted[n]) for n in names])
            fetched = {n: b for n, b in zip(names, bodies, strict=True) if b is not None}
        try:
            if sum(len(b) for b in fetched.values()) > _BIG * 100:
                index = await asyncio.to_thread(self._assembler.apply, manifest, fetched)
            else:
                index = self._assembler.apply(manifest, fetched)
        except (msgspec.MsgspecError, SnapshotInconsistent) as exc:
            log.error("snapshot %s refused, keeping %s: %s", manifest.version,
                      current.version if current else None, exc)
            return False
        self._store.swap(index)
        if self._assembler.dropped:
            log.error("snapshot %s: %d listing(s) not routed, their sealed upstream key does not open with "
                      "DF_SEAL_KEYS (add the control plane's new sealing key first): %s", index.version,
                      len(self._assembler.dropped), ", ".join(self._assembler.dropped[:5]))
        log.info("snapshot %s applied from redis (%d sections fetched; %s)", index.version, len(fetched),
                 index.counts)
        return True

    async def load_initial(self) -> None:
        """Try once at start-up so the first request already has a snapshot; never block start."""
        try:
            await self.sync_once()
        except (coredis.exceptions.RedisError, OSError, TimeoutError) as exc:
            self._store.mark_source(False)
            await self._reset()
            log.warning("redis not reachable at start-up (%s); serving 503 until a snapshot loads", exc)

    async def _listen(self) -> None:
        """Wake the sync loop on every notice; reconnect forever with backoff."""
        backoff = 0.2
        while True:
            try:
                redis = await self._client()
                async with redis.pubsub(channels=[notify_channel(self._prefix)],
                                        ignore_subscribe_messages=True) as pubsub:
                    backoff = 0.2
                    self._wake.set()  # catch anything published before we subscribed
                    async for _message in pubsub:
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # background boundary: never die, retry
                log.debug("snapshot notice subscription lost: %s", exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def run(self) -> None:
        listener = asyncio.ensure_future(self._listen())
        backoff = 0.2
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
                self._wake.clear()
                try:
                    await self.sync_once()
                    backoff = 0.2
                except (coredis.exceptions.RedisError, OSError, TimeoutError) as exc:
                    if self._store.stale_since is None:
                        log.warning("redis unreachable (%s); serving the last snapshot", exc)
                    self._store.mark_source(False)
                    await self._reset()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self._reset()
