"""Request and whole-response translation between the dialects (pure)."""

from __future__ import annotations

import orjson
import pytest

from proxy.errors import BadRequest
from proxy.translate.requests import DEFAULT_MAX_TOKENS, chat_to_messages, messages_to_chat
from proxy.translate.responses import chat_to_message, message_to_chat


def test_messages_request_to_chat() -> None:
    doc = {
        "model": "claude", "max_tokens": 50, "system": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}],
        "stop_sequences": ["END"], "temperature": 0.5, "top_k": 5, "stream": True, "metadata": {"user_id": "u1"},
        "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAA"}}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "ok"},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"x": 1}},
                {"type": "tool_use", "id": "t2", "name": "f", "input": {"x": 2}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
                {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "two"}],
                 "is_error": True},
                {"type": "text", "text": "go on"}]},
        ],
    }
    out = messages_to_chat(doc, "gpt-x")
    assert out["model"] == "gpt-x" and out["max_tokens"] == 50 and out["stop"] == ["END"]
    assert out["stream_options"] == {"include_usage": True} and out["user"] == "u1" and "top_k" not in out
    assert out["tool_choice"] == "required" and out["parallel_tool_calls"] is False
    assert out["tools"] == [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"},
                                                              "description": "d"}}]
    assert out["messages"] == [
        {"role": "system", "content": "A\nB"},
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAA"}}]},
        {"role": "assistant", "content": "ok", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}},
            {"id": "t2", "type": "function", "function": {"name": "f", "arguments": '{"x":2}'}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "one"},
        {"role": "tool", "tool_call_id": "t2", "content": "Error: two"},
        {"role": "user", "content": "go on"},
    ]


def test_chat_request_to_messages() -> None:
    doc = {
        "model": "x", "temperature": 1.7, "stop": "END", "user": "u", "parallel_tool_calls": False, "stream": True,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "messages": [
            {"role": "system", "content": "S1"}, {"role": "developer", "content": [{"type": "text", "text": "S2"}]},
            {"role": "user", "content": [{"type": "text", "text": "hi"},
                                         {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
                {"id": "c2", "type": "function", "function": {"name": "f", "arguments": '{"a":2}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "r1"},
            {"role": "tool", "tool_call_id": "c2", "content": "r2"},
            {"role": "user", "content": "and?"},
        ],
    }
    out = chat_to_messages(doc, "claude-x")
    assert out["max_tokens"] == DEFAULT_MAX_TOKENS and out["system"] == "S1\nS2" and out["temperature"] == 1.0
    assert out["stop_sequences"] == ["END"] and out["metadata"] == {"user_id": "u"} and out["stream"] is True
    assert out["tools"] == [{"name": "f", "input_schema": {"type": "object"}}]
    assert out["tool_choice"] == {"type": "tool", "name": "f", "disable_parallel_tool_use": True}
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi"},
                                     {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}},
                                          {"type": "tool_use", "id": "c2", "name": "f", "input": {"a": 2}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": "r1"},
                                     {"type": "tool_result", "tool_use_id": "c2", "content": "r2"},
                                     {"type": "text", "text": "and?"}]},
    ]


def test_unsupported_shapes_are_400s() -> None:
    with pytest.raises(BadRequest, match="'n' must be 1"):
        chat_to_messages({"n": 2, "messages": []}, "m")
    with pytest.raises(BadRequest, match="not valid JSON"):
        chat_to_messages({"messages": [{"role": "assistant", "tool_calls": [
            {"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}]}, "m")
    with pytest.raises(BadRequest, match="server tool"):
        messages_to_chat({"max_tokens": 1, "messages": [], "tools": [{"type": "web_search_20250305",
                                                                      "name": "web_search"}]}, "m")


def test_whole_responses_both_ways() -> None:
    chat = orjson.dumps({"id": "c1", "object": "chat.completion", "model": "gpt-x", "choices": [{
        "index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "hi", "tool_calls": [
            {"id": "t", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 4}}})
    message = orjson.loads(chat_to_message(chat))
    assert message["content"] == [{"type": "text", "text": "hi"},
                                  {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}]
    assert message["stop_reason"] == "tool_use" and message["usage"] == {
        "input_tokens": 6, "output_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4}
    back = orjson.loads(message_to_chat(orjson.dumps(message), created=5))
    assert back["choices"][0]["finish_reason"] == "tool_calls"
    assert back["choices"][0]["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"a":1}'}
    assert back["usage"] == {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13,
                             "prompt_tokens_details": {"cached_tokens": 4}}


@pytest.mark.parametrize(("reason", "finish"), [("end_turn", "stop"), ("stop_sequence", "stop"),
                                                 ("max_tokens", "length"), ("tool_use", "tool_calls"),
                                                 ("refusal", "content_filter"), ("something_new", "stop")])
def test_stop_reason_to_finish_reason(reason: str, finish: str) -> None:
    body = orjson.dumps({"id": "m", "content": [], "stop_reason": reason, "usage": {}})
    assert orjson.loads(message_to_chat(body, created=0))["choices"][0]["finish_reason"] == finish
