"""The only place PostgreSQL connections are created, each with timeouts from settings."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg


async def connect(url: str, *, connect_timeout_s: float, command_timeout_s: float) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=connect_timeout_s, command_timeout=command_timeout_s)


async def create_pool(
    url: str, *, connect_timeout_s: float, command_timeout_s: float, max_size: int = 10
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url, min_size=1, max_size=max_size, timeout=connect_timeout_s, command_timeout=command_timeout_s
    )
    assert pool is not None
    return pool


def database_name(url: str) -> str:
    path = urlsplit(url).path.lstrip("/")
    return path or "postgres"


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
