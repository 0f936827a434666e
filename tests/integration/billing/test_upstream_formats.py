"""Sellers whose upstream writes JSON the way Python's `json.dumps` does (`{"a": 1, "b": [2]}`),
with LF or CRLF line ends, are billed exactly what they report, and no buyer sees a usage chunk
it did not ask for: bought through the real `openai` SDK (JSON, streamed with and without
`stream_options.include_usage`) and the `anthropic` SDK (an Anthropic-format seller, native).
Every generation settles with the upstream's tokens (not estimated), the buyer's balance falls
by exactly the sum of the costs and the seller's earnings rise by exactly the sum of the payouts."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from tests.support.billing_stack import BillingStack, until

SPACED = "qwen/qwen3-235b-a22b"  # OpenAI-format seller: spaced JSON, LF
SPACED_CRLF = "doubao/doubao-1.5-pro-256k"  # OpenAI-format seller: spaced JSON, CRLF
ANTHROPIC_SPACED_CRLF = "minimax/minimax-m2.5"  # Anthropic-format seller: spaced JSON, CRLF
ASK_IN, ASK_OUT = 500_000, 1_500_000  # "0.50" / "1.50" per Mtok
CHUNKS = 30  # the fake's completion tokens (knob in the listings' path)
PROMPT = "x" * 400  # ceil(400 / 4) = 100 prompt tokens by the fake's rule


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


COST = ceil_div(100 * ASK_IN, 10**6) + ceil_div(CHUNKS * ASK_OUT, 10**6)  # buyer fee 0 bps
PAYOUT = COST * 9_500 // 10_000  # seller fee 500 bps


@pytest.fixture(scope="module")
def market(stack: BillingStack) -> BillingStack:
    seller = stack.seller  # type: ignore[attr-defined]
    stack.listing(seller, SPACED, "0.50", "1.50", "openai", f"/k/spaced=true,chunks={CHUNKS}/v1")
    stack.listing(seller, SPACED_CRLF, "0.50", "1.50", "openai", f"/k/spaced=true,crlf=true,chunks={CHUNKS}/v1")
    stack.listing(seller, ANTHROPIC_SPACED_CRLF, "0.50", "1.50", "anthropic",
                  f"/k/spaced=true,crlf=true,chunks={CHUNKS}/v1")
    return stack


@pytest.fixture
def buyer(market: BillingStack) -> tuple[dict[str, str], str]:
    account = market.account(500)
    return account, market.key(account)


@pytest.fixture
def oai(market: BillingStack, buyer: tuple[dict[str, str], str]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=market.proxy.url + "/v1", api_key=buyer[1], max_retries=0, timeout=20) as sdk:
        yield sdk


@pytest.fixture
def claude(market: BillingStack, buyer: tuple[dict[str, str], str]) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=market.proxy.url, api_key=buyer[1], max_retries=0, timeout=20) as sdk:
        yield sdk


def earnings(stack: BillingStack) -> int:
    r = stack.http.get("/v1/market/earnings", headers=stack.seller)  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    return int(r.json()["total_micro_usd"])


def _chat_json(oai: openai.OpenAI, model: str) -> str:
    raw = oai.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": PROMPT}])
    completion = raw.parse()
    assert completion.choices[0].message.content and completion.usage is not None
    assert completion.usage.completion_tokens == CHUNKS  # relayed as the upstream wrote it
    return str(raw.headers["x-request-id"])


def _chat_stream(oai: openai.OpenAI, model: str, include_usage: bool) -> str:
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}
    with oai.chat.completions.with_streaming_response.create(
            model=model, messages=[{"role": "user", "content": PROMPT}], stream=True,
            **extra) as response:  # type: ignore[call-overload]
        text, usage = [], []
        for chunk in response.parse():
            if include_usage and chunk.usage is not None and not chunk.choices:
                usage.append(chunk.usage.completion_tokens)
                continue
            text.append(chunk.choices[0].delta.content or "")  # the most common client loop: never IndexError
        request_id = str(response.headers["x-request-id"])
    assert "".join(text).startswith("tok0 tok1")
    assert usage == ([CHUNKS] if include_usage else [])  # the buyer who asked gets the usage chunk
    return request_id


def _messages(claude: anthropic.Anthropic, streamed: bool) -> str:
    kwargs = {"model": ANTHROPIC_SPACED_CRLF, "max_tokens": 200, "messages": [{"role": "user", "content": PROMPT}]}
    if streamed:
        with claude.messages.with_streaming_response.create(stream=True, **kwargs) as r:  # type: ignore[call-overload]
            assert [e.type for e in r.parse()][-1] == "message_stop"
            return str(r.headers["x-request-id"])
    raw = claude.messages.with_raw_response.create(**kwargs)  # type: ignore[call-overload]
    assert raw.parse().usage.output_tokens == CHUNKS
    return str(raw.headers["x-request-id"])


def test_spaced_json_upstreams_are_billed_what_they_report(market: BillingStack, buyer: tuple[dict[str, str], str],
                                                           oai: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    account, key = buyer
    balance, earned = market.balance(account), earnings(market)
    requests = []
    for model in (SPACED, SPACED_CRLF):
        requests.append((model, "json", _chat_json(oai, model)))
        for include_usage in (False, True):
            requests.append((model, f"stream include_usage={include_usage}", _chat_stream(oai, model, include_usage)))
    for streamed in (False, True):
        requests.append((ANTHROPIC_SPACED_CRLF, f"messages stream={streamed}", _messages(claude, streamed)))
    costs, payouts = 0, 0
    for model, how, request_id in requests:
        gen = market.settled(key, request_id)
        got = (gen["status"], gen["prompt_tokens"], gen["completion_tokens"], gen["usage_estimated"],
               gen["cost_micro_usd"], gen["seller_payout_micro_usd"])
        assert got == ("completed", 100, CHUNKS, False, COST, PAYOUT), (model, how, got)
        costs += int(gen["cost_micro_usd"])  # type: ignore[call-overload]
        payouts += int(gen["seller_payout_micro_usd"])  # type: ignore[call-overload]
    until(lambda: market.balance(account) == balance - costs)
    until(lambda: earnings(market) == earned + payouts)
    assert market.balance(account) == balance - costs and earnings(market) == earned + payouts
