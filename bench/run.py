"""Dragonfly benchmark: `python bench/run.py [--quick] [--flags-sweep]` (also `make bench`, `dragonfly bench`).

Starts on loopback a canned nginx upstream, the fake provider, an nginx proxy_pass reference and the Dragonfly
proxy (one worker, pinned to CPU 1; load and upstreams on CPU 0), measures them in interleaved rounds with wrk
and a small stream client, prints medians and rewrites bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.memory import workers_rss_kib  # noqa: E402
from bench.memory_run import hold_streams  # noqa: E402
from bench.nginx import ensure_tools  # noqa: E402
from bench.procs import LOAD_CPU  # noqa: E402
from bench.report import Memory, console, results_md  # noqa: E402
from bench.rounds import Plan, Samples, run_round, warm_up  # noqa: E402
from bench.stack import DRAGONFLY, NGINX, Stack  # noqa: E402
from bench.sweep import run_sweep, sweep_md  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
FLAGS = HERE / "FLAGS.md"  # written by --flags-sweep, quoted in RESULTS.md
NOTES = HERE / "NOTES.md"  # hand-written analysis (profile, what bounds the figures), quoted in RESULTS.md


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__)
    p.add_argument("--quick", action="store_true", help="~1 minute: 2 rounds of 2 s runs, 300 open streams")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--seconds", type=float, default=None, help="duration of each wrk run")
    p.add_argument("--flags-sweep", action="store_true",
                   help="only the Granian flags side experiment; writes bench/FLAGS.md")
    p.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    p.add_argument("--hold", type=float, default=0.0,
                   help="keep the stack up this many seconds after the run (for profiling)")
    return p.parse_args(argv)


def make_plan(args: argparse.Namespace) -> Plan:
    base = Plan(seconds=2.0, rounds=2, ttft_streams=30, open_streams=300) if args.quick else Plan()
    return Plan(
        seconds=args.seconds or base.seconds, rounds=args.rounds or base.rounds,
        ttft_streams=base.ttft_streams, ttft_concurrency=base.ttft_concurrency, open_streams=base.open_streams,
    )


def main(argv: list[str]) -> None:
    args = parse(argv)
    plan = make_plan(args)
    ensure_tools()
    if os.cpu_count() is None or (os.cpu_count() or 0) < 2:
        raise SystemExit("bench needs 2 CPUs: the proxy under test is pinned to CPU 1, the load to CPU 0")
    os.sched_setaffinity(0, {LOAD_CPU})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    started = time.monotonic()
    stack = Stack()
    try:
        stack.start()
        assert stack.df is not None and stack.nginx is not None
        print(f"stack up in {stack.tmp}: canned :{stack.canned_port}, fake :{stack.fake_port}, "
              f"nginx :{stack.nginx_port}, dragonfly :{stack.df_port}", flush=True)
        if args.flags_sweep:
            sweep = run_sweep(stack, plan)
            text = sweep_md(sweep, plan)
            print(text)
            if not args.no_write:
                FLAGS.write_text("# Granian flags sweep (`python bench/run.py --flags-sweep`)\n\n" + text + "\n")
            return
        warm_up(stack)
        df_idle = workers_rss_kib(stack.df.pid)
        nginx_idle = workers_rss_kib(stack.nginx.pid)
        samples = Samples()
        for round_no in range(plan.rounds):
            print(f"round {round_no + 1}/{plan.rounds} ({time.monotonic() - started:.0f} s)", flush=True)
            run_round(stack, plan, samples, round_no)
        df_after = workers_rss_kib(stack.df.pid)
        print(f"holding {plan.open_streams} open streams ({time.monotonic() - started:.0f} s)", flush=True)
        mem = Memory(
            df_idle_kib=df_idle, df_after_load_kib=df_after,
            df_streams=hold_streams(stack, DRAGONFLY, stack.df.pid, plan.open_streams),
            nginx_idle_kib=nginx_idle,
            nginx_streams=hold_streams(stack, NGINX, stack.nginx.pid, plan.open_streams),
        )
        print(console(samples, mem))
        print(f"\nwhole run: {time.monotonic() - started:.0f} s")
        if not args.no_write:
            analysis = ""
            if FLAGS.exists():
                analysis += "## Granian flags (side experiment)\n\n" + FLAGS.read_text().split("\n", 2)[2]
            if NOTES.exists():
                analysis += "\n" + NOTES.read_text()
            RESULTS.write_text(results_md(samples, mem, plan, stack, argv, analysis.strip()))
            print(f"wrote {RESULTS}")
        if args.hold:
            print(f"holding the stack for {args.hold:g} s (dragonfly pid {stack.df.pid})", flush=True)
            time.sleep(args.hold)
    finally:
        stack.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
