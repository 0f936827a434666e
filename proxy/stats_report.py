"""Background: this worker's live listing stats to Redis, for the control plane to aggregate.

Every `DF_STATS_REPORT_S` seconds (never per request) the worker writes its `StatsReport`
as one field of the hash `wire.stats.reports_key(prefix)` (field = pid@host) and sets a
TTL on the hash, so a dead fleet's figures expire. A failed write is logged at debug and
retried at the next tick: stats are advisory, the hot path never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

import coredis

from proxy.redis_client import open_redis
from proxy.routing.stats import StatsBook
from wire.stats import REPORT_MAX_AGE_S, StatsReport, encode_report, reports_key

log = logging.getLogger("dragonfly.proxy.stats")


class StatsReporter:
    def __init__(self, url: str, prefix: str, book: StatsBook, every_s: float) -> None:
        self._url = url
        self._key = reports_key(prefix)
        self._book = book
        self._every = every_s
        self._worker = f"{os.getpid()}@{socket.gethostname()}"

    def report(self) -> StatsReport:
        return StatsReport(worker=self._worker, at=int(time.time()), listings=self._book.export(),
                           auth_failures=tuple(sorted(self._book.auth_failures.items())),
                           ejections=self._book.ejection_counts())

    async def run(self) -> None:
        client: coredis.Redis[bytes] = open_redis(self._url, connect_timeout=2.0, stream_timeout=5.0)
        async with client:
            while True:
                await asyncio.sleep(self._every)
                report = self.report()
                if not report.listings and not report.auth_failures and not report.ejections:
                    continue
                try:
                    async with asyncio.timeout(5.0):
                        await client.hset(self._key, {self._worker: encode_report(report)})
                        await client.expire(self._key, REPORT_MAX_AGE_S * 2)
                except (coredis.exceptions.RedisError, OSError, TimeoutError) as exc:
                    log.debug("stats report not written: %s", exc)
