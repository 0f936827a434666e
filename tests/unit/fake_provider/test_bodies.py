"""Pure bodies: completion JSON, the OpenAI SSE framing, tool call fragments, embeddings, errors."""

from __future__ import annotations

import base64
import struct
from typing import Any

import orjson

from fake_provider.bodies import (
    completion_json,
    embedding_vector,
    embeddings_json,
    encode_base64,
    error_body,
)
from fake_provider.content import (
    TOOL_ARGUMENTS,
    Answer,
    content_tokens,
    count_tokens,
    embedding_input_tokens,
    plan_answer,
    prompt_tokens,
)
from fake_provider.sse import DONE, Framer, stream_events

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}},
         {"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}}]


def plan(body: dict[str, object], *, chunks: int, text: str | None, call_id: str) -> Answer:
    return plan_answer(body, tokens=content_tokens(chunks, text), call_id=call_id)


def chat(**extra: Any) -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": "hello world!"}], **extra}


def sse_events(blob: bytes) -> list[str]:
    """Parse with OpenAI's rules: events end with a blank line, one `data:` line each, no `event:` lines."""
    text = blob.decode()
    assert text.endswith("\n\n")
    events = text[:-2].split("\n\n")
    for event in events:
        assert "\n" not in event, event
        assert event.startswith("data: "), event
    return [event[len("data: "):] for event in events]


def stream_of(body: dict[str, object], *, include_usage: bool, chunks: int = 8, text: str | None = None) -> bytes:
    answer = plan(body, chunks=chunks, text=text, call_id="call_1")
    framer = Framer(id="chatcmpl-1", created=7, model="m", include_usage=include_usage)
    events = stream_events(answer, framer, include_usage=include_usage)
    assert events.closing[-1] == DONE
    return b"".join(events.opening) + b"".join(events.steps) + b"".join(events.closing)


def test_prompt_token_rule() -> None:
    assert count_tokens(0) == 1
    assert count_tokens(4) == 1
    assert count_tokens(5) == 2
    body = {"messages": [{"role": "system", "content": "abcd"},
                         {"role": "user", "content": [{"type": "text", "text": "efghi"},
                                                      {"type": "image_url", "image_url": {"url": "x"}}]}]}
    assert prompt_tokens(body) == 3  # 9 characters
    assert prompt_tokens({"messages": []}) == 1


def test_completion_json() -> None:
    answer = plan(chat(), chunks=3, text=None, call_id="c")
    body = orjson.loads(completion_json(answer, id="chatcmpl-1", created=5, model="m", usage=True))
    assert body["object"] == "chat.completion"
    assert body["model"] == "m"
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "tok0 tok1 tok2", "refusal": None}
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (3, 3, 6)
    no_usage = orjson.loads(completion_json(answer, id="x", created=5, model="m", usage=False))
    assert "usage" not in no_usage


def test_text_knob_and_token_limit() -> None:
    answer = plan(chat(), chunks=8, text="the quick brown fox", call_id="c")
    assert answer.tokens == ("the", " quick", " brown", " fox")
    assert answer.content == "the quick brown fox"
    cut = plan(chat(max_tokens=2), chunks=8, text=None, call_id="c")
    assert (cut.content, cut.finish_reason, cut.completion_tokens) == ("tok0 tok1", "length", 2)
    assert plan(chat(max_completion_tokens=20), chunks=3, text=None, call_id="c").finish_reason == "stop"


def test_stream_framing_with_usage() -> None:
    events = sse_events(stream_of(chat(), include_usage=True, chunks=3))
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" and chunk["id"] == "chatcmpl-1" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"]["content"] for c in chunks[1:4]] == ["tok0", " tok1", " tok2"]
    assert chunks[4]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    assert chunks[-1]["usage"]["total_tokens"] == 3 + 3
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks[:4])


def test_stream_framing_without_usage() -> None:
    events = sse_events(stream_of(chat(), include_usage=False, chunks=2))
    chunks = [orjson.loads(event) for event in events[:-1]]
    assert len(chunks) == 1 + 2 + 1
    assert all("usage" not in chunk for chunk in chunks)


def test_zero_chunks() -> None:
    events = sse_events(stream_of(chat(), include_usage=True, chunks=0))
    assert len(events) == 1 + 1 + 1 + 1  # opening, finish, usage, [DONE]


def test_tool_call_json_and_fragments() -> None:
    answer = plan(chat(tools=TOOLS), chunks=8, text=None, call_id="call_1")
    body = orjson.loads(completion_json(answer, id="x", created=1, model="m", usage=True))
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": TOOL_ARGUMENTS}}
    ]
    assert body["usage"]["completion_tokens"] == 2

    chunks = [orjson.loads(e) for e in sse_events(stream_of(chat(tools=TOOLS), include_usage=False))[:-1]]
    first = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert first == {"index": 0, "id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": ""}}
    merged: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for call in chunk["choices"][0]["delta"].get("tool_calls", []):
            slot = merged.setdefault(call["index"], {"name": "", "arguments": ""})
            slot["name"] += call.get("function", {}).get("name", "")
            slot["arguments"] += call.get("function", {}).get("arguments", "")
    assert merged == {0: {"name": "lookup", "arguments": TOOL_ARGUMENTS}}
    assert orjson.loads(merged[0]["arguments"]) == {"q": "fake"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_choice() -> None:
    assert plan(chat(tools=TOOLS, tool_choice="none"), chunks=1, text=None, call_id="c").tool_call is None
    named = {"type": "function", "function": {"name": "other"}}
    call = plan(chat(tools=TOOLS, tool_choice=named), chunks=1, text=None, call_id="c").tool_call
    assert call is not None and call.name == "other"


def test_embeddings_are_deterministic_unit_vectors() -> None:
    first, again, other = embedding_vector("a", 8), embedding_vector("a", 8), embedding_vector("b", 8)
    assert first == again and first != other
    assert abs(sum(v * v for v in first) - 1.0) < 1e-9
    assert len(embedding_vector("a", 100)) == 100
    decoded = struct.unpack("<8f", base64.b64decode(encode_base64(first)))
    assert all(abs(x - y) < 1e-6 for x, y in zip(decoded, first, strict=True))
    body = orjson.loads(embeddings_json(["a", "bbbbb"], model="e", dimensions=3, as_base64=False,
                                        prompt_tokens=2, usage=True))
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert len(body["data"][0]["embedding"]) == 3
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


def test_embedding_input_tokens() -> None:
    assert embedding_input_tokens("abcdefgh") == 2
    assert embedding_input_tokens(["abcd", "efghi"]) == 3
    assert embedding_input_tokens([1, 2, 3]) == 3
    assert embedding_input_tokens([[1, 2], [3]]) == 3
    assert embedding_input_tokens([]) is None
    assert embedding_input_tokens({"x": 1}) is None


def test_error_body_shape() -> None:
    body = orjson.loads(error_body(500, "boom"))
    assert body == {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}
    assert orjson.loads(error_body(429, "slow"))["error"]["type"] == "rate_limit_error"
