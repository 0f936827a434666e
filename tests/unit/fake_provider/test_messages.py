"""Anthropic Messages bodies and stream events (pure)."""

from __future__ import annotations

from typing import Any

import orjson

from fake_provider.content import content_tokens
from fake_provider.messages import error_body, message_events, message_json, plan_message

TOOLS = [{"name": "lookup", "input_schema": {"type": "object"}}, {"name": "other", "input_schema": {}}]


def request(**extra: Any) -> dict[str, object]:
    return {"model": "claude", "max_tokens": 100, "system": "abcd",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "efghi"}]}], **extra}


def parse(blob: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Every event has an `event:` line and a `data:` line whose `type` matches it."""
    events = []
    for block in blob.decode().removesuffix("\n\n").split("\n\n"):
        event_line, data_line = block.split("\n")
        kind = event_line.removeprefix("event: ")
        data = orjson.loads(data_line.removeprefix("data: "))
        assert data["type"] == kind
        events.append((kind, data))
    return events


def stream(body: dict[str, object], chunks: int = 3, usage: bool = True) -> list[tuple[str, dict[str, Any]]]:
    answer = plan_message(body, tokens=content_tokens(chunks, None), call_id="toolu_1")
    events = message_events(answer, id="msg_1", model="claude", usage=usage)
    return parse(b"".join(events.opening) + b"".join(events.steps) + b"".join(events.closing))


def test_input_tokens_count_system_and_blocks() -> None:
    answer = plan_message(request(), tokens=content_tokens(2, None), call_id="t")
    assert answer.prompt_tokens == 3  # 4 + 5 characters


def test_message_json() -> None:
    answer = plan_message(request(max_tokens=2), tokens=content_tokens(8, None), call_id="t")
    body = orjson.loads(message_json(answer, id="msg_1", model="claude", usage=True))
    assert body["content"] == [{"type": "text", "text": "tok0 tok1"}]
    assert body["stop_reason"] == "max_tokens"
    assert body["usage"]["input_tokens"] == 3 and body["usage"]["output_tokens"] == 2


def test_tool_use_json() -> None:
    choice = {"type": "tool", "name": "other"}
    answer = plan_message(request(tools=TOOLS, tool_choice=choice), tokens=(), call_id="toolu_1")
    body = orjson.loads(message_json(answer, id="m", model="claude", usage=False))
    assert body["content"] == [{"type": "tool_use", "id": "toolu_1", "name": "other", "input": {"q": "fake"}}]
    assert body["stop_reason"] == "tool_use"
    assert "usage" not in body
    none = plan_message(request(tools=TOOLS, tool_choice={"type": "none"}), tokens=("a",), call_id="t")
    assert none.tool_call is None


def test_text_stream_sequence() -> None:
    events = stream(request())
    assert [kind for kind, _ in events] == [
        "message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
        "content_block_delta", "content_block_stop", "message_delta", "message_stop",
    ]
    assert events[0][1]["message"]["usage"]["input_tokens"] == 3
    text = "".join(data["delta"]["text"] for kind, data in events if kind == "content_block_delta")
    assert text == "tok0 tok1 tok2"
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert events[-2][1]["usage"] == {"output_tokens": 3}


def test_tool_stream_reassembles_input() -> None:
    events = stream(request(tools=TOOLS))
    assert events[1][1]["content_block"] == {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}
    partial = "".join(d["delta"]["partial_json"] for kind, d in events if kind == "content_block_delta")
    assert orjson.loads(partial) == {"q": "fake"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_stream_without_usage() -> None:
    events = stream(request(), usage=False)
    assert "usage" not in events[0][1]["message"]
    assert "usage" not in events[-2][1]


def test_error_shape() -> None:
    assert orjson.loads(error_body(529, "busy")) == {
        "type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    assert orjson.loads(error_body(401, "key"))["error"]["type"] == "authentication_error"
