"""`make up`: start a working local Dragonfly in the foreground; Ctrl-C stops every child.

Honours every `DF_*` variable already set. Writes state under `.dragonfly/`:
`secret.env` (a generated DF_SECRET_KEY, kept across runs so keys stay valid),
`demo.env` (`DF_DEMO_KEY=sk-df-…`, the demo buyer key) and `snapshot.json`.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path

from dragonfly.demo import demo_snapshot
from dragonfly.procs import Supervisor, granian_cmd
from wire.codec import encode_snapshot_json

STATE = Path(".dragonfly")
FAKE_UPSTREAM_KEY = "sk-fake-demo-seller"


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def _secret() -> str:
    if os.environ.get("DF_SECRET_KEY"):
        return os.environ["DF_SECRET_KEY"]
    saved = _read_env_file(STATE / "secret.env").get("DF_SECRET_KEY")
    if saved:
        return saved
    secret = secrets.token_urlsafe(32)
    path = STATE / "secret.env"
    path.write_text(f"DF_SECRET_KEY={secret}\n")
    path.chmod(0o600)
    return secret


def run_up() -> None:
    STATE.mkdir(exist_ok=True)
    host = os.environ.get("DF_HOST", "127.0.0.1")
    proxy_port = int(os.environ.get("DF_PROXY_PORT", "8080"))
    fake_port = int(os.environ.get("DF_FAKE_PROVIDER_PORT", "8090"))
    workers = int(os.environ.get("DF_PROXY_WORKERS", "1"))
    secret = _secret()
    env = {**os.environ, "DF_SECRET_KEY": secret}

    previous = _read_env_file(STATE / "demo.env").get("DF_DEMO_KEY")
    snap, key = demo_snapshot(secret, f"http://127.0.0.1:{fake_port}/v1", FAKE_UPSTREAM_KEY, previous)
    snapshot_file = (STATE / "snapshot.json").resolve()
    snapshot_file.write_bytes(encode_snapshot_json(snap))
    (STATE / "demo.env").write_text(f"DF_DEMO_KEY={key}\n")

    sup = Supervisor()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        sup.start("fake-provider", granian_cmd("fake_provider.asgi:app", "127.0.0.1", fake_port, 1),
                  {**env, "DF_FAKE_API_KEY": FAKE_UPSTREAM_KEY})
        sup.wait_ready("fake-provider", f"http://127.0.0.1:{fake_port}/healthz")
        sup.start("proxy", granian_cmd("proxy.asgi:app", host, proxy_port, workers),
                  {**env, "DF_SNAPSHOT_FILE": str(snapshot_file)})
        sup.wait_ready("proxy", f"http://127.0.0.1:{proxy_port}/readyz")
        _banner(proxy_port, key)
        name = sup.wait_any_exit()
        print(f"\n{name} exited; stopping everything", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping…", file=sys.stderr)
    finally:
        sup.stop_all()


def _banner(port: int, key: str) -> None:
    base = f"http://127.0.0.1:{port}"
    print(f"""
Dragonfly is up.
  proxy          {base}   (OpenAI-compatible: {base}/v1)
  fake provider  http://127.0.0.1:{os.environ.get('DF_FAKE_PROVIDER_PORT', '8090')}  (the demo seller)
  demo key       written to .dragonfly/demo.env

Try it:
  source .dragonfly/demo.env
  curl {base}/v1/chat/completions \\
    -H "Authorization: Bearer $DF_DEMO_KEY" -H "Content-Type: application/json" \\
    -d '{{"model": "deepseek/deepseek-chat", "messages": [{{"role": "user", "content": "Hello!"}}]}}'

Ctrl-C stops everything.
""", flush=True)
