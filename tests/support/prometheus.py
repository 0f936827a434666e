"""A real Prometheus (Debian's `prometheus` package) for tests: installed when missing, started
on a free loopback port with a temporary config and storage directory, queried over its HTTP API.

Installation follows `dragonfly.services` (apt-get as root, unless DF_NO_APT=1), with a
policy-rc.d for the duration so the Debian service is not started (it would hold :9090).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.procs import free_port, stop

_POLICY = Path("/usr/sbin/policy-rc.d")


def ensure_prometheus() -> tuple[str, str]:
    """(prometheus, promtool) paths; installs the Debian package when missing (skips if impossible)."""
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        if os.geteuid() != 0 or not shutil.which("apt-get") or os.environ.get("DF_NO_APT") == "1":
            pytest.skip("prometheus/promtool missing: apt-get install -y prometheus")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        placed = not _POLICY.exists()
        if placed:
            _POLICY.write_text("#!/bin/sh\nexit 101\n")
            _POLICY.chmod(0o755)
        try:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300, check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "prometheus"], env=env, capture_output=True,
                           timeout=900, check=True)
        finally:
            if placed:
                _POLICY.unlink(missing_ok=True)
    return str(shutil.which("prometheus")), str(shutil.which("promtool"))


@dataclass
class Prometheus:
    url: str
    http: httpx.Client

    def query(self, expr: str) -> list[dict[str, object]]:
        r = self.http.get("/api/v1/query", params={"query": expr})
        assert r.status_code == 200, (expr, r.text)
        body = r.json()
        assert body["status"] == "success", (expr, body)
        return list(body["data"]["result"])

    def targets_up(self) -> bool:
        active = self.http.get("/api/v1/targets").json()["data"]["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)


@contextmanager
def prometheus(workdir: Path, jobs: dict[str, Sequence[str]], *, rules: Sequence[Path] = (),
               headers: dict[str, str] | None = None, port: int | None = None) -> Iterator[Prometheus]:
    """Scrape `jobs` (name -> host:port targets) every second; `headers`: an Authorization bearer."""
    binary, _ = ensure_prometheus()
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    bearer = (headers or {}).get("Authorization", "").removeprefix("Bearer ")
    lines = ["global:", "  scrape_interval: 1s", "  evaluation_interval: 1s"]
    if rules:
        lines += ["rule_files:", *(f"  - {p}" for p in rules)]
    lines.append("scrape_configs:")
    for name, targets in jobs.items():
        lines += [f"  - job_name: {name}", "    scrape_timeout: 900ms"]
        if bearer:
            lines += ["    authorization:", f"      credentials: {bearer}"]
        lines += ["    static_configs:", f"      - targets: [{', '.join(targets)}]"]
    config = workdir / "prometheus.yml"
    config.write_text("\n".join(lines) + "\n")
    log = workdir / "prometheus.log"
    cmd = [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
           f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get("/-/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        yield Prometheus(url=f"http://127.0.0.1:{port}", http=client)
    finally:
        client.close()
        stop(proc)
