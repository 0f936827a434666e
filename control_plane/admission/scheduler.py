"""Background: scheduled probes and the proxies' upstream 401/403 reports, every DF_PROBE_TICK_S.

Each tick claims the listings whose next probe is due (`db.admission.claim_due`, SKIP LOCKED,
so control planes share the work) and starts their probes in the background, then reads the
proxies' stats reports from Redis (`wire.stats`) and hands new 401/403 counts to
`Admission.auth_failures`. The first read only notes the counts (they may predate this
process). Errors are logged and the loop goes on: probes are retried at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
import coredis
import msgspec

from control_plane.admission.service import Admission
from control_plane.db import admission as db
from wire.stats import StatsReport, decode_report, new_auth_failures, reports_key

log = logging.getLogger("control_plane.admission")
_BATCH = 20


async def run_scheduler(admission: Admission, pool: asyncpg.Pool, redis: coredis.Redis[bytes], prefix: str,
                        tick_s: float, lease_s: float, automatic: bool) -> None:
    seen: dict[tuple[str, str], int] = {}
    first = True
    while True:
        try:
            if automatic:
                async with pool.acquire() as conn:
                    due = await db.claim_due(conn, _BATCH, lease_s)
                for listing_id in due:
                    admission.kick(listing_id, "schedule")
            reports: list[StatsReport] = []
            for body in (await redis.hgetall(reports_key(prefix))).values():
                try:
                    reports.append(decode_report(body))
                except msgspec.DecodeError:
                    continue
            fresh = new_auth_failures(reports, seen, int(time.time()))
            if not first:
                for listing_id, count in sorted(fresh.items()):
                    await admission.auth_failures(listing_id, count)
            first = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database or Redis is away: try again next tick
            log.warning("admission tick failed: %r", exc)
        await asyncio.sleep(tick_s)
