"""Building and supervising the server processes the launcher starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def granian_cmd(app: str, host: str, port: int, workers: int, extra: Sequence[str] = ()) -> list[str]:
    """The Granian command line that serves one of our ASGI apps (the measured-best flags)."""
    return [
        str(BIN / "granian"), "--interface", "asgi", "--loop", "uvloop", "--http", "1",
        "--host", host, "--port", str(port), "--workers", str(workers), "--no-access-log",
        "--respawn-failed-workers", *extra, app,
    ]


class Supervisor:
    """Starts children in their own process groups and stops them all together."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, cmd: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(list(cmd), env=dict(env), start_new_session=True)
        self.children.append((name, proc))
        return proc

    def wait_ready(self, name: str, url: str, timeout: float = 30.0) -> None:
        proc = dict(self.children)[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with code {proc.returncode} while starting; see its output above")
            try:
                if httpx.get(url, timeout=1.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{name} did not become ready at {url} within {timeout:.0f}s")

    def wait_any_exit(self) -> str:
        while True:
            for name, proc in self.children:
                if proc.poll() is not None:
                    return name
            time.sleep(0.3)

    def stop_all(self) -> None:
        # a second Ctrl-C (or SIGINT sent to the whole group) must not interrupt the stop and leave
        # children running: from here every child gets SIGTERM, then SIGKILL after 10 s
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc in self.children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
