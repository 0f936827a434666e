"""The debounced rebuild loop: change notices in, published snapshots out.

`mark_changed()` (called by the PostgreSQL LISTEN callback, and once at start-up) wakes
the loop; it waits for `debounce` of quiet (at most `max_delay` after the first notice in
a burst), reads the rows, builds, checks and publishes. A change that lands during a
rebuild triggers another. A periodic resync rebuilds anyway (lost notices heal).

Failure mode: if PostgreSQL or Redis fails, the change stays pending and the loop retries
with backoff (0.2 s doubling to 5 s); the last published snapshot stays in Redis and
proxies keep serving it. `last_error` and `version` feed /readyz.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from control_plane.metrics import ControlPlaneMetrics
from control_plane.snapshot.builder import BuildResult
from control_plane.snapshot.redis_store import PublishResult
from wire.snapshot import Snapshot

log = logging.getLogger("control_plane.snapshot")


class SnapshotPublisher:
    def __init__(
        self,
        *,
        build: Callable[[], Awaitable[BuildResult]],
        publish: Callable[[Snapshot], Awaitable[PublishResult]],
        debounce_s: float,
        max_delay_s: float,
        resync_s: float,
        metrics: ControlPlaneMetrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._build = build
        self._publish = publish
        self._debounce_s = debounce_s
        self._max_delay_s = max_delay_s
        self._resync_s = resync_s
        self._wake = asyncio.Event()
        self.version = ""
        self.last_error = ""
        self.publishes = 0

    def mark_changed(self) -> None:
        self._wake.set()

    async def _quiet(self) -> None:
        """Wait until no notice came for `debounce_s`, or `max_delay_s` passed."""
        deadline = time.monotonic() + self._max_delay_s
        while True:
            self._wake.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(self._debounce_s, remaining))
            except TimeoutError:
                return

    async def publish_once(self) -> PublishResult:
        started = time.perf_counter()
        result = await self._build()
        built = time.perf_counter()
        for listing_id, reason in result.skipped:
            log.info("listing %s not routed: %s", listing_id, reason)
        published = await self._publish(result.snapshot)
        self.version = published.version
        self.last_error = ""
        m = self._metrics
        if m is not None:
            m.build.observe(built - started)
            m.publish.observe(time.perf_counter() - built)
            m.publishes.labels("changed" if published.changed else "unchanged").inc()
            m.published_at.set(time.time())
            m.market(result.snapshot)
            if published.changed:
                m.snapshot_bytes.set(published.bytes_written)
        if published.changed:
            self.publishes += 1
            log.info(
                "snapshot %s published: %d keys, %d listings, %d sections (%d bytes) in %.1f ms",
                published.version,
                len(result.snapshot.keys),
                len(result.snapshot.listings),
                published.sections_written,
                published.bytes_written,
                (time.perf_counter() - started) * 1000,
            )
        return published

    async def run(self) -> None:
        """Run until cancelled."""
        backoff = 0.2
        self._wake.set()  # publish once at start-up
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._resync_s)
            except TimeoutError:
                pass
            await self._quiet()
            try:
                await self.publish_once()
                backoff = 0.2
            except Exception as exc:  # background-task boundary: keep the loop alive, retry
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                if self._metrics is not None:
                    self._metrics.publishes.labels("failed").inc()
                log.error("snapshot publish failed (%s); retrying in %.1fs", self.last_error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._wake.set()
