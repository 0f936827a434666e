"""The measurements of one round, interleaved across targets; medians over rounds."""

from __future__ import annotations

import asyncio
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from bench.stack import DIRECT, DRAGONFLY, NGINX, Stack
from bench.streams import first_chunk_samples
from bench.wrk import describe, run_wrk

TARGETS = (DIRECT, NGINX, DRAGONFLY)


@dataclass(frozen=True)
class Plan:
    seconds: float = 5.0
    rounds: int = 3
    ttft_streams: int = 60
    ttft_concurrency: int = 4
    open_streams: int = 1000


@dataclass
class Samples:
    """metric -> target -> one value per round."""

    values: dict[str, dict[str, list[float]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    commands: dict[str, str] = field(default_factory=dict)

    def add(self, metric: str, target: str, value: float) -> None:
        self.values[metric][target].append(value)

    def median(self, metric: str, target: str) -> float | None:
        vals = self.values.get(metric, {}).get(target)
        return statistics.median(vals) if vals else None


# metric name -> (role, connections); each is one wrk run per target
WRK_CASES = {
    "json_rps_c64": ("json", 64),
    "json_lat_c8": ("json", 8),
    "sse_canned_c64": ("sse", 64),
    "sse_fake_c64": ("fp_fast", 64),
}


def warm_up(stack: Stack, targets: tuple[str, ...] = TARGETS) -> None:
    for role, conns in (("json", 64), ("sse", 64), ("fp_fast", 16)):
        for target in targets:
            run_wrk(stack.load(target, role), conns, 2)


def run_round(stack: Stack, plan: Plan, samples: Samples, round_no: int,
              targets: tuple[str, ...] = TARGETS, label: str = "") -> None:
    order = targets[round_no % len(targets):] + targets[: round_no % len(targets)]  # rotate the order per round
    for metric, (role, conns) in WRK_CASES.items():
        for target in order:
            load = stack.load(target, role)
            samples.commands[f"{metric} {target}"] = describe(load, conns, plan.seconds)
            result = run_wrk(load, conns, plan.seconds)
            key = label or target
            samples.errors[f"{metric} {key}"] += result.errors
            if metric == "json_lat_c8":
                samples.add("p50_ms_c8", key, result.p50_us / 1000)
                samples.add("p99_ms_c8", key, result.p99_us / 1000)
            samples.add(metric, key, result.rps)
    for role, metric in (("fp_fast", "first_chunk_ms"), ("fp_paced", "ttft_paced_ms")):
        for target in order:
            got = asyncio.run(first_chunk_samples(stack.stream_target(target, role), plan.ttft_streams,
                                                  plan.ttft_concurrency))
            samples.add(metric, label or target, statistics.median(got))
