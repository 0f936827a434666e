"""Start the project's real processes on free loopback ports for tests; stop, kill and restart
them on the same port (restart tests)."""

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
    cmd: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    ready_path: str = "/healthz"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the whole process group: SIGTERM (graceful, waits) or SIGKILL."""
        if sig == signal.SIGKILL and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        stop(self.proc)

    def start(self) -> None:
        """Start again on the same port (after `stop`), with the same command and environment."""
        assert self.proc.poll() is not None, "still running"
        self.proc = _spawn(self.cmd, self.env, self.log)
        wait_http(self.url + self.ready_path, self.proc, self.log)

    def workers(self) -> list[int]:
        """Pids of the server's worker processes (children of the Granian main process)."""
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                out.append(int(stat.parent.name))
        return out


def _spawn(cmd: tuple[str, ...], env: Mapping[str, str] | None, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(list(cmd), cwd=ROOT, env=dict(env) if env is not None else None, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)


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
    respawn: bool = False,
) -> Iterator[Server]:
    """Serve an ASGI app (`module:attr`) with Granian on a free port, as production does
    (`respawn`: Granian restarts a worker that died, as `dragonfly proxy` runs it)."""
    port = port or free_port()
    log = log_dir / f"{app.replace(':', '_')}-{port}.log"
    cmd = (
        str(VENV_BIN / "granian"), "--interface", "asgi", "--loop", "uvloop", "--http", "1",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
        *(("--respawn-failed-workers", "--respawn-interval", "0.2") if respawn else ()), app,
    )
    # test sellers run on loopback, which the proxy refuses by default (proxy.egress); tests of that
    # check pass DF_ALLOW_PRIVATE_UPSTREAMS=0 themselves
    loopback_sellers = {"DF_ALLOW_PRIVATE_UPSTREAMS": "1"} if app.startswith("proxy.") else {}
    full_env = {**os.environ, **loopback_sellers, **(env or {})}
    log.write_bytes(b"")
    server = Server(url=f"http://127.0.0.1:{port}", port=port, proc=_spawn(cmd, full_env, log), log=log, cmd=cmd,
                    env=full_env, ready_path=ready_path)
    try:
        wait_http(server.url + ready_path, server.proc, log)
        yield server
    finally:
        stop(server.proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
