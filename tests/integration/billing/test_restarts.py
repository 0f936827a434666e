"""Restarts with usage in flight, as processes: the control plane (SIGTERM and SIGKILL) and Redis
(with its data kept on disk, and with its data gone). After each, every admitted request is
settled exactly once (one generation each, balance and earnings moved by exactly their sum)
and `dragonfly ledger check` passes. A restarted control plane settles under the same consumer
name (its own pending entries first, at once)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support import pg, redisdb
from tests.support.billing_stack import (
    BillingStack,
    assert_settled_once,
    billing_stack,
    consumers,
    during_traffic,
    until,
)
from tests.support.private_redis import PrivateRedis
from wire.billing import usage_stream
from wire.usage import decode_batch, decode_event

PER_REQUEST = -(-10 * 300_000 // 10**6) + -(-20 * 900_000 // 10**6)  # 10 prompt + 20 completion tokens
PREFIX = "dfrestart:"


@pytest.fixture(scope="module")
async def restart_db(pg_server_url: str) -> AsyncIterator[str]:
    url = await pg.create_test_database(pg_server_url)
    yield url
    await pg.drop_database(url)


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path_factory.mktemp("redis"), persist=True)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, restart_db: str,
          private_redis: PrivateRedis) -> Iterator[BillingStack]:
    logs: Path = tmp_path_factory.mktemp("restarts")
    with billing_stack(logs, restart_db, private_redis.url, PREFIX,
                       proxy_env={"DF_BILLING_REDIS_TIMEOUT_S": "0.2"}) as s:
        s.seller = s.account(0)  # type: ignore[attr-defined]
        s.listing(s.seller, "deepseek/deepseek-chat", "0.30", "0.90")  # type: ignore[attr-defined]
        yield s


def check(stack: BillingStack, buyer: dict[str, str], key: str, ids: list[str], before: tuple[int, int]) -> None:
    rows = assert_settled_once(stack, buyer, stack.seller, key, ids, *before)  # type: ignore[attr-defined]
    assert {r["status"] for r in rows} == {"completed"}
    assert {r["cost_micro_usd"] for r in rows} == {PER_REQUEST}


def start(stack: BillingStack) -> tuple[dict[str, str], str, tuple[int, int]]:
    buyer = stack.account(500)
    key = stack.key(buyer)
    return buyer, key, (stack.balance(buyer), stack.earnings(stack.seller))  # type: ignore[attr-defined]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_control_plane_restart_with_usage_in_flight(stack: BillingStack, sig: signal.Signals) -> None:
    """`make up`, Ctrl-C, `make up`: the second start reuses the consumer group and its name."""
    buyer, key, before = start(stack)
    named = consumers(stack.redis_url, PREFIX)

    def restart() -> None:
        stack.control.stop(sig)
        stack.control.start()

    ids = during_traffic(stack, key, restart)
    ids.append(stack.chat(key, stream=False).headers["x-request-id"])  # bought after the restart
    check(stack, buyer, key, ids, before)
    assert consumers(stack.redis_url, PREFIX) == named  # same name: nothing waited for another consumer's claim
    assert len(named) == 1


def test_redis_restart_keeps_its_data(stack: BillingStack, private_redis: PrivateRedis) -> None:
    buyer, key, before = start(stack)

    def restart() -> None:
        private_redis.stop(signal.SIGKILL)  # a crash: the append-only file holds every write
        private_redis.start()

    ids = during_traffic(stack, key, restart)
    check(stack, buyer, key, ids, before)


def test_redis_restart_with_its_data_gone(stack: BillingStack, private_redis: PrivateRedis) -> None:
    """An empty Redis: the usage events it held unsettled are sent again by the proxy, the consumer
    group is recreated, the snapshot republished at once (a proxy started afterwards serves), the
    credit view rebuilt from PostgreSQL; proxies serve on the offline allowance meanwhile."""
    buyer, key, before = start(stack)
    first = [stack.chat(key, stream=i % 2 == 0).headers["x-request-id"] for i in range(4)]
    stack.settle_all(key, first)
    stack.control.stop()  # settlement paused: the next requests' usage waits in the stream
    held = [stack.chat(key, stream=i % 2 == 0).headers["x-request-id"] for i in range(4)]
    until(lambda: set(held) <= stream_request_ids(private_redis.url), 30)  # in Redis, unsettled

    def restart_empty() -> None:
        private_redis.stop()
        private_redis.wipe()  # the stream, and the events in it, are gone
        private_redis.start()

    ids = first + held + during_traffic(stack, key, restart_empty)
    stack.control.start()
    check(stack, buyer, key, ids, before)
    stack.proxy.stop()  # a proxy started now needs the snapshot republished into the empty Redis
    stack.proxy.start()
    until(lambda: stack.chat_status(key) == 404, 30)  # the key is known again: no 401 / 503
    after = stack.chat(key, stream=False)  # the credit view was rebuilt: admitted online again
    assert after.status_code == 200, after.text
    check(stack, buyer, key, [*ids, after.headers["x-request-id"]], before)


def stream_request_ids(redis_url: str) -> set[str]:
    """The request ids of the usage events waiting in the stream."""
    async def read() -> set[str]:
        async with redisdb.connect(redis_url) as r:
            entries = await r.xrange(usage_stream(PREFIX))
        out: set[str] = set()
        for entry in entries:
            batch = entry.field_values.get(b"b")
            raws = decode_batch(batch) if isinstance(batch, bytes) else [entry.field_values.get(b"e", b"")]
            out |= {decode_event(raw).request_id for raw in raws if isinstance(raw, bytes)}
        return out
    return asyncio.run(read())
