"""A private redis-server on a free port, for tests that stop and restart Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.support.procs import free_port


class PrivateRedis:
    """`extra_args` go to redis-server as given (e.g. ("--requirepass", pw)); with `tls_args` the
    server listens with TLS only on `port` (`url` then says rediss:// and the caller adds its CA)."""

    def __init__(self, workdir: Path, extra_args: tuple[str, ...] = (), tls_args: tuple[str, ...] = ()) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self._binary = binary
        self._dir = workdir
        self.port = free_port()
        self._extra = extra_args
        self._listen = ("--port", "0", "--tls-port", str(self.port), *tls_args) if tls_args else (
            "--port", str(self.port))
        self.url = f"{'rediss' if tls_args else 'redis'}://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [self._binary, *self._listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self._dir), *self._extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self._proc = None
