"""`make up` after the secret changed but PostgreSQL kept its data (issue 11, item 3).

Before: deleting `.dragonfly/` (a new DF_SECRET_KEY) left the demo pool key undecryptable;
`make up` re-used it and the demo answered 503 "0 active listings" (make up itself gave up).
Now seeding re-enters the demo upstream key and the demo works. The proxy `make up`
starts holds no master secret and no admin token (read from its process environment).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import coredis
import httpx

from tests.support import pg
from tests.support.procs import free_port
from tests.support.redisdb import delete_prefix, new_prefix


def _up(cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "dragonfly"), "up"], cwd=cwd, env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while "Dragonfly is up" not in log.read_text():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "make up never became ready:\n" + log.read_text()[-3000:]
        time.sleep(0.2)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)


def _environ_of(port: int) -> dict[str, str]:
    """The environment of the Granian process serving proxy.asgi:app on `port`."""
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            if b"proxy.asgi:app" in cmd and str(port).encode() in cmd:
                pairs = (item.split(b"=", 1) for item in (entry / "environ").read_bytes().split(b"\0") if b"=" in item)
                return {k.decode(): v.decode(errors="replace") for k, v in pairs}
        except OSError:
            continue
    raise AssertionError(f"no proxy process on port {port}")


def _secrets(cwd: Path) -> dict[str, str]:
    lines = (cwd / ".dragonfly" / "secret.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_make_up_repairs_the_demo_pool_key_after_the_secret_changed(tmp_path: Path, pg_server_url: str,
                                                                     redis_url: str) -> None:
    ports = {name: free_port() for name in ("DF_PROXY_PORT", "DF_CONTROL_PORT", "DF_FAKE_PROVIDER_PORT")}
    db_name = f"df_test_upkeys_{os.getpid()}_{int(time.time())}"
    env = {**os.environ, **{k: str(v) for k, v in ports.items()},
           "DF_DATABASE_URL": pg_server_url.rsplit("/", 1)[0] + "/" + db_name,
           "DF_REDIS_URL": redis_url, "DF_REDIS_PREFIX": new_prefix()}
    for name in ("DF_SECRET_KEY", "DF_SECRET_KEYS", "DF_ADMIN_TOKEN", "DF_SNAPSHOT_FILE", "DF_KEY_HASH_SECRET",
                 "DF_SEAL_KEYS"):
        env.pop(name, None)
    base = f"http://127.0.0.1:{ports['DF_PROXY_PORT']}"
    try:
        _stop(_up(tmp_path, env, tmp_path / "up1.log"))
        first = _secrets(tmp_path)
        shutil.rmtree(tmp_path / ".dragonfly")  # a new secret; PostgreSQL keeps the demo seller's pool key
        proc = _up(tmp_path, env, tmp_path / "up2.log")
        try:
            second = _secrets(tmp_path)
            assert second["DF_SECRET_KEY"] != first["DF_SECRET_KEY"]
            assert "re-entering it" in (tmp_path / "up2.log").read_text()
            key = (tmp_path / ".dragonfly" / "demo.env").read_text().strip().removeprefix("DF_DEMO_KEY=")
            r = httpx.post(base + "/v1/chat/completions", timeout=20, headers={"Authorization": f"Bearer {key}"},
                           json={"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "Hi"}]})
            assert r.status_code == 200, r.text
            held = _environ_of(ports["DF_PROXY_PORT"])
            values = "\n".join(held.values())
            assert second["DF_SECRET_KEY"] not in values and second["DF_ADMIN_TOKEN"] not in values
            assert "DF_SEAL_KEYS" in held and "DF_KEY_HASH_SECRET" in held
        finally:
            _stop(proc)
    finally:
        asyncio.run(pg.drop_database(env["DF_DATABASE_URL"]))
        asyncio.run(_forget(redis_url, env["DF_REDIS_PREFIX"]))


async def _forget(url: str, prefix: str) -> None:
    async with coredis.Redis.from_url(url, decode_responses=False) as redis:
        await delete_prefix(redis, prefix)
