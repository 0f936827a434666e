"""The prometheus-client multiprocess directory of one Granian process group (stdlib only).

Granian serves an app with N worker processes; a scrape reaches one of them. So that every
scrape shows every worker's series, both servers run prometheus-client in multiprocess mode:
each worker writes its samples to memory-mapped files in `PROMETHEUS_MULTIPROC_DIR` and the
worker answering `/metrics` merges all the files. The directory is per process group: named
for the Granian main process (the workers' parent: its pid and start time, so a reused pid
gets a fresh directory) under `DF_METRICS_DIR` (default `$TMPDIR/dragonfly-metrics`). At
start, directories of process groups that no longer run are removed (a fresh group starts
empty; a worker Granian respawns keeps its group's counters). Called once per worker before
prometheus_client is imported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); "" if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(name: str) -> bool:
    """`<kind>-<pid>-<start>`: does that process still run (the same one, not a reused pid)?"""
    parts = name.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    return _start_time(int(parts[1])) == parts[2] and parts[2] != ""


def prepare(kind: str, env: dict[str, str] | None = None) -> Path:
    """Create this process group's directory, drop dead groups' ones, export PROMETHEUS_MULTIPROC_DIR."""
    environ = os.environ if env is None else env
    base = Path(environ.get("DF_METRICS_DIR") or Path(tempfile.gettempdir()) / "dragonfly-metrics")
    base.mkdir(parents=True, exist_ok=True)
    parent = os.getppid()
    path = base / f"{kind}-{parent}-{_start_time(parent) or 'x'}"
    for old in base.glob(f"{kind}-*"):
        if old != path and not _alive(old.name):
            shutil.rmtree(old, ignore_errors=True)
    path.mkdir(exist_ok=True)
    environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path
