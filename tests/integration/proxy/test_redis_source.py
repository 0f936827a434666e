"""The proxy follows snapshots published to Redis (by the control plane's own publisher)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import coredis
import httpx
import pytest

from control_plane.snapshot.redis_store import RedisSnapshotStore
from tests.integration.proxy.conftest import PROXY_ENV, chat_body
from tests.support.market import Market, standard_market
from tests.support.private_redis import PrivateRedis
from tests.support.procs import Server, granian


async def _publish(url: str, prefix: str, market: Market) -> str:
    async with coredis.Redis.from_url(url, decode_responses=False) as redis:
        result = await RedisSnapshotStore(redis, prefix).publish(market.snapshot())
        return result.version


def publish(url: str, prefix: str, market: Market) -> str:
    return asyncio.run(_publish(url, prefix, market))


@pytest.fixture
def redis_market(tmp_path: Path, fake: Server) -> Iterator[tuple[Server, Market, PrivateRedis]]:
    redis = PrivateRedis(tmp_path)
    redis.start()
    market = standard_market(tmp_path / "unused.json", fake.url)
    publish(redis.url, "t:", market)
    env = {**PROXY_ENV, "DF_REDIS_URL": redis.url, "DF_REDIS_PREFIX": "t:", "DF_SNAPSHOT_POLL_S": "1"}
    env.pop("DF_SNAPSHOT_FILE", None)
    try:
        with granian("proxy.asgi:app", log_dir=tmp_path, env=env, ready_path="/readyz", workers=2) as server:
            yield server, market, redis
    finally:
        redis.stop()


def status(server: Server, key: str) -> int:
    return httpx.post(server.url + "/v1/chat/completions", json=chat_body(),
                      headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code


def until(predicate: object, limit_s: float = 10.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError("condition never held")


def all_workers(server: Server, key: str, expected: int, tries: int = 8) -> bool:
    """Several requests in a row all see `expected` (two workers share the port)."""
    return all(status(server, key) == expected for _ in range(tries))


def test_keys_follow_redis_publishes_on_every_worker(redis_market: tuple[Server, Market, PrivateRedis]) -> None:
    server, market, redis = redis_market
    assert status(server, market.keys["main"]) == 200
    new = market.add_key("fresh")
    assert status(server, new) == 401
    publish(redis.url, "t:", market)
    seconds = until(lambda: all_workers(server, new, 200))
    print(f"\nkey created -> accepted by every worker in {seconds * 1000:.0f} ms")
    market.remove_key("fresh")
    publish(redis.url, "t:", market)
    seconds = until(lambda: all_workers(server, new, 401))
    print(f"key deleted -> refused by every worker in {seconds * 1000:.0f} ms")


def test_proxy_serves_through_a_redis_outage_and_catches_up(
    redis_market: tuple[Server, Market, PrivateRedis],
) -> None:
    server, market, redis = redis_market
    until(lambda: all_workers(server, market.keys["main"], 200))  # every worker has loaded a snapshot
    redis.stop()
    until(lambda: httpx.get(server.url + "/readyz").json()["source_reachable"] is False)
    assert all_workers(server, market.keys["main"], 200)  # known keys keep working
    until(lambda: "gateway_snapshot_source_up{" in (m := httpx.get(server.url + "/metrics").text)
          and "} 0" in m.split("gateway_snapshot_source_up{")[1].split("\n")[0])
    redis.start()  # empty: nothing survives a restart without persistence
    late = market.add_key("late")
    publish(redis.url, "t:", market)
    until(lambda: all_workers(server, late, 200), limit_s=20)
    ready = httpx.get(server.url + "/readyz").json()
    assert ready["source_reachable"] is True and ready["ready"] is True
