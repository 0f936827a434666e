"""Resident memory of server processes, from /proc."""

from __future__ import annotations

from pathlib import Path

from bench.procs import children


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pids(master: int) -> list[int]:
    """The worker processes under a Granian or nginx master (its direct children)."""
    return children(master)


def workers_rss_kib(master: int) -> int:
    """Summed RSS of the master's workers (the processes that hold connections)."""
    return sum(rss_kib(pid) for pid in worker_pids(master))
