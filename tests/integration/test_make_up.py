"""`dragonfly up` (what `make up` runs) from an empty directory: the README's curl and SDK snippet work."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import coredis
import httpx
import openai

from tests.support import pg
from tests.support.procs import free_port
from tests.support.redisdb import delete_prefix, new_prefix


async def _forget(url: str, prefix: str) -> None:
    async with coredis.Redis.from_url(url, decode_responses=False) as redis:
        await delete_prefix(redis, prefix)


def _locust_runs_clean(tmp_path: Path, base: str) -> None:
    """The documented load test, short: `make up`'s load-test key (enterprise plan), 5 buyers for
    8 s mixing JSON, streams, the Anthropic format and routing headers; no request fails."""
    load_key = (tmp_path / ".dragonfly" / "loadtest.env").read_text().strip().removeprefix("DF_LOAD_KEY=")
    assert load_key.startswith("sk-df-")
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        [str(bin_dir / "locust"), "-f", str(Path(__file__).parents[2] / "loadtests" / "locustfile.py"),
         "--headless", "-u", "5", "-r", "5", "-t", "8s", "--host", base, "--csv", str(tmp_path / "load"),
         "--only-summary"],
        cwd=tmp_path, env={"PATH": str(bin_dir), "DF_LOAD_KEY": load_key, "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120)
    with (tmp_path / "load_stats.csv").open() as f:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(f)}
    total = rows[("", "Aggregated")]
    assert int(total["Request Count"]) > 0 and int(total["Failure Count"]) == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("chat.json", "chat.stream", "messages.json", "messages.stream", "chat.routed"):
        assert int(rows[("POST", name)]["Request Count"]) > 0, name
    for metric in ("TTFT", "E2E"):
        assert int(rows[(metric, "chat.stream")]["Request Count"]) > 0 and (metric, "messages.stream") in rows
    assert ("TPS", "chat.stream") in rows


def test_up_starts_everything_and_the_readme_snippets_work(tmp_path: Path, pg_server_url: str, redis_url: str) -> None:
    ports = {name: free_port() for name in ("DF_PROXY_PORT", "DF_CONTROL_PORT", "DF_FAKE_PROVIDER_PORT")}
    db_name = f"df_test_up_{os.getpid()}_{int(time.time())}"
    env = {**os.environ, **{k: str(v) for k, v in ports.items()},
           "DF_DATABASE_URL": pg_server_url.rsplit("/", 1)[0] + "/" + db_name,
           "DF_REDIS_URL": redis_url, "DF_REDIS_PREFIX": new_prefix()}
    for name in ("DF_SECRET_KEY", "DF_ADMIN_TOKEN", "DF_SNAPSHOT_FILE"):
        env.pop(name, None)
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "dragonfly"), "up"], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    clients: list[openai.OpenAI] = []
    try:
        deadline = time.monotonic() + 90
        while "Dragonfly is up" not in (tmp_path / "up.log").read_text():
            assert proc.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "make up never became ready"
            time.sleep(0.2)
        key = (tmp_path / ".dragonfly" / "demo.env").read_text().strip().removeprefix("DF_DEMO_KEY=")
        assert key.startswith("sk-df-")
        secrets_file = (tmp_path / ".dragonfly" / "secret.env").read_text()
        assert key not in (tmp_path / "up.log").read_text() and "DF_SECRET_KEY=" in secrets_file
        base = f"http://127.0.0.1:{ports['DF_PROXY_PORT']}"
        r = httpx.post(base + "/v1/chat/completions", timeout=20,
                       headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                       json={"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "Hello!"}]})
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"]
        client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
        clients.append(client)
        resp = client.chat.completions.create(model="deepseek/deepseek-chat",
                                              messages=[{"role": "user", "content": "Hello"}])
        assert resp.choices[0].message.content
        chunks = list(client.chat.completions.create(model="deepseek/deepseek-chat", stream=True,
                                                     messages=[{"role": "user", "content": "Hi"}],
                                                     stream_options={"include_usage": True}))
        assert chunks[-1].usage is not None
        assert {m.id for m in client.models.list()} >= {"deepseek/deepseek-chat", "moonshot/kimi-k2"}
        vectors = client.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"])
        assert len(vectors.data) == 2 and vectors.data[0].embedding
        speech = client.audio.speech.create(model="openai/tts-1", input="Hello", voice="alloy")
        assert speech.content[:4] == b"RIFF"  # the demo seller answers with a real WAV
        assert httpx.get(base + "/api/openapi.json").json()["openapi"].startswith("3.")
        r = httpx.post(base + "/v1/chat/completions", timeout=20, headers={"Authorization": f"Bearer {key}"},
                       json={"model": "deepseek-chat", "messages": [{"role": "user", "content": "Hi"}]})
        assert r.status_code == 200, r.text  # the README's alias
        _locust_runs_clean(tmp_path, base)
    finally:
        for c in clients:
            c.close()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        log.close()
        asyncio.run(pg.drop_database(env["DF_DATABASE_URL"]))
        asyncio.run(_forget(redis_url, env["DF_REDIS_PREFIX"]))
    # every child is gone with it: the ports are free again
    for port in ports.values():
        with httpx.Client() as http:
            try:
                http.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                raise AssertionError(f"something still listens on {port}")
            except httpx.ConnectError:
                pass
