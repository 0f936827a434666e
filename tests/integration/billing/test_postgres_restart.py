"""PostgreSQL restarted mid-traffic, on a private cluster of this test (the shared server stays up):
proxies keep serving (PostgreSQL is not on the request path), usage waits in the Redis stream,
and settlement resumes when the server is back — also when the control plane was killed while
the server was down (its own pending entries are settled first, under the same consumer name).
Every admitted request is settled exactly once and the ledger checks out."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support import pg, redisdb
from tests.support.billing_stack import BillingStack, assert_settled_once, billing_stack, consumers, during_traffic


@pytest.fixture(scope="module")
async def private_pg() -> AsyncIterator[pg.PrivatePostgres]:
    server = pg.PrivatePostgres()
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
async def private_db(private_pg: pg.PrivatePostgres) -> AsyncIterator[str]:
    yield await pg.create_test_database(private_pg.url)


@pytest.fixture(scope="module")
async def pg_prefix(redis_url: str) -> AsyncIterator[str]:
    prefix = redisdb.new_prefix()
    yield prefix
    async with redisdb.connect(redis_url) as client:
        await redisdb.delete_prefix(client, prefix)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, private_db: str, redis_url: str,
          pg_prefix: str) -> Iterator[BillingStack]:
    logs: Path = tmp_path_factory.mktemp("pgrestart")
    with billing_stack(logs, private_db, redis_url, pg_prefix) as s:
        s.seller = s.account(0)  # type: ignore[attr-defined]
        s.listing(s.seller, "deepseek/deepseek-chat", "0.30", "0.90")  # type: ignore[attr-defined]
        yield s


@pytest.mark.parametrize("kill_control_plane", [False, True], ids=["restart", "restart-and-kill-control-plane"])
def test_postgres_restart_mid_traffic(stack: BillingStack, private_pg: pg.PrivatePostgres,
                                      kill_control_plane: bool) -> None:
    seller: dict[str, str] = stack.seller  # type: ignore[attr-defined]
    buyer = stack.account(500)
    key = stack.key(buyer)
    before = (stack.balance(buyer), stack.earnings(seller))
    named = consumers(stack.redis_url, stack.prefix)
    while_down: list[str] = []

    def restart() -> None:
        private_pg.stop("immediate")  # a crash: recovered from its WAL at the next start
        for i in range(4):  # certainly bought while the server is down
            r = stack.chat(key, stream=i % 2 == 0)
            assert r.status_code == 200, r.text
            while_down.append(r.headers["x-request-id"])
        if kill_control_plane:
            stack.control.stop(signal.SIGKILL)
        private_pg.start()
        if kill_control_plane:
            stack.control.start()

    ids = during_traffic(stack, key, restart) + while_down
    rows = assert_settled_once(stack, buyer, seller, key, ids, *before)
    assert {r["status"] for r in rows} == {"completed"}
    assert consumers(stack.redis_url, stack.prefix) == named
