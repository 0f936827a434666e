"""Buyers cannot under-pay and sellers cannot over-bill (pure rules): `n` and both max-token
fields, refused cost-raising fields, the prompt allowance, the JSON completion cross-check and
WAV length measured from the audio."""

from __future__ import annotations

import struct

import orjson
import pytest

from proxy.billing.audio import wav_seconds
from proxy.billing.bounds import IMAGE_TOKENS, json_bounds
from proxy.billing.meter import Usage, bill, completion_cap, meter_json
from proxy.billing.tokenizer import count_tokens
from proxy.cost_fields import check_beta, check_costs
from proxy.errors import BadRequest
from proxy.exchange import cap_max_tokens
from proxy.validation import parse_chat
from proxy.validation_messages import parse_messages

USER = [{"role": "user", "content": "hi"}]


def chat(**fields: object) -> bytes:
    return orjson.dumps({"model": "m/x", "messages": USER, **fields})


def test_n_multiplies_the_completion_cap() -> None:
    assert completion_cap(parse_chat(chat(n=128, max_tokens=1000)), 8192) == 128_000
    assert completion_cap(parse_chat(chat(n=3)), 8192) == 3 * 8192


def test_the_smaller_max_token_field_is_the_cap_and_is_sent_upstream_in_both() -> None:
    body = chat(max_completion_tokens=1, max_tokens=8000)
    req = parse_chat(body)
    sent = orjson.loads(cap_max_tokens(body, req))
    assert (sent["max_tokens"], sent["max_completion_tokens"]) == (1, 1)
    assert completion_cap(req, 8192) == 1
    body = chat(max_completion_tokens=9000, max_tokens=20)
    req = parse_chat(body)
    sent = orjson.loads(cap_max_tokens(body, req))
    assert (sent["max_tokens"], sent["max_completion_tokens"], completion_cap(req, 8192)) == (20, 20, 20)


def test_a_single_max_token_field_is_sent_unchanged() -> None:
    body = chat(max_tokens=50)
    assert cap_max_tokens(body, parse_chat(body)) is body


@pytest.mark.parametrize(("fields", "named"), [
    ({"service_tier": "priority"}, "service_tier"),
    ({"service_tier": "flex"}, "service_tier"),
    ({"modalities": ["text", "audio"]}, "modalities"),
    ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
    ({"web_search_options": {}}, "web_search_options"),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}, {"type": "code_interpreter"}]}, "tools[1].type"),
    ({"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}]},
     "messages[0].content[0].file.file_id"),
])
def test_unpriced_chat_fields_are_refused_naming_the_field(fields: dict[str, object], named: str) -> None:
    with pytest.raises(BadRequest) as err:
        check_costs(parse_chat(chat(**fields)), None)
    assert f"'{named}'" in err.value.message


@pytest.mark.parametrize("fields", [{}, {"service_tier": "auto"}, {"service_tier": "default"},
                                    {"modalities": ["text"]}, {"tools": [{"type": "function", "function": {}}]}])
def test_priced_chat_fields_pass(fields: dict[str, object]) -> None:
    check_costs(parse_chat(chat(**fields)), None)


@pytest.mark.parametrize(("fields", "named"), [
    ({"service_tier": "priority"}, "service_tier"),
    ({"mcp_servers": [{"type": "url", "url": "https://x"}]}, "mcp_servers"),
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
    ({"tools": [{"type": "code_execution_20250522", "name": "code_execution"}]}, "tools[0].type"),
    ({"messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "url", "url": "https://x"}}]}]},
     "messages[0].content[0].source.type"),
])
def test_unpriced_messages_fields_are_refused(fields: dict[str, object], named: str) -> None:
    body = orjson.dumps({"model": "m/x", "max_tokens": 10, "messages": USER, **fields})
    with pytest.raises(BadRequest) as err:
        check_costs(parse_messages(body), None)
    assert f"'{named}'" in err.value.message


def test_anthropic_beta_is_refused_unless_it_cannot_raise_the_price() -> None:
    with pytest.raises(BadRequest) as err:
        check_beta(b"fine-grained-tool-streaming-2025-05-14, context-1m-2025-08-07")
    assert "anthropic-beta" in err.value.message and "context-1m-2025-08-07" in err.value.message
    check_beta(b"interleaved-thinking-2025-05-14")
    check_beta(b"claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14")
    check_beta(None)


def test_images_add_their_allowance_to_the_prompt_bound() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://example.com/huge.png"}}
    body = chat(messages=[{"role": "user", "content": [part, part]}])
    bounds = json_bounds(parse_chat(body), len(body), 8192)
    assert bounds is not None and bounds.prompt_bound == len(body) + 2 * IMAGE_TOKENS
    assert bounds.prompt_limit(10**6) >= 2 * IMAGE_TOKENS


def test_a_prompt_report_above_our_count_is_billed_at_the_allowance() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 40  # 1,800 characters, 401 tokens
    body = chat(messages=[{"role": "user", "content": text}])
    bounds = json_bounds(parse_chat(body), len(body), 8192)
    assert bounds is not None
    ours = count_tokens([text])
    allowance = max(-(-len(text) // 4), ours + ours * 15 // 100) + 32 + 8
    assert bounds.prompt_limit(ours) == ours  # honest report: billed as reported
    over = bill(Usage(prompt_tokens=len(body), completion_tokens=5), 0, None, bounds.prompt_bound, 100,
                prompt_limit=bounds.prompt_limit)
    assert (over.prompt_tokens, over.mismatch) == (allowance, True)
    assert allowance < len(body) // 2  # far below the body-bytes bound the seller could bill before


def test_the_prompt_allowance_counts_tools_and_tool_calls() -> None:
    schema = {"name": "lookup", "parameters": {"type": "object", "properties": {f"p{i}": {"type": "string"}
                                                                             for i in range(200)}}}
    body = chat(tools=[{"type": "function", "function": schema}])
    bounds = json_bounds(parse_chat(body), len(body), 8192)
    assert bounds is not None
    schema_tokens = count_tokens([orjson.dumps(schema).decode()])
    assert bounds.prompt_limit(10**6) >= schema_tokens + 500


def completion_body(content: str, completion: int) -> bytes:
    return orjson.dumps({"choices": [{"message": {"role": "assistant", "content": content}}],
                         "usage": {"prompt_tokens": 5, "completion_tokens": completion}})


def test_json_completion_above_our_count_is_billed_at_the_bound() -> None:
    answer = "word " * 10  # 10 tokens
    m = meter_json(completion_body(answer, 5_000), 0, 1000, 8192)
    counted = max(count_tokens([answer]), -(-len(answer) // 4))  # characters / 4 is the cheap floor
    assert (m.completion_tokens, m.mismatch, m.reported_completion) == (counted * 105 // 100 + 2, True, 5_000)
    honest = meter_json(completion_body(answer, 10), 0, 1000, 8192)
    assert (honest.completion_tokens, honest.mismatch) == (10, False)


def test_json_tool_calls_are_allowed_their_framing() -> None:
    body = orjson.dumps({"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "lookup", "arguments": '{"q": "fake"}'}}]}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 60}})
    m = meter_json(body, 0, 1000, 8192)
    assert (m.completion_tokens, m.mismatch) == (60, False)


def test_reasoning_models_json_is_not_cross_checked() -> None:
    m = meter_json(completion_body("ok", 900), 0, 1000, 8192, cross_check=False)
    assert (m.completion_tokens, m.mismatch) == (900, False)


def wav(seconds: int, *, byte_rate: int | None = None, declared: int | None = None, rate: int = 16_000) -> bytes:
    pcm = b"\x00\x01" * rate * seconds
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1, rate,
                         rate * 2 if byte_rate is None else byte_rate, 2, 16, b"data",
                         len(pcm) if declared is None else declared)
    return header + pcm


def test_wav_length_is_measured_from_the_audio_not_its_header() -> None:
    honest = wav(600)
    assert wav_seconds(honest[:4096], len(honest)) == 600
    forged_rate = wav(600, byte_rate=600 * 32_000)  # claims 600 s play in 1 s
    assert wav_seconds(forged_rate[:4096], len(forged_rate)) == 600
    streamed = wav(600, declared=0)  # no length: decoders read to the end
    assert wav_seconds(streamed[:4096], len(streamed)) == 600
    short = wav(600, declared=32_000)  # decoders stop at a declared length: so does the bill
    assert wav_seconds(short[:4096], len(short)) == 1
    assert wav_seconds(honest[:4096], 44 + 32_000 * 2) == 2  # only what arrived
