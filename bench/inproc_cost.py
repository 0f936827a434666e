"""Per-request CPU of the proxy's chat path, in-process: `python bench/inproc_cost.py [N]`.

Drives N sequential `POST /v1/chat/completions` through the proxy's ASGI app (no Granian, no
load generator) against the fake provider pinned to CPU 0, the proxy on CPU 1, and prints the
wall time and the CPU time of this process (the asyncio thread plus pyreqwest's Rust threads)
per request. CPU time is far steadier than wall time on a shared machine, so two commits can be
compared in one sitting: run it from each checkout (`PYTHONPATH=<checkout>`). `PROFILE=1` adds a
cProfile table (`SORT=`, `ROWS=`). Measurement only: it asserts nothing but 200s.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import orjson
import uvloop

from dragonfly.demo import demo_snapshot
from wire.codec import encode_snapshot_json

PORT = 18999
SECRET = "inproc-bench-secret-0123456789"


def write_snapshot(path: Path) -> str:
    snap, key = demo_snapshot(SECRET, f"http://127.0.0.1:{PORT}/v1", "k")
    doc = orjson.loads(encode_snapshot_json(snap))
    for account in doc["accounts"]:
        account["plan"] = "enterprise"  # no rate limits on the bench buyer
    path.write_bytes(orjson.dumps(doc))
    return key


async def run(n: int, key: str) -> None:
    from proxy.app import create_app  # noqa: PLC0415  (after the env is set)
    from proxy.settings import load_settings  # noqa: PLC0415

    app = create_app(load_settings())
    life: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    await life.put({"type": "lifespan.startup"})
    started: list[MutableMapping[str, Any]] = []

    async def life_send(message: MutableMapping[str, Any]) -> None:
        started.append(message)

    lifespan = asyncio.ensure_future(app({"type": "lifespan"}, life.get, life_send))
    while not started:
        await asyncio.sleep(0.01)
    body = b'{"model":"deepseek/deepseek-chat","messages":[{"role":"user","content":"hi"}]}'
    headers = [(b"authorization", f"Bearer {key}".encode()), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]

    async def one() -> None:
        got: list[MutableMapping[str, Any]] = []

        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            got.append(message)

        await app({"type": "http", "path": "/v1/chat/completions", "method": "POST", "headers": headers,
                   "client": ("127.0.0.1", 5)}, receive, send)
        assert got[0]["status"] == 200, got

    for _ in range(200):
        await one()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await one()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{n} sequential requests: {wall / n * 1e6:.0f} µs wall, {cpu / n * 1e6:.0f} µs CPU of the proxy each")
    if os.environ.get("PROFILE"):
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(1000):
            await one()
        profile.disable()
        pstats.Stats(profile).sort_stats(os.environ.get("SORT", "tottime")).print_stats(int(os.environ.get("ROWS", "25")))
    await life.put({"type": "lifespan.shutdown"})
    await lifespan


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    tmp = Path(tempfile.mkdtemp(prefix="df-inproc-"))
    key = write_snapshot(tmp / "snapshot.json")
    os.environ.update({"DF_SECRET_KEY": SECRET, "DF_SNAPSHOT_FILE": str(tmp / "snapshot.json"),
                       "DF_ALLOW_PRIVATE_UPSTREAMS": "1"})  # the bench upstream is on loopback
    granian = str(Path(sys.executable).parent / "granian")
    upstream = subprocess.Popen(["taskset", "-c", "0", granian, "--interface", "asgi", "--loop", "uvloop",
                                 "--port", str(PORT), "--no-access-log", "fake_provider.asgi:app"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    try:
        os.sched_setaffinity(0, {1})
        uvloop.run(run(n, key))
    finally:
        upstream.terminate()
        upstream.wait()


if __name__ == "__main__":
    main()
