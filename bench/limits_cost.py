"""Hot-path cost of rate limiting: `python bench/limits_cost.py [--seconds 3] [--rounds 2]`.

One run, one stack (bench.stack): the Dragonfly proxy (one worker, CPU 1) against the canned
nginx upstream, JSON chat completions at c=64 with wrk, in interleaved rounds of three configs:
limits off (DF_LIMITS=0), limits on with local buckets only (no Redis), and limits on with
the Redis lease sync. The bench buyer gets limits far above the load (every request is
admitted, so the whole admission path runs: RPM, TPM reservation, usage settle, headers).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.config_rounds import print_ratios, run_rounds  # noqa: E402
from bench.nginx import ensure_tools  # noqa: E402
from bench.procs import LOAD_CPU  # noqa: E402
from bench.stack import Stack  # noqa: E402

CONFIGS = {
    "limits off": {"DF_LIMITS": "0", "DF_REDIS_URL": ""},
    "limits on, local buckets": {"DF_LIMITS": "1", "DF_REDIS_URL": ""},
    "limits on, Redis leases": {"DF_LIMITS": "1", "DF_REDIS_URL": "redis://127.0.0.1:6379/0"},
}


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="bench/limits_cost.py", description=__doc__)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    ensure_tools()
    os.sched_setaffinity(0, {LOAD_CPU})
    os.environ["DF_REDIS_PREFIX"] = f"dfbench-{secrets.token_hex(4)}:"
    stack = Stack()
    try:
        stack.start()
        path = stack.tmp / "snapshot.json"
        snap = orjson.loads(path.read_bytes())
        for account in snap["accounts"]:  # limited, but never reached: the admission path runs in full
            account.update(plan="pro", rpm_limit=1_000_000_000, tpm_limit=1_000_000_000_000)
        path.write_bytes(orjson.dumps(snap))
        results = run_rounds(stack, CONFIGS, args.rounds, args.seconds)
    finally:
        stack.stop()
    print_ratios(results, "limits off")


if __name__ == "__main__":
    main(sys.argv[1:])
