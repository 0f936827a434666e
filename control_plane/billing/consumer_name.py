"""The settlement consumer's name: stable across restarts, never shared by two live processes.

A restarted consumer reads its own pending entries (`XREADGROUP ... 0`) at once, which only
works when it comes back under the name it had. Rule: the name is `{base}-{slot}`, where
`base` is `DF_CONSUMER_NAME` (default `cp-{hostname}-{DF_CONTROL_PORT}`) and `slot` is the
lowest number whose lock file this process can lock (`flock`, exclusive, in the temp
directory; one lock file per Redis URL + prefix + base). The kernel drops the lock when the
process ends, even on SIGKILL, so a restart on the same host takes the same slot back, and
two processes on one host (Granian workers, two control planes) never share a name. Across
hosts the base must differ: the default contains the host name; set `DF_CONSUMER_NAME` per
replica when host names are not stable (containers) — otherwise a restarted replica's pending
entries wait for the `claim_idle_ms` claim instead (still settled once).

Failure mode: no lock file can be opened (read-only temp dir) -> `{base}-p{pid}` with a warning.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import tempfile
from pathlib import Path

log = logging.getLogger("control_plane.billing")
_SLOTS = 64


def default_base(port: int) -> str:
    return f"cp-{socket.gethostname()}-{port}"


class ConsumerName:
    """Holds the slot's lock for the life of the process (`release` at shutdown)."""

    def __init__(self, name: str, fd: int | None) -> None:
        self.name = name
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def claim(base: str, redis_url: str, prefix: str, lock_dir: Path | None = None) -> ConsumerName:
    """The lowest free slot of `base` for this stream (see the module rule)."""
    where = lock_dir or Path(tempfile.gettempdir())
    scope = hashlib.sha256(f"{redis_url}\0{prefix}\0{base}".encode()).hexdigest()[:16]
    for slot in range(_SLOTS):
        path = where / f"dragonfly-consumer-{scope}-{slot}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return ConsumerName(f"{base}-{slot}", fd)
    log.warning("no consumer name slot could be locked in %s; using a per-process name (pending entries of "
                "a previous run are claimed after the idle time)", where)
    return ConsumerName(f"{base}-p{os.getpid()}", None)
