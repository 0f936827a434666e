"""CPU per request of the rate-limit admission path, in-process: `python bench/limits_admission.py [N]`.

Runs N requests' admissions (64 at a time) through `proxy.limits`: RPM, TPM reservation,
headers, usage settle, with the Redis sync loop running against `DF_REDIS_URL` (default the
local Redis) under a fresh key prefix, and prints one line of JSON: CPU µs and wall µs per
request (this process: the admissions and the background rounds). The account's limits are far
above the load, so every request is admitted and the whole path runs. It uses only the API the
token-bucket version also had, so `bench/limits_cost.py --inproc` runs it against both codes
(`PYTHONPATH=<export>`, from an empty directory).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time

import orjson

from proxy.limits.admission import Admission
from proxy.limits.limiter import Limiter
from proxy.limits.redis_sync import RedisLimitSync
from wire.snapshot import Account, Plan

CONCURRENCY = 64


async def run(n: int) -> dict[str, float]:
    limiter = Limiter(60.0, 0.25, 1, standalone=False)
    sync = RedisLimitSync(os.environ.get("DF_REDIS_URL", "redis://127.0.0.1:6379/0"),
                          f"dfbench-{secrets.token_hex(4)}:", limiter, 0.02, 0.05)
    loop = asyncio.create_task(sync.run())
    plans = {"pro": Plan(name="pro", rpm_limit=1_000_000_000, tpm_limit=1_000_000_000_000)}
    account = Account(id="bench-account", plan="pro")
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            adm = Admission(limiter, account, plans)
            await adm.admit()
            await adm.reserve(400, 100, 1024)
            adm.headers()
            adm.finish(140)
            await asyncio.sleep(0)  # the relay's await between admission and settle

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))  # warm-up: leases, caches
    left = n
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    loop.cancel()
    try:
        await loop
    except asyncio.CancelledError:
        pass
    return {"cpu_us": cpu / n * 1e6, "wall_us": wall / n * 1e6, "rounds": float(sync.rounds)}


if __name__ == "__main__":
    print(orjson.dumps(asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20000))).decode())
