"""The control plane's periodic metrics: settlement backlog and listings by state (every 2 s), the ledger check.

The ledger check (`control_plane.ledger_check.check`, the same as `dragonfly ledger check`)
reads every generation, so it runs every `DF_LEDGER_CHECK_S` (default 3600; 0 = never),
the first time 5 s after start (sooner if the period is shorter). Its result is a gauge (`dragonfly_ledger_check_ok`); a
failure to run it leaves the previous result and is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
import coredis

from control_plane.ledger_check import check
from control_plane.metrics import ControlPlaneMetrics
from wire.billing import usage_stream

log = logging.getLogger("control_plane.metrics")


async def run_metrics_loop(metrics: ControlPlaneMetrics, redis: coredis.Redis[bytes], pool: asyncpg.Pool,
                           prefix: str, ledger_check_s: float) -> None:
    stream = usage_stream(prefix)
    next_check = time.monotonic() + min(5.0, ledger_check_s) if ledger_check_s > 0 else float("inf")
    while True:
        try:
            metrics.backlog.set(await redis.xlen(stream))
        except (coredis.exceptions.RedisError, OSError, TimeoutError) as exc:
            log.debug("backlog unreadable: %s", exc)
        try:
            async with pool.acquire() as conn:
                counts = dict(await conn.fetch("SELECT status, count(*) FROM listings GROUP BY status"))
            for state in ("active", "paused"):
                metrics.by_state.labels(state).set(counts.get(state, 0))
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            log.debug("listing states unreadable: %s", exc)
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + ledger_check_s
            try:
                async with pool.acquire() as conn:
                    problems, _ = await check(conn)
                metrics.ledger_ok.set(0 if problems else 1)
                metrics.ledger_violations.set(len(problems))
                metrics.ledger_at.set(time.time())
                for line in problems:
                    log.error("ledger check: %s", line)
            except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
                log.warning("ledger check could not run (%s)", exc)
        await asyncio.sleep(2.0)
