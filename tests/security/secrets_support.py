"""Helpers of the secrets tests: a private database and Redis prefix, accounts and listings via the API."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import coredis
import httpx

from tests.support import pg
from tests.support.redisdb import delete_prefix, new_prefix

PASSWORD = "pw-secrets-" + secrets.token_hex(6)


@dataclass
class Place:
    database_url: str
    redis_url: str
    prefix: str


@contextmanager
def private_place(pg_server_url: str, redis_url: str) -> Iterator[Place]:
    """A fresh migrated database and Redis prefix (key changes here touch no other test's rows)."""
    database_url = asyncio.run(pg.create_test_database(pg_server_url))
    place = Place(database_url=database_url, redis_url=redis_url, prefix=new_prefix())
    try:
        yield place
    finally:
        asyncio.run(pg.drop_database(database_url))
        asyncio.run(_forget(redis_url, place.prefix))


async def _forget(url: str, prefix: str) -> None:
    async with coredis.Redis.from_url(url, decode_responses=False) as redis:
        await delete_prefix(redis, prefix)


def account(http: httpx.Client, admin: str, credit_cents: int = 0) -> tuple[str, dict[str, str]]:
    """(email, auth headers) of a verified account made by the operator API."""
    email = f"sec-{secrets.token_hex(5)}@example.com"
    r = http.post("/api/admin/accounts", headers={"Authorization": f"Bearer {admin}"}, json={
        "email": email, "password": PASSWORD, "verified": True, "plan": "enterprise",
        "credit_cents": credit_cents, "trading_terms_accepted": True})
    assert r.status_code == 201, r.text
    return email, login(http, email)


def login(http: httpx.Client, email: str) -> dict[str, str]:
    r = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def listing(http: httpx.Client, seller: dict[str, str], base_url: str, upstream_key: str,
            model: str = "deepseek/deepseek-chat") -> tuple[str, str]:
    """(pool key id, listing id) of a new listing on `base_url`."""
    pool = http.post("/v1/pool/keys", headers=seller, json={
        "provider": "fake", "base_url": base_url, "api_key": upstream_key, "api_format": "openai", "name": "sec"})
    assert pool.status_code == 201, pool.text
    r = http.post("/v1/market/listings", headers=seller, json={
        "pool_key_id": pool.json()["id"], "model": model, "ask_input": "0.10", "ask_output": "0.20"})
    assert r.status_code == 201, r.text
    return str(pool.json()["id"]), str(r.json()["id"])


def chat(proxy_url: str, key: str) -> httpx.Response:
    return httpx.post(proxy_url + "/v1/chat/completions", timeout=20, headers={"Authorization": f"Bearer {key}"},
                      json={"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "hi"}],
                            "max_tokens": 5})


def until(predicate: Callable[[], bool], limit_s: float = 20.0) -> None:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < limit_s, "condition never held"
        time.sleep(0.05)
