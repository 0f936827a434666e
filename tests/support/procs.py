"""Start the project's real processes on free loopback ports for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}) before ready:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=0.5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready in {timeout}s:\n{log.read_text()[-4000:]}")


@contextmanager
def granian(
    app: str,
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    ready_path: str = "/healthz",
    port: int | None = None,
) -> Iterator[Server]:
    """Serve an ASGI app (`module:attr`) with Granian on a free port, as production does."""
    port = port or free_port()
    log = log_dir / f"{app.replace(':', '_')}-{port}.log"
    cmd = [
        str(VENV_BIN / "granian"), "--interface", "asgi", "--loop", "uvloop", "--http", "1",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log", app,
    ]
    # test sellers run on loopback, which the proxy refuses by default (proxy.egress); tests of that
    # check pass DF_ALLOW_PRIVATE_UPSTREAMS=0 themselves
    loopback_sellers = {"DF_ALLOW_PRIVATE_UPSTREAMS": "1"} if app.startswith("proxy.") else {}
    full_env = {**os.environ, **loopback_sellers, **(env or {})}
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + ready_path, proc, log)
        yield Server(url=url, port=port, proc=proc, log=log)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
