"""Metering of Anthropic-format answers (pure): JSON `usage`, and a tap for native SSE relays.

Anthropic usage is mapped onto the one billed shape (`proxy.billing.meter.Usage`) exactly as
`proxy.translate.usage` normalises it, so a request costs the same whichever way it went:
prompt = `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`, cached =
`cache_read_input_tokens` (priced at the listing's cache price), completion = `output_tokens`.
Streams are parsed per the SSE spec (`proxy.sse`: any line ends, comments, reads split
anywhere) and each event's JSON with a real parser, so spacing does not matter; the event's
kind is its JSON `type` (else its `event:` line). `message_start` carries the input side,
`message_delta` the final cumulative `output_tokens`; the usage counts as reported once
`message_delta` has been read. Our own count (for the estimate and the mismatch check) is the
tokens of the streamed text: `text_delta` text, `thinking_delta` thinking, `input_json_delta`
partial JSON and each `tool_use` block's name, per content block, tokenized once at the end.
`message_stop` marks the answer whole (`finished`). The tap never changes the bytes it relays.
"""

from __future__ import annotations

import msgspec

from proxy.billing.meter import Estimate, Metered, Usage, UsageDetails, bill
from proxy.billing.stream_tap import TextCounter
from proxy.billing.tokenizer import count_tokens
from proxy.sse import Block, SseParser
from proxy.translate import usage as shapes


class _AnthropicUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class _Message(msgspec.Struct):
    usage: _AnthropicUsage | None = None


class _Block(msgspec.Struct):
    type: str = ""
    text: str | None = None
    thinking: str | None = None
    name: str | None = None


class _Delta(msgspec.Struct):
    type: str = ""
    text: str | None = None
    thinking: str | None = None
    partial_json: str | None = None


class _Event(msgspec.Struct):
    type: str = ""
    index: int = 0
    message: _Message | None = None
    usage: _AnthropicUsage | None = None
    delta: _Delta | None = None
    content_block: _Block | None = None


class _MessageBody(msgspec.Struct):
    usage: _AnthropicUsage | None = None
    content: list[_Block] = []


_event = msgspec.json.Decoder(_Event)
_body = msgspec.json.Decoder(_MessageBody)


def _merge(into: dict[str, int], usage: _AnthropicUsage | None) -> None:
    if usage is None:
        return
    for name in _AnthropicUsage.__struct_fields__:
        value = getattr(usage, name)
        if value is not None:
            into[name] = value


def anthropic_usage(fields: dict[str, int]) -> Usage:
    read = fields.get("cache_read_input_tokens", 0)
    prompt = fields.get("input_tokens", 0) + read + fields.get("cache_creation_input_tokens", 0)
    return Usage(prompt_tokens=prompt, completion_tokens=fields.get("output_tokens", 0),
                 prompt_tokens_details=UsageDetails(cached_tokens=read))


def normalised_usage(usage: shapes.Usage) -> Usage | None:
    """A translator's normalised usage as billed usage; None when the upstream reported none."""
    if not usage.prompt_tokens and not usage.completion_tokens:
        return None
    return Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                 prompt_tokens_details=UsageDetails(cached_tokens=usage.cached_tokens))


def meter_anthropic_json(body: bytes, prompt_estimate: Estimate, prompt_bound: int, cap: int,
                         family: str = "") -> Metered:
    try:
        doc = _body.decode(body)
    except msgspec.MsgspecError:
        return bill(None, prompt_estimate, 0, prompt_bound, cap)
    if doc.usage is not None:
        fields: dict[str, int] = {}
        _merge(fields, doc.usage)
        return bill(anthropic_usage(fields), prompt_estimate, None, prompt_bound, cap)
    texts = [b.text or b.thinking or "" for b in doc.content]
    return bill(None, prompt_estimate, count_tokens(texts, family), prompt_bound, cap)


class AnthropicTap:
    """Watches relayed Anthropic SSE bytes without changing them (see the module rules)."""

    __slots__ = ("_sse", "_fields", "_final", "_text", "events", "first_chunk_ns", "finished")

    def __init__(self) -> None:
        self._sse = SseParser()
        self._fields: dict[str, int] = {}
        self._final = False
        self._text = TextCounter()
        self.events = 0  # events that carried completion text
        self.first_chunk_ns = 0
        self.finished = False  # `message_stop` has been read (the answer is whole)

    @property
    def usage(self) -> Usage | None:
        return anthropic_usage(self._fields) if self._final else None

    def observe(self, chunk: bytes, now_ns: int) -> bytes:
        if not self.first_chunk_ns:
            self.first_chunk_ns = now_ns
        self._read(self._sse.feed(chunk))
        return chunk

    def close(self) -> bytes:
        self._read(self._sse.close())
        return b""

    def counted_tokens(self, family: str = "") -> int:
        return self._text.tokens(family)

    def _read(self, blocks: list[Block]) -> None:
        for block in blocks:
            if block.data is None:
                continue
            try:
                event = _event.decode(block.data)
            except msgspec.MsgspecError:
                continue
            kind = event.type or block.event
            if kind == "content_block_delta":
                self._delta(event.index, event.delta)
            elif kind == "content_block_start":
                start = event.content_block
                if start is not None and (start.name or start.text or start.thinking):
                    self._text.add(event.index, start.name or start.text or start.thinking or "")
                    self.events += 1
            elif kind == "message_start" and event.message is not None:
                _merge(self._fields, event.message.usage)
            elif kind == "message_delta" and event.usage is not None:
                _merge(self._fields, event.usage)
                self._final = True
            elif kind == "message_stop":
                self.finished = True

    def _delta(self, index: int, delta: _Delta | None) -> None:
        if delta is None:
            return
        text = delta.text or delta.thinking or delta.partial_json
        if text:
            self._text.add(index, text)
            self.events += 1
