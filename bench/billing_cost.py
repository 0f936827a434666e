"""Hot-path cost of billing: `python bench/billing_cost.py [--seconds 3] [--rounds 2]`.

One run, one stack (bench.stack): the Dragonfly proxy (one worker, CPU 1) against the canned
nginx upstream, JSON chat completions at c=64 with wrk, in interleaved rounds of two configs:
billing off (DF_BILLING=0) and billing on (DF_BILLING=1: credit leases synced with Redis in
the background, metering, usage events XADDed in batches). Rate limits are off in both
(DF_LIMITS=0), so the difference is billing alone. The bench buyer gets $1e8 of credit in
Redis; the usage stream is deleted afterwards (no control plane consumes it here).

`--baseline DIR` adds a third config in the same run: billing on, with the proxy's code taken
from DIR (e.g. `git archive <commit> | tar -x -C DIR`), to compare a change before/after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from pathlib import Path

import coredis
import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.config_rounds import print_ratios, run_rounds  # noqa: E402
from bench.nginx import ensure_tools  # noqa: E402
from bench.procs import LOAD_CPU  # noqa: E402
from bench.stack import Stack  # noqa: E402
from wire.billing import account_key, ready_key  # noqa: E402

REDIS = "redis://127.0.0.1:6379/0"
CONFIGS = {
    "billing off": {"DF_BILLING": "0", "DF_LIMITS": "0", "DF_REDIS_URL": REDIS},
    "billing on (credit leases)": {"DF_BILLING": "1", "DF_LIMITS": "0", "DF_REDIS_URL": REDIS},
}


async def _credit(prefix: str, accounts: list[str]) -> None:
    async with coredis.Redis.from_url(REDIS) as redis:
        await redis.set(ready_key(prefix), "1")
        for account in accounts:
            await redis.hset(account_key(prefix, account), {"credit": 100_000_000 * 1_000_000})


async def _clean(prefix: str) -> None:
    async with coredis.Redis.from_url(REDIS) as redis:
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(keys)


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="bench/billing_cost.py", description=__doc__)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--baseline", type=Path, default=None, help="code root of the 'before' proxy")
    args = p.parse_args(argv)
    configs = {name: {**env, "PYTHONPATH": ""} for name, env in CONFIGS.items()}
    if args.baseline is not None:
        configs[f"billing on, baseline ({args.baseline})"] = {**CONFIGS["billing on (credit leases)"],
                                                              "PYTHONPATH": str(args.baseline.resolve())}
    ensure_tools()
    os.sched_setaffinity(0, {LOAD_CPU})
    prefix = f"dfbench-{secrets.token_hex(4)}:"
    os.environ["DF_REDIS_PREFIX"] = prefix
    os.environ["DF_USAGE_SPOOL_DIR"] = f"/tmp/{prefix[:-1]}-spool"
    stack = Stack()
    try:
        stack.start()
        snap = orjson.loads((stack.tmp / "snapshot.json").read_bytes())
        asyncio.run(_credit(prefix, [a["id"] for a in snap["accounts"]]))
        results = run_rounds(stack, configs, args.rounds, args.seconds)
    finally:
        stack.stop()
        asyncio.run(_clean(prefix))
    print_ratios(results, "billing off")


if __name__ == "__main__":
    main(sys.argv[1:])
