"""Side experiment: Granian flags for the Dragonfly worker (JSON c=64, p50/p99 c=8, canned SSE c=64)."""

from __future__ import annotations

import statistics

from bench.rounds import Plan, Samples
from bench.stack import DRAGONFLY, Stack
from bench.wrk import run_wrk

VARIANTS: dict[str, tuple[str, ...]] = {
    "baseline": (),
    "--runtime-threads 2": ("--runtime-threads", "2"),
    "--runtime-mode st": ("--runtime-mode", "st"),
    "--backpressure 64": ("--backpressure", "64"),
    "--backpressure 256": ("--backpressure", "256"),
}


def run_sweep(stack: Stack, plan: Plan) -> Samples:
    samples = Samples()
    for round_no in range(plan.rounds):
        names = list(VARIANTS)
        names = names[round_no % len(names):] + names[: round_no % len(names)]
        for name in names:
            stack.start_dragonfly(VARIANTS[name])
            run_wrk(stack.load(DRAGONFLY, "json"), 64, 1.0)  # warm-up
            for metric, role, conns in (("json_rps_c64", "json", 64), ("lat", "json", 8),
                                        ("sse_canned_c64", "sse", 64)):
                result = run_wrk(stack.load(DRAGONFLY, role), conns, plan.seconds)
                samples.errors[f"{metric} {name}"] += result.errors
                if metric == "lat":
                    samples.add("p50_ms_c8", name, result.p50_us / 1000)
                    samples.add("p99_ms_c8", name, result.p99_us / 1000)
                else:
                    samples.add(metric, name, result.rps)
    stack.start_dragonfly(())
    return samples


def sweep_md(samples: Samples, plan: Plan) -> str:
    m = samples.median
    base = m("json_rps_c64", "baseline") or 1.0
    rows = [
        f"Medians of {plan.rounds} rounds, {plan.seconds:g} s per run; Dragonfly restarted per variant "
        "(all with `--interface asgi --loop uvloop --http 1 --workers 1`), pinned to CPU 1.",
        "",
        "| Granian flags | JSON req/s c=64 | ÷ baseline | p50 / p99 ms c=8 | SSE/s c=64 (canned) |",
        "|---|---|---|---|---|",
    ]
    for name in VARIANTS:
        rps = m("json_rps_c64", name)
        rows.append(
            f"| `{name}` | {rps or 0:,.0f} | {(rps or 0) / base:.2f} | {m('p50_ms_c8', name) or 0:.2f} / "
            f"{m('p99_ms_c8', name) or 0:.2f} | {m('sse_canned_c64', name) or 0:,.0f} |"
        )
    best = max(VARIANTS, key=lambda n: m("json_rps_c64", n) or 0)
    spread = [v for n in VARIANTS if (v := m("json_rps_c64", n))]
    rows += ["", f"Highest JSON throughput: `{best}` (spread {min(spread):,.0f}–{max(spread):,.0f} req/s, "
             f"median {statistics.median(spread):,.0f})."]
    errs = {k: v for k, v in samples.errors.items() if v}
    if errs:
        rows.append(f"\nwrk errors: {errs}")
    return "\n".join(rows)
