"""The settlement consumer: usage events from the Redis stream into PostgreSQL.

A consumer group (`settle`) on `{prefix}usage`; each control-plane process is one consumer,
under a name that survives restarts (`control_plane.billing.consumer_name`), so a restarted
process settles its own pending entries first, at once. The group is created when missing
(first start, or a Redis that lost its data) and an existing one is used as it is.
A stream entry holds one event or a proxy's batch (`wire.usage`); a read of up to `batch`
entries is settled in one transaction, then acknowledged and deleted
from the stream; a crash between commit and XACK redelivers the batch, and settlement is
idempotent by request id, so nothing is billed twice. Events left pending by a dead consumer
are claimed after `claim_idle_ms`. `stop()` (graceful shutdown) ends the loop after the batch in
hand is committed and acknowledged.

Failure modes: Redis down -> retry with backoff (proxies spool meanwhile); PostgreSQL down ->
nothing is acknowledged, the batch is retried; an event that cannot be settled on its own (a
malformed or impossible event) goes to `{prefix}usage:dead` with the error, is logged and
acknowledged, so one bad event never blocks the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import coredis
import msgspec

from control_plane.billing.settle import settle_event
from control_plane.metrics import ControlPlaneMetrics
from wire.billing import usage_stream
from wire.pricing import Charge
from wire.usage import UsageEvent, decode_batch, decode_event, uncapped_charge_of

log = logging.getLogger("control_plane.billing")
GROUP = "settle"
Entry = tuple[bytes, bytes]  # (stream id, encoded event)


class SettlementStats:
    def __init__(self) -> None:
        self.settled = 0
        self.replayed = 0
        self.dead = 0
        self.last_batch_at = 0.0


class UsageConsumer:
    def __init__(self, redis: coredis.Redis[bytes], pool: asyncpg.Pool, prefix: str, name: str, *,
                 batch: int = 500, block_ms: int = 500, claim_idle_ms: int = 30_000,
                 metrics: ControlPlaneMetrics | None = None) -> None:
        self._metrics = metrics
        self._redis = redis
        self._pool = pool
        self._stream = usage_stream(prefix)
        self._dead = self._stream + ":dead"
        self._name = name
        self._batch = batch
        self._entries = max(1, batch // 20)  # entries per read: a proxy's entry may carry hundreds of events
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._stopping = asyncio.Event()
        self.stats = SettlementStats()

    @property
    def name(self) -> str:
        return self._name

    def stop(self) -> None:
        """Finish the batch in hand (commit + ack), then return from `run`."""
        self._stopping.set()

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, GROUP, "0", mkstream=True)
        except coredis.exceptions.StreamDuplicateConsumerGroupError:
            return  # the group exists (every start after the first)
        except coredis.exceptions.RedisError as exc:
            if "BUSYGROUP" not in str(exc) and "already exists" not in str(exc):
                raise

    async def _read(self, start: str) -> list[Entry]:
        got = await self._redis.xreadgroup(GROUP, self._name, {self._stream: start}, count=self._entries,
                                           block=self._block_ms if start == ">" else None)
        out: list[Entry] = []
        for entries in (got or {}).values():
            for entry in entries:
                out += _events(entry.identifier, entry.field_values)
        return out

    async def _claim(self) -> list[Entry]:
        result = await self._redis.xautoclaim(self._stream, GROUP, self._name, self._claim_idle_ms, "0-0",
                                              count=self._entries)
        entries = result[1] if len(result) > 1 else ()
        out: list[Entry] = []
        for e in entries:
            if not isinstance(e, bytes | str):
                out += _events(e.identifier, e.field_values)
        return out

    async def settle_batch(self, entries: Sequence[Entry]) -> None:
        events: list[tuple[bytes, UsageEvent | None, str]] = []
        for ident, raw in entries:
            try:
                events.append((ident, decode_event(raw), ""))
            except msgspec.MsgspecError as exc:
                events.append((ident, None, f"undecodable: {exc}"))
        try:
            done: list[tuple[UsageEvent, Charge | None]] = []
            async with self._pool.acquire() as conn, conn.transaction():
                for _, ev, _ in events:
                    if ev is not None:
                        done.append((ev, await settle_event(conn, ev)))
            for ev, charge in done:  # committed: count them
                self._count(ev, charge)
        except (asyncpg.PostgresError, ValueError) as exc:
            if isinstance(exc, asyncpg.exceptions.PostgresConnectionError | asyncpg.InterfaceError):
                raise
            log.warning("batch of %d failed (%s); settling one by one", len(events), exc)
            events = await self._one_by_one(events)
        dead = [(ident, reason) for ident, _, reason in events if reason]
        for ident, reason in dead:
            await self._redis.xadd(self._dead, {b"id": ident, b"error": reason.encode()[:500]})
            self.stats.dead += 1
            if self._metrics is not None:
                self._metrics.events.labels("dead").inc()
            log.error("usage event %s could not be settled: %s", ident.decode(), reason)
        ids = list(dict.fromkeys(ident for ident, _, _ in events))
        if ids:
            await self._redis.xack(self._stream, GROUP, ids)
            await self._redis.xdel(self._stream, ids)
        self.stats.last_batch_at = time.time()
        if self._metrics is not None:
            self._metrics.last_batch.set(self.stats.last_batch_at)

    async def _one_by_one(self, events: list[tuple[bytes, UsageEvent | None, str]]
                          ) -> list[tuple[bytes, UsageEvent | None, str]]:
        out: list[tuple[bytes, UsageEvent | None, str]] = []
        for ident, ev, reason in events:
            if ev is not None:
                try:
                    async with self._pool.acquire() as conn, conn.transaction():
                        charge = await settle_event(conn, ev)
                    self._count(ev, charge)
                except (asyncpg.exceptions.DataError, asyncpg.exceptions.IntegrityConstraintViolationError,
                        ValueError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
            out.append((ident, ev, reason))
        return out

    def _count(self, ev: UsageEvent, charge: Charge | None) -> None:
        if self._metrics is not None:
            self._metrics.settled(ev, charge, uncapped_charge_of(ev).cost)
        if charge is not None:
            self.stats.settled += 1
        else:
            self.stats.replayed += 1

    async def run(self) -> None:
        """Until `stop()`: own pending first, then new events, then claimed ones. Never dies on I/O errors."""
        backoff = 0.2
        ready = False
        while not self._stopping.is_set():
            try:
                if not ready:
                    await self._ensure_group()
                    while not self._stopping.is_set() and (entries := await self._read("0")):
                        await self.settle_batch(entries)
                    ready = True
                entries = await self._read(">")
                if not entries:
                    entries = await self._claim()
                if entries:
                    await self.settle_batch(entries)
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # background boundary: log, back off, retry
                log.warning("settlement paused (%s: %s); retrying in %.1fs", type(exc).__name__, exc, backoff)
                ready = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                backoff = min(backoff * 2, 5.0)


def _events(identifier: bytes | str, fields: Mapping[Any, Any]) -> list[Entry]:
    """The events of one stream entry: field `e` (one event) or `b` (a batch, `wire.usage`)."""
    ident = _b(identifier)
    batch = fields.get(b"b")
    if batch is not None:
        return [(ident, raw) for raw in decode_batch(_b(batch))] or [(ident, b"")]
    return [(ident, _b(fields.get(b"e", b"")))]


def _b(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
