"""Session fixtures shared by every suite: real PostgreSQL and Redis, never mocks.

Each session gets its own database (random name, migrated, dropped at the end) and its
own Redis key prefix (random, its keys deleted at the end), so two runs can go side by
side against one server. `control_plane` runs the real ASGI app under Granian.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from control_plane.billing.tron import b58check_encode
from tests.support import pg, redisdb
from tests.support.procs import Server, granian

TEST_DEPOSIT_ADDRESSES = tuple(b58check_encode(b"\x41" + bytes([i]) * 20) for i in (1, 2, 3))


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    return pg.server_url()


@pytest.fixture(scope="session")
async def database_url(pg_server_url: str) -> AsyncIterator[str]:
    url = await pg.create_test_database(pg_server_url)
    yield url
    await pg.drop_database(url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return redisdb.server_url()


@pytest.fixture(scope="session")
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A fresh prefix; its keys are deleted at the end. (coredis clients must be entered and
    exited in one task, so tests open their own with `redisdb.connect`.)"""
    prefix = redisdb.new_prefix()
    yield prefix
    async with redisdb.connect(redis_url) as client:
        await redisdb.delete_prefix(client, prefix)


@dataclass
class ControlPlane:
    server: Server
    admin_token: str
    secret_key: str
    database_url: str
    redis_prefix: str

    @property
    def url(self) -> str:
        return self.server.url

    def logs(self) -> str:
        return self.server.logs()


@pytest.fixture(scope="session")
def control_plane(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str, redis_prefix: str
) -> Iterator[ControlPlane]:
    admin = "admin-" + secrets.token_hex(16)
    secret = secrets.token_urlsafe(32)
    env = {
        "DF_DATABASE_URL": database_url,
        "DF_REDIS_URL": redis_url,
        "DF_REDIS_PREFIX": redis_prefix,
        "DF_SECRET_KEY": secret,
        "DF_ADMIN_TOKEN": admin,
        "DF_ALLOW_PRIVATE_UPSTREAMS": "0",
        "DF_ADMISSION": "off",  # no proxy runs beside this control plane: listings are admitted unprobed
        "DF_SIGNUP_CREDIT_CENTS": "10",
        "DF_LOGIN_PER_IP_PER_MIN": "100000",  # the suite logs in often from one IP; test_ip_limits checks them
        "DF_SIGNUP_PER_IP_PER_MIN": "100000",
        "DF_MAX_OPEN_PAYMENTS": "1000",  # suite buyers leave intents open; tests/security checks the cap
        "DF_TRC20_ADDRESSES": ",".join(TEST_DEPOSIT_ADDRESSES),  # a pool of 3 (test_payments_api exhausts it)
    }
    with granian("control_plane.asgi:app", log_dir=tmp_path_factory.mktemp("control_plane"), env=env) as server:
        yield ControlPlane(server=server, admin_token=admin, secret_key=secret, database_url=database_url,
                           redis_prefix=redis_prefix)
