"""Throwaway PostgreSQL databases for tests: a unique name per session, dropped at the end; and a
private PostgreSQL cluster (`PrivatePostgres`) for tests that stop and restart the server (the
shared server other tests use is never restarted)."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from control_plane.migrate import migrate
from dragonfly.services import DEFAULT_POSTGRES_URL, ensure_postgres, pg_bindir, run_as_postgres
from tests.support.procs import free_port


def server_url() -> str:
    """A reachable server (DF_TEST_DATABASE_URL, DF_DATABASE_URL, the local default, or one started)."""
    wanted = os.environ.get("DF_TEST_DATABASE_URL") or os.environ.get("DF_DATABASE_URL") or DEFAULT_POSTGRES_URL
    return ensure_postgres(wanted)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


async def create_test_database(server: str) -> str:
    """A new, migrated database with a random name; returns its URL."""
    name = f"df_test_{secrets.token_hex(6)}"
    url = with_database(server, name)
    await migrate(url)
    # The seeded substitution fingerprints (migration 0016) are real tokenizers' counts of the probe
    # prompt; the fake provider counts ceil(characters / 4), so tests that list seeded models through
    # it start without them (tests of the check set one with PATCH /api/admin/models/...).
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute("UPDATE models SET probe_expect = '{}'::jsonb")
    finally:
        await conn.close()
    return url


async def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(with_database(url, "postgres"), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class PrivatePostgres:
    """A cluster of its own (initdb into a temp dir, a free port), run as the `postgres` user when
    we are root (`dragonfly.services.run_as_postgres`); `stop`/`start` keep its data."""

    def __init__(self) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install -y postgresql)")
        self._bin = bindir
        self._root = Path(tempfile.mkdtemp(prefix="df-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self._root, "postgres", "postgres")
        self._data = self._root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        done = run_as_postgres([str(self._bin / tool), *args])
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout[-500:]} {done.stderr[-1000:]}")

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self._root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self._data), "-l", str(self._root / "log"), "-w", "-o", opts, "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: a clean shutdown; `immediate`: a crash (recovery from the WAL at the next start)."""
        self._run("pg_ctl", "-D", str(self._data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        run_as_postgres([str(self._bin / "pg_ctl"), "-D", str(self._data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self._root, ignore_errors=True)
