"""Invariants one party cannot break, through a real billing stack (control plane + proxy + the
fake provider playing a hostile seller with its usage knobs, or a buyer playing tricks):

- every charge is at most its reservation (proxy and settlement), counted and shown as capped;
  settlement never takes a buyer's balance below zero;
- `n` multiplies the reserved completion cap; both max-token fields sent upstream equal the cap;
- cost-raising fields no listing prices are refused (400), nothing reserved, billed or sent;
- prompt tokens billed <= our count's allowance, JSON completions cross-checked like streams;
- transcriptions billed for the audio sent, whatever its WAV header claims.
The module's conftest runs `dragonfly ledger check` after every test.
"""

from __future__ import annotations

import asyncio
import struct
import time
import uuid

import coredis
import httpx
import openai
import pytest

from proxy.billing.bounds import PER_MESSAGE_TOKENS, PER_REQUEST_TOKENS, PROMPT_TOLERANCE_PCT
from proxy.billing.tokenizer import count_tokens
from tests.integration.billing.conftest import BUDGET_MODEL
from tests.support.billing_stack import BillingStack
from wire.billing import usage_stream
from wire.pricing import Asks
from wire.usage import UsageEvent, encode_event

TINY = "zhipu/glm-5-0131"  # 1 micro-USD per Mtok in and cached, 0 out: every charge rounds to whole micros
WHISPER = "openai/whisper-1"  # 100 micro-USD an audio second
ANTHROPIC = "moonshot/kimi-k2"  # an Anthropic-format listing: Messages requests are relayed natively


@pytest.fixture(scope="module")
def market(stack: BillingStack) -> BillingStack:
    seller = stack.seller  # type: ignore[attr-defined]
    tiny = stack.listing(seller, TINY, "0.000001", "0")
    r = stack.http.patch(f"/v1/market/listings/{tiny}", headers=seller, json={"ask_cached_input": "0.000001"})
    assert r.status_code == 200, r.text
    stack.listing(seller, WHISPER, "100.00", "0")
    stack.listing(seller, ANTHROPIC, "0.50", "1.50", "anthropic")
    return stack


@pytest.fixture
def buyer(market: BillingStack) -> tuple[dict[str, str], str]:
    account = market.account(100)  # $1
    return account, market.key(account)


def post(stack: BillingStack, key: str, body: dict[str, object], path: str = "/v1/chat/completions",
         **headers: str) -> httpx.Response:
    return stack.http.post(path, headers={"Authorization": f"Bearer {key}", **headers}, json=body)


def metric(stack: BillingStack, name: str, listing: str) -> int:
    text = stack.http.get("/metrics").text
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith(name + "{") and f'listing="{listing}"' in line)


def test_a_charge_never_exceeds_its_reservation(market: BillingStack, buyer: tuple[dict[str, str], str]) -> None:
    account, key = buyer
    before = market.balance(account)
    # one prompt token reported cached: two roundings up (uncached + cached) against the one of the reservation
    r = post(market, key, {"model": TINY, "messages": [{"role": "user", "content": "x" * 40}],
                           "fake": {"cached_tokens": 1}})
    assert r.status_code == 200, r.text
    listing = r.headers["x-df-market-listing-id"]
    gen = market.settled(key, r.headers["x-request-id"])
    assert gen["cost_micro_usd"] == 1  # 2 micro-USD of tokens, 1 reserved
    assert market.balance(account) == before - 1
    assert (gen["reserved_micro_usd"], gen["capped_micro_usd"]) == (1, 1)
    assert metric(market, "gateway_billing_capped_total", listing) >= 1


async def _inject(stack: BillingStack, account: str, events: list[tuple[int, int, Asks, int]]) -> list[str]:
    """Usage events as a faulty or hostile proxy could send them: (prompt, cached, asks, reserved)."""
    ids = []
    async with coredis.Redis.from_url(stack.redis_url) as redis:
        for prompt, cached, asks, reserved in events:
            rid = uuid.uuid4().hex
            ids.append(rid)
            ev = UsageEvent(request_id=rid, account_id=account, key_id="key-x", listing_id="listing-x",
                            seller_account_id=stack.seller["x-account-id"],  # type: ignore[attr-defined]
                            model="m/x", provider="fake", upstream_model="x",
                            status="completed", prompt_tokens=prompt, cached_tokens=cached, asks=asks,
                            reserved_micro_usd=reserved, month=202601, started_at_ms=1_700_000_000_000)
            await redis.xadd(usage_stream(stack.prefix), {"e": encode_event(ev)})
    return ids


def test_settlement_caps_whatever_a_proxy_sends(market: BillingStack) -> None:
    account = market.account(1)  # 10,000 micro-USD
    account_id = account["x-account-id"]
    greedy = Asks(ask_input=300_000, ask_output=900_000, ask_cached_input=10_000_000_000)  # the attack
    fair = Asks(ask_input=1_000_000, ask_output=0)
    asyncio.run(_inject(market, account_id, [(4096, 4096, greedy, 51)]))
    until_balance(market, account, 10_000 - 51)  # $40.96 of tokens, 51 micro-USD reserved
    asyncio.run(_inject(market, account_id, [(1_000_000, 0, fair, 10**9)]))  # $1 of tokens, $0.01 left
    until_balance(market, account, 0)  # never below zero


def until_balance(stack: BillingStack, account: dict[str, str], expected: int) -> None:
    """Wait for settlement (at most 15 s); the balance must reach `expected` exactly."""
    for _ in range(300):
        if stack.balance(account) == expected:
            return
        time.sleep(0.05)
    assert stack.balance(account) == expected


def test_n_multiplies_the_reserved_completion_cap(market: BillingStack, buyer: tuple[dict[str, str], str]) -> None:
    account, key = buyer
    calls = market.upstream_requests()
    # 1,000 output tokens cost $0.10 here; 128 choices of them can cost $12.80 against a $1 balance
    r = post(market, key, {"model": BUDGET_MODEL, "messages": [{"role": "user", "content": "hi"}], "n": 128,
                           "max_tokens": 1000})
    assert r.status_code == 402, r.text
    assert "128,000 output tokens" in r.json()["error"]["message"]
    assert market.upstream_requests() == calls and market.balance(account) == 10**6


def test_both_max_token_fields_sent_upstream_equal_the_billed_cap(market: BillingStack,
                                                                  buyer: tuple[dict[str, str], str]) -> None:
    _, key = buyer
    # an upstream that honours max_tokens only; the buyer asks for 3 tokens one way and 8,000 the other
    r = post(market, key, {"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "hi"}],
                           "max_completion_tokens": 3, "max_tokens": 8000,
                           "fake": {"chunks": 50, "limit_field": "max_tokens"}})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "tok0 tok1 tok2"  # produced what is billed
    gen = market.settled(key, r.headers["x-request-id"])
    assert gen["completion_tokens"] == 3


@pytest.mark.parametrize(("body", "headers", "named"), [
    ({"service_tier": "priority"}, {}, "service_tier"),
    ({"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}, {}, "audio"),
    ({"web_search_options": {}}, {}, "web_search_options"),
    ({"tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}, {}, "tools[0].type"),
    ({}, {"anthropic-beta": "context-1m-2025-08-07"}, "anthropic-beta"),
])
def test_unpriced_cost_raising_fields_are_refused(market: BillingStack, buyer: tuple[dict[str, str], str],
                                                  body: dict[str, object], headers: dict[str, str],
                                                  named: str) -> None:
    account, key = buyer
    calls = market.upstream_requests()
    r = post(market, key, {"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "hi"}],
                           **body}, **headers)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "bad_request" and named in error["message"], error
    assert market.upstream_requests() == calls and market.balance(account) == 10**6


def test_anthropic_server_tools_are_refused(market: BillingStack, buyer: tuple[dict[str, str], str]) -> None:
    account, key = buyer
    calls = market.upstream_requests()
    r = market.http.post("/v1/messages", headers={"x-api-key": key, "anthropic-version": "2023-06-01"}, json={
        "model": ANTHROPIC, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]})
    assert r.status_code == 400, r.text
    assert "tools[0].type" in r.json()["error"]["message"]
    assert market.upstream_requests() == calls and market.balance(account) == 10**6


def test_a_prompt_over_report_is_billed_at_our_count(market: BillingStack, buyer: tuple[dict[str, str], str]) -> None:
    _, key = buyer
    text = "Please summarise the following meeting notes in three short bullet points. " * 20
    r = post(market, key, {"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": text}],
                           "fake": {"prompt_tokens": 5_000}})
    assert r.status_code == 200, r.text
    gen = market.settled(key, r.headers["x-request-id"])
    ours = count_tokens([text])
    allowed = max(-(-len(text) // 4), ours + ours * PROMPT_TOLERANCE_PCT // 100) + PER_REQUEST_TOKENS \
        + PER_MESSAGE_TOKENS
    assert gen["prompt_tokens"] == allowed < len(text) // 3  # not the 5,000 reported, nor the body's bytes
    assert metric(market, "gateway_billing_usage_mismatches_total", r.headers["x-df-market-listing-id"]) >= 1


def test_a_json_completion_over_report_is_billed_at_our_count(market: BillingStack,
                                                              buyer: tuple[dict[str, str], str]) -> None:
    _, key = buyer
    r = post(market, key, {"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "hi"}],
                           "fake": {"chunks": 8, "completion_tokens": 5_000}})
    assert r.status_code == 200, r.text
    answer = r.json()["choices"][0]["message"]["content"]
    assert r.json()["usage"]["completion_tokens"] == 5_000  # the buyer sees the seller's claim unchanged
    gen = market.settled(key, r.headers["x-request-id"])
    ours = max(count_tokens([answer]), -(-len(answer) // 4))
    assert gen["completion_tokens"] == ours * 105 // 100 + 2
    assert metric(market, "gateway_billing_usage_mismatches_total", r.headers["x-df-market-listing-id"]) >= 1


def forged_wav(seconds: int) -> bytes:
    """16 kHz mono 16-bit PCM whose header claims a byte rate `seconds` times too high (plays in 1 s)."""
    pcm = b"\x10\x00" * 16_000 * seconds
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1, 16_000,
                       32_000 * seconds, 2, 16, b"data", len(pcm)) + pcm


@pytest.mark.parametrize("fmt", ["json", "text"])  # the seller reports the duration / reports nothing
def test_a_forged_wav_header_is_billed_for_its_audio(market: BillingStack, buyer: tuple[dict[str, str], str],
                                                     fmt: str) -> None:
    _, key = buyer
    oai = openai.OpenAI(base_url=market.proxy.url + "/v1", api_key=key, max_retries=0, timeout=30)
    raw = oai.audio.transcriptions.with_raw_response.create(model=WHISPER, file=("a.wav", forged_wav(20)),
                                                            response_format=fmt)  # type: ignore[call-overload]
    assert raw.status_code == 200
    gen = market.settled(key, raw.headers["x-request-id"])
    assert (gen["prompt_tokens"], gen["cost_micro_usd"], gen["usage_estimated"]) == (20, 20 * 100, False)
