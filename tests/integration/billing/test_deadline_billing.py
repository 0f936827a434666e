"""Who pays when time runs out (README "Deadlines"), against a billing stack with short timeouts
(first byte 1.5 s, idle 1.5 s, route deadline 2 s):

- a JSON answer that trickles in over ~3 s (never silent for 1 s) is relayed and billed exactly;
- a request cut off by the buyer's own profile deadline (100 ms) is a 504 naming the deadline, its
  generation is `failed` at cost 0 and the balance does not move.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.billing.conftest import CHAT_ASKS
from tests.integration.billing.test_charges import PROMPT, expected
from tests.support.billing_stack import BillingStack, billing_stack

SHORT = {"DF_UPSTREAM_FIRST_BYTE_TIMEOUT_S": "1.5", "DF_UPSTREAM_IDLE_TIMEOUT_S": "1.5", "DF_ROUTE_DEADLINE_S": "2"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, bill_db: str, redis_url: str,
          bill_prefix: str) -> Iterator[BillingStack]:
    with billing_stack(tmp_path_factory.mktemp("deadline-billing"), bill_db, redis_url, bill_prefix,
                       proxy_env=SHORT) as s:
        seller = s.account(0)
        s.listing(seller, "deepseek/deepseek-chat", *CHAT_ASKS)
        yield s


def chat(stack: BillingStack, key: str, fake: dict[str, object]) -> httpx.Response:
    return stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": PROMPT}], "fake": fake})


def test_a_json_answer_trickling_past_every_total_timer_is_relayed_and_billed(stack: BillingStack) -> None:
    account = stack.account(500)
    key = stack.key(account)
    before = stack.balance(account)
    r = chat(stack, key, {"chunks": 30, "pieces": 8, "piece_ms": 400})  # ~2.8 s, at most 0.4 s of silence
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["completion_tokens"] == 30
    gen = stack.settled(key, r.headers["x-request-id"])
    cost, payout, _ = expected(100, 30)
    assert (gen["status"], gen["completion_tokens"], gen["cost_micro_usd"]) == ("completed", 30, cost)
    assert gen["seller_payout_micro_usd"] == payout
    assert stack.balance(account) == before - cost


def test_a_cut_by_the_buyers_own_deadline_is_billed_nothing(stack: BillingStack) -> None:
    account = stack.account(500)
    profile = stack.http.post("/api/routing/profiles", headers=account, json={"name": "quick", "deadline_ms": 100})
    assert profile.status_code == 201, profile.text
    key = stack.key(account, routing_profile_id=profile.json()["id"])
    before = stack.balance(account)
    r = chat(stack, key, {"ttft_ms": 600})
    assert r.status_code == 504, r.text
    assert "deadline_ms of 100 ms" in r.json()["error"]["message"]
    gen = stack.settled(key, r.headers["x-request-id"])
    assert (gen["status"], gen["cost_micro_usd"], gen["seller_payout_micro_usd"]) == ("failed", 0, 0)
    assert stack.balance(account) == before
