"""A private redis-server on a free port, for tests that stop and restart Redis.

`persist=True` runs it with an append-only file (fsynced on every write), so a restart keeps
its data as a production Redis would; `wipe()` (while stopped) deletes that data, so the next
start is an empty Redis (a lost volume, a failover to an empty replica)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.support.procs import free_port


class PrivateRedis:
    """`extra_args` go to redis-server as given (e.g. ("--requirepass", pw)); with `tls_args` the
    server listens with TLS only on `port` (`url` then says rediss:// and the caller adds its CA);
    `persist`: an append-only file fsynced on every write, so a killed server restarts with its data."""

    def __init__(self, workdir: Path, extra_args: tuple[str, ...] = (), tls_args: tuple[str, ...] = (), *,
                 persist: bool = False) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self._binary = binary
        self._dir = workdir
        self._persist = persist
        self.port = free_port()
        self._extra = extra_args
        self._tls = bool(tls_args)
        self._listen = ("--port", "0", "--tls-port", str(self.port), *tls_args) if tls_args else (
            "--port", str(self.port))
        self.url = f"{'rediss' if tls_args else 'redis'}://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        durable = ["--appendonly", "yes", "--appendfsync", "always"] if self._persist else ["--appendonly", "no"]
        self._proc = subprocess.Popen(
            [self._binary, *self._listen, "--bind", "127.0.0.1", "--save", "", *durable,
             "--dir", str(self._dir), *self._extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    if self._tls:  # a TLS port: listening is as far as a plain socket can tell
                        return
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith((b"+PONG", b"-NOAUTH")):  # -LOADING while it replays its file
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """SIGTERM: Redis saves and exits; SIGKILL: a crash (the fsynced file still holds every write)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(sig)
            self._proc.wait(timeout=10)
        self._proc = None

    def wipe(self) -> None:
        """Delete the data on disk (only while stopped): the next start is empty."""
        assert self._proc is None, "stop it first"
        for path in self._dir.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
