"""Read the proxies' live listing stats from Redis and aggregate them (`wire.stats`).

The default source (`DF_STATS_SOURCE=redis`); `prom_stats` is the Prometheus one.

Called by every snapshot build. The snapshot publisher also rebuilds every
`DF_SNAPSHOT_RESYNC_S` (and `DF_STATS_REFRESH_S`, see app) so fresh figures reach new
proxies without a database change. A Redis failure here yields no stats — the build
goes on: stats are advisory.
"""

from __future__ import annotations

import logging
import time

import coredis
import msgspec

from wire.snapshot import ListingStats
from wire.stats import StatsReport, aggregate, decode_report, ejection_counts, reports_key

log = logging.getLogger("control_plane.stats")


async def _reports(redis: coredis.Redis[bytes], prefix: str) -> list[StatsReport]:
    try:
        raw = await redis.hgetall(reports_key(prefix))
    except (coredis.exceptions.RedisError, OSError, TimeoutError) as exc:
        log.warning("live stats unreadable (%s); building without them", exc)
        return []
    reports: list[StatsReport] = []
    for body in raw.values():
        try:
            reports.append(decode_report(body))
        except msgspec.DecodeError:
            continue
    return reports


async def live_stats(redis: coredis.Redis[bytes], prefix: str) -> tuple[ListingStats, ...]:
    return aggregate(await _reports(redis, prefix), int(time.time()))


async def live_ejections(redis: coredis.Redis[bytes], prefix: str) -> dict[str, int]:
    """Per listing, breaker ejections summed over the fresh reports (`wire.stats.ejection_counts`)."""
    return ejection_counts(await _reports(redis, prefix), int(time.time()))
