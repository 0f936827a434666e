"""Interleaved rounds of proxy configurations on one bench stack, and their ratio table.

Shared by `limits_cost.py` and `billing_cost.py`: for each round, every config (a set of
environment variables) restarts the Dragonfly proxy and gets one wrk warm-up and one measured
JSON run at c=64; the table reports each config's median and its ratio to the baseline.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping

from bench.stack import DRAGONFLY, Stack
from bench.wrk import run_wrk


def run_rounds(stack: Stack, configs: Mapping[str, Mapping[str, str]], rounds: int,
               seconds: float) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(rounds):
        for name, env in configs.items():
            os.environ.update(env)
            stack.start_dragonfly()
            load = stack.load(DRAGONFLY, "json")
            run_wrk(load, 64, 1)  # warm-up
            summary = run_wrk(load, 64, seconds)
            if summary.errors:
                raise SystemExit(f"{name}: {summary.errors} errors")
            results[name].append(summary.rps)
            print(f"{name}: {summary.rps:,.0f} req/s", flush=True)
    return results


def print_ratios(results: Mapping[str, list[float]], baseline: str) -> None:
    base = statistics.median(results[baseline])
    print("\n| config | JSON req/s, c=64 (median) | vs off |\n|---|---|---|")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"| {name} | {med:,.0f} | {med / base:.2f} |")
