"""An OpenAI chat-completions SSE stream -> Anthropic Messages events, chunk by chunk (pure).

State machine: nothing sent -> `message_start` + `ping` on the first upstream chunk; then one
Anthropic content block open at a time (text, thinking from `reasoning_content`, or one
`tool_use` per OpenAI tool call: a new `tool_calls[].index` closes the open block and starts
the next); `finish_reason` closes the open block; `[DONE]` (or the end of a finished stream)
sends `message_delta` (stop_reason, usage from the final usage chunk) and `message_stop`.
The upstream request asks for `stream_options.include_usage`, so usage arrives last.
Empty deltas send nothing. An upstream error chunk or a cut stream ends with `event: error`.
"""

from __future__ import annotations

from typing import Any

import orjson

from proxy.sse import SseParser
from proxy.translate import usage as usage_shapes
from proxy.translate.responses import stop_reason
from wire.errors import anthropic_error_body

JsonObj = dict[str, Any]


def event(kind: str, data: JsonObj) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


def error_event(status: int, message: str) -> bytes:
    return b"event: error\ndata: " + anthropic_error_body(status, message) + b"\n\n"


class ToAnthropicStream:
    """Feed OpenAI SSE bytes; get Anthropic SSE bytes. `usage` holds the normalised usage."""

    def __init__(self, model: str, stop_sequences: tuple[str, ...] = ()) -> None:
        self._model = model
        self._stops = stop_sequences
        self._sse = SseParser()
        self._started = False
        self._done = False
        self._open: str | None = None  # kind of the open block: "text" | "thinking" | "tool_use"
        self._index = -1  # index of the last block started
        self._tools: dict[int, int] = {}  # OpenAI tool-call index -> Anthropic block index
        self._finish: str | None = None
        self._matched: object = None
        self.usage = usage_shapes.Usage()
        self.failed = False  # the stream ended with an error event (cut or upstream error)

    def feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        for block in self._sse.feed(chunk):
            if block.data is not None:
                self._data(block.data, out)
        return b"".join(out)

    def close(self) -> bytes:
        """The upstream body ended: finish the message, or report the cut."""
        out: list[bytes] = []
        for block in self._sse.close():
            if block.data is not None:
                self._data(block.data, out)
        if not self._done:
            if self._finish is not None:
                self._end(out)
            else:
                self._done = self.failed = True
                out.append(error_event(502, "The upstream provider ended the stream before the message was complete."))
        return b"".join(out)

    def error(self, status: int, message: str) -> bytes:
        self._done = self.failed = True
        return error_event(status, message)

    def _data(self, data: bytes, out: list[bytes]) -> None:
        if self._done:
            return
        if data.strip() == b"[DONE]":
            self._end(out)
            return
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(doc, dict):
            return
        if "error" in doc:
            detail = doc["error"] if isinstance(doc["error"], dict) else {"message": str(doc["error"])}
            out.append(self.error(502, f"Upstream provider failed mid-stream: {detail.get('message', '')}"))
            return
        self._start(doc, out)
        if doc.get("usage"):
            self.usage = usage_shapes.from_openai(doc["usage"])
        for choice in doc.get("choices") or []:
            if choice.get("index", 0) == 0:
                self._choice(choice, out)

    def _start(self, doc: JsonObj, out: list[bytes]) -> None:
        if self._started:
            return
        self._started = True
        message = {"id": doc.get("id", ""), "type": "message", "role": "assistant",
                   "model": doc.get("model") or self._model, "content": [], "stop_reason": None,
                   "stop_sequence": None, "usage": usage_shapes.to_anthropic(self.usage)}
        out.append(event("message_start", {"message": message}))
        out.append(event("ping", {}))

    def _open_block(self, kind: str, block: JsonObj, out: list[bytes]) -> int:
        self._close_block(out)
        self._index += 1
        self._open = kind
        out.append(event("content_block_start", {"index": self._index, "content_block": block}))
        return self._index

    def _close_block(self, out: list[bytes]) -> None:
        if self._open is not None:
            out.append(event("content_block_stop", {"index": self._index}))
            self._open = None

    def _choice(self, choice: JsonObj, out: list[bytes]) -> None:
        delta = choice.get("delta") or {}
        thinking = delta.get("reasoning_content")
        if isinstance(thinking, str) and thinking:
            if self._open != "thinking":
                self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""}, out)
            out.append(event("content_block_delta", {"index": self._index,
                                                     "delta": {"type": "thinking_delta", "thinking": thinking}}))
        text = delta.get("content")
        if isinstance(text, str) and text:
            if self._open != "text":
                self._open_block("text", {"type": "text", "text": ""}, out)
            out.append(event("content_block_delta", {"index": self._index,
                                                     "delta": {"type": "text_delta", "text": text}}))
        for call in delta.get("tool_calls") or []:
            self._tool_call(call, out)
        if choice.get("finish_reason"):
            self._finish = choice["finish_reason"]
            self._matched = choice.get("stop_reason")
            self._close_block(out)

    def _tool_call(self, call: JsonObj, out: list[bytes]) -> None:
        position = call.get("index", 0)
        function = call.get("function") or {}
        if position not in self._tools:
            block = {"type": "tool_use", "id": call.get("id") or f"toolu_{position}",
                     "name": function.get("name", ""), "input": {}}
            self._tools[position] = self._open_block("tool_use", block, out)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            out.append(event("content_block_delta", {"index": self._tools[position],
                                                     "delta": {"type": "input_json_delta", "partial_json": arguments}}))

    def _end(self, out: list[bytes]) -> None:
        if self._done:
            return
        self._done = True
        if not self._started:
            self._start({}, out)
        self._close_block(out)
        reason, sequence = stop_reason(self._finish, self._matched, self._stops)
        out.append(event("message_delta", {"delta": {"stop_reason": reason, "stop_sequence": sequence},
                                           "usage": usage_shapes.to_anthropic(self.usage)}))
        out.append(event("message_stop", {}))
