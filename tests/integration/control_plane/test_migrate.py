"""Migrations: idempotent, safe from two processes at once, runnable as a module."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg

from control_plane.migrate import migrate, migration_files
from tests.support import pg


async def test_two_processes_migrate_one_fresh_database_at_once(pg_server_url: str) -> None:
    url = pg.with_database(pg_server_url, f"df_test_mig_{os.getpid()}_{os.urandom(3).hex()}")
    env = {**os.environ, "DF_DATABASE_URL": url}
    try:
        procs = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "control_plane.migrate", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for _ in range(2)]
        outs = [await p.communicate() for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        printed = b"".join(o[0] for o in outs).decode()
        for _, name, _ in migration_files():
            assert printed.count(f"applied {name}") == 1, printed
        assert await migrate(url) == []
        again = subprocess.run([sys.executable, "-m", "control_plane.migrate"], env=env, capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 0 and "up to date" in again.stdout
        conn = await asyncpg.connect(url)
        try:
            versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]
            assert versions == list(range(1, len(migration_files()) + 1))
            assert await conn.fetchval("SELECT count(*) FROM models") == 12
            assert await conn.fetchval("SELECT input_price FROM models WHERE id = 'minimax/minimax-m2.5'") == 800_000
        finally:
            await conn.close()
    finally:
        await pg.drop_database(url)


async def test_database_constraints_hold_without_the_api(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for sql in [
            "INSERT INTO plans (name, title, rpm_limit) VALUES ('neg', 'x', -1)",
            "INSERT INTO accounts (id, email, password_hash) VALUES (gen_random_uuid(), 'x@y.z', 'plaintext')",
            "INSERT INTO models (id, owned_by, input_price, output_price, context_length)"
            " VALUES ('deepseek/x', 'deepseek', -1, 0, 1)",
            "INSERT INTO models (id, owned_by, input_price, output_price, context_length)"
            " VALUES ('nobody/x', 'nobody', 1, 1, 1)",
        ]:
            try:
                await conn.execute(sql)
            except (asyncpg.CheckViolationError, asyncpg.ForeignKeyViolationError):
                continue
            raise AssertionError(f"accepted: {sql}")
        await conn.execute("INSERT INTO accounts (id, email, password_hash) VALUES"
                           " (gen_random_uuid(), 'Case@Example.org', '$argon2id$x')")
        try:
            await conn.execute("INSERT INTO accounts (id, email, password_hash) VALUES"
                               " (gen_random_uuid(), 'case@example.ORG', '$argon2id$x')")
            raise AssertionError("duplicate email accepted")
        except asyncpg.UniqueViolationError:
            pass
    finally:
        await conn.close()
