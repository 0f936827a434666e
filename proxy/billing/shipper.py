"""Ship usage events to Redis off the hot path, in batches; spool them to disk when Redis is away.

`submit` only appends to an in-memory buffer. A background task flushes every
`DF_USAGE_FLUSH_MS` (or at once when `batch` events wait): one pipelined round trip XADDs them as
one stream entry (offline-admitted ones one by one through the script that also adds their
charge, `proxy.billing.credit`). If that fails the
batch goes to the disk spool (fsynced) and is replayed, spool first, once Redis answers again.

Crash loss, stated: none when the process is killed. Every admission and every event is also
written to the in-flight journal (`proxy.billing.journal`) before it matters; the next process
adopts a dead one's journal and spool at start-up (`recover`) and replays them, so the
buffered events are shipped and the requests cut in flight settle as failed (uncharged;
their reservations return when the worker's leases lapse with its heartbeat). A machine
crash loses what the page cache held of the journal.
Redis data loss: each flush pipeline also does `SET {prefix}usage:w:{worker} 1 GET` (and an idle
shipper once a second): when the mark this process wrote is gone, Redis lost its data, with it
any events it held unsettled, so the shipper sends its journal's recent ended events again
(plain XADD: settlement is idempotent by request id; an offline event's charge reaches Redis
through the control plane's reconcile). Bound: events older than the journal's previous
segment (at least 4 MiB of journal, ~3,000 requests) that were unsettled when Redis lost them.
Failure modes: Redis errors -> spool; spool full -> `accepting` turns False (the pipeline
answers 503 to paid requests); disk errors are logged and the batch kept in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable

import coredis

from proxy.billing.credit import RedisCredit
from proxy.billing.journal import InflightJournal
from proxy.billing.spool import Spool, SpoolFull
from wire.usage import UsageEvent, charge_of, decode_event, encode_batch, encode_event

log = logging.getLogger("dragonfly.proxy.billing")
_MARK_TTL_S = 7 * 86400
_CHECK_S = 1.0  # an idle shipper checks its mark this often
_REDIS_ERRORS = (coredis.exceptions.RedisError, OSError, TimeoutError, RuntimeError)


class UsageShipper:
    def __init__(self, credit: RedisCredit, spool: Spool, flush_s: float, connect: Callable[[], coredis.Redis[bytes]],
                 batch: int = 256, journal: InflightJournal | None = None) -> None:
        self._credit = credit
        self._journal = journal
        self._adopted = False  # `recover` found spool or journal files to replay
        self._connect = connect
        self._spool = spool
        self._flush_s = flush_s
        self._batch = batch
        self._buffer: list[bytes] = []
        self._wake = asyncio.Event()
        self.redis_up = True
        self.shipped = 0
        self.spooled = 0
        self.reshipped = 0
        self._mark = f"{credit.stream}:w:{os.getpid()}-{os.urandom(4).hex()}"
        self._marked = False  # this process's mark is (should be) in Redis
        self._resend_due = False
        self._checked = 0.0

    @property
    def accepting(self) -> bool:
        return not self._spool.full

    @property
    def backlog(self) -> int:
        return len(self._buffer) + (1 if self._spool.size else 0)

    def recover(self) -> None:
        """At start-up, before serving: adopt what stopped processes left (journal and spool files);
        the first flush replays it."""
        if self._journal is not None:
            self._journal.adopt(self._spool)
            self._journal.start()
        self._adopted = True

    def admitted(self, event: UsageEvent) -> None:
        """A request was admitted: `event` is what it settles as if this process dies first."""
        if self._journal is not None:
            self._journal.admitted(event)

    def submit(self, event: UsageEvent) -> None:
        raw = encode_event(event)
        self._buffer.append(raw)
        if self._journal is not None:
            self._journal.ended(event.request_id, raw)
        if len(self._buffer) >= self._batch:
            self._wake.set()

    async def _send(self, records: list[bytes]) -> None:
        """One pipelined round trip per 1,000 events: the events admitted on a lease as ONE stream
        entry (their charges reach `spent` through the lease round), each offline-admitted one
        through the script that also adds its charge (`proxy.billing.credit`)."""
        credit = self._credit
        script, redis, stream = credit.finish_script, credit.redis, credit.stream
        for i in range(0, len(records), 1000):
            online: list[bytes] = []
            async with redis.pipeline(transaction=False) as pipe:
                seen = pipe.set(self._mark, b"1", ex=_MARK_TTL_S, get=True)
                for raw in records[i:i + 1000]:
                    ev = decode_event(raw)
                    if not ev.offline:
                        online.append(raw)
                        continue
                    keys, args = credit.finish_call(ev.request_id, ev.account_id, ev.key_id, ev.month,
                                                    charge_of(ev).cost, raw)
                    script(keys=keys, args=args, client=pipe)
                if online:
                    pipe.xadd(stream, {b"b": encode_batch(online)})
            await self._after_mark(await seen)

    async def _after_mark(self, previous: object) -> None:
        """`previous`: what SET ... GET found. Gone after this process wrote it: Redis lost its data."""
        self._checked = time.monotonic()
        if previous is None and self._marked:
            self._resend_due = True  # kept until the resend went through (the mark is back already)
        self._marked = True
        if self._resend_due:
            records = self._journal.ended_records() if self._journal is not None else []
            log.warning("redis lost its data: sending the last %d usage events again", len(records))
            redis, stream = self._credit.redis, self._credit.stream
            for i in range(0, len(records), 1000):
                await redis.xadd(stream, {b"b": encode_batch(records[i:i + 1000])})
            self._resend_due = False
            self.reshipped += len(records)

    async def _check_mark(self) -> None:
        idle_s = time.monotonic() - self._checked
        if not self._marked or not self.redis_up or (idle_s < _CHECK_S and not self._resend_due):
            return
        try:
            await self._after_mark(await self._credit.redis.set(self._mark, b"1", ex=_MARK_TTL_S, get=True))
        except _REDIS_ERRORS as exc:
            log.warning("usage mark check failed (%s); reconnecting", exc)
            self.redis_up = False

    async def flush(self) -> None:
        if self._spool.size or not self.redis_up or self._adopted:
            await self._replay()
        if not self._buffer:
            await self._check_mark()
            return
        records, self._buffer = self._buffer, []
        if self.redis_up:
            try:
                await self._send(records)
                self.shipped += len(records)
                self._delivered()
                return
            except _REDIS_ERRORS as exc:
                log.warning("usage events to spool: redis unreachable (%s)", exc)
                self.redis_up = False
        try:
            self._spool.append(records)
            self.spooled += len(records)
            self._delivered()
        except (SpoolFull, OSError) as exc:
            log.error("usage spool refused %d events (%s); keeping them in memory", len(records), exc)
            self._buffer[:0] = records

    def _delivered(self) -> None:
        if self._journal is not None and not self._buffer:
            self._journal.delivered()

    async def flush_to_spool(self) -> None:
        """At shutdown (after the shipper task stopped): what is still buffered goes to disk, then
        the journal keeps only the admissions still open (none after a graceful drain)."""
        if self._buffer:
            self._spool.append(self._buffer)
            self._buffer = []
        if self._journal is not None:
            self._journal.close()

    async def _replay(self) -> None:
        records, files = self._spool.drain()
        if not records and not files:
            self.redis_up = True
            self._adopted = False
            return
        try:
            await self._credit.ping()
            await self._send(records)
        except _REDIS_ERRORS as exc:
            log.warning("usage replay failed (%s: %s); retrying", type(exc).__name__, exc)
            self.redis_up = False
            return
        self._spool.clear(files)
        self.redis_up = True
        self._adopted = False
        self.shipped += len(records)
        log.info("replayed %d spooled usage events", len(records))

    async def run(self) -> None:
        """Own the Redis client (entered and left in this task) and flush forever."""
        stack = contextlib.AsyncExitStack()
        try:
            while True:
                if not self._credit.connected or not self.redis_up:
                    stack = await self._reconnect(stack)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._flush_s if self.redis_up else 0.5)
                self._wake.clear()
                try:
                    await self.flush()
                except asyncio.CancelledError:
                    raise
                except Exception:  # background boundary: never die
                    log.exception("usage flush failed")
                    await asyncio.sleep(0.5)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.flush(), timeout=2.0)  # last hand-over (spools on failure)
            self._credit.bind(None)
            with contextlib.suppress(Exception):
                await stack.aclose()

    async def _reconnect(self, stack: contextlib.AsyncExitStack) -> contextlib.AsyncExitStack:
        if self._credit.connected and self.redis_up:
            return stack
        self._credit.bind(None)
        with contextlib.suppress(Exception):
            await stack.aclose()
        stack = contextlib.AsyncExitStack()
        try:
            self._credit.bind(await stack.enter_async_context(self._connect()))
        except _REDIS_ERRORS as exc:
            log.debug("billing redis connect failed: %s", exc)
        return stack
