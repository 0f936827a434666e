"""``POST /v1/messages``: the Anthropic Messages API, JSON or SSE, with the same knobs and content rules.

- input_tokens = ``max(1, ceil(C / 4))`` where ``C`` counts the characters of ``system`` (a string or the
  ``text`` of its blocks) plus the message text, as for chat (:mod:`fake_provider.content`).
- Content, ``max_tokens`` cut (``stop_reason: "max_tokens"``) and tool calls follow the chat rules; a tool
  call is a ``tool_use`` block with ``input: {"q": "fake"}`` and ``stop_reason: "tool_use"``; tools are
  used when ``tools`` is non-empty and ``tool_choice.type`` is not ``"none"`` (``{"type": "tool", "name"}``
  picks one). output_tokens = content tokens, or 2 for a tool call.
- Stream: ``event: <type>\\ndata: <json>\\n\\n`` for ``message_start``, ``content_block_start``, ``ping``,
  one ``content_block_delta`` per step (``text_delta`` or ``input_json_delta``), ``content_block_stop``,
  ``message_delta`` (stop_reason, cumulative ``usage.output_tokens``), ``message_stop``; no ``[DONE]``.
- With the ``usage`` knob off, ``usage`` objects are left out.
- Errors: ``{"type": "error", "error": {"type", "message"}}`` (see :func:`error_body`).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from fake_provider.asgi_io import JSON_TYPE, SSE_HEADERS, Headers, Receive, Send
from fake_provider.content import TOOL_ARGUMENT_FRAGMENTS, Answer, ToolCall, count_tokens, message_chars, token_limit
from fake_provider.knobs import Knobs
from fake_provider.pacing import send_json, send_stream
from fake_provider.sse import Events
from fake_provider.stats import Stats
from fake_provider.styles import restyle_events, restyle_json

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


def error_body(status: int, message: str) -> bytes:
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


def system_chars(system: object) -> int:
    if isinstance(system, str):
        return len(system)
    if isinstance(system, list):
        return sum(len(b["text"]) for b in system if isinstance(b, dict) and isinstance(b.get("text"), str))
    return 0


def chosen_tool(body: Mapping[str, object]) -> str | None:
    tools, choice = body.get("tools"), body.get("tool_choice")
    if not isinstance(tools, list) or not tools:
        return None
    if isinstance(choice, dict):
        if choice.get("type") == "none":
            return None
        if choice.get("type") == "tool" and isinstance(choice.get("name"), str):
            return str(choice["name"])
    first = tools[0]
    return str(first["name"]) if isinstance(first, dict) and isinstance(first.get("name"), str) else "tool"


def plan_message(body: Mapping[str, object], *, tokens: tuple[str, ...], call_id: str) -> Answer:
    prompt = count_tokens(message_chars(body.get("messages")) + system_chars(body.get("system")))
    tool = chosen_tool(body)
    if tool is not None:
        return Answer((), ToolCall(call_id, tool), "tool_calls", prompt)
    limit = token_limit(body)
    if limit is not None and limit < len(tokens):
        return Answer(tokens[:limit], None, "length", prompt)
    return Answer(tokens, None, "stop", prompt)


def usage_object(answer: Answer, output_tokens: int) -> dict[str, int]:
    return {"input_tokens": answer.prompt_tokens, "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def content_block(answer: Answer, *, streaming: bool) -> dict[str, object]:
    call = answer.tool_call
    if call is None:
        return {"type": "text", "text": "" if streaming else answer.content}
    return {"type": "tool_use", "id": call.id, "name": call.name,
            "input": {} if streaming else orjson.loads(call.arguments)}


def message_json(answer: Answer, *, id: str, model: str, usage: bool) -> bytes:
    body: dict[str, object] = {
        "id": id, "type": "message", "role": "assistant", "model": model,
        "content": [content_block(answer, streaming=False)],
        "stop_reason": STOP_REASONS[answer.finish_reason], "stop_sequence": None,
    }
    if usage:
        body["usage"] = usage_object(answer, answer.completion_tokens)
    return orjson.dumps(body)


def sse_event(kind: str, data: dict[str, object]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


def message_events(answer: Answer, *, id: str, model: str, usage: bool) -> Events:
    start: dict[str, object] = {"id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                                "stop_reason": None, "stop_sequence": None}
    if usage:
        start["usage"] = usage_object(answer, 1)
    if answer.tool_call is None:
        deltas = [{"type": "text_delta", "text": token} for token in answer.tokens]
    else:
        deltas = [{"type": "input_json_delta", "partial_json": part} for part in TOOL_ARGUMENT_FRAGMENTS]
    final: dict[str, object] = {"delta": {"stop_reason": STOP_REASONS[answer.finish_reason], "stop_sequence": None}}
    if usage:
        final["usage"] = {"output_tokens": answer.completion_tokens}
    return Events(
        (sse_event("message_start", {"message": start}),
         sse_event("content_block_start", {"index": 0, "content_block": content_block(answer, streaming=True)}),
         sse_event("ping", {})),
        tuple(sse_event("content_block_delta", {"index": 0, "delta": delta}) for delta in deltas),
        (sse_event("content_block_stop", {"index": 0}), sse_event("message_delta", final),
         sse_event("message_stop", {})),
    )


def invalid(body: Mapping[str, object]) -> str | None:
    """The 400 message for a request the Messages API would reject, or None."""
    if not isinstance(body.get("messages"), list):
        return "messages: Field required (a list of messages)"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required (a positive integer)"
    return None


async def create_message(receive: Receive, send: Send, body: dict[str, object], knobs: Knobs, stats: Stats,
                         seq: int, tokens: tuple[str, ...]) -> None:
    answer = plan_message(body, tokens=tokens, call_id=f"toolu_fake{seq:08d}")
    message_id, model = f"msg_fake{seq:08d}", knobs.serve_model or str(body["model"])
    headers: Headers = [(b"request-id", f"req_fake{seq:08d}".encode())]
    if body.get("stream") is not True:
        encoded = message_json(answer, id=message_id, model=model, usage=knobs.usage)
        encoded = restyle_json(encoded) if knobs.spaced else encoded
        await send_json(receive, send, knobs, 200, [JSON_TYPE, *headers], encoded)
        return
    events = restyle_events(message_events(answer, id=message_id, model=model, usage=knobs.usage),
                            spaced_json=knobs.spaced, crlf=knobs.crlf)
    await send_stream(receive, send, events, knobs, stats, [*SSE_HEADERS, *headers])
