"""Whole (non-streamed) responses between the dialects, and the stop/finish reason maps (pure)."""

from __future__ import annotations

import time
from typing import Any

import orjson

from proxy.translate import usage as usage_shapes

JsonObj = dict[str, Any]

# OpenAI finish_reason -> Anthropic stop_reason ("stop" becomes stop_sequence when the upstream
# names the stop string it matched, as vLLM-style servers do in choices[].stop_reason).
TO_STOP_REASON: dict[str, str] = {
    "stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
    "function_call": "tool_use", "content_filter": "refusal",
}
# Anthropic stop_reason -> OpenAI finish_reason; unknown reasons map to "stop" (the enum grows).
TO_FINISH_REASON: dict[str, str] = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
    "refusal": "content_filter", "pause_turn": "stop", "model_context_window_exceeded": "length",
}


def stop_reason(finish_reason: str | None, matched: object, stop_sequences: tuple[str, ...]) -> tuple[str, str | None]:
    """(stop_reason, stop_sequence) for an OpenAI finish reason and the upstream's matched stop, if any."""
    if finish_reason == "stop" and isinstance(matched, str) and matched in stop_sequences:
        return "stop_sequence", matched
    return TO_STOP_REASON.get(finish_reason or "stop", "end_turn"), None


def finish_reason(reason: str | None) -> str:
    return TO_FINISH_REASON.get(reason or "end_turn", "stop")


def _arguments(raw: object) -> object:
    try:
        return orjson.loads(raw) if isinstance(raw, str | bytes) and raw else {}
    except orjson.JSONDecodeError:
        return {}


def chat_to_message(body: bytes, stop_sequences: tuple[str, ...] = ()) -> bytes:
    """An OpenAI chat.completion as an Anthropic message."""
    doc: JsonObj = orjson.loads(body)
    choice = (doc.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[JsonObj] = []
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id", ""), "name": function.get("name", ""),
                        "input": _arguments(function.get("arguments"))})
    reason, sequence = stop_reason(choice.get("finish_reason"), choice.get("stop_reason"), stop_sequences)
    usage = usage_shapes.from_openai(doc.get("usage"))
    return orjson.dumps({
        "id": doc.get("id", ""), "type": "message", "role": "assistant", "model": doc.get("model", ""),
        "content": content, "stop_reason": reason, "stop_sequence": sequence,
        "usage": usage_shapes.to_anthropic(usage),
    })


def message_to_chat(body: bytes, created: int | None = None) -> bytes:
    """An Anthropic message as an OpenAI chat.completion."""
    doc: JsonObj = orjson.loads(body)
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[JsonObj] = []
    for block in doc.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "thinking":
            reasoning.append(block.get("thinking", ""))
        elif kind == "tool_use":
            calls.append({"id": block.get("id", ""), "type": "function",
                          "function": {"name": block.get("name", ""),
                                       "arguments": orjson.dumps(block.get("input", {})).decode()}})
    message: JsonObj = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    usage = usage_shapes.from_anthropic(doc.get("usage"))
    return orjson.dumps({
        "id": doc.get("id", ""), "object": "chat.completion",
        "created": int(time.time()) if created is None else created, "model": doc.get("model", ""),
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(doc.get("stop_reason"))}],
        "usage": usage_shapes.to_openai(usage),
    })
