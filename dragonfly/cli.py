"""`dragonfly` — one CLI for every process and chore. Settings come from `DF_*` variables."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from dragonfly.procs import BIN, granian_cmd


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _serve(app: str, port: int, workers: int, env: dict[str, str]) -> None:
    host = os.environ.get("DF_HOST", "127.0.0.1")
    os.execve(granian_cmd(app, host, port, workers)[0], granian_cmd(app, host, port, workers), env)


def cmd_proxy(args: argparse.Namespace) -> None:
    env = dict(os.environ)
    if args.snapshot:
        env["DF_SNAPSHOT_FILE"] = str(Path(args.snapshot).resolve())
    _serve("proxy.asgi:app", args.port, args.workers, env)


def cmd_fake_provider(args: argparse.Namespace) -> None:
    _serve("fake_provider.asgi:app", args.port, args.workers, dict(os.environ))


def cmd_control_plane(args: argparse.Namespace) -> None:
    _serve("control_plane.asgi:app", args.port, args.workers, dict(os.environ))


def cmd_migrate(args: argparse.Namespace) -> None:
    raise SystemExit(subprocess.call([sys.executable, "-m", "control_plane.migrate"]))


def cmd_ledger(args: argparse.Namespace) -> None:
    """Runs in its own interpreter: the CLI never imports control_plane."""
    raise SystemExit(subprocess.call([sys.executable, "-m", "control_plane.ledger_check"]))


def cmd_keys_rotate(args: argparse.Namespace) -> None:
    """Runs in its own interpreter: the CLI never imports control_plane."""
    raise SystemExit(subprocess.call([sys.executable, "-m", "control_plane.keys_rotate"]))


def cmd_keys_proxy_env(args: argparse.Namespace) -> None:
    from wire.secret_keys import KeyConfigError, proxy_env  # noqa: PLC0415

    try:
        values = proxy_env(os.environ)
    except KeyConfigError as exc:
        raise SystemExit(f"keys proxy-env: {exc}") from None
    print("".join(f"{k}={v}\n" for k, v in values.items()), end="")


def cmd_up(args: argparse.Namespace) -> None:
    from dragonfly.up import run_up  # noqa: PLC0415  (keeps `dragonfly proxy` start-up lean)

    run_up()


def cmd_bench(args: argparse.Namespace) -> None:
    script = Path(__file__).resolve().parents[1] / "bench" / "run.py"
    raise SystemExit(subprocess.call([sys.executable, str(script), *args.rest]))


def cmd_demo_snapshot(args: argparse.Namespace) -> None:
    from dragonfly.demo import demo_snapshot  # noqa: PLC0415
    from wire.codec import encode_snapshot_json  # noqa: PLC0415

    secret = os.environ.get("DF_SECRET_KEY", "")
    if len(secret) < 16:
        raise SystemExit("DF_SECRET_KEY must be set (16+ characters): the key hash depends on it")
    snap, key = demo_snapshot(secret, args.base_url, args.upstream_key, args.buyer_key)
    Path(args.out).write_bytes(encode_snapshot_json(snap))
    print(key)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dragonfly", description="Dragonfly LLM API market gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("up", help="start everything locally (what `make up` runs)")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("proxy", help="serve the hot-path proxy")
    p.add_argument("--snapshot", help="serve from this snapshot file instead of Redis (DF_SNAPSHOT_FILE)")
    p.add_argument("--port", type=int, default=_env_int("DF_PROXY_PORT", 8080))
    p.add_argument("--workers", type=int, default=_env_int("DF_PROXY_WORKERS", 1))
    p.set_defaults(func=cmd_proxy)

    p = sub.add_parser("control-plane", help="serve the control plane")
    p.add_argument("--port", type=int, default=_env_int("DF_CONTROL_PORT", 8081))
    p.add_argument("--workers", type=int, default=_env_int("DF_CONTROL_WORKERS", 1))
    p.set_defaults(func=cmd_control_plane)

    p = sub.add_parser("fake-provider", help="serve the fake OpenAI-compatible upstream")
    p.add_argument("--port", type=int, default=_env_int("DF_FAKE_PROVIDER_PORT", 8090))
    p.add_argument("--workers", type=int, default=_env_int("DF_FAKE_PROVIDER_WORKERS", 1))
    p.set_defaults(func=cmd_fake_provider)

    p = sub.add_parser("migrate", help="apply database migrations (DF_DATABASE_URL)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("ledger", help="ledger chores (DF_DATABASE_URL)")
    ledger = p.add_subparsers(dest="ledger_command", required=True)
    q = ledger.add_parser("check", help="verify the ledger invariants; exit 1 when one is violated")
    q.set_defaults(func=cmd_ledger)

    p = sub.add_parser("keys", help="key chores (DF_SECRET_KEYS; see README, Keys and secrets)")
    keys = p.add_subparsers(dest="keys_command", required=True)
    q = keys.add_parser("rotate", help="re-encrypt every pool key under the newest key (idempotent, resumable)")
    q.set_defaults(func=cmd_keys_rotate)
    q = keys.add_parser("proxy-env", help="print the only key settings a proxy needs (never the master secret)")
    q.set_defaults(func=cmd_keys_proxy_env)

    p = sub.add_parser("bench", help="run the benchmark and rewrite bench/RESULTS.md")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo-snapshot", help="write a demo snapshot file; prints the demo buyer key")
    p.add_argument("--out", required=True)
    p.add_argument("--base-url", default="http://127.0.0.1:8090/v1")
    p.add_argument("--upstream-key", default="sk-fake-demo-seller")
    p.add_argument("--buyer-key", default=None)
    p.set_defaults(func=cmd_demo_snapshot)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


__all__ = ["main", "BIN"]
