"""The whole market through one base URL: control plane + Redis + two proxy workers + a fake seller.

Accounts, a seller's pool key and listing, and a buyer key are all made through the
proxy's own URL (forwarded to the control plane); the key's life cycle reaches every
proxy worker through Redis. Propagation times are printed (and recorded in
bench/RESULTS.md); the waits below only bound a hang.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support import pg, redisdb
from tests.support.procs import Server, granian
from wire.snapshot import ListingStats

SECRETS: list[str] = ["sk-upstream-e2e"]  # every secret this module handles; none may reach a log line
CHAT = {"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "Hello"}]}


@dataclass
class Stack:
    proxy: Server
    control: Server
    fake: Server
    admin: str
    redis_url: str
    prefix: str


@pytest.fixture(scope="module")
async def e2e_db(pg_server_url: str) -> AsyncIterator[str]:
    url = await pg.create_test_database(pg_server_url)
    yield url
    await pg.drop_database(url)


@pytest.fixture(scope="module")
async def e2e_prefix(redis_url: str) -> AsyncIterator[str]:
    prefix = redisdb.new_prefix()
    yield prefix
    async with redisdb.connect(redis_url) as client:
        await redisdb.delete_prefix(client, prefix)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, e2e_db: str, redis_url: str, e2e_prefix: str) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("e2e")
    admin = "admin-" + secrets.token_hex(12)
    common = {"DF_SECRET_KEY": secrets.token_urlsafe(32), "DF_REDIS_URL": redis_url, "DF_REDIS_PREFIX": e2e_prefix}
    control_env = {**common, "DF_DATABASE_URL": e2e_db, "DF_ADMIN_TOKEN": admin, "DF_ALLOW_PRIVATE_UPSTREAMS": "1",
                   "DF_SNAPSHOT_RESYNC_S": "0.5"}  # live stats reach a snapshot quickly in this test
    with granian("control_plane.asgi:app", log_dir=logs, env=control_env) as control, \
            granian("fake_provider.asgi:app", log_dir=logs, env={"DF_FAKE_API_KEY": "sk-upstream-e2e"}) as fake, \
            granian("proxy.asgi:app", log_dir=logs, workers=2, ready_path="/healthz",
                    env={**common, "DF_CONTROL_PLANE_URL": control.url, "DF_SNAPSHOT_POLL_S": "1",
                         "DF_STATS_REPORT_S": "0.2"}) as proxy:
        yield Stack(proxy=proxy, control=control, fake=fake, admin=admin, redis_url=redis_url, prefix=e2e_prefix)


def until(predicate: Callable[[], bool], limit_s: float = 10.0) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < limit_s, "condition never held"
        time.sleep(0.005)
    return time.monotonic() - started


def chat_status(stack: Stack, key: str, model: str = "deepseek/deepseek-chat") -> int:
    return httpx.post(stack.proxy.url + "/v1/chat/completions", json={**CHAT, "model": model}, timeout=10,
                      headers={"Authorization": f"Bearer {key}"}).status_code


def every_worker(stack: Stack, key: str, expected: int, model: str = "deepseek/deepseek-chat") -> bool:
    """Ten requests in a row answer `expected`: with two workers behind one port, both have it."""
    return all(chat_status(stack, key, model) == expected for _ in range(10))


def account(http: httpx.Client, stack: Stack) -> dict[str, str]:
    email, password = f"e2e-{secrets.token_hex(4)}@example.com", "pw-" + secrets.token_hex(8)
    created = httpx.post(stack.control.url + "/api/admin/accounts", timeout=10, headers={"Authorization": f"Bearer {stack.admin}"}, json={
        "email": email, "password": password, "verified": True, "plan": "enterprise", "credit_cents": 500,
        "trading_terms_accepted": True})
    assert created.status_code == 201, created.text
    token = http.post("/api/auth/login", json={"email": email, "password": password}).json()["token"]
    SECRETS.append(password)
    return {"Authorization": f"Bearer {token}", "x-account-id": created.json()["id"]}


def test_key_life_cycle_reaches_every_proxy_worker(stack: Stack) -> None:
    with httpx.Client(base_url=stack.proxy.url, timeout=10) as http:  # one base URL for everything
        seller = account(http, stack)
        pool = http.post("/v1/pool/keys", headers=seller, json={
            "provider": "fake", "base_url": stack.fake.url + "/v1", "api_key": "sk-upstream-e2e",
            "api_format": "openai", "name": "e2e"})
        assert pool.status_code == 201, pool.text
        assert "sk-upstream-e2e" not in pool.text
        listing = http.post("/v1/market/listings", headers=seller, json={
            "pool_key_id": pool.json()["id"], "model": "deepseek/deepseek-chat", "ask_input": "0.30",
            "ask_output": "0.90"})
        assert listing.status_code == 201, listing.text
        buyer = account(http, stack)

        created = http.post("/api/keys", headers=buyer, json={"name": "e2e"})
        assert created.status_code == 201, created.text
        key, key_id = created.json()["key"], created.json()["id"]
        SECRETS.append(key)
        accepted = until(lambda: every_worker(stack, key, 200))
        r = httpx.post(stack.proxy.url + "/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"})
        assert r.headers["x-df-market-listing-id"] == listing.json()["id"]
        assert r.headers["x-df-market-ask-input"] == "0.30"
        upstream_seen = httpx.get(stack.fake.url + "/_requests", params={"last": 1}).json()["requests"][-1]
        assert upstream_seen["headers"]["authorization"] == "Bearer sk-upstream-e2e"

        assert http.patch(f"/api/keys/{key_id}", headers=buyer, json={"ip_whitelist": ["10.0.0.0/8"]}).status_code == 200
        ip_listed = until(lambda: every_worker(stack, key, 403))
        assert http.patch(f"/api/keys/{key_id}", headers=buyer,
                          json={"ip_whitelist": [], "model_allowlist": ["qwen/qwen3-30b-a3b"]}).status_code == 200
        until(lambda: every_worker(stack, key, 403))
        assert http.patch(f"/api/keys/{key_id}", headers=buyer, json={"model_allowlist": []}).status_code == 200
        until(lambda: every_worker(stack, key, 200))

        suspend = httpx.patch(f"{stack.control.url}/api/admin/accounts/{buyer['x-account-id']}",
                             headers={"Authorization": f"Bearer {stack.admin}"}, json={"status": "suspended"})
        assert suspend.status_code == 200, suspend.text
        suspended = until(lambda: every_worker(stack, key, 403))
        httpx.patch(f"{stack.control.url}/api/admin/accounts/{buyer['x-account-id']}",
                    headers={"Authorization": f"Bearer {stack.admin}"}, json={"status": "active"})
        until(lambda: every_worker(stack, key, 200))

        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        short = http.post("/api/keys", headers=buyer, json={"name": "short", "expires_at": soon}).json()["key"]
        until(lambda: every_worker(stack, short, 200))
        until(lambda: chat_status(stack, short) == 401)  # expiry is checked by the proxy itself

        assert http.delete(f"/api/keys/{key_id}", headers=buyer).status_code == 200
        deleted = until(lambda: every_worker(stack, key, 401))
    for server in (stack.proxy, stack.control):  # (the fake upstream is the seller's; it may see its own key)
        logs = server.logs()
        leaked = [secret[:8] + "…" for secret in SECRETS if secret in logs]
        assert not leaked, f"secrets in {server.url} logs: {leaked}"
    print(f"\npropagation to every proxy worker: created->accepted {accepted * 1000:.0f} ms, "
          f"ip_whitelist->403 {ip_listed * 1000:.0f} ms, suspended->403 {suspended * 1000:.0f} ms, "
          f"deleted->401 {deleted * 1000:.0f} ms")


def test_live_listing_stats_flow_from_proxies_into_the_snapshot(stack: Stack) -> None:
    """Proxies report per-listing figures to Redis; the control plane ships them in the next
    snapshot, so a new proxy ranks with them from its first request."""
    with httpx.Client(base_url=stack.proxy.url, timeout=10) as http:
        seller = account(http, stack)
        pool = http.post("/v1/pool/keys", headers=seller, json={
            "provider": "fake", "base_url": stack.fake.url + "/k/ttft_ms=30/v1", "api_key": "sk-upstream-e2e",
            "api_format": "openai", "name": "stats"}).json()
        listing = http.post("/v1/market/listings", headers=seller, json={
            "pool_key_id": pool["id"], "model": "qwen/qwen3-30b-a3b", "ask_input": "0.10", "ask_output": "0.20"}).json()
        key = http.post("/api/keys", headers=account(http, stack), json={"name": "stats"}).json()["key"]
        SECRETS.append(key)
    until(lambda: every_worker(stack, key, 200, model="qwen/qwen3-30b-a3b"))
    for _ in range(10):
        assert chat_status(stack, key, "qwen/qwen3-30b-a3b") == 200

    async def shipped() -> ListingStats | None:
        async with redisdb.connect(stack.redis_url) as redis:
            snap = await redisdb.read_snapshot(redis, stack.prefix)
        assert snap is not None
        return next((s for s in snap.stats if s.listing_id == listing["id"]), None)

    def all_counted() -> bool:  # workers report separately: a snapshot may first carry one worker's share
        got = asyncio.run(shipped())
        return got is not None and got.samples >= 10

    until(all_counted, limit_s=15)
    figures = asyncio.run(shipped())
    assert figures is not None and figures.samples >= 10
    assert figures.ttft_ms >= 30  # the seller's TTFT knob, as the proxies measured it
    assert figures.error_rate == 0
