"""Apply the numbered SQL files in `migrations/` once each, in order.

`python -m control_plane.migrate` (exit 0, prints what it applied) and `migrate(url)`
(used by the test fixtures and `make up`). Safe to run twice (a version table records
what is applied) and from two processes at once (a session advisory lock serialises
them; the second finds nothing left to do). Each file runs in its own transaction.
A file whose content changed after it was applied is refused: add a new file instead.
The database itself is created first when it does not exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sys
from pathlib import Path

import asyncpg

from control_plane.db.pool import connect, database_name, with_database
from control_plane.settings import load_settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LOCK_ID = 0x44464D4947  # "DFMIG"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """A migration set that cannot be applied as it stands."""


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, str]]:
    """(version, file name, SQL) sorted by version; refuses gaps and duplicates."""
    found: list[tuple[int, str, str]] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_snake_case.sql")
        found.append((int(match.group(1)), path.name, path.read_text()))
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migration numbers must run 1..N without gaps, found {versions}")
    return found


async def ensure_database(url: str, *, timeout_s: float) -> bool:
    """Create the database named in `url` if missing; True when it was created."""
    name = database_name(url)
    admin = await connect(with_database(url, "postgres"), connect_timeout_s=timeout_s, command_timeout_s=60)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):  # a racing creator won
            return False
        return True
    finally:
        await admin.close()


async def migrate(url: str, *, timeout_s: float = 10.0) -> list[str]:
    """Apply pending migrations; return the file names applied (empty when up to date)."""
    await ensure_database(url, timeout_s=timeout_s)
    conn = await connect(url, connect_timeout_s=timeout_s, command_timeout_s=120)
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"]: r for r in await conn.fetch("SELECT version, name, sha256 FROM schema_migrations")}
            for version, name, sql in migration_files():
                digest = hashlib.sha256(sql.encode()).hexdigest()
                if version in done:
                    if done[version]["sha256"] != digest:
                        raise MigrationError(
                            f"{name} changed after it was applied; add a new migration instead of editing it"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
                        version,
                        name,
                        digest,
                    )
                applied.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    finally:
        await conn.close()
    return applied


def main() -> int:
    settings = load_settings()
    try:
        applied = asyncio.run(migrate(settings.database_url, timeout_s=settings.db_connect_timeout_s))
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        print(f"migrate: failed: {exc}", file=sys.stderr)
        return 1
    db = database_name(settings.database_url)
    if applied:
        for name in applied:
            print(f"applied {name}")
        print(f"database {db}: {len(applied)} migration(s) applied")
    else:
        print(f"database {db}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
