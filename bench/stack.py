"""The processes of one bench run on loopback, and the URLs/bodies of each target."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import orjson

from bench.canned import MODEL
from bench.nginx import canned_upstream_conf, nginx_cmd, proxy_conf
from bench.procs import LOAD_CPU, PROXY_CPU, Proc, free_port, pinned
from bench.streams import Target
from bench.wrk import Load

BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-0123456789abcdef"
ROLES = ("json", "sse", "fp_fast", "fp_paced", "fp_idle")
# fake-provider knobs per stream case (path prefix /k/...)
FP_FAST = "chunks=50"
FP_PACED = "ttft_ms=20,tps=500,chunks=50"
FP_IDLE = "tps=0.2,chunks=200"
DIRECT, NGINX, DRAGONFLY = "direct", "nginx", "dragonfly"


def granian_cmd(app: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    return [str(BIN / "granian"), "--interface", "asgi", "--loop", "uvloop", "--http", "1",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log", *extra, app]


def _body(model: str, stream: bool) -> bytes:
    doc: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        doc["stream"] = True
    return orjson.dumps(doc)


class Stack:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="df-bench-"))
        self.procs: list[Proc] = []
        self.commands: dict[str, str] = {}
        self.canned_port, self.fake_port = free_port(), free_port()
        self.nginx_port, self.df_port = free_port(), free_port()
        self.df: Proc | None = None
        self.df_flags: tuple[str, ...] = ()
        self.nginx: Proc | None = None
        self.key = ""
        self.models: dict[str, str] = {}

    def _start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name, cmd, self.tmp, env)
        self.procs.append(proc)
        return proc

    def start(self, df_flags: Sequence[str] = ()) -> None:
        for sub in ("canned", "nginx-proxy"):
            (self.tmp / sub).mkdir()
        canned = canned_upstream_conf(self.tmp / "canned", self.canned_port)
        self.commands["canned upstream (nginx, CPU 0)"] = " ".join(pinned(LOAD_CPU, nginx_cmd(canned)))
        self._start("canned", pinned(LOAD_CPU, nginx_cmd(canned))).wait_http(
            f"http://127.0.0.1:{self.canned_port}/health")
        fake = pinned(LOAD_CPU, granian_cmd("fake_provider.asgi:app", self.fake_port))
        self.commands["fake provider (CPU 0)"] = " ".join(fake)
        self._start("fake", fake, {**os.environ, "DF_FAKE_API_KEY": ""}).wait_http(
            f"http://127.0.0.1:{self.fake_port}/v1/models")
        conf = proxy_conf(self.tmp / "nginx-proxy", self.nginx_port, self.canned_port, self.fake_port)
        self.commands["nginx proxy_pass (CPU 1)"] = " ".join(pinned(PROXY_CPU, nginx_cmd(conf)))
        self.nginx = self._start("nginx-proxy", pinned(PROXY_CPU, nginx_cmd(conf)))
        self.nginx.wait_http(f"http://127.0.0.1:{self.nginx_port}/health")
        self._write_snapshot()
        self.start_dragonfly(df_flags)

    def _write_snapshot(self) -> None:
        path = self.tmp / "snapshot.json"
        env = {**os.environ, "DF_SECRET_KEY": SECRET}
        cmd = [str(BIN / "dragonfly"), "demo-snapshot", "--out", str(path),
               "--base-url", f"http://127.0.0.1:{self.canned_port}/v1", "--upstream-key", "sk-bench-seller"]
        self.commands["snapshot"] = "DF_SECRET_KEY=... " + " ".join(cmd) + "  (then per-model base_url edits)"
        self.key = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout.strip()
        snap = orjson.loads(path.read_bytes())
        models = sorted({listing["model"] for listing in snap["listings"]})
        self.models = dict(zip(ROLES, models, strict=False))
        bases = {
            "json": f"http://127.0.0.1:{self.canned_port}/v1",
            "sse": f"http://127.0.0.1:{self.canned_port}/sse/v1",
            "fp_fast": f"http://127.0.0.1:{self.fake_port}/k/{FP_FAST}/v1",
            "fp_paced": f"http://127.0.0.1:{self.fake_port}/k/{FP_PACED}/v1",
            "fp_idle": f"http://127.0.0.1:{self.fake_port}/k/{FP_IDLE}/v1",
        }
        by_model = {model: bases[role] for role, model in self.models.items()}
        for listing in snap["listings"]:
            listing["base_url"] = by_model.get(listing["model"], listing["base_url"])
        for account in snap["accounts"]:  # no rate limits on the bench buyer
            account["plan"] = "enterprise"
        path.write_bytes(orjson.dumps(snap))

    def start_dragonfly(self, flags: Sequence[str] = ()) -> Proc:
        if self.df is not None:
            self.df.stop()
            self.procs.remove(self.df)
        env = {**os.environ, "DF_SECRET_KEY": SECRET, "DF_SNAPSHOT_FILE": str(self.tmp / "snapshot.json"),
               "DF_ALLOW_PRIVATE_UPSTREAMS": "1"}  # the bench upstream is on loopback
        cmd = pinned(PROXY_CPU, granian_cmd("proxy.asgi:app", self.df_port, flags))
        self.commands["dragonfly proxy (CPU 1)"] = "DF_SECRET_KEY=... DF_SNAPSHOT_FILE=snapshot.json " + " ".join(cmd)
        self.df = self._start("dragonfly", cmd, env)
        self.df_flags = tuple(flags)
        self.df.wait_http(f"http://127.0.0.1:{self.df_port}/readyz")
        return self.df

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    # --- targets -------------------------------------------------------------------------------------------

    def _url(self, target: str, role: str) -> str:
        path = {
            "json": "/v1", "sse": "/sse/v1", "fp_fast": f"/k/{FP_FAST}/v1",
            "fp_paced": f"/k/{FP_PACED}/v1", "fp_idle": f"/k/{FP_IDLE}/v1",
        }[role]
        if target == DIRECT:
            port = self.canned_port if role in ("json", "sse") else self.fake_port
            return f"http://127.0.0.1:{port}{path}/chat/completions"
        if target == NGINX:
            prefix = "" if role in ("json", "sse") else "/fp"
            return f"http://127.0.0.1:{self.nginx_port}{prefix}{path}/chat/completions"
        return f"http://127.0.0.1:{self.df_port}/v1/chat/completions"

    def load(self, target: str, role: str) -> Load:
        stream = role != "json"
        if target == DRAGONFLY:
            return Load(self._url(target, role), _body(self.models[role], stream), f"Bearer {self.key}")
        return Load(self._url(target, role), _body(MODEL, stream))

    def stream_target(self, target: str, role: str) -> Target:
        load = self.load(target, role)
        return Target(load.url, load.body, load.auth)
