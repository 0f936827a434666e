"""A bounded on-disk spool of usage events the proxy could not hand to Redis.

One append-only file per proxy process (`{dir}/usage-{pid}.spool`; `dir` is `scoped_dir`: one
per Redis URL + key prefix under DF_USAGE_SPOOL_DIR, so deployments or test runs sharing the
directory never replay each other's events): records are a 4-byte
big-endian length plus the encoded event, flushed and fsynced per batch. `drain()` moves
the file aside and returns every record; `clear()` deletes what was delivered. On start-up a process also adopts
spool files left by dead processes (their pid is gone), so a crash after spooling loses nothing.

Bound: `max_bytes` (DF_USAGE_SPOOL_MAX_BYTES). When it is full, `append` refuses and the proxy
stops admitting paid requests (503) rather than serve what it could not bill.
Failure modes: a torn last record (crash mid-write) is dropped on read; disk errors raise OSError.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def scoped_dir(base: str, redis_url: str, prefix: str) -> str:
    """The spool (and in-flight journal) directory of one Redis URL + key prefix."""
    return str(Path(base) / hashlib.sha256(f"{redis_url}\0{prefix}".encode()).hexdigest()[:16])


class SpoolFull(Exception):
    """The spool reached its byte bound."""


class Spool:
    def __init__(self, directory: str, max_bytes: int) -> None:
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._path = self._dir / f"usage-{os.getpid()}.spool"
        self._max = max_bytes
        self.size = self._path.stat().st_size if self._path.exists() else 0
        self._seq = 0

    @property
    def full(self) -> bool:
        return self.size >= self._max

    def append(self, records: list[bytes]) -> None:
        data = b"".join(len(r).to_bytes(4, "big") + r for r in records)
        if self.size + len(data) > self._max:
            raise SpoolFull(f"usage spool {self._path} would exceed {self._max} bytes")
        with self._path.open("ab") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        self.size += len(data)

    def _pending_files(self) -> list[Path]:
        """Own replay files, then every spool/replay file of a process that is gone."""
        out: list[Path] = []
        for path in sorted(self._dir.glob("usage-*")):
            pid = path.name.removeprefix("usage-").split("-")[0].split(".")[0]
            if not pid.isdigit():
                continue
            mine = int(pid) == os.getpid()
            if (mine and path.suffix == ".replay") or (not mine and not alive(int(pid))):
                out.append(path)
        return out

    def drain(self) -> tuple[list[bytes], list[Path]]:
        """Every spooled record (own and orphaned files) and the files they came from.

        The own spool is renamed first, so events spooled meanwhile go to a fresh file."""
        if self._path.exists() and self.size:
            self._seq += 1
            self._path.rename(self._dir / f"usage-{os.getpid()}-{self._seq}.replay")
            self.size = 0
        records: list[bytes] = []
        files = self._pending_files()
        for path in files:
            data = path.read_bytes()
            at = 0
            while at + 4 <= len(data):
                n = int.from_bytes(data[at:at + 4], "big")
                if at + 4 + n > len(data):
                    break  # torn tail record
                records.append(data[at + 4:at + 4 + n])
                at += 4 + n
        return records, files

    def clear(self, files: list[Path]) -> None:
        for path in files:
            path.unlink(missing_ok=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
