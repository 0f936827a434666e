"""Metering of Anthropic-format answers (pure): JSON `usage`, and a tap for native SSE relays.

Anthropic usage is mapped onto the one billed shape (`proxy.billing.meter.Usage`) exactly as
`proxy.translate.usage` normalises it, so a request costs the same whichever way it went:
prompt = `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`, cached =
`cache_read_input_tokens` (priced at the listing's cache price), completion = `output_tokens`.
Streams: `message_start` carries the input side, `message_delta` the final cumulative
`output_tokens`; the usage counts as reported once `message_delta` has been read. Content
events counted for the estimate and the mismatch check: `text_delta`, `input_json_delta`
and `thinking_delta` deltas (about one token each).
"""

from __future__ import annotations

import msgspec

from proxy.billing.meter import Estimate, Metered, PromptLimit, Usage, UsageDetails, answer_count, bill
from proxy.billing.tokenizer import count_tokens
from proxy.translate import usage as shapes

_DELTAS = (b'"text_delta"', b'"input_json_delta"', b'"thinking_delta"')
_MARKERS = (b'"message_start"', b'"message_delta"')
_CARRY_LIMIT = 64 * 1024  # an unfinished usage event longer than this is not waited for


class _AnthropicUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class _Message(msgspec.Struct):
    usage: _AnthropicUsage | None = None


class _Event(msgspec.Struct):
    type: str = ""
    message: _Message | None = None
    usage: _AnthropicUsage | None = None


class _Block(msgspec.Struct):
    type: str = ""
    text: str | None = None
    thinking: str | None = None
    name: str | None = None
    input: msgspec.Raw = msgspec.Raw()

    def texts(self) -> list[str]:
        out = [t for t in (self.text, self.thinking, self.name) if t]
        if len(self.input):
            out.append(bytes(self.input).decode("utf-8", "replace"))
        return out


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
                         family: str = "", *, prompt_limit: PromptLimit | None = None,
                         cross_check: bool = True) -> Metered:
    """Like `proxy.billing.meter.meter_json`: reported usage cross-checked against our count of the
    answer (text, thinking, tool calls) and the prompt allowance."""
    try:
        doc = _body.decode(body)
    except msgspec.MsgspecError:
        return bill(None, prompt_estimate, 0, prompt_bound, cap)
    texts = [t for b in doc.content for t in b.texts()]
    if doc.usage is not None:
        fields: dict[str, int] = {}
        _merge(fields, doc.usage)
        usage = anthropic_usage(fields)
        counted = None
        if cross_check:
            calls = sum(b.type == "tool_use" for b in doc.content)
            counted = answer_count(texts, calls, min(usage.completion_tokens, cap), family)
        return bill(usage, prompt_estimate, counted, prompt_bound, cap, prompt_limit=prompt_limit)
    return bill(None, prompt_estimate, count_tokens(texts, family), prompt_bound, cap)


class AnthropicTap:
    """Watches relayed Anthropic SSE bytes without changing them: counts content deltas and reads
    the usage of `message_start` and `message_delta`."""

    __slots__ = ("_carry", "_fields", "_final", "events", "first_chunk_ns")

    def __init__(self) -> None:
        self._carry = b""
        self._fields: dict[str, int] = {}
        self._final = False
        self.events = 0
        self.first_chunk_ns = 0

    @property
    def usage(self) -> Usage | None:
        return anthropic_usage(self._fields) if self._final else None

    def observe(self, chunk: bytes, now_ns: int) -> bytes:
        if not self.first_chunk_ns:
            self.first_chunk_ns = now_ns
        for marker in _DELTAS:
            self.events += chunk.count(marker)
        data = self._carry + chunk if self._carry else chunk
        self._carry = b""
        if _MARKERS[0] in data or _MARKERS[1] in data:
            self._read_usage(data)
        else:
            last = data.rfind(b"\n\n")
            tail = data[last + 2:] if last >= 0 else data
            if tail and len(tail) <= _CARRY_LIMIT:
                self._carry = bytes(tail)  # an event may continue in the next read
        return chunk

    def _read_usage(self, data: bytes) -> None:
        at = 0
        while True:
            end = data.find(b"\n\n", at)
            if end < 0:
                tail = data[at:]
                if len(tail) <= _CARRY_LIMIT:
                    self._carry = bytes(tail)
                return
            event = data[at:end]
            at = end + 2
            if _MARKERS[0] not in event and _MARKERS[1] not in event:
                continue
            start = event.find(b"data:")
            if start < 0:
                continue
            try:
                parsed = _event.decode(event[start + 5:].strip())
            except msgspec.MsgspecError:
                continue
            if parsed.type == "message_start" and parsed.message is not None:
                _merge(self._fields, parsed.message.usage)
            elif parsed.type == "message_delta" and parsed.usage is not None:
                _merge(self._fields, parsed.usage)
                self._final = True
