"""Hot-path cost of rate limiting: `python bench/limits_cost.py [--seconds 3] [--rounds 2] [--baseline REV] [--inproc]`.

One run, one stack (bench.stack): the Dragonfly proxy (one worker, CPU 1) against the canned
nginx upstream, JSON chat completions at c=64 with wrk, in interleaved rounds of four configs:
limits off (DF_LIMITS=0), limits on with local windows only (no Redis), limits on with the
Redis sliding-window leases, and the same with the proxy code of `--baseline` (default: the
merge base with main, i.e. the token buckets this branch replaced; exported with `git archive`
and put first on PYTHONPATH). The bench buyer gets limits far above the load (every request is
admitted, so the whole admission path runs: RPM, TPM reservation, usage settle, headers).

`--inproc`: instead of wrk, the CPU per request of the admission path alone
(`bench/limits_admission.py`, 20,000 admissions 64 at a time with the Redis sync running), this
checkout and the baseline alternately, `--rounds` times each: CPU time is far steadier than
throughput on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.config_rounds import print_ratios, run_rounds  # noqa: E402
from bench.nginx import ensure_tools  # noqa: E402
from bench.procs import LOAD_CPU  # noqa: E402
from bench.stack import DRAGONFLY, Stack  # noqa: E402

REDIS = "redis://127.0.0.1:6379/0"
CONFIGS = {
    "limits off": {"DF_LIMITS": "0", "DF_REDIS_URL": "", "PYTHONPATH": ""},
    "limits on, local windows": {"DF_LIMITS": "1", "DF_REDIS_URL": "", "PYTHONPATH": ""},
    "limits on, Redis window leases (this branch)": {"DF_LIMITS": "1", "DF_REDIS_URL": REDIS, "PYTHONPATH": ""},
}


def export(rev: str, into: Path) -> str:
    """The proxy code of `rev`, exported to `into` (for PYTHONPATH); returns the short commit."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit, "proxy", "wire"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return commit


def inproc(baseline_dir: Path, commit: str, rounds: int) -> None:
    script = ROOT / "bench" / "limits_admission.py"
    runs: dict[str, list[float]] = {"this branch (sliding-window leases)": [], f"baseline {commit} (token buckets)": []}
    for _ in range(rounds):
        for name, path in zip(runs, ("", str(baseline_dir)), strict=True):
            env = {**os.environ, "PYTHONPATH": path}
            out = subprocess.run([sys.executable, str(script), "20000"], env=env, check=True, capture_output=True,
                                 text=True).stdout
            runs[name].append(orjson.loads(out)["cpu_us"])
            print(f"{name}: {runs[name][-1]:.1f} µs CPU per request", flush=True)
    print("\n| code | CPU µs per request, admission path (median) |\n|---|---|")
    for name, values in runs.items():
        print(f"| {name} | {statistics.median(values):.1f} |")


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="bench/limits_cost.py", description=__doc__)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--inproc", action="store_true", help="CPU per request of the admission path, no servers")
    p.add_argument("--baseline", default="", help="git revision of the previous algorithm (default: merge base with main)")
    args = p.parse_args(argv)
    rev = args.baseline or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT, check=True,
                                          capture_output=True, text=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="df-limits-bench-"))
    baseline_dir = work / "baseline"
    baseline_dir.mkdir()
    commit = export(rev, baseline_dir)
    (work / "neutral").mkdir()
    os.chdir(work / "neutral")  # an empty cwd: servers import this checkout (editable install) or the baseline
    if args.inproc:
        try:
            inproc(baseline_dir, commit, args.rounds)
        finally:
            subprocess.run(["rm", "-rf", str(work)], check=False)
        return
    configs = {**CONFIGS, f"limits on, Redis token-bucket leases ({commit})":
               {"DF_LIMITS": "1", "DF_REDIS_URL": REDIS, "PYTHONPATH": str(baseline_dir)}}
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
        results = run_rounds(stack, configs, args.rounds, args.seconds)
        load = stack.load(DRAGONFLY, "json")  # the last config run is the baseline: check it really is
        req = urllib.request.Request(load.url, data=load.body, headers={"authorization": load.auth or "",
                                                                        "content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as reply:
            old = reply.headers.get("x-ratelimit-limit-requests") is None
        print(f"baseline proxy served the {'previous' if old else 'CURRENT (PYTHONPATH ignored!)'} limits code")
    finally:
        stack.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)
    print_ratios(results, "limits off")


if __name__ == "__main__":
    main(sys.argv[1:])
