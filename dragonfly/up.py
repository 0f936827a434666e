"""`make up`: a working local Dragonfly in the foreground; Ctrl-C stops every child.

Order: find or start PostgreSQL and Redis -> migrate -> control plane (:8081) ->
fake provider (:8090) -> proxy (:8080) -> seed the demo seller, listings and buyer
through the control plane's API -> wait until the proxy accepts the demo key ->
print a curl that works.

Honours every `DF_*` variable already set. State under `.dragonfly/` (git-ignored):
`secret.env` (generated DF_SECRET_KEY and DF_ADMIN_TOKEN, kept across runs so keys
stay valid), `demo.env` (`DF_DEMO_KEY=sk-df-…`, Pro plan) and `loadtest.env` (`DF_LOAD_KEY=sk-df-…`,
enterprise plan: no rate limits, for `loadtests/`).

The proxy gets no master secret, admin token or encryption key: only the key settings
`wire.secret_keys.proxy_env` derives (as in production). When the secret changed while
PostgreSQL kept its data (say `.dragonfly/` was deleted), seeding re-enters the demo
seller's upstream key, which no longer decrypts, so the demo works again.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from dragonfly.procs import Supervisor, granian_cmd
from dragonfly.seed import seed_demo, seed_loadtest
from dragonfly.services import DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL, ensure_postgres, ensure_redis
from wire.secret_keys import SECRET_VARIABLES, proxy_env

STATE = Path(".dragonfly")
FAKE_UPSTREAM_KEY = "sk-fake-demo-seller"


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def _secrets() -> dict[str, str]:
    """DF_SECRET_KEY and DF_ADMIN_TOKEN: from the environment, else saved, else generated and saved."""
    path = STATE / "secret.env"
    saved = _read_env_file(path)
    out = {}
    for name in ("DF_SECRET_KEY", "DF_ADMIN_TOKEN"):
        out[name] = os.environ.get(name) or saved.get(name) or secrets.token_urlsafe(32)
    if {k: saved.get(k) for k in out} != out:
        path.write_text("".join(f"{k}={v}\n" for k, v in out.items()))
        path.chmod(0o600)
    return out


def proxy_process_env(env: dict[str, str]) -> dict[str, str]:
    """The proxy's environment: the control plane's, minus every master secret, plus its own keys."""
    return {**{k: v for k, v in env.items() if k not in SECRET_VARIABLES}, **proxy_env(env)}


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def run_up() -> None:
    STATE.mkdir(exist_ok=True)
    host = os.environ.get("DF_HOST", "127.0.0.1")
    proxy_port = _port("DF_PROXY_PORT", 8080)
    control_port = _port("DF_CONTROL_PORT", 8081)
    fake_port = _port("DF_FAKE_PROVIDER_PORT", 8090)
    print("finding PostgreSQL and Redis…", flush=True)
    database_url = ensure_postgres(os.environ.get("DF_DATABASE_URL") or DEFAULT_POSTGRES_URL)
    redis_url = ensure_redis(os.environ.get("DF_REDIS_URL") or DEFAULT_REDIS_URL)
    control_url = f"http://127.0.0.1:{control_port}"
    env = {
        **os.environ, **_secrets(),
        "DF_DATABASE_URL": database_url, "DF_REDIS_URL": redis_url,
        "DF_CONTROL_PLANE_URL": os.environ.get("DF_CONTROL_PLANE_URL") or control_url,
        "DF_ALLOW_PRIVATE_UPSTREAMS": os.environ.get("DF_ALLOW_PRIVATE_UPSTREAMS", "1"),
        "DF_TRC20_ADDRESSES": os.environ.get("DF_TRC20_ADDRESSES", "dev"),  # demo top-ups; operators confirm
    }
    env.pop("DF_SNAPSHOT_FILE", None)
    print(f"migrating {_redact(database_url)}…", flush=True)
    if subprocess.call([sys.executable, "-m", "control_plane.migrate"], env=env) != 0:
        raise SystemExit("migration failed; see above")

    sup = Supervisor()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        sup.start("control-plane", granian_cmd("control_plane.asgi:app", host, control_port,
                                               _port("DF_CONTROL_WORKERS", 1)), env)
        sup.start("fake-provider", granian_cmd("fake_provider.asgi:app", "127.0.0.1", fake_port, 1),
                  {**env, "DF_FAKE_API_KEY": FAKE_UPSTREAM_KEY})
        sup.start("proxy", granian_cmd("proxy.asgi:app", host, proxy_port, _port("DF_PROXY_WORKERS", 1)),
                  proxy_process_env(env))
        sup.wait_ready("control-plane", f"{control_url}/healthz")
        sup.wait_ready("fake-provider", f"http://127.0.0.1:{fake_port}/healthz")
        sup.wait_ready("proxy", f"http://127.0.0.1:{proxy_port}/healthz")
        proxy_url = f"http://127.0.0.1:{proxy_port}"
        previous = _read_env_file(STATE / "demo.env").get("DF_DEMO_KEY")
        key = seed_demo(control_url, env["DF_ADMIN_TOKEN"], f"http://127.0.0.1:{fake_port}/v1", FAKE_UPSTREAM_KEY,
                        previous, lambda k: _accepted(proxy_url, k, tries=3))
        (STATE / "demo.env").write_text(f"DF_DEMO_KEY={key}\n")
        load_key = seed_loadtest(control_url, env["DF_ADMIN_TOKEN"],
                                 _read_env_file(STATE / "loadtest.env").get("DF_LOAD_KEY"),
                                 lambda k: _accepted(proxy_url, k, tries=3))
        (STATE / "loadtest.env").write_text(f"DF_LOAD_KEY={load_key}\n")
        if not _accepted(proxy_url, key, tries=100):
            raise SystemExit("the proxy did not accept the demo key within 10 s; see the logs above")
        _banner(proxy_port, control_port, fake_port)
        name = sup.wait_any_exit()
        print(f"\n{name} exited; stopping everything", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping…", file=sys.stderr)
    finally:
        sup.stop_all()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url


def _accepted(proxy_url: str, key: str, tries: int) -> bool:
    body = {"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
    for _ in range(tries):
        try:
            status = httpx.post(f"{proxy_url}/v1/chat/completions", json=body, timeout=5,
                                headers={"Authorization": f"Bearer {key}"}).status_code
        except httpx.HTTPError:
            status = 0
        if status == 200:
            return True
        time.sleep(0.1)
    return False


def _banner(proxy_port: int, control_port: int, fake_port: int) -> None:
    base = f"http://127.0.0.1:{proxy_port}"
    print(f"""
Dragonfly is up.
  proxy          {base}   (OpenAI SDK base_url: {base}/v1; also serves /api/*, /v1/pool/*, /v1/market/*)
  control plane  http://127.0.0.1:{control_port}   (OpenAPI: /api/openapi.json)
  fake provider  http://127.0.0.1:{fake_port}   (the demo seller's upstream)
  demo buyer key .dragonfly/demo.env      admin token: .dragonfly/secret.env
  load-test key  .dragonfly/loadtest.env  (enterprise plan: no rate limits; see loadtests/)

Try it:
  export $(cat .dragonfly/demo.env)
  curl {base}/v1/chat/completions \\
    -H "Authorization: Bearer $DF_DEMO_KEY" -H "Content-Type: application/json" \\
    -d '{{"model": "deepseek-chat", "messages": [{{"role": "user", "content": "Hello!"}}]}}'

Ctrl-C stops everything.
""", flush=True)
