"""Every inference endpoint and dialect is metered and billed, through the real SDKs.

"Metering and billing see the same usage whichever way a request went": the same request
costs the same served natively or translated (Anthropic Messages to an OpenAI-format seller,
OpenAI chat to an Anthropic-format seller, JSON and streamed). Embeddings, speech and
transcriptions are charged exactly, computed here independently from the fake provider's
rules and the asks (default fee profile: buyer 0 bps, seller 500 bps). The module's
conftest runs `dragonfly ledger check` after every test.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import bpe_openai
import openai
import pytest

from fake_provider.audio import pcm_samples, wav_bytes
from tests.support.billing_stack import BillingStack

NATIVE_OPENAI = "zhipu/glm-5-0131"  # served by an OpenAI-format listing only
NATIVE_ANTHROPIC = "moonshot/kimi-k2"  # served by an Anthropic-format listing only
CHAT_ASK_IN, CHAT_ASK_OUT = 500_000, 1_500_000  # "0.50" / "1.50" per Mtok
EMBED_ASK = 10_000_000  # "10.00" per million tokens
SPEECH_ASK = 15_000_000  # "15.00" per million characters
WHISPER_ASK = 100_000_000  # "100.00" per million seconds: 100 micro-USD a second
CHUNKS = 30  # completion tokens of every chat answer (fake knob in the listings' path)
PROMPT = "y" * 396  # + "Be brief." (9) = 405 characters -> ceil(405 / 4) = 102 prompt tokens
SYSTEM = "Be brief."


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def charged(base: int) -> tuple[int, int]:
    """(cost, seller payout) of a base amount under the default fee profile."""
    return base, base * 9_500 // 10_000


def chat_cost(prompt: int, completion: int) -> int:
    return ceil_div(prompt * CHAT_ASK_IN, 10**6) + ceil_div(completion * CHAT_ASK_OUT, 10**6)


@pytest.fixture(scope="module")
def market(stack: BillingStack) -> BillingStack:
    seller = stack.seller  # type: ignore[attr-defined]
    knobs = f"/k/chunks={CHUNKS}/v1"
    stack.listing(seller, NATIVE_OPENAI, "0.50", "1.50", "openai", knobs)
    stack.listing(seller, NATIVE_ANTHROPIC, "0.50", "1.50", "anthropic", knobs)
    stack.listing(seller, "openai/text-embedding-3-small", "10.00", "0")
    stack.listing(seller, "openai/tts-1", "15.00", "0")
    stack.listing(seller, "openai/whisper-1", "100.00", "0")
    return stack


@pytest.fixture(scope="module")
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


def _settled(stack: BillingStack, key: str, request_id: str) -> tuple[object, ...]:
    gen = stack.settled(key, request_id)
    return (gen["status"], gen["prompt_tokens"], gen["completion_tokens"], gen["cached_tokens"],
            gen["usage_estimated"], gen["cost_micro_usd"], gen["seller_payout_micro_usd"])


def _messages(claude: anthropic.Anthropic, model: str, streamed: bool) -> str:
    kwargs = {"model": model, "max_tokens": 200, "system": SYSTEM, "messages": [{"role": "user", "content": PROMPT}]}
    if streamed:
        with claude.messages.with_streaming_response.create(stream=True, **kwargs) as r:  # type: ignore[call-overload]
            events = [e.type for e in r.parse()]
            assert events[-1] == "message_stop"
            return str(r.headers["x-request-id"])
    raw = claude.messages.with_raw_response.create(**kwargs)  # type: ignore[call-overload]
    assert raw.parse().usage.output_tokens == CHUNKS
    return str(raw.headers["x-request-id"])


def _chat(oai: openai.OpenAI, model: str, streamed: bool) -> str:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}]
    if streamed:
        with oai.chat.completions.with_streaming_response.create(
                model=model, messages=messages, stream=True) as r:  # type: ignore[call-overload]
            chunks = list(r.parse())
            assert all(c.usage is None for c in chunks), [c for c in chunks if c.usage]  # not asked for
            return str(r.headers["x-request-id"])
    raw = oai.chat.completions.with_raw_response.create(model=model, messages=messages)  # type: ignore[call-overload]
    assert raw.parse().usage.completion_tokens == CHUNKS
    return str(raw.headers["x-request-id"])


@pytest.mark.parametrize("streamed", [False, True])
def test_messages_cost_the_same_native_or_translated(market: BillingStack, buyer: tuple[dict[str, str], str],
                                                     claude: anthropic.Anthropic, streamed: bool) -> None:
    _, key = buyer
    native = _settled(market, key, _messages(claude, NATIVE_ANTHROPIC, streamed))
    translated = _settled(market, key, _messages(claude, NATIVE_OPENAI, streamed))
    cost, payout = charged(chat_cost(102, CHUNKS))
    assert native == translated == ("completed", 102, CHUNKS, 0, False, cost, payout)


@pytest.mark.parametrize("streamed", [False, True])
def test_chat_costs_the_same_native_or_translated(market: BillingStack, buyer: tuple[dict[str, str], str],
                                                  oai: openai.OpenAI, streamed: bool) -> None:
    _, key = buyer
    native = _settled(market, key, _chat(oai, NATIVE_OPENAI, streamed))
    translated = _settled(market, key, _chat(oai, NATIVE_ANTHROPIC, streamed))
    cost, payout = charged(chat_cost(102, CHUNKS))
    assert native == translated == ("completed", 102, CHUNKS, 0, False, cost, payout)


def test_messages_402_before_any_upstream_call(market: BillingStack) -> None:
    key = market.key(market.account(1))  # $0.01; 20,000 output tokens at $1.50/Mtok cost $0.03
    before = market.upstream_requests()
    with anthropic.Anthropic(base_url=market.proxy.url, api_key=key, max_retries=0, timeout=20) as sdk, \
            pytest.raises(anthropic.APIStatusError) as caught:
        sdk.messages.create(model=NATIVE_ANTHROPIC, max_tokens=20_000, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 402
    assert "can afford" in str(caught.value.message)
    assert market.upstream_requests() == before


@pytest.mark.parametrize("usage", [True, False])
def test_embeddings_charged_per_input_token(market: BillingStack, buyer: tuple[dict[str, str], str],
                                            oai: openai.OpenAI, usage: bool) -> None:
    account, key = buyer
    before = market.balance(account)
    raw = oai.embeddings.with_raw_response.create(model="openai/text-embedding-3-small", input=["x" * 400, "z" * 3],
                                                  extra_body={"fake": {"usage": usage}})
    # the fake reports ceil(characters / 4); without its report we count with cl100k_base ourselves
    cl100k = bpe_openai.get_encoding("cl100k_base")
    tokens = ceil_div(403, 4) if usage else len(cl100k.encode_ordinary("x" * 400)) + len(cl100k.encode_ordinary("zzz"))
    cost, payout = charged(tokens * EMBED_ASK // 10**6)
    assert _settled(market, key, raw.headers["x-request-id"]) == (
        "completed", tokens, 0, 0, not usage, cost, payout)
    assert market.balance(account) == before - cost


def test_speech_charged_per_character(market: BillingStack, buyer: tuple[dict[str, str], str],
                                      oai: openai.OpenAI) -> None:
    text = "Hello, Dragonfly! " * 7  # 126 characters
    with oai.audio.speech.with_streaming_response.create(model="openai/tts-1", voice="alloy", input=text,
                                                         response_format="wav") as r:
        audio = r.read()
        request_id = r.headers["x-request-id"]
    assert audio[:4] == b"RIFF"
    cost, payout = charged(ceil_div(len(text) * SPEECH_ASK, 10**6))
    assert _settled(market, key=buyer[1], request_id=request_id) == (
        "completed", len(text), 0, 0, False, cost, payout)


@pytest.mark.parametrize(("name", "data", "fmt", "seconds", "estimated"), [
    ("a.wav", wav_bytes(pcm_samples(2.5)), "json", 3, False),  # upstream usage.seconds = ceil(2.5)
    ("a.wav", wav_bytes(pcm_samples(2.25)), "verbose_json", 3, False),  # upstream duration 2.25
    ("a.wav", wav_bytes(pcm_samples(1.5)), "text", 2, False),  # no usage: the WAV header, exact
    ("a.mp3", b"\xff" * 40_000, "text", 3, True),  # no usage, not WAV: 40,000 B at 16,000 B/s
])
def test_transcription_charged_per_audio_second(market: BillingStack, buyer: tuple[dict[str, str], str],
                                                oai: openai.OpenAI, name: str, data: bytes, fmt: str,
                                                seconds: int, estimated: bool) -> None:
    raw = oai.audio.transcriptions.with_raw_response.create(model="openai/whisper-1", file=(name, data),
                                                            response_format=fmt)  # type: ignore[call-overload]
    assert raw.status_code == 200
    cost, payout = charged(seconds * WHISPER_ASK // 10**6)
    assert _settled(market, buyer[1], raw.headers["x-request-id"]) == (
        "completed", seconds, 0, 0, estimated, cost, payout)


def test_media_failures_before_the_first_byte_cost_nothing(market: BillingStack,
                                                           buyer: tuple[dict[str, str], str]) -> None:
    account, key = buyer
    before = market.balance(account)
    r = market.http.post("/v1/audio/speech", headers={"Authorization": f"Bearer {key}"}, json={
        "model": "openai/tts-1", "voice": "alloy", "input": "hi", "fake": {"status": 500}})
    assert r.status_code == 502, r.text
    assert _settled(market, key, r.headers["x-request-id"])[0::5] == ("failed", 0)
    assert market.balance(account) == before
