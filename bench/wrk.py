"""Running wrk (pinned to the load CPU) with the POST script and reading its one-line JSON summary."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import msgspec
import orjson

from bench.procs import LOAD_CPU, pinned

SCRIPT = Path(__file__).resolve().parent / "lua" / "post.lua"


class WrkSummary(msgspec.Struct, frozen=True):
    requests: int
    duration_us: int
    bytes: int
    err_connect: int
    err_read: int
    err_write: int
    err_status: int
    err_timeout: int
    p50_us: int
    p90_us: int
    p99_us: int
    p999_us: int
    mean_us: float
    max_us: int

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def errors(self) -> int:
        return self.err_connect + self.err_read + self.err_write + self.err_status + self.err_timeout


@dataclass(frozen=True)
class Load:
    url: str
    body: bytes
    auth: str = ""


def wrk_cmd(url: str, connections: int, seconds: float, threads: int = 1) -> list[str]:
    return pinned(LOAD_CPU, [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(SCRIPT), url,
    ])


def describe(load: Load, connections: int, seconds: float) -> str:
    """The command line as a user would type it (body and key shown as variables)."""
    return "WRK_BODY=$BODY WRK_AUTH=\"Bearer $KEY\" " + shlex.join(wrk_cmd(load.url, connections, seconds))


def run_wrk(load: Load, connections: int, seconds: float) -> WrkSummary:
    env = {**os.environ, "WRK_BODY": load.body.decode(), "WRK_AUTH": load.auth}
    out = subprocess.run(wrk_cmd(load.url, connections, seconds), env=env, capture_output=True, text=True,
                         timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return msgspec.convert(orjson.loads(line[8:]), WrkSummary)
    raise RuntimeError(f"wrk gave no summary (rc={out.returncode}): {out.stdout[-800:]} {out.stderr[-800:]}")
