"""The budget race against two proxy processes (replicas) sharing one Redis and one control plane:
200 concurrent requests, split between them, against a $1 key budget of $0.10 requests — at most
10 admitted in all, spend never above the budget (README "Billing": overspend bound), ledger check
after (the package's autouse fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.billing.conftest import BUDGET_MODEL, CHAT_ASKS
from tests.integration.billing.test_budget_race import budget_race
from tests.support.billing_stack import BillingStack, billing_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, bill_db: str, redis_url: str,
          bill_prefix: str) -> Iterator[BillingStack]:
    with billing_stack(tmp_path_factory.mktemp("replicas"), bill_db, redis_url, bill_prefix, proxies=2) as s:
        seller = s.account(0)
        s.listing(seller, "deepseek/deepseek-chat", *CHAT_ASKS)
        s.listing(seller, BUDGET_MODEL, "0", "100.00")
        yield s


def test_200_concurrent_requests_over_two_proxies_against_a_1_dollar_budget(stack: BillingStack) -> None:
    assert len(stack.proxies) == 2
    budget_race(stack)
