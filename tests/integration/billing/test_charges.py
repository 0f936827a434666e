"""Exact charges through the real openai SDK, computed here from the fake provider's rules
(prompt = ceil(chars / 4), completion = `chunks`) and the listing's asks; default fee profile:
buyer 0 bps, seller 500 bps."""

from __future__ import annotations

import time

import bpe_openai
import httpx
import openai
import pytest

from tests.integration.billing.conftest import CHAT_ASKS
from tests.support.billing_stack import BillingStack, until

PROMPT = "x" * 400  # 100 prompt tokens by the fake's rule
ASK_IN, ASK_OUT = 300_000, 900_000


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def expected(prompt: int, completion: int, buyer_bps: int = 0, seller_bps: int = 500) -> tuple[int, int, int]:
    base = ceil_div(prompt * ASK_IN, 10**6) + ceil_div(completion * ASK_OUT, 10**6)
    cost = ceil_div(base * (10_000 + buyer_bps), 10_000)
    payout = base * (10_000 - seller_bps) // 10_000
    return cost, payout, cost - payout


@pytest.fixture(scope="module")
def buyer(stack: BillingStack) -> tuple[dict[str, str], str]:
    account = stack.account(500)  # $5
    return account, stack.key(account)


def sdk(stack: BillingStack, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.proxy.url + "/v1", api_key=key, max_retries=0, timeout=20)


def test_json_request_is_charged_exactly(stack: BillingStack, buyer: tuple[dict[str, str], str]) -> None:
    account, key = buyer
    before = stack.balance(account)
    raw = sdk(stack, key).chat.completions.with_raw_response.create(
        model="deepseek/deepseek-chat", messages=[{"role": "user", "content": PROMPT}],
        extra_body={"fake": {"chunks": 120}})
    request_id = raw.headers["x-request-id"]
    first = stack.generation(key, request_id)  # right after the response: pending or settled, never 404
    assert first.status_code == 200 and first.json()["status"] in ("pending", "completed"), first.text
    gen = stack.settled(key, request_id)
    cost, payout, fee = expected(100, 120)
    assert (gen["prompt_tokens"], gen["completion_tokens"], gen["usage_estimated"]) == (100, 120, False)
    assert (gen["cost_micro_usd"], gen["seller_payout_micro_usd"], gen["platform_fee_micro_usd"]) == (cost, payout, fee)
    assert (gen["ask_input"], gen["ask_output"], gen["fee_profile_id"]) == (*CHAT_ASKS, "default")
    assert gen["status"] == "completed" and gen["latency_ms"] is not None
    assert stack.balance(account) == before - cost
    other_key = stack.key(stack.account(100))
    assert stack.generation(other_key, request_id).status_code == 404  # another account's request


def test_stream_with_and_without_include_usage(stack: BillingStack, buyer: tuple[dict[str, str], str]) -> None:
    account, key = buyer
    client = sdk(stack, key)
    for include in (True, False):
        before = stack.balance(account)
        extra = {"stream_options": {"include_usage": True}} if include else {}
        with client.chat.completions.with_streaming_response.create(
                model="deepseek/deepseek-chat", messages=[{"role": "user", "content": PROMPT}], stream=True,
                extra_body={"fake": {"chunks": 40}}, **extra) as response:  # type: ignore[call-overload]
            request_id = response.headers["x-request-id"]
            chunks = list(response.parse())
        usage_chunks = [c for c in chunks if c.usage is not None]
        assert len(usage_chunks) == (1 if include else 0)  # relayed only when the buyer asked
        if include:
            assert usage_chunks[0].usage.completion_tokens == 40
        gen = stack.settled(key, request_id)
        cost, payout, fee = expected(100, 40)
        assert (gen["status"], gen["prompt_tokens"], gen["completion_tokens"], gen["usage_estimated"]) == (
            "completed", 100, 40, False)
        assert (gen["cost_micro_usd"], gen["seller_payout_micro_usd"]) == (cost, payout)
        assert gen["ttft_ms"] is not None
        until(lambda b=before - cost: stack.balance(account) == b)  # type: ignore[misc]


def test_mid_stream_failure_bills_only_delivered_completion(stack: BillingStack,
                                                            buyer: tuple[dict[str, str], str]) -> None:
    _, key = buyer
    with httpx.stream("POST", stack.proxy.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": PROMPT}],
                            "stream": True, "fake": {"chunks": 50, "close_after": 3}}, timeout=20) as r:
        request_id = r.headers["x-request-id"]
        body = r.read()
    assert b'"error"' in body and b"[DONE]" not in body
    gen = stack.settled(key, request_id)
    delivered = len(bpe_openai.get_encoding("cl100k_base").encode_ordinary("tok0 tok1 tok2"))  # our count of the text
    assert (gen["status"], gen["prompt_tokens"], gen["completion_tokens"], gen["usage_estimated"]) == (
        "partial", 0, delivered, True)
    assert gen["cost_micro_usd"] == expected(0, delivered)[0]


def test_upstream_failure_before_first_byte_costs_nothing(stack: BillingStack,
                                                          buyer: tuple[dict[str, str], str]) -> None:
    account, key = buyer
    before = stack.balance(account)
    for stream in (False, True):
        r = stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
            "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": PROMPT}], "stream": stream,
            "fake": {"status": 500}})
        assert r.status_code == 502, r.text
        gen = stack.settled(key, r.headers["x-request-id"])
        assert (gen["status"], gen["cost_micro_usd"]) == ("failed", 0)
    assert stack.balance(account) == before


def test_disconnect_bills_prompt_and_generated_tokens(stack: BillingStack, buyer: tuple[dict[str, str], str]) -> None:
    _, key = buyer
    with httpx.stream("POST", stack.proxy.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                      json={"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": PROMPT}],
                            "stream": True, "fake": {"chunks": 400, "tps": 40}}, timeout=20) as r:
        request_id = r.headers["x-request-id"]
        seen = 0
        for line in r.iter_lines():
            seen += line.startswith("data:")
            if seen >= 5:
                break  # leave mid-stream
    started = time.monotonic()
    gen = stack.settled(key, request_id)
    assert gen["status"] == "disconnected" and gen["usage_estimated"] is True
    # the upstream never reported usage: the prompt is our own count, with the cl100k_base encoding
    ours = len(bpe_openai.get_encoding("cl100k_base").encode_ordinary(PROMPT))
    assert gen["prompt_tokens"] == ours
    completion = int(gen["completion_tokens"])  # type: ignore[call-overload]
    assert 4 <= completion < 400, completion  # the upstream was cancelled well before the end
    assert gen["cost_micro_usd"] == expected(ours, completion)[0]
    assert time.monotonic() - started < 5


def test_402_before_any_upstream_call(stack: BillingStack) -> None:
    account = stack.account(1)  # $0.01
    key = stack.key(account)
    upstream_before = stack.upstream_requests()
    r = stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100_000})
    assert r.status_code == 402, r.text
    error = r.json()["error"]
    assert error["type"] == "insufficient_balance" and error["code"] == 402
    assert "Requested up to 100,000 output tokens, can afford" in error["message"]
    assert "top up" in error["message"]
    budget_key = stack.key(stack.account(500), monthly_budget_cents=1)
    r = stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {budget_key}"}, json={
        "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100_000})
    assert r.status_code == 402 and "monthly budget" in r.json()["error"]["message"], r.text
    assert stack.upstream_requests() == upstream_before


def test_usage_balance_and_transactions(stack: BillingStack, buyer: tuple[dict[str, str], str]) -> None:
    account, _ = buyer
    usage = stack.http.get("/api/usage", headers=account, params={"model": "deepseek/deepseek-chat"}).json()
    assert usage["data"][0]["requests"] >= 1 and usage["data"][0]["cost_micro_usd"] > 0
    by_key = stack.http.get("/api/usage/by-key", headers=account).json()["data"]
    assert len(by_key) == 1
    daily = stack.http.get("/api/usage/daily", headers=account).json()["data"]
    assert sum(d["cost_micro_usd"] for d in daily) == usage["data"][0]["cost_micro_usd"]
    page = stack.http.get("/api/billing/transactions", headers=account, params={"limit": 2}).json()
    assert len(page["data"]) == 2 and page["next_before"] is not None
    rest = stack.http.get("/api/billing/transactions", headers=account,
                          params={"before": page["next_before"], "limit": 500}).json()
    amounts = [t["amount_micro_usd"] for t in page["data"] + rest["data"]]
    assert sum(amounts) == stack.balance(account)
    assert amounts[-1] == 5_000_000  # the opening credit
