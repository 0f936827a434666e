"""An Anthropic Messages SSE stream -> OpenAI chat-completion chunks, event by event (pure).

`message_start` -> the first chunk (`role: assistant`, empty content); text and thinking deltas
-> `content` / `reasoning_content`; each `tool_use` block -> one `tool_calls[]` entry whose
`index` is the ordinal of the tool call (not the block index), its id and name in the first
fragment, `input_json_delta` -> `function.arguments` fragments; `message_delta` -> the chunk
with `finish_reason`; `message_stop` -> the usage chunk (when the caller asked for
`stream_options.include_usage`) and `data: [DONE]`. `ping` and empty deltas send nothing.
An upstream `event: error` or a cut stream ends with `data: {"error": …}` and no `[DONE]`.
"""

from __future__ import annotations

from typing import Any

import orjson

from proxy.sse import SseParser
from proxy.translate import usage as usage_shapes
from proxy.translate.responses import finish_reason
from wire.errors import openai_error_body

JsonObj = dict[str, Any]
DONE = b"data: [DONE]\n\n"


def error_event(status: int, message: str) -> bytes:
    return b"data: " + openai_error_body(status, message) + b"\n\n"


class ToOpenAIStream:
    """Feed Anthropic SSE bytes; get OpenAI SSE bytes. `usage` holds the normalised usage."""

    def __init__(self, created: int, include_usage: bool) -> None:
        self._created = created
        self._include_usage = include_usage
        self._sse = SseParser()
        self._id = ""
        self._model = ""
        self._raw_usage: JsonObj = {}
        self._tools: dict[int, int] = {}  # Anthropic block index -> OpenAI tool-call ordinal
        self._done = False
        self.usage = usage_shapes.Usage()
        self.failed = False  # the stream ended with an error event (cut or upstream error)

    def feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        for block in self._sse.feed(chunk):
            if block.data is not None:
                self._event(block.event, block.data, out)
        return b"".join(out)

    def close(self) -> bytes:
        out: list[bytes] = []
        for block in self._sse.close():
            if block.data is not None:
                self._event(block.event, block.data, out)
        if not self._done:
            out.append(self.error(502, "The upstream provider ended the stream before the message was complete."))
        return b"".join(out)

    def error(self, status: int, message: str) -> bytes:
        self._done = self.failed = True
        return error_event(status, message)

    def _chunk(self, delta: JsonObj, finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + orjson.dumps({"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                                         "model": self._model, "choices": [choice]}) + b"\n\n"

    def _merge_usage(self, usage: object) -> None:
        if isinstance(usage, dict):
            self._raw_usage.update({k: v for k, v in usage.items() if v is not None})
            self.usage = usage_shapes.from_anthropic(self._raw_usage)

    def _event(self, kind: str, data: bytes, out: list[bytes]) -> None:
        if self._done:
            return
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(doc, dict):
            return
        kind = doc.get("type") or kind
        if kind == "message_start":
            message = doc.get("message") or {}
            self._id, self._model = message.get("id", ""), message.get("model", "")
            self._merge_usage(message.get("usage"))
            out.append(self._chunk({"role": "assistant", "content": ""}))
        elif kind == "content_block_start":
            self._block_start(doc.get("index", 0), doc.get("content_block") or {}, out)
        elif kind == "content_block_delta":
            self._delta(doc.get("index", 0), doc.get("delta") or {}, out)
        elif kind == "message_delta":
            self._merge_usage(doc.get("usage"))
            reason = (doc.get("delta") or {}).get("stop_reason")
            out.append(self._chunk({}, finish_reason(reason)))
        elif kind == "message_stop":
            self._done = True
            if self._include_usage:
                out.append(b"data: " + orjson.dumps({
                    "id": self._id, "object": "chat.completion.chunk", "created": self._created,
                    "model": self._model, "choices": [], "usage": usage_shapes.to_openai(self.usage)}) + b"\n\n")
            out.append(DONE)
        elif kind == "error":
            detail = doc.get("error") or {}
            out.append(self.error(502, f"Upstream provider failed mid-stream: {detail.get('message', '')}"))

    def _block_start(self, index: int, block: JsonObj, out: list[bytes]) -> None:
        if block.get("type") == "tool_use":
            ordinal = self._tools[index] = len(self._tools)
            call = {"index": ordinal, "id": block.get("id", ""), "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": ""}}
            out.append(self._chunk({"tool_calls": [call]}))
        elif block.get("type") == "text" and block.get("text"):
            out.append(self._chunk({"content": block["text"]}))

    def _delta(self, index: int, delta: JsonObj, out: list[bytes]) -> None:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            out.append(self._chunk({"content": delta["text"]}))
        elif kind == "thinking_delta" and delta.get("thinking"):
            out.append(self._chunk({"reasoning_content": delta["thinking"]}))
        elif kind == "input_json_delta" and delta.get("partial_json") and index in self._tools:
            call = {"index": self._tools[index], "function": {"arguments": delta["partial_json"]}}
            out.append(self._chunk({"tool_calls": [call]}))
