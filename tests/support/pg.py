"""Throwaway PostgreSQL databases for tests: a unique name per session, dropped at the end."""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from control_plane.migrate import migrate
from dragonfly.services import DEFAULT_POSTGRES_URL, ensure_postgres


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
    return url


async def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(with_database(url, "postgres"), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
