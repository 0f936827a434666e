"""One billing stack per module (control plane + fake seller + proxy with billing on), a seller
with listings, and a ledger check after every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support import pg, redisdb
from tests.support.billing_stack import BillingStack, billing_stack

CHAT_ASKS = ("0.30", "0.90")  # deepseek/deepseek-chat, micro-USD per Mtok 300_000 / 900_000
BUDGET_MODEL = "qwen/qwen3-30b-a3b"  # asks 0 / 100.00: 1,000 output tokens cost exactly $0.10


@pytest.fixture(scope="module")
async def bill_db(pg_server_url: str) -> AsyncIterator[str]:
    url = await pg.create_test_database(pg_server_url)
    yield url
    await pg.drop_database(url)


@pytest.fixture(scope="module")
async def bill_prefix(redis_url: str) -> AsyncIterator[str]:
    prefix = redisdb.new_prefix()
    yield prefix
    async with redisdb.connect(redis_url) as client:
        await redisdb.delete_prefix(client, prefix)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, bill_db: str, redis_url: str,
          bill_prefix: str) -> Iterator[BillingStack]:
    with billing_stack(tmp_path_factory.mktemp("billing"), bill_db, redis_url, bill_prefix) as s:
        seller = s.account(0)
        s.listing(seller, "deepseek/deepseek-chat", *CHAT_ASKS)
        s.listing(seller, BUDGET_MODEL, "0", "100.00")
        s.seller = seller  # type: ignore[attr-defined]
        yield s


@pytest.fixture(autouse=True)
def ledger_checked(stack: BillingStack) -> Iterator[None]:
    yield
    stack.ledger_check()
