"""The security suite's stack: control plane + fake seller + proxy on one Redis prefix of their own.

The proxy is started as production would be, except that the operator allows the loopback
seller explicitly (`DF_UPSTREAM_ALLOW_NETWORKS=127.0.0.1/32`, not `DF_ALLOW_PRIVATE_UPSTREAMS`),
so the connect-time address check runs in every test. Quotas are small so tests reach them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support import redisdb
from tests.support.procs import Server, granian

QUOTAS = {"DF_MAX_ROUTING_PROFILES": "2", "DF_MAX_KEYS": "3", "DF_MAX_MANAGEMENT_KEYS": "2",
          "DF_MAX_POOL_KEYS": "2", "DF_MAX_LISTINGS": "2", "DF_MAX_OPEN_PAYMENTS": "2"}
UPSTREAM_KEY = "sk-upstream-" + secrets.token_hex(16)  # distinctive: the secret scan looks for it
METRICS_TOKEN = "metrics-" + secrets.token_hex(12)


@dataclass
class Stack:
    proxy: Server
    control: Server
    fake: Server
    admin: str
    database_url: str
    redis_url: str
    prefix: str
    env: dict[str, str]
    seen: list[httpx.Response] = field(default_factory=list)  # every response, for the secret scan

    def client(self, base: str | None = None) -> httpx.Client:
        def keep(response: httpx.Response) -> None:
            response.read()
            self.seen.append(response)

        return httpx.Client(base_url=base or self.proxy.url, timeout=20, event_hooks={"response": [keep]})

    def account(self, *, verified: bool = True, credit_cents: int = 500) -> dict[str, str]:
        """A logged-in account (made through the operator API on the control plane's port)."""
        email, password = f"sec-{secrets.token_hex(5)}@example.com", "pw-" + secrets.token_hex(10)
        with self.client(self.control.url) as http:
            made = http.post("/api/admin/accounts", headers={"Authorization": f"Bearer {self.admin}"}, json={
                "email": email, "password": password, "verified": verified, "plan": "enterprise",
                "credit_cents": credit_cents, "trading_terms_accepted": True})
            assert made.status_code == 201, made.text
        with self.client() as http:
            login = http.post("/api/auth/login", json={"email": email, "password": password})
            assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['token']}", "x-account-id": made.json()["id"],
                "x-password": password}

    def listing(self, seller: dict[str, str], base_url: str | None = None, model: str = "deepseek/deepseek-chat",
                **fields: object) -> str:
        auth = {"Authorization": seller["Authorization"]}
        with self.client() as http:
            pool = http.post("/v1/pool/keys", headers=auth, json={
                "provider": "fake", "base_url": base_url or self.fake.url + "/v1", "api_key": UPSTREAM_KEY,
                "api_format": "openai", "name": "sec"})
            assert pool.status_code == 201, pool.text
            made = http.post("/v1/market/listings", headers=auth, json={
                "pool_key_id": pool.json()["id"], "model": model, "ask_input": "0.10", "ask_output": "0.20",
                **fields})
            assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def key(self, buyer: dict[str, str], **fields: object) -> str:
        with self.client() as http:
            made = http.post("/api/keys", headers={"Authorization": buyer["Authorization"]},
                             json={"name": "sec", **fields})
            assert made.status_code == 201, made.text
        return str(made.json()["key"])


def chat(http: httpx.Client, key: str, model: str = "deepseek/deepseek-chat",
         headers: dict[str, str] | None = None) -> httpx.Response:
    return http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}", **(headers or {})},
                     json={"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5})


def until(predicate: object, limit_s: float = 15.0) -> None:
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < limit_s, "condition never held"
        time.sleep(0.05)


@pytest.fixture(scope="session")
async def security_prefix(redis_url: str) -> AsyncIterator[str]:
    prefix = redisdb.new_prefix()
    yield prefix
    async with redisdb.connect(redis_url) as client:
        await redisdb.delete_prefix(client, prefix)


def start_stack(logs: Path, database_url: str, redis_url: str, prefix: str, *, control_env: dict[str, str],
                proxy_env: dict[str, str]) -> Iterator[Stack]:
    admin = "admin-" + secrets.token_hex(16)
    common = {"DF_SECRET_KEY": secrets.token_urlsafe(32), "DF_REDIS_URL": redis_url, "DF_REDIS_PREFIX": prefix}
    cenv = {**common, "DF_DATABASE_URL": database_url, "DF_ADMIN_TOKEN": admin, "DF_ALLOW_PRIVATE_UPSTREAMS": "1",
            "DF_TRC20_ADDRESSES": "dev", "DF_LOGIN_PER_IP_PER_MIN": "100000", "DF_SIGNUP_PER_IP_PER_MIN": "100000",
            **control_env}
    with granian("control_plane.asgi:app", log_dir=logs, env=cenv) as control, \
            granian("fake_provider.asgi:app", log_dir=logs, env={"DF_FAKE_API_KEY": UPSTREAM_KEY}) as fake:
        penv = {**common, "DF_SNAPSHOT_POLL_S": "0.2", "DF_USAGE_SPOOL_DIR": str(logs / "spool"),
                "DF_CONTROL_PLANE_URL": control.url, "DF_ALLOW_PRIVATE_UPSTREAMS": "0",
                "DF_UPSTREAM_ALLOW_NETWORKS": "127.0.0.1/32", "DF_UPSTREAM_PORTS": "any", **proxy_env}
        with granian("proxy.asgi:app", log_dir=logs, env=penv) as proxy:
            yield Stack(proxy=proxy, control=control, fake=fake, admin=admin, database_url=database_url,
                        redis_url=redis_url, prefix=prefix, env=penv)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str,
          security_prefix: str) -> Iterator[Stack]:
    yield from start_stack(tmp_path_factory.mktemp("security"), database_url, redis_url, security_prefix,
                           control_env={**QUOTAS, "DF_METRICS_NETWORKS": "192.0.2.0/24",
                                        "DF_METRICS_TOKEN": METRICS_TOKEN},
                           proxy_env={"DF_TRUSTED_PROXIES": "127.0.0.1/32", "DF_METRICS_NETWORKS": "192.0.2.0/24",
                                      "DF_METRICS_TOKEN": METRICS_TOKEN})


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url, timeout=10)
    yield conn
    await conn.close()


def error_of(response: httpx.Response, status: int, *words: str) -> str:
    """The documented error body's message, after checking its shape and status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code"}, body
    assert body["error"]["code"] == status
    message = str(body["error"]["message"])
    for word in words:
        assert word in message, (word, message)
    return message
