"""The medians table (stdout) and bench/RESULTS.md."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.memory_run import OpenStreamsRss
from bench.rounds import Plan, Samples
from bench.stack import DIRECT, DRAGONFLY, NGINX, Stack

NAMES = {DIRECT: "direct to upstream", NGINX: "nginx proxy_pass", DRAGONFLY: "Dragonfly (1 worker)"}


@dataclass(frozen=True)
class Memory:
    df_idle_kib: int
    df_after_load_kib: int
    df_streams: OpenStreamsRss
    nginx_idle_kib: int
    nginx_streams: OpenStreamsRss


def machine() -> dict[str, str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    versions = {}
    for dist in ("granian", "blacksheep", "pyreqwest", "uvloop", "msgspec", "orjson"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "-"
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0].split(" Copyright")[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "commit": commit, "nproc": str(os.cpu_count()), "cpu": cpu,
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()), "kernel": platform.release(), "python": sys.version.split()[0], "nginx": nginx_v, "wrk": wrk_v,
        **versions,
    }


def _f(value: float | None, fmt: str = ",.0f") -> str:
    return "—" if value is None else format(value, fmt)


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}"


def tables(s: Samples) -> str:
    m = s.median
    lines = [
        "| one hop | JSON req/s c=64 | ÷ direct | ÷ nginx | p50 / p99 ms c=8 | added p50 / p99 ms "
        "| 50-chunk SSE/s c=64 (canned nginx) | ÷ nginx | 50-chunk SSE/s c=64 (fake provider) "
        "| first chunk p50 ms (unpaced) | TTFT p50 ms (paced, ttft=20 ms) | added TTFT ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in (DIRECT, NGINX, DRAGONFLY):
        p50, p99 = m("p50_ms_c8", t), m("p99_ms_c8", t)
        d50, d99 = m("p50_ms_c8", DIRECT), m("p99_ms_c8", DIRECT)
        added = "—" if t == DIRECT or None in (p50, p99, d50, d99) else \
            f"{p50 - d50:+.2f} / {p99 - d99:+.2f}"  # type: ignore[operator]
        ttft, dttft = m("ttft_paced_ms", t), m("ttft_paced_ms", DIRECT)
        lines.append(
            f"| {NAMES[t]} | {_f(m('json_rps_c64', t))} | {_ratio(m('json_rps_c64', t), m('json_rps_c64', DIRECT))} "
            f"| {_ratio(m('json_rps_c64', t), m('json_rps_c64', NGINX))} | {_f(p50, '.2f')} / {_f(p99, '.2f')} "
            f"| {added} | {_f(m('sse_canned_c64', t))} | {_ratio(m('sse_canned_c64', t), m('sse_canned_c64', NGINX))} "
            f"| {_f(m('sse_fake_c64', t))} | {_f(m('first_chunk_ms', t), '.2f')} | {_f(ttft, '.2f')} "
            f"| {'—' if t == DIRECT or ttft is None or dttft is None else f'{ttft - dttft:+.2f}'} |"
        )
    return "\n".join(lines)


def memory_table(mem: Memory) -> str:
    d, n = mem.df_streams, mem.nginx_streams
    return "\n".join([
        f"| proxy (workers' RSS) | idle | after load | before streams | {d.streams:,} open streams | after close "
        "| per open stream |",
        "|---|---|---|---|---|---|---|",
        f"| Dragonfly | {mem.df_idle_kib / 1024:.1f} MiB | {mem.df_after_load_kib / 1024:.1f} MiB "
        f"| {d.before_kib / 1024:.1f} MiB | {d.open_kib / 1024:.1f} MiB | {d.after_close_kib / 1024:.1f} MiB "
        f"| {d.per_stream_kib:.1f} KiB |",
        f"| nginx | {mem.nginx_idle_kib / 1024:.1f} MiB | — | {n.before_kib / 1024:.1f} MiB "
        f"| {n.open_kib / 1024:.1f} MiB | {n.after_close_kib / 1024:.1f} MiB | {n.per_stream_kib:.1f} KiB |",
    ])


def _check(name: str, value: float | None, ok: Callable[[float], bool], budget: str, fmt: str) -> str:
    if value is None:
        return f"| {name} | — | {budget} | not measured |"
    return f"| {name} | {format(value, fmt)} | {budget} | {'meets' if ok(value) else '**misses**'} |"


def budget(s: Samples, mem: Memory) -> str:
    m = s.median
    share = None if not m("json_rps_c64", NGINX) else m("json_rps_c64", DRAGONFLY) / m("json_rps_c64", NGINX)  # type: ignore[operator]

    def delta(metric: str) -> float | None:
        a, b = m(metric, DRAGONFLY), m(metric, DIRECT)
        return None if a is None or b is None else a - b

    return "\n".join([
        "| budget item | measured | budget | verdict |", "|---|---|---|---|",
        _check("JSON throughput ÷ nginx (c=64)", share, lambda v: v >= 0.25, "≥ 0.25 (never < 0.15)", ".3f"),
        _check("added p50 latency, c=8 (ms)", delta("p50_ms_c8"), lambda v: v < 0.75, "< 0.75", ".2f"),
        _check("added p99 latency, c=8 (ms)", delta("p99_ms_c8"), lambda v: v < 2.5, "< 2.5", ".2f"),
        _check("added first-chunk delay p50, paced (ms)", delta("ttft_paced_ms"), lambda v: v < 0.5, "< 0.5", ".2f"),
        _check("added first-chunk delay p50, unpaced (ms)", delta("first_chunk_ms"), lambda v: v < 0.5, "< 0.5",
               ".2f"),
        _check("memory per open stream (KiB)", mem.df_streams.per_stream_kib, lambda v: v < 32, "< 32 (stretch 17)",
               ".1f"),
        _check("idle RSS per worker (MiB)", mem.df_idle_kib / 1024, lambda v: v < 120, "< 120", ".1f"),
    ])


def console(s: Samples, mem: Memory | None) -> str:
    out = [tables(s)]
    if mem is not None:
        out += ["", memory_table(mem), "", budget(s, mem)]
    errs = {k: v for k, v in s.errors.items() if v}
    if errs:
        out.append(f"\nwrk errors (non-2xx, socket): {errs}")
    return "\n".join(out)


def results_md(s: Samples, mem: Memory, plan: Plan, stack: Stack, argv: list[str], analysis: str) -> str:
    info = machine()
    errs = {k: v for k, v in s.errors.items() if v}
    cmds = "\n".join(f"# {name}\n{cmd}" for name, cmd in stack.commands.items())
    wrk_cmds = "\n".join(f"# {name}\n{cmd}" for name, cmd in sorted(s.commands.items()))
    return f"""# Dragonfly benchmark results

Written by `python bench/run.py {' '.join(argv)}` (also `make bench`, `dragonfly bench`) on {info['date']},
commit `{info['commit']}`. Medians of {plan.rounds} interleaved rounds ({plan.seconds:g} s per wrk run; the target
order rotates every round). Regenerate with `make bench`; `--quick` for a ~1-minute run.

## Machine

| | |
|---|---|
| CPUs (nproc) | {info['nproc']} |
| CPU | {info['cpu']} |
| kernel | {info['kernel']} |
| load average when written (1/5/15 min) | {info['loadavg']} (other work on the machine skews every figure) |
| python | {info['python']} |
| granian / blacksheep / pyreqwest | {info['granian']} / {info['blacksheep']} / {info['pyreqwest']} |
| uvloop / msgspec / orjson | {info['uvloop']} / {info['msgspec']} / {info['orjson']} |
| {info['nginx']} | {info['wrk']} |

## Set-up

All on loopback. CPU 0: wrk, the canned upstream (nginx, 1 worker), the fake provider (Granian, 1 worker) and
the bench's own Python stream client. CPU 1: the proxy under test, one worker (nginx `proxy_pass` with a
keepalive pool, or Dragonfly: Granian `--interface asgi --loop uvloop --http 1`, the chat path on a raw ASGI edge in front
of BlackSheep, pyreqwest
upstream; auth by keyed hash, body validation, routing from the snapshot and the model rewrite all on).

- **JSON** cases: `POST /v1/chat/completions`, body `{{"model": …, "messages": [{{"role": "user", "content":
  "hi"}}]}}`, answered by the canned upstream with a fixed 290-byte completion. wrk, 1 thread, c=64 for
  throughput, c=8 (closed loop, as in the design's table) for p50/p99.
- **SSE canned**: the same with `"stream": true`, answered by nginx with a fixed 50-chunk stream (~12 KB).
- **SSE fake provider**: 50-chunk streams from the fake provider, unpaced (`/k/{'chunks=50'}/v1`); the fake
  provider (Python, sharing CPU 0 with wrk) bounds this case for every target.
- **First chunk**: time from sending the request to the first non-empty content delta, measured by a raw-socket
  asyncio client (new connection per stream, {plan.ttft_streams} streams per target per round,
  {plan.ttft_concurrency} at a time): unpaced, and paced (`ttft_ms=20,tps=500,chunks=50`). Added TTFT =
  Dragonfly minus direct, same client.
- **Memory**: VmRSS of the worker process(es) (the children of the Granian / nginx master): idle (after start
  and one warm-up), after all rounds, then while {plan.open_streams:,} slow streams (`tps=0.2,chunks=200`, one
  chunk every 5 s) are held open through the proxy; per open stream = (open − before) / {plan.open_streams:,}.

## Results (medians)

{tables(s)}

{memory_table(mem)}

wrk errors (non-2xx or socket errors): {errs or 'none'}.

## Against the design's budget

{budget(s, mem)}

{analysis}

## Exact commands

```sh
{cmds}

# wrk runs (WRK_BODY is the JSON body, WRK_AUTH the Authorization header; bench/lua/post.lua)
{wrk_cmds}
```
"""
