"""OpenAI chat-completion SSE events, pre-encoded per stream (pure).

Each event is ``data: <json>\\n\\n`` (no ``event:`` lines). A stream is, in order:

- **opening**: ``delta: {"role": "assistant", "content": ""}``; for a tool call
  ``delta: {"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id", "type": "function",
  "function": {"name", "arguments": ""}}]}``;
- **steps** (the paced content events): one chunk per content token ``delta: {"content": tok}``, or per
  argument fragment ``delta: {"tool_calls": [{"index": 0, "function": {"arguments": frag}}]}``;
- **closing**: a chunk with ``delta: {}`` and ``finish_reason``; then, only when usage is included
  (request ``stream_options.include_usage: true`` and the ``usage`` knob on), a chunk with
  ``"choices": []`` and ``usage`` -- and in that case every other chunk carries ``"usage": null``;
  then ``data: [DONE]``.
"""

from __future__ import annotations

import orjson

from fake_provider.bodies import usage_object
from fake_provider.content import TOOL_ARGUMENT_FRAGMENTS, Answer

DONE = b"data: [DONE]\n\n"


class Framer:
    """Encodes the chunks of one stream; the constant parts are encoded once."""

    __slots__ = ("_head", "_tail", "_usage_head")

    def __init__(self, *, id: str, created: int, model: str, include_usage: bool) -> None:
        common = orjson.dumps(
            {"id": id, "object": "chat.completion.chunk", "created": created, "model": model}
        )[:-1]
        self._head = b"data: " + common + b',"system_fingerprint":null,"choices":['
        self._tail = (b'],"usage":null}' if include_usage else b"]}") + b"\n\n"
        self._usage_head = b"data: " + common + b',"system_fingerprint":null,"choices":[],"usage":'

    def chunk(self, delta: dict[str, object], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._head + orjson.dumps(choice) + self._tail

    def usage(self, answer: Answer) -> bytes:
        return self._usage_head + orjson.dumps(usage_object(answer)) + b"}\n\n"


class Events:
    """The three parts of a planned stream, as ready-to-send event bytes: opening events, paced steps,
    closing events (the last one ends the body)."""

    __slots__ = ("opening", "steps", "closing")

    def __init__(self, opening: tuple[bytes, ...], steps: tuple[bytes, ...], closing: tuple[bytes, ...]) -> None:
        self.opening = opening
        self.steps = steps
        self.closing = closing


def stream_events(answer: Answer, framer: Framer, *, include_usage: bool) -> Events:
    call = answer.tool_call
    if call is None:
        opening = framer.chunk({"role": "assistant", "content": ""})
        steps = tuple(framer.chunk({"content": token}) for token in answer.tokens)
    else:
        first = {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        opening = framer.chunk({"role": "assistant", "content": None, "tool_calls": [first]})
        steps = tuple(
            framer.chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
            for fragment in TOOL_ARGUMENT_FRAGMENTS
        )
    closing = [framer.chunk({}, answer.finish_reason)]
    if include_usage:
        closing.append(framer.usage(answer))
    closing.append(DONE)
    return Events((opening,), steps, tuple(closing))
