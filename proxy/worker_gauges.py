"""Every worker's scrape-time gauges in every scrape (Granian runs N workers; a scrape reaches one).

Gauges describe one worker's state (its snapshot, its live listing figures, its limit mode),
so they carry a `worker` label (the pid) and are not summed. Each worker writes its current
gauge families to `gauges-<pid>.json` in the process group's multiprocess directory (see
`wire.metrics_dir`) about once a second; the worker answering `/metrics` renders its own fresh
families plus those of the other live workers (files of dead pids are removed). Counters and
histograms go through prometheus-client's own multiprocess mode instead (`proxy.metrics`).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson

Family = tuple[str, str, str, list[str]]  # name, type, help, sample lines


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write(directory: Path, families: list[Family]) -> None:
    path = directory / f"gauges-{os.getpid()}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(families))
    tmp.replace(path)


def others(directory: Path) -> list[list[Family]]:
    """The gauge families last written by the other live workers of this process group."""
    found: list[list[Family]] = []
    for path in directory.glob("gauges-*.json"):
        pid = int(path.stem.split("-", 1)[1])
        if pid == os.getpid():
            continue
        if not _alive(pid):
            path.unlink(missing_ok=True)
            continue
        try:
            found.append([tuple(f) for f in orjson.loads(path.read_bytes())])
        except (OSError, orjson.JSONDecodeError):
            continue
    return found


def render(mine: list[Family], theirs: list[list[Family]]) -> list[str]:
    """One HELP/TYPE per family, then every worker's samples of it."""
    merged: dict[str, tuple[str, str, list[str]]] = {}
    for families in (mine, *theirs):
        for name, kind, text, samples in families:
            merged.setdefault(name, (kind, text, []))[2].extend(samples)
    lines: list[str] = []
    for name, (kind, text, samples) in merged.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *samples]
    return lines
