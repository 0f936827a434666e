"""Find or start PostgreSQL and Redis for `make up` and the test fixtures.

`ensure_postgres(url)` / `ensure_redis(url)` return a URL that answers: the given one
if its server is reachable, else the local default if that one is, else they start a
local server (PostgreSQL: the Debian cluster via `pg_ctlcluster`, or a private
cluster initialised under `.dragonfly/pg`; Redis: `redis-server --daemonize yes`) and
return its URL. They raise `ServiceUnavailable` with the command to install what is
missing. Reachability is a TCP connect; the database named in the URL is kept (the
caller creates it, e.g. `control_plane.migrate`). Imports neither proxy nor control_plane.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/dragonfly"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".dragonfly"
_START_TIMEOUT_S = 20.0


class ServiceUnavailable(RuntimeError):
    """A server that is neither reachable nor startable here."""


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def reachable(url: str, default_port: int, timeout_s: float = 1.0) -> bool:
    host, port = _host_port(url, default_port)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _wait(url: str, default_port: int, what: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if reachable(url, default_port, timeout_s=0.5):
            return
        time.sleep(0.1)
    raise ServiceUnavailable(f"{what} was started but {url} did not answer within {_START_TIMEOUT_S:.0f}s")


def _same_db(default: str, wanted: str) -> str:
    """The default server URL, keeping the database (path) of the wanted URL."""
    d, w = urlsplit(default), urlsplit(wanted)
    return urlunsplit((d.scheme, d.netloc, w.path or d.path, w.query, ""))


def run_as_postgres(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL server binary; as root, as the `postgres` user (the server refuses root)."""
    if os.geteuid() == 0 and cmd[0] != "pg_ctlcluster":
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def _apt_install(package: str) -> bool:
    """Install a Debian package when we are root on a machine with apt (unless DF_NO_APT=1)."""
    if os.geteuid() != 0 or not shutil.which("apt-get") or os.environ.get("DF_NO_APT") == "1":
        return False
    print(f"installing {package} with apt-get (set DF_NO_APT=1 to skip)…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300, check=False)
    done = subprocess.run(["apt-get", "install", "-y", "-qq", package], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    return done.returncode == 0


def pg_bindir() -> Path | None:
    """The directory of `pg_ctl` / `initdb` (on PATH, else the newest /usr/lib/postgresql/*/bin)."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    return None


def _start_debian_cluster() -> bool:
    etc = Path("/etc/postgresql")
    if not shutil.which("pg_ctlcluster") or not etc.is_dir():
        return False
    for version in sorted(p.name for p in etc.iterdir() if (p / "main").is_dir()):
        done = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode == 0 or "already running" in done.stderr:
            return True
    return False


def _start_private_cluster(port: int) -> None:
    bindir = pg_bindir()
    if bindir is None and _apt_install("postgresql"):
        if _start_debian_cluster():
            return
        bindir = pg_bindir()
    if bindir is None:
        raise ServiceUnavailable(
            "PostgreSQL is not installed; install it with `apt-get install -y postgresql` "
            "(or `brew install postgresql@16`), or set DF_DATABASE_URL to a reachable server"
        )
    data = STATE_DIR / "pg" / "data"
    data.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data.parent, "postgres", "postgres")
    if not (data / "PG_VERSION").exists():
        done = run_as_postgres(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
        )
        if done.returncode != 0:
            raise ServiceUnavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {data.parent} -c fsync=off -c synchronous_commit=off"
    done = run_as_postgres(
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "log"), "-w", "-o", opts, "start"])
    if done.returncode != 0:
        raise ServiceUnavailable(f"pg_ctl start failed: {done.stderr.strip()[-500:]}; see {data.parent}/log")


def ensure_postgres(url: str | None = None) -> str:
    """A reachable PostgreSQL URL: `url`, else the local default, else one started here."""
    url = url or DEFAULT_POSTGRES_URL
    if reachable(url, 5432):
        return url
    local = _same_db(DEFAULT_POSTGRES_URL, url)
    if reachable(local, 5432):
        return local
    if not _start_debian_cluster():
        _start_private_cluster(5432)
    _wait(local, 5432, "PostgreSQL")
    return local


def ensure_redis(url: str | None = None) -> str:
    """A reachable Redis URL: `url`, else the local default, else one started here."""
    url = url or DEFAULT_REDIS_URL
    if reachable(url, 6379):
        return url
    local = _same_db(DEFAULT_REDIS_URL, url)
    if reachable(local, 6379):
        return local
    server = shutil.which("redis-server")
    if server is None and _apt_install("redis-server"):
        server = shutil.which("redis-server")
    if server is None:
        raise ServiceUnavailable(
            "Redis is not installed; install it with `apt-get install -y redis-server` "
            "(or `brew install redis`), or set DF_REDIS_URL to a reachable server"
        )
    _, port = _host_port(local, 6379)
    done = subprocess.run(
        [server, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise ServiceUnavailable(f"redis-server failed to start: {(done.stderr or done.stdout).strip()[-500:]}")
    _wait(local, 6379, "Redis")
    return local
