"""Stream translators fed recorded, real-shaped streams in every chunking (pure; no event loop)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from proxy.sse import SseParser
from proxy.translate.stream_to_anthropic import ToAnthropicStream
from proxy.translate.stream_to_openai import ToOpenAIStream
from proxy.translate.usage import Usage


def _openai(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def _c(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **extra}]}


# OpenAI: text, then two parallel tool calls, empty deltas in between, usage in the last chunk.
OPENAI_PARALLEL = _openai(
    _c({"role": "assistant", "content": ""}),
    _c({"content": "Let me "}), _c({"content": ""}), _c({"content": "check."}),
    _c({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                        "function": {"name": "weather", "arguments": ""}}]}),
    _c({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
    _c({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
    _c({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                        "function": {"name": "time", "arguments": '{"tz":"CET"}'}}]}),
    _c({}, "tool_calls"),
    {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x", "choices": [],
     "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42,
               "prompt_tokens_details": {"cached_tokens": 10}}},
)


def _ev(kind: str, **data: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


# Anthropic: thinking, text, two tool_use blocks, ping in the middle, cumulative usage at the end.
ANTHROPIC_MULTI = b"".join([
    _ev("message_start", message={"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
                                  "content": [], "stop_reason": None, "stop_sequence": None,
                                  "usage": {"input_tokens": 20, "output_tokens": 1, "cache_read_input_tokens": 10,
                                            "cache_creation_input_tokens": 0}}),
    _ev("content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": ""}),
    _ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "Hmm."}),
    _ev("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "sig"}),
    _ev("content_block_stop", index=0),
    _ev("content_block_start", index=1, content_block={"type": "text", "text": ""}),
    _ev("ping"),
    _ev("content_block_delta", index=1, delta={"type": "text_delta", "text": "Let me "}),
    _ev("content_block_delta", index=1, delta={"type": "text_delta", "text": ""}),
    _ev("content_block_delta", index=1, delta={"type": "text_delta", "text": "check."}),
    _ev("content_block_stop", index=1),
    _ev("content_block_start", index=2, content_block={"type": "tool_use", "id": "toolu_a", "name": "weather",
                                                       "input": {}}),
    _ev("content_block_delta", index=2, delta={"type": "input_json_delta", "partial_json": ""}),
    _ev("content_block_delta", index=2, delta={"type": "input_json_delta", "partial_json": '{"city":'}),
    _ev("content_block_delta", index=2, delta={"type": "input_json_delta", "partial_json": '"Paris"}'}),
    _ev("content_block_stop", index=2),
    _ev("content_block_start", index=3, content_block={"type": "tool_use", "id": "toolu_b", "name": "time",
                                                       "input": {}}),
    _ev("content_block_delta", index=3, delta={"type": "input_json_delta", "partial_json": '{"tz":"CET"}'}),
    _ev("content_block_stop", index=3),
    _ev("message_delta", delta={"stop_reason": "tool_use", "stop_sequence": None}, usage={"output_tokens": 12}),
    _ev("message_stop"),
])


def _feed(translator: ToAnthropicStream | ToOpenAIStream, data: bytes, size: int) -> bytes:
    out = b"".join(translator.feed(data[i:i + size]) for i in range(0, len(data), size))
    return out + translator.close()


def _events(data: bytes) -> list[tuple[str, Any]]:
    return [(b.event, None if b.data == b"[DONE]" else orjson.loads(b.data)) for b in SseParser().feed(data)
            if b.data is not None]


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_openai_parallel_tools_to_anthropic(size: int) -> None:
    translator = ToAnthropicStream("m")
    events = _events(_feed(translator, OPENAI_PARALLEL, size))
    assert [k for k, _ in events] == [
        "message_start", "ping",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop"]
    assert all(k == d["type"] for k, d in events)
    starts = [d["content_block"] for k, d in events if k == "content_block_start"]
    assert starts == [{"type": "text", "text": ""},
                      {"type": "tool_use", "id": "call_a", "name": "weather", "input": {}},
                      {"type": "tool_use", "id": "call_b", "name": "time", "input": {}}]
    json_parts = [d["delta"]["partial_json"] for k, d in events if k == "content_block_delta" and d["index"] == 1]
    assert "".join(json_parts) == '{"city":"Paris"}'
    final = events[-2][1]
    assert final["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert final["usage"] == {"input_tokens": 20, "output_tokens": 12, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 10}
    assert translator.usage == Usage(prompt_tokens=30, completion_tokens=12, cached_tokens=10)


@pytest.mark.parametrize("size", [1, 13, 100_000])
def test_anthropic_multi_block_to_openai(size: int) -> None:
    translator = ToOpenAIStream(created=7, include_usage=True)
    events = _events(_feed(translator, ANTHROPIC_MULTI, size))
    assert events[-1] == ("", None)  # [DONE]
    chunks = [d for _, d in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Hmm."
    assert "".join(d.get("content") or "" for d in deltas) == "Let me check."
    assert all(d for d in deltas[1:-1])  # no empty deltas except the finish chunk
    calls: dict[int, dict[str, str]] = {}
    for d in deltas:
        for call in d.get("tool_calls", []):
            entry = calls.setdefault(call["index"], {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.get("id", "")
            entry["name"] += call.get("function", {}).get("name", "")
            entry["arguments"] += call["function"]["arguments"]
    assert calls == {0: {"id": "toolu_a", "name": "weather", "arguments": '{"city":"Paris"}'},
                     1: {"id": "toolu_b", "name": "time", "arguments": '{"tz":"CET"}'}}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == {
        "prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42, "prompt_tokens_details": {"cached_tokens": 10}}
    assert {c["id"] for c in chunks} == {"msg_1"} and {c["created"] for c in chunks} == {7}


def test_usage_is_the_same_both_ways() -> None:
    to_anthropic, to_openai = ToAnthropicStream("m"), ToOpenAIStream(created=0, include_usage=False)
    _feed(to_anthropic, OPENAI_PARALLEL, 100_000)
    _feed(to_openai, ANTHROPIC_MULTI, 100_000)
    assert to_anthropic.usage == to_openai.usage


def test_no_usage_chunk_unless_asked() -> None:
    out = _events(_feed(ToOpenAIStream(created=0, include_usage=False), ANTHROPIC_MULTI, 100_000))
    assert all(d is None or d["choices"] for _, d in out)


def test_stop_sequence_and_length_map() -> None:
    stream = _openai(_c({"content": "a"}), _c({}, "stop", stop_reason="END"))
    events = _events(_feed(ToAnthropicStream("m", ("END",)), stream, 100_000))
    assert events[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}
    events = _events(_feed(ToAnthropicStream("m"), _openai(_c({"content": "a"}), _c({}, "length")), 100_000))
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"


def test_cut_streams_end_with_an_error_event() -> None:
    cut = OPENAI_PARALLEL[:200]
    events = _events(_feed(ToAnthropicStream("m"), cut, 50))
    assert events[-1][0] == "error" and events[-1][1]["error"]["type"] == "api_error"
    out = _feed(ToOpenAIStream(created=0, include_usage=True), ANTHROPIC_MULTI[:300], 50)
    assert b"[DONE]" not in out and orjson.loads(out.split(b"data: ")[-1])["error"]["code"] == 502


def test_upstream_error_events_are_translated() -> None:
    err = _ev("message_start", message={"id": "m", "model": "x", "usage": {}}) + \
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    out = _feed(ToOpenAIStream(created=0, include_usage=False), err, 100_000)
    assert b"Overloaded" in out and b"[DONE]" not in out
    out = _feed(ToAnthropicStream("m"), b'data: {"error":{"message":"boom"}}\n\n', 100_000)
    assert out.startswith(b"event: error\n") and b"boom" in out


def test_sse_parser_handles_crlf_split_across_chunks() -> None:
    parser = SseParser()
    data = b"event: ping\r\ndata: {}\r\n\r\ndata: 1\r\ndata: 2\r\n\r\n"
    events = [(b.event, b.data) for i in range(len(data)) for b in parser.feed(data[i:i + 1])]
    assert events == [("ping", b"{}"), ("", b"1\n2")]
